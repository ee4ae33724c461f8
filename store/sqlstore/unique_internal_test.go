package sqlstore

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/arbiontrader/arbion/errors"
	_ "github.com/jackc/pgx/v5/stdlib" // the drivers whose errors uniqueViolation must recognise
	_ "modernc.org/sqlite"
)

// TestUniqueViolationRecognisesTheDrivers: the package imports no driver
// and recognises a unique-key violation by the error's methods; this checks
// those methods against the real drivers' errors (PostgreSQL when
// ARBION_TEST_POSTGRES_DSN is set, as for the other tests).
func TestUniqueViolationRecognisesTheDrivers(t *testing.T) {
	type engine struct {
		name, driver, dsn string
	}
	engines := []engine{{"sqlite", "sqlite", "file:" + filepath.Join(t.TempDir(), "u.db")}}
	if dsn := os.Getenv("ARBION_TEST_POSTGRES_DSN"); dsn != "" {
		engines = append(engines, engine{"postgres", "pgx", dsn})
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db, err := sql.Open(e.driver, e.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// A temporary table of one connection: nothing is left behind.
			conn, err := db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			exec := func(q string) error { _, err := conn.ExecContext(t.Context(), q); return err }
			if err := exec("CREATE TEMPORARY TABLE u (id TEXT PRIMARY KEY, k TEXT UNIQUE, n INTEGER NOT NULL)"); err != nil {
				t.Fatal(err)
			}
			if err := exec("INSERT INTO u (id, k, n) VALUES ('a', 'x', 1)"); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name   string
				insert string
				unique bool
			}{
				{"same primary key", "INSERT INTO u (id, k, n) VALUES ('a', 'y', 1)", true},
				{"same unique key", "INSERT INTO u (id, k, n) VALUES ('b', 'x', 1)", true},
				{"not null", "INSERT INTO u (id, k, n) VALUES ('c', 'z', NULL)", false},
				{"syntax", "INSERT INTO", false},
			}
			for _, tt := range tests {
				err := exec(tt.insert)
				if err == nil {
					t.Fatalf("%s: no error", tt.name)
				}
				wrapped := fmt.Errorf("store create: %w", err)
				if got := uniqueViolation(wrapped); got != tt.unique {
					t.Errorf("%s: uniqueViolation(%v) = %v, want %v", tt.name, err, got, tt.unique)
				}
			}
		})
	}
	if uniqueViolation(errors.ErrStorage) {
		t.Error("a plain error is not a unique violation")
	}
}
