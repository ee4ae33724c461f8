// Package postgres opens arbion's [sqlstore.DB] on a PostgreSQL server
// with github.com/jackc/pgx/v5's database/sql driver, for bot replicas that
// share one database. Importing this package, and only this one, compiles
// pgx into a program.
package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/store/sqlstore"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Open connects to the server named by dsn, a connection string such as
// "postgres://user@127.0.0.1:5432/db?sslmode=disable" (pgx's syntax), and
// brings the schema up to date. An empty dsn, or a database whose schema is
// newer than this code, is refused with an error matching
// errors.ErrConfiguration. Pool sizes are pgx's and database/sql's
// defaults; a host that wants others sets them on the DB's SQL().
//
// This package quotes no dsn in its errors; pgx's own parse errors redact a
// password only on a best-effort basis, so keep it out of the dsn
// (PGPASSWORD or a .pgpass file, which pgx reads) to be sure.
func Open(ctx context.Context, dsn string) (*sqlstore.DB, error) {
	if dsn == "" {
		return nil, fmt.Errorf("postgres: a DSN is required: %w", errors.ErrConfiguration)
	}
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	db, err := sqlstore.New(ctx, sqldb, sqlstore.Postgres)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return db, nil
}
