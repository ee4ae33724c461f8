package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/postgres"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
)

// postgresEnv names the variable that points the PostgreSQL tests at a
// server. .ci/run starts a throwaway one and sets it.
const postgresEnv = "ARBION_TEST_POSTGRES_DSN"

// engine opens fresh, empty databases of one dialect.
type engine struct {
	name string
	open func(t testing.TB) *sqlstore.DB
	// reopen opens the same database again (a restart, or a second replica).
	reopen func(t testing.TB, db *sqlstore.DB) *sqlstore.DB
	// target is where db was opened.
	target func(db *sqlstore.DB) target
}

// target names a database: a SQLite path or a PostgreSQL DSN.
type target struct {
	dialect sqlstore.Dialect
	dsn     string
}

// openTarget opens tg as a host would: through the dialect's subpackage.
func openTarget(ctx context.Context, tg target) (*sqlstore.DB, error) {
	if tg.dialect == sqlstore.Postgres {
		return postgres.Open(ctx, tg.dsn)
	}
	return sqlite.Open(ctx, tg.dsn)
}

// engines returns SQLite always and PostgreSQL when the variable is set.
// Without it, the PostgreSQL subtests skip with a message that says how to
// run them; with it and no server, they fail.
func engines(t testing.TB) []engine {
	return []engine{sqliteEngine(), postgresEngine()}
}

// dsnBook remembers the DSN each database was opened with, for reopening.
type dsnBook struct {
	mu   sync.Mutex
	dsns map[*sqlstore.DB]string
}

func (b *dsnBook) put(db *sqlstore.DB, dsn string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dsns == nil {
		b.dsns = map[*sqlstore.DB]string{}
	}
	b.dsns[db] = dsn
}

func (b *dsnBook) get(db *sqlstore.DB) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dsns[db]
}

func sqliteEngine() engine {
	paths := &dsnBook{}
	open := func(t testing.TB, path string) *sqlstore.DB {
		t.Helper()
		db, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open sqlite %s: %v", path, err)
		}
		t.Cleanup(func() { db.Close() })
		paths.put(db, path)
		return db
	}
	return engine{
		name: "sqlite",
		open: func(t testing.TB) *sqlstore.DB {
			return open(t, filepath.Join(t.TempDir(), "arbion.db"))
		},
		reopen: func(t testing.TB, db *sqlstore.DB) *sqlstore.DB { return open(t, paths.get(db)) },
		target: func(db *sqlstore.DB) target { return target{sqlstore.SQLite, paths.get(db)} },
	}
}

func postgresEngine() engine {
	dsns := &dsnBook{}
	open := func(t testing.TB, dsn string) *sqlstore.DB {
		t.Helper()
		db, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		dsns.put(db, dsn)
		return db
	}
	return engine{
		name: "postgres",
		open: func(t testing.TB) *sqlstore.DB { return open(t, freshSchema(t)) },
		reopen: func(t testing.TB, db *sqlstore.DB) *sqlstore.DB {
			return open(t, dsns.get(db))
		},
		target: func(db *sqlstore.DB) target { return target{sqlstore.Postgres, dsns.get(db)} },
	}
}

// freshSchema creates an empty schema for one test on the server named by
// ARBION_TEST_POSTGRES_DSN and returns a DSN that uses it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: set %s to a server's DSN to run them, e.g. "+
			"%s='postgres://user@127.0.0.1:5432/db?sslmode=disable' go test ./store/sqlstore (.ci/run does this)",
			postgresEnv, postgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("%s: %v", postgresEnv, err)
	}
	defer admin.Close()
	schema := "t_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("PostgreSQL at %s unreachable or unusable: %v", postgresEnv, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}
