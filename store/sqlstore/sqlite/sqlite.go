// Package sqlite opens arbion's [sqlstore.DB] on a SQLite file with the
// pure-Go modernc.org/sqlite driver (no cgo): the embedded default, one
// line for a bot that keeps its state on local disk. Importing this
// package, and only this one, compiles the SQLite engine into a program.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/store/sqlstore"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Open opens (creating it if needed) the SQLite database at path, or a
// private in-memory one for ":memory:", and brings its schema up to date.
// A "file:" URI is taken as it is, with its own query parameters kept. An
// empty path, or a database whose schema is newer than this code, is
// refused with an error matching errors.ErrConfiguration.
//
// The database gets one connection: SQLite allows one writer at a time, and
// a single connection turns lock contention into queueing in database/sql
// instead of SQLITE_BUSY errors. Transactions begin IMMEDIATE, a busy
// database is waited on for up to 10 s, foreign keys are on, and a file
// runs in WAL mode so that readers in other processes keep going.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: a file path is required (or \":memory:\"): %w", errors.ErrConfiguration)
	}
	sqldb, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sqldb.SetMaxOpenConns(1)
	sqldb.SetConnMaxIdleTime(0)
	sqldb.SetConnMaxLifetime(0)
	db, err := sqlstore.New(ctx, sqldb, sqlstore.SQLite)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return db, nil
}

// dsn turns path into modernc.org/sqlite's DSN with the settings Open
// documents.
func dsn(path string) string {
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
	return dsn
}
