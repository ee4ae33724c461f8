-- Order ids are unique per account, not across the store: several accounts
-- (at several brokers) may share one database, and E*TRADE order ids repeat
-- across accounts. A broker order id belongs to one record of its account.
ALTER TABLE arbion_orders DROP CONSTRAINT arbion_orders_client_order_id_key;
CREATE UNIQUE INDEX arbion_orders_client_id ON arbion_orders (account, client_order_id);
DROP INDEX arbion_orders_broker_id;
CREATE UNIQUE INDEX arbion_orders_broker_id ON arbion_orders (account, broker_order_id)
    WHERE broker_order_id <> '';
DROP INDEX arbion_orders_symbol;
CREATE INDEX arbion_orders_symbol ON arbion_orders (account, symbol, seq);
DROP INDEX arbion_orders_open;
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
