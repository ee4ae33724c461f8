// Package sqlstore keeps arbion's state in a SQL database: the order
// tracker's [order.Store] ([DB.Orders]), the stop-loss supervisor's
// [stoploss.Store] ([DB.Protections]), the risk engine's
// [risk.StateStore] ([DB.TradingStates]) and the lease ([DB.Lease]) that
// lets one replica act per account.
//
// Every record is scoped by account: several accounts, at several brokers,
// may share one database, and their order ids (client and broker) may
// repeat across accounts.
//
// Replicas that take turns trading an account use [Lease.Lead]: the
// [Leadership] it returns is renewed in the background, satisfies
// [order.Leader] (the tracker sends nothing once it is lost), and fences
// the stores built from it ([DB.FencedOrders], [DB.FencedProtections]):
// every write checks, in its own transaction, that the lease row still
// carries the leadership's fencing token, so a replica that lost the lease
// without noticing yet cannot overwrite the new leader's records.
//
// Two engines, one implementation over database/sql:
//
//   - SQLite through the pure-Go modernc.org/sqlite driver (no cgo), the
//     embedded default: a file path is all a user gives.
//   - PostgreSQL through github.com/jackc/pgx/v5's database/sql driver, for
//     several bot replicas sharing one database.
//
// The schema is embedded and versioned; [Open] applies pending migrations
// (safely when two replicas open at once) and refuses a database whose
// schema is newer than the code. Money is exact: NUMERIC on PostgreSQL,
// decimal text on SQLite.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/arbiontrader/arbion/errors"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"               // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"
)

// pgUniqueViolation is PostgreSQL's SQLSTATE for a unique-key violation.
const pgUniqueViolation = "23505"

// Dialect names a database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Config says which database to open.
type Config struct {
	// Dialect is SQLite or Postgres.
	Dialect Dialect
	// DSN is, for SQLite, a file path (or ":memory:" for a private in-memory
	// database); for PostgreSQL, a connection string such as
	// "postgres://user@127.0.0.1:5432/db?sslmode=disable".
	DSN string
}

// DB is an open arbion database. It is safe for concurrent use; close it
// with Close.
type DB struct {
	sql     *sql.DB
	dialect Dialect
}

// Open connects to the database described by cfg and brings its schema up
// to date. A database whose schema is newer than this code is refused with
// an error matching errors.ErrConfiguration.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	var (
		sqldb *sql.DB
		err   error
	)
	switch cfg.Dialect {
	case SQLite:
		sqldb, err = openSQLite(cfg.DSN)
	case Postgres:
		if cfg.DSN == "" {
			return nil, configError("a PostgreSQL DSN is required")
		}
		sqldb, err = sql.Open("pgx", cfg.DSN)
	default:
		return nil, configError(fmt.Sprintf("unknown dialect %q (want %q or %q)", cfg.Dialect, SQLite, Postgres))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open %s: %w", cfg.Dialect, err)
	}
	db := &DB{sql: sqldb, dialect: cfg.Dialect}
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", cfg.Dialect, err)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return db, nil
}

// openSQLite opens one connection: SQLite allows one writer at a time, and a
// single connection turns lock contention into queueing in database/sql
// instead of SQLITE_BUSY errors. WAL keeps readers of other processes going.
func openSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, configError("a SQLite file path is required (or \":memory:\")")
	}
	dsn := path
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		dsn = "file:" + path
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	dsn += sep + "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate"
	if path != ":memory:" {
		dsn += "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// Dialect returns the engine the database runs on.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL returns the underlying *sql.DB, for a host's own queries and health
// checks.
func (db *DB) SQL() *sql.DB { return db.sql }

// rebind turns the ? placeholders the queries are written with into $1, $2,
// ... for PostgreSQL.
func (db *DB) rebind(query string) string {
	if db.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func configError(reason string) error {
	return fmt.Errorf("sqlstore: %s: %w", reason, errors.ErrConfiguration)
}

// uniqueViolation reports whether err is a driver's unique-key (or primary
// key) violation: SQLite's SQLITE_CONSTRAINT_UNIQUE or
// SQLITE_CONSTRAINT_PRIMARYKEY, PostgreSQL's SQLSTATE 23505.
func uniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}
