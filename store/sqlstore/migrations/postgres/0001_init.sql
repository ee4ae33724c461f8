-- Orders tracked by order.Tracker. Money and quantities are NUMERIC (exact);
-- times are Unix nanoseconds (exact, zone-free); enums are their text forms.
CREATE TABLE arbion_orders (
    seq               BIGSERIAL NOT NULL UNIQUE,
    local_id          TEXT PRIMARY KEY,
    client_order_id   TEXT NOT NULL UNIQUE,
    broker_order_id   TEXT NOT NULL DEFAULT '',
    account           TEXT NOT NULL DEFAULT '',
    symbol            TEXT NOT NULL,
    asset_class       TEXT NOT NULL,
    side              TEXT NOT NULL,
    order_type        TEXT NOT NULL,
    time_in_force     TEXT NOT NULL,
    extended_hours    BOOLEAN NOT NULL DEFAULT FALSE,
    quantity          NUMERIC NOT NULL,
    limit_price       NUMERIC NOT NULL,
    stop_price        NUMERIC NOT NULL,
    trail_amount      NUMERIC NOT NULL,
    trail_percent     NUMERIC NOT NULL,
    status            TEXT NOT NULL,
    terminal          BOOLEAN NOT NULL,
    raw_status        TEXT NOT NULL DEFAULT '',
    pending_from      TEXT NOT NULL DEFAULT '',
    filled_quantity   NUMERIC NOT NULL,
    avg_fill_price    NUMERIC NOT NULL,
    notional          NUMERIC NOT NULL,
    fees              NUMERIC NOT NULL,
    stop_loss_price   NUMERIC NOT NULL,
    take_profit_price NUMERIC NOT NULL,
    protective        BOOLEAN NOT NULL DEFAULT FALSE,
    replaces          TEXT NOT NULL DEFAULT '',
    replaced_by       TEXT NOT NULL DEFAULT '',
    reject_reason     TEXT NOT NULL DEFAULT '',
    outcome_unknown   BOOLEAN NOT NULL DEFAULT FALSE,
    unknown_lookups   BIGINT NOT NULL DEFAULT 0,
    first_unknown_at  BIGINT,
    needs_attention   BOOLEAN NOT NULL DEFAULT FALSE,
    attention_reason  TEXT NOT NULL DEFAULT '',
    created_at        BIGINT,
    updated_at        BIGINT,
    version           BIGINT NOT NULL
);
CREATE INDEX arbion_orders_open ON arbion_orders (seq) WHERE NOT terminal;
CREATE INDEX arbion_orders_symbol ON arbion_orders (symbol, seq);
CREATE INDEX arbion_orders_broker_id ON arbion_orders (broker_order_id, seq);

CREATE TABLE arbion_fills (
    local_id  TEXT NOT NULL REFERENCES arbion_orders (local_id) ON DELETE CASCADE,
    n         INTEGER NOT NULL,
    exec_id   TEXT NOT NULL,
    quantity  NUMERIC NOT NULL,
    price     NUMERIC NOT NULL,
    fee       NUMERIC NOT NULL,
    filled_at BIGINT,
    PRIMARY KEY (local_id, n),
    UNIQUE (local_id, exec_id)
);

-- Positions protected by the stop-loss supervisor.
CREATE TABLE arbion_protections (
    account              TEXT NOT NULL,
    symbol               TEXT NOT NULL,
    record               TEXT NOT NULL,
    version              BIGINT NOT NULL,
    PRIMARY KEY (account, symbol)
);

-- Leases: one supervisor acting per account across replicas.
CREATE TABLE arbion_leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    token      BIGINT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
