-- Order ids are unique per account, not across the store: several accounts
-- (at several brokers) may share one database, and E*TRADE order ids repeat
-- across accounts. A broker order id belongs to one record of its account.
--
-- SQLite cannot drop the column constraint UNIQUE (client_order_id), so the
-- orders table is rebuilt, and its fills with it: with foreign keys on,
-- dropping the old orders table while arbion_fills still refers to it would
-- cascade-delete every fill. The order is therefore: copy both tables into
-- new ones (the new fills referring to the new orders), drop the old fills,
-- then the old orders (nothing refers to them any more), and rename; the
-- rename rewrites the new fills' reference. All of it runs in the migration's
-- one transaction: a process that dies midway leaves version 1 intact.
CREATE TABLE arbion_orders_new (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    local_id          TEXT NOT NULL UNIQUE,
    client_order_id   TEXT NOT NULL,
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
INSERT INTO arbion_orders_new (seq, local_id, client_order_id, broker_order_id, account, symbol, asset_class, side, order_type, time_in_force, extended_hours, quantity, limit_price, stop_price, trail_amount, trail_percent, status, terminal, raw_status, pending_from, filled_quantity, avg_fill_price, notional, fees, stop_loss_price, take_profit_price, protective, replaces, replaced_by, reject_reason, outcome_unknown, unknown_lookups, first_unknown_at, needs_attention, attention_reason, created_at, updated_at, version)
    SELECT seq, local_id, client_order_id, broker_order_id, account, symbol, asset_class, side, order_type, time_in_force, extended_hours, quantity, limit_price, stop_price, trail_amount, trail_percent, status, terminal, raw_status, pending_from, filled_quantity, avg_fill_price, notional, fees, stop_loss_price, take_profit_price, protective, replaces, replaced_by, reject_reason, outcome_unknown, unknown_lookups, first_unknown_at, needs_attention, attention_reason, created_at, updated_at, version FROM arbion_orders;
-- Keep the AUTOINCREMENT counter where it was (seq is never reused).
UPDATE sqlite_sequence
    SET seq = MAX(seq, (SELECT s.seq FROM sqlite_sequence s WHERE s.name = 'arbion_orders'))
    WHERE name = 'arbion_orders_new'
      AND EXISTS (SELECT 1 FROM sqlite_sequence s WHERE s.name = 'arbion_orders');

CREATE TABLE arbion_fills_new (
    local_id  TEXT NOT NULL REFERENCES arbion_orders_new (local_id) ON DELETE CASCADE,
    n         INTEGER NOT NULL,
    exec_id   TEXT NOT NULL,
    quantity  TEXT NOT NULL,
    price     TEXT NOT NULL,
    fee       TEXT NOT NULL,
    filled_at BIGINT,
    PRIMARY KEY (local_id, n),
    UNIQUE (local_id, exec_id)
);
INSERT INTO arbion_fills_new (local_id, n, exec_id, quantity, price, fee, filled_at)
    SELECT local_id, n, exec_id, quantity, price, fee, filled_at FROM arbion_fills;

DROP TABLE arbion_fills;
DROP TABLE arbion_orders;
ALTER TABLE arbion_orders_new RENAME TO arbion_orders;
ALTER TABLE arbion_fills_new RENAME TO arbion_fills;

CREATE UNIQUE INDEX arbion_orders_client_id ON arbion_orders (account, client_order_id);
CREATE UNIQUE INDEX arbion_orders_broker_id ON arbion_orders (account, broker_order_id)
    WHERE broker_order_id <> '';
CREATE INDEX arbion_orders_symbol ON arbion_orders (account, symbol, seq);
CREATE INDEX arbion_orders_open ON arbion_orders (account, seq) WHERE NOT terminal;

-- The risk engine's trading state per account (risk.StateStore), so that a
-- halt survives a restart and is shared by every replica. state is the
-- State's text form; updated_at is Unix nanoseconds.
CREATE TABLE arbion_trading_state (
    account    TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
