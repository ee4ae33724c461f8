-- Orders tracked by order.Tracker. Money and quantities are exact decimal TEXT;
-- times are Unix nanoseconds (exact, zone-free); enums are their text forms.
CREATE TABLE arbion_orders (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    local_id          TEXT NOT NULL UNIQUE,
    client_order_id   TEXT NOT NULL UNIQUE,
    broker_order_id   TEXT NOT NULL DEFAULT '',
    account           TEXT NOT NULL DEFAULT '',
    symbol            TEXT NOT NULL,
    asset_class       TEXT NOT NULL,
    side              TEXT NOT NULL,
    order_type        TEXT NOT NULL,
    time_in_force     TEXT NOT NULL,
    extended_hours    BOOLEAN NOT NULL DEFAULT 0,
    quantity          TEXT NOT NULL,
    limit_price       TEXT NOT NULL,
    stop_price        TEXT NOT NULL,
    trail_amount      TEXT NOT NULL,
    trail_percent     TEXT NOT NULL,
    status            TEXT NOT NULL,
    terminal          BOOLEAN NOT NULL,
    raw_status        TEXT NOT NULL DEFAULT '',
    pending_from      TEXT NOT NULL DEFAULT '',
    filled_quantity   TEXT NOT NULL,
    avg_fill_price    TEXT NOT NULL,
    notional          TEXT NOT NULL,
    fees              TEXT NOT NULL,
    stop_loss_price   TEXT NOT NULL,
    take_profit_price TEXT NOT NULL,
    protective        BOOLEAN NOT NULL DEFAULT 0,
    replaces          TEXT NOT NULL DEFAULT '',
    replaced_by       TEXT NOT NULL DEFAULT '',
    reject_reason     TEXT NOT NULL DEFAULT '',
    outcome_unknown   BOOLEAN NOT NULL DEFAULT 0,
    unknown_lookups   BIGINT NOT NULL DEFAULT 0,
    first_unknown_at  BIGINT,
    needs_attention   BOOLEAN NOT NULL DEFAULT 0,
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
    quantity  TEXT NOT NULL,
    price     TEXT NOT NULL,
    fee       TEXT NOT NULL,
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
    expires_at BIGINT NOT NULL -- Unix nanoseconds
);
