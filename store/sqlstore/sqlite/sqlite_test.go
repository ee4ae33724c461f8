package sqlite_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/google/go-cmp/cmp"
)

// settings are the connection settings Open promises, read back from the
// database.
type settings struct {
	ForeignKeys, BusyTimeout int
	JournalMode              string
	MaxOpenConns             int
}

func readSettings(t *testing.T, db *sqlstore.DB) settings {
	t.Helper()
	var s settings
	for q, dst := range map[string]any{
		"PRAGMA foreign_keys": &s.ForeignKeys, "PRAGMA busy_timeout": &s.BusyTimeout, "PRAGMA journal_mode": &s.JournalMode,
	} {
		if err := db.SQL().QueryRowContext(t.Context(), q).Scan(dst); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.MaxOpenConns = db.SQL().Stats().MaxOpenConnections
	return s
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		path string
		want settings
	}{
		{"file", filepath.Join(dir, "a.db"), settings{1, 10000, "wal", 1}},
		{"file URI with its own parameter", "file:" + filepath.Join(dir, "b.db") + "?cache=private", settings{1, 10000, "wal", 1}},
		{"in memory", ":memory:", settings{1, 10000, "memory", 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlite.Open(t.Context(), tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if db.Dialect() != sqlstore.SQLite {
				t.Errorf("Dialect() = %q", db.Dialect())
			}
			if d := cmp.Diff(tt.want, readSettings(t, db)); d != "" {
				t.Errorf("settings (-want +got):\n%s", d)
			}
			var version int
			if err := db.SQL().QueryRowContext(t.Context(), "SELECT MAX(version) FROM arbion_schema").Scan(&version); err != nil || version != db.SchemaVersion() {
				t.Errorf("schema version %d (%v), want %d", version, err, db.SchemaVersion())
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name, path, want string
		kind             errors.Kind // "" for any error
	}{
		{"empty path", "", "file path is required", errors.ErrConfiguration},
		{"directory missing", filepath.Join(t.TempDir(), "no", "such", "dir", "x.db"), "no/such/dir/x.db", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := sqlite.Open(t.Context(), tt.path)
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.want) || (tt.kind != "" && !errors.Is(err, tt.kind)) {
				t.Errorf("error = %v, want %q (%q)", err, tt.want, tt.kind)
			}
		})
	}
}
