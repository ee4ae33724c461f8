package sqlstore_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/postgres"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/shopspring/decimal"
)

func newOrder(n int) order.Order {
	return order.Order{
		LocalID:       fmt.Sprintf("L%06d", n),
		ClientOrderID: fmt.Sprintf("C%06d", n),
		Account:       "acct",
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy,
		Type:          broker.Limit,
		TimeInForce:   broker.GTC,
		Quantity:      decimal.RequireFromString("100"),
		LimitPrice:    decimal.RequireFromString("187.25"),
		Status:        broker.StatusNew,
		CreatedAt:     time.Date(2026, 11, 27, 14, 30, 0, 123456789, time.UTC),
		UpdatedAt:     time.Date(2026, 11, 27, 14, 30, 0, 123456789, time.UTC),
	}
}

// TestDecimalsRoundTripExactly stores awkward decimals in every money column
// and in a fill, and compares value and text (scale included) after reload.
func TestDecimalsRoundTripExactly(t *testing.T) {
	awkward := []string{
		"0", "1.50", "0.00000001", "123456789012345678901234567890.123456789012345678",
		"-42.4200", "1E-30", "-0.000000000000000000000000000001", "99999999999999999999.99",
		"3.141592653589793238462643383279502884197", "1000000", "-7",
	}
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t).Orders()
			for i, text := range awkward {
				d := decimal.RequireFromString(text)
				o := newOrder(i)
				o.Quantity, o.LimitPrice, o.StopPrice, o.TrailAmount, o.TrailPercent = d, d, d, d, d
				o.FilledQuantity, o.AvgFillPrice, o.Notional, o.Fees = d, d, d, d
				o.StopLossPrice, o.TakeProfitPrice = d, d
				o.Fills = []broker.Fill{{ExecID: "x", Quantity: d, Price: d, Fee: d, Time: o.CreatedAt}}
				if _, err := s.Create(t.Context(), o); err != nil {
					t.Fatalf("%s: create: %v", text, err)
				}
				got, err := s.Get(t.Context(), o.LocalID)
				if err != nil {
					t.Fatalf("%s: get: %v", text, err)
				}
				for name, v := range map[string]decimal.Decimal{
					"quantity": got.Quantity, "limit": got.LimitPrice, "stop": got.StopPrice,
					"trail amount": got.TrailAmount, "trail percent": got.TrailPercent,
					"filled": got.FilledQuantity, "avg": got.AvgFillPrice, "notional": got.Notional,
					"fees": got.Fees, "stop loss": got.StopLossPrice, "take profit": got.TakeProfitPrice,
					"fill qty": got.Fills[0].Quantity, "fill price": got.Fills[0].Price, "fill fee": got.Fills[0].Fee,
				} {
					if !v.Equal(d) || sameText(v) != sameText(d) {
						t.Errorf("%s: %s came back as %s", text, name, v.String())
					}
				}
			}
		})
	}
}

// sameText is the text with its scale: 1.50 and 1.5 differ.
func sameText(d decimal.Decimal) string {
	if d.Exponent() < 0 {
		return d.StringFixed(-d.Exponent())
	}
	return d.String()
}

// TestConcurrentWritersLoseNoUpdate has 8 goroutines each apply
// ARBION_SOAK_UPDATES increments (default 250) to shared orders with
// read-modify-write and the version check, retrying on a stale version; the
// final counts must be exact.
func TestConcurrentWritersLoseNoUpdate(t *testing.T) {
	const writers, shared = 8, 4
	updates := 250
	if v := os.Getenv("ARBION_SOAK_UPDATES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("ARBION_SOAK_UPDATES=%q: want a positive count", v)
		}
		updates = n
	}
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("thousands of database writes; skipped with -short")
			}
			db := e.open(t)
			s := db.Orders()
			for i := range shared {
				if _, err := s.Create(t.Context(), newOrder(i)); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			stale := make([]int, writers)
			for w := range writers {
				wg.Go(func() {
					for u := range updates {
						id := newOrder((w + u) % shared).LocalID
						for {
							o, err := s.Get(t.Context(), id)
							if err != nil {
								t.Error(err)
								return
							}
							o.FilledQuantity = o.FilledQuantity.Add(decimal.NewFromInt(1))
							o.UnknownLookups++
							if _, err = s.Update(t.Context(), o); err == nil {
								break
							}
							if !errors.Is(err, errors.ErrStaleVersion) {
								t.Error(err)
								return
							}
							stale[w]++
						}
					}
				})
			}
			wg.Wait()
			total := decimal.Zero
			for i := range shared {
				o, err := s.Get(t.Context(), newOrder(i).LocalID)
				if err != nil {
					t.Fatal(err)
				}
				total = total.Add(o.FilledQuantity)
				if int64(o.UnknownLookups)+1 != o.Version {
					t.Errorf("order %d: %d increments but version %d", i, o.UnknownLookups, o.Version)
				}
			}
			if want := decimal.NewFromInt(int64(writers * updates)); !total.Equal(want) {
				t.Errorf("total increments %s, want %s", total, want)
			}
			n := 0
			for _, c := range stale {
				n += c
			}
			t.Logf("%s: %d stale saves retried", e.name, n)
		})
	}
}

func TestFillsAppendedAcrossUpdates(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t).Orders()
			o, err := s.Create(t.Context(), newOrder(1))
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				o.Fills = append(o.Fills, broker.Fill{ExecID: fmt.Sprintf("E%d", i),
					Quantity: decimal.NewFromInt(10), Price: decimal.RequireFromString("187.01"), Time: o.CreatedAt})
				o.FilledQuantity = o.FilledQuantity.Add(decimal.NewFromInt(10))
				if o, err = s.Update(t.Context(), o); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Get(t.Context(), o.LocalID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Fills) != 3 || got.Fills[2].ExecID != "E2" || got.Version != 4 {
				t.Fatalf("fills %v version %d", got.Fills, got.Version)
			}
			// A save that would drop a stored fill is refused.
			shorter := got
			shorter.Fills = got.Fills[:1]
			if _, err := s.Update(t.Context(), shorter); !errors.Is(err, errors.ErrStaleVersion) {
				t.Fatalf("update dropping fills: %v, want stale version", err)
			}
		})
	}
}

func TestOpenReadsManyOrdersInFewQueries(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			s := e.open(t).Orders()
			for i := range 300 {
				o := newOrder(i)
				if i%3 == 0 {
					o.Status = broker.StatusFilled
				}
				o.Fills = []broker.Fill{{ExecID: "E", Quantity: decimal.NewFromInt(1), Price: decimal.NewFromInt(2)}}
				if _, err := s.Create(t.Context(), o); err != nil {
					t.Fatal(err)
				}
			}
			open, err := s.Open(t.Context(), "acct")
			if err != nil {
				t.Fatal(err)
			}
			if len(open) != 200 {
				t.Fatalf("%d open orders, want 200", len(open))
			}
			for i, o := range open {
				if o.Status.Terminal() || len(o.Fills) != 1 {
					t.Fatalf("open[%d] = %s with %d fills", i, o.Status, len(o.Fills))
				}
				if i > 0 && open[i-1].LocalID >= o.LocalID {
					t.Fatalf("not oldest first at %d", i)
				}
			}
		})
	}
}

func TestSchemaNewerThanCodeRefused(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			if _, err := db.SQL().ExecContext(t.Context(), "UPDATE arbion_schema SET version = version + 1"); err != nil {
				t.Fatal(err)
			}
			_, err := openTarget(t.Context(), e.target(db))
			if !errors.Is(err, errors.ErrConfiguration) || !strings.Contains(err.Error(), "newer than this code") {
				t.Fatalf("reopen of a newer schema: %v", err)
			}
		})
	}
}

func TestConcurrentOpensMigrateOnce(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			first := e.open(t)
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() { e.reopen(t, first) })
			}
			wg.Wait()
			var rows int
			if err := first.SQL().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM arbion_schema").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 1 {
				t.Fatalf("%d schema rows", rows)
			}
		})
	}
}

// TestNewRefusesBadConfig: what a host can get wrong is refused before any
// write, as a configuration error.
func TestNewRefusesBadConfig(t *testing.T) {
	noForeignKeys, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "nofk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer noForeignKeys.Close()
	healthy, err := sql.Open("sqlite", ":memory:?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close()
	tests := []struct {
		name string
		open func() (*sqlstore.DB, error)
		want string // in the error
	}{
		{"nil *sql.DB", func() (*sqlstore.DB, error) { return sqlstore.New(t.Context(), nil, sqlstore.SQLite) }, "*sql.DB is required"},
		{"unknown dialect", func() (*sqlstore.DB, error) { return sqlstore.New(t.Context(), healthy, "mysql") }, `unknown dialect "mysql"`},
		{"SQLite without foreign keys", func() (*sqlstore.DB, error) {
			return sqlstore.New(t.Context(), noForeignKeys, sqlstore.SQLite)
		}, "foreign keys are off"},
		{"empty SQLite path", func() (*sqlstore.DB, error) { return sqlite.Open(t.Context(), "") }, "file path is required"},
		{"empty PostgreSQL DSN", func() (*sqlstore.DB, error) { return postgres.Open(t.Context(), "") }, "DSN is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := tt.open()
			if !errors.Is(err, errors.ErrConfiguration) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want a configuration error containing %q", err, tt.want)
			}
			if db != nil {
				t.Fatal("a DB was returned with the error")
			}
		})
	}
	// The refused SQLite database was left open for its owner and untouched.
	var tables int
	if err := noForeignKeys.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sqlite_master").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("refused database: %d tables, %v; want 0 and usable", tables, err)
	}
}

// TestNewOnAHostsSQLiteDB: a *sql.DB the host opened itself with its own
// settings works as well as sqlite.Open's, and survives a reopen.
func TestNewOnAHostsSQLiteDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.db")
	open := func() *sqlstore.DB {
		sqldb, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		db, err := sqlstore.New(t.Context(), sqldb, sqlstore.SQLite)
		if err != nil {
			sqldb.Close()
			t.Fatal(err)
		}
		return db
	}
	db := open()
	if db.Dialect() != sqlstore.SQLite {
		t.Errorf("Dialect() = %q", db.Dialect())
	}
	o := newOrder(1)
	if _, err := db.Orders().Create(t.Context(), o); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL().PingContext(t.Context()); err == nil {
		t.Error("Close left the host's *sql.DB open")
	}
	db = open()
	defer db.Close()
	if got, err := db.Orders().Get(t.Context(), o.LocalID); err != nil || got.ClientOrderID != o.ClientOrderID {
		t.Errorf("after reopen: %+v, %v", got.ClientOrderID, err)
	}
}
