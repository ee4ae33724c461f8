package sqlstore_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/google/go-cmp/cmp"
)

// v1Database makes a database at schema version 1 (the 0001 migration
// alone, as an earlier release left it) holding orders of two accounts with
// fills, and returns where it is.
func v1Database(t *testing.T, dialect sqlstore.Dialect) target {
	t.Helper()
	var (
		tg     target
		driver string
		dsn    string
	)
	switch dialect {
	case sqlstore.SQLite:
		path := filepath.Join(t.TempDir(), "v1.db")
		tg = target{sqlstore.SQLite, path}
		driver, dsn = "sqlite", "file:"+path+"?_pragma=foreign_keys(1)"
	case sqlstore.Postgres:
		dsn = freshSchema(t)
		tg = target{sqlstore.Postgres, dsn}
		driver = "pgx"
	}
	schema, err := os.ReadFile(filepath.Join("migrations", string(dialect), "0001_init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if dialect == sqlstore.Postgres {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
			}
		}
		if _, err := raw.ExecContext(t.Context(), q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The text a stored record carries for an unset status, as this
	// release writes it.
	b, err := broker.Status(0).MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	zeroStatus := string(b)
	exec(string(schema))
	exec("CREATE TABLE arbion_schema (version INTEGER NOT NULL)")
	exec("INSERT INTO arbion_schema (version) VALUES (1)")
	for _, r := range v1Rows {
		exec("INSERT INTO arbion_orders (local_id, client_order_id, broker_order_id, account, symbol, asset_class, "+
			"side, order_type, time_in_force, quantity, limit_price, stop_price, trail_amount, trail_percent, "+
			"status, terminal, filled_quantity, avg_fill_price, notional, fees, stop_loss_price, take_profit_price, "+
			"pending_from, created_at, updated_at, version) VALUES "+
			"(?, ?, ?, ?, 'AAPL', 'equity', 'buy', 'limit', 'gtc', '10', '187.25', '0', '0', '0', ?, ?, "+
			"'5', '187.25', '936.25', '0', '0', '0', ?, 1, 1, 3)",
			r.local, r.client, r.brokerID, r.account, r.status, r.status == "filled", zeroStatus)
		exec("INSERT INTO arbion_fills (local_id, n, exec_id, quantity, price, fee, filled_at) VALUES "+
			"(?, 0, 'E1', '5', '187.25', '0.01', 2)", r.local)
	}
	return tg
}

var v1Rows = []struct{ local, client, brokerID, account, status string }{
	{"L1", "C1", "B1", "acct-1", "partially_filled"},
	{"L2", "C2", "", "acct-1", "filled"},
	{"L3", "C3", "B1", "acct-2", "partially_filled"},
}

// TestMigrationFromVersion1KeepsEveryRecord: a database an earlier release
// left at version 1 opens at the current version with its orders and their
// fills intact, and then allows what version 1 could not (a client order id
// repeated in another account) while refusing what it should.
func TestMigrationFromVersion1KeepsEveryRecord(t *testing.T) {
	for _, dialect := range []sqlstore.Dialect{sqlstore.SQLite, sqlstore.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			db, err := openTarget(t.Context(), v1Database(t, dialect))
			if err != nil {
				t.Fatalf("Open of a version 1 database: %v", err)
			}
			defer db.Close()
			var version int
			if err := db.SQL().QueryRowContext(t.Context(), "SELECT MAX(version) FROM arbion_schema").Scan(&version); err != nil {
				t.Fatal(err)
			}
			if version != db.SchemaVersion() || version < 2 {
				t.Errorf("schema version after Open = %d, want %d", version, db.SchemaVersion())
			}
			s := db.Orders()
			for _, r := range v1Rows {
				o, err := s.ByClientOrderID(t.Context(), r.account, r.client)
				if err != nil {
					t.Fatalf("ByClientOrderID(%s, %s) after migration: %v", r.account, r.client, err)
				}
				got := []string{o.LocalID, o.BrokerOrderID, o.Account, o.Status.String(), o.Fills[0].ExecID,
					o.Fills[0].Fee.String(), strconv.FormatInt(o.Version, 10)}
				want := []string{r.local, r.brokerID, r.account, r.status, "E1", "0.01", "3"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("record %s after migration (-want +got):\n%s", r.local, diff)
				}
			}
			open, err := s.Open(t.Context(), "acct-1")
			if err != nil || len(open) != 1 || open[0].LocalID != "L1" {
				t.Errorf("Open(acct-1) after migration = %v, %v; want [L1]", localIDsOf(open), err)
			}
			if dialect == sqlstore.SQLite {
				var n int
				if err := db.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pragma_foreign_key_check").Scan(&n); err != nil || n != 0 {
					t.Errorf("foreign key check after the rebuild: %d violations, %v", n, err)
				}
			}
			// New records: a client order id of acct-1 is free in acct-2; a
			// held broker order id is not free in its account; new records
			// list after the old ones.
			n := newOrder(1)
			n.Account, n.ClientOrderID = "acct-2", "C1"
			if _, err := s.Create(t.Context(), n); err != nil {
				t.Errorf("Create with acct-1's client id in acct-2: %v", err)
			}
			d := newOrder(2)
			d.Account, d.BrokerOrderID = "acct-1", "B1"
			if _, err := s.Create(t.Context(), d); !errors.Is(err, errors.ErrDuplicateOrder) {
				t.Errorf("Create with a broker id acct-1 holds: %v, want duplicate", err)
			}
			list, err := s.BySymbol(t.Context(), "acct-2", "AAPL")
			if diff := cmp.Diff([]string{"L3", n.LocalID}, localIDsOf(list)); diff != "" || err != nil {
				t.Errorf("BySymbol(acct-2) after migration (%v) (-want +got):\n%s", err, diff)
			}
		})
	}
}

func localIDsOf(os []order.Order) []string {
	out := make([]string, 0, len(os))
	for _, o := range os {
		out = append(out, o.LocalID)
	}
	return out
}
