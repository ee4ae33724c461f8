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
// Two engines, one implementation over database/sql. As database/sql
// intends, the host chooses and imports the driver, opens the *sql.DB and
// hands it to [New] with its [Dialect]; this package imports no driver, so
// a program compiles only the engine it uses:
//
//   - SQLite, the embedded default: [github.com/arbiontrader/arbion/store/sqlstore/sqlite]
//     opens a file with the pure-Go modernc.org/sqlite driver (no cgo) and
//     the settings this package needs, in one call.
//   - PostgreSQL, for several bot replicas sharing one database:
//     [github.com/arbiontrader/arbion/store/sqlstore/postgres] opens a DSN
//     with github.com/jackc/pgx/v5's database/sql driver.
//
// The schema is embedded and versioned; [New] applies pending migrations
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
)

// Dialect names a database engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open arbion database. It is safe for concurrent use; close it
// with Close.
type DB struct {
	sql     *sql.DB
	dialect Dialect
}

// New brings the schema of sqldb, a database of the given dialect opened
// by the host with the driver of its choice, up to date and returns the
// stores over it. The DB takes sqldb over: its Close closes sqldb. On an
// error sqldb is left open, for the caller to close.
//
// On SQLite, sqldb must run with foreign keys on (New checks, and refuses
// with errors.ErrConfiguration), should begin transactions with BEGIN
// IMMEDIATE and wait on a busy database rather than fail at once, and works
// best with one open connection; the sqlite subpackage sets all of this.
// The SQLite driver must report errors with a Code() int method giving the
// extended result code (modernc.org/sqlite does), the PostgreSQL driver
// with a SQLState() string method (pgx and lib/pq do), so that two writers
// racing to create the same order are told apart from a failing database.
//
// A nil sqldb, an unknown dialect or a database whose schema is newer than
// this code is refused with an error matching errors.ErrConfiguration.
func New(ctx context.Context, sqldb *sql.DB, dialect Dialect) (*DB, error) {
	if sqldb == nil {
		return nil, configError("a *sql.DB is required")
	}
	if dialect != SQLite && dialect != Postgres {
		return nil, configError(fmt.Sprintf("unknown dialect %q (want %q or %q)", dialect, SQLite, Postgres))
	}
	if err := sqldb.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", dialect, err)
	}
	db := &DB{sql: sqldb, dialect: dialect}
	if dialect == SQLite {
		if err := db.checkForeignKeys(ctx); err != nil {
			return nil, err
		}
	}
	if err := db.migrate(ctx); err != nil {
		return nil, err
	}
	return db, nil
}

// checkForeignKeys refuses a SQLite connection without foreign keys: the
// fills of an order are deleted with it by ON DELETE CASCADE, and the
// migrations are written for foreign keys on.
func (db *DB) checkForeignKeys(ctx context.Context) error {
	var on int
	if err := db.sql.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
		return fmt.Errorf("sqlstore: read PRAGMA foreign_keys: %w", err)
	}
	if on != 1 {
		return configError("SQLite foreign keys are off: open the database with them on " +
			"(modernc.org/sqlite: _pragma=foreign_keys(1) in the DSN), or with store/sqlstore/sqlite.Open")
	}
	return nil
}

// Close closes the *sql.DB the DB was made with.
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

// SQLite's extended result codes for a unique-key and a primary-key
// violation, and PostgreSQL's SQLSTATE for a unique-key violation.
const (
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
	pgUniqueViolation          = "23505"
)

// uniqueViolation reports whether err is a driver's unique-key (or primary
// key) violation: SQLite's SQLITE_CONSTRAINT_UNIQUE or
// SQLITE_CONSTRAINT_PRIMARYKEY, PostgreSQL's SQLSTATE 23505. The driver's
// error is recognised by its methods, so this package imports no driver.
func uniqueViolation(err error) bool {
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) {
		return pe.SQLState() == pgUniqueViolation
	}
	var se interface{ Code() int }
	if errors.As(err, &se) {
		return se.Code() == sqliteConstraintUnique || se.Code() == sqliteConstraintPrimaryKey
	}
	return false
}
