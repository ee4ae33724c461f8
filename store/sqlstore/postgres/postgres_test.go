package postgres_test

import (
	"os"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/postgres"
)

// postgresEnv names the variable that points the tests at a server, as for
// store/sqlstore's tests; .ci/run sets it.
const postgresEnv = "ARBION_TEST_POSTGRES_DSN"

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name, dsn string
		kind      errors.Kind // "" for any error
		want      string
	}{
		{"empty DSN", "", errors.ErrConfiguration, "DSN is required"},
		{"unparsable DSN", "postgres://u:s3cret@127.0.0.1:notaport/db", "", "postgres"},
		// Nothing listens on port 1 of loopback: refused at once.
		{"no server", "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", "", "connect to postgres"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := postgres.Open(t.Context(), tt.dsn)
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.kind != "" && !errors.Is(err, tt.kind)) {
				t.Errorf("error = %v, want %q (%q)", err, tt.want, tt.kind)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the password is in the error: %v", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dsn := os.Getenv(postgresEnv)
	if dsn == "" {
		t.Skipf("set %s to a PostgreSQL server's DSN to run this test (.ci/run does)", postgresEnv)
	}
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var version int
	if err := db.SQL().QueryRowContext(t.Context(), "SELECT MAX(version) FROM arbion_schema").Scan(&version); err != nil ||
		db.Dialect() != sqlstore.Postgres || version != db.SchemaVersion() {
		t.Errorf("dialect %q, schema version %d (%v), want %d", db.Dialect(), version, err, db.SchemaVersion())
	}
}
