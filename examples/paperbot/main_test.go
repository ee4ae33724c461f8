package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var decimalEqual = cmp.Comparer(func(x, y decimal.Decimal) bool { return x.Equal(y) })

// checkBooks asserts that the summary's books add up.
func checkBooks(t *testing.T, s Summary) {
	t.Helper()
	if !s.Position.Equal(s.NetFilled) {
		t.Errorf("position %s != bought less sold over the fills %s", s.Position, s.NetFilled)
	}
	marked := s.Cash.Add(s.Position.Mul(s.LastPrice))
	if !marked.Equal(s.Equity) {
		t.Errorf("equity %s != cash + position at the last price %s", s.Equity, marked)
	}
	if pnl := s.Realized.Add(s.Unrealized); !marked.Sub(s.StartCash).Equal(pnl) {
		t.Errorf("cash + position×price − start = %s, realized + unrealized = %s", marked.Sub(s.StartCash), pnl)
	}
	if s.Position.IsNegative() {
		t.Errorf("a long-only bot is short: %s", s.Position)
	}
	if s.Stops.Failures != 0 || s.Stops.Escalations != 0 {
		t.Errorf("the supervisor failed %d times and escalated %d times", s.Stops.Failures, s.Stops.Escalations)
	}
}

func TestRunBooksAreConsistent(t *testing.T) {
	for _, tt := range []struct {
		symbol string
		seed   uint64
		steps  int
	}{{"AAPL", 1, 400}, {"AAPL", 2, 333}, {"BTC-USD", 3, 500}, {"MSFT", 99, 1000}} {
		t.Run(tt.symbol, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Symbol, cfg.Seed, cfg.Steps, cfg.ProgressEvery = tt.symbol, tt.seed, tt.steps, 100
			var out bytes.Buffer
			s, err := Run(context.Background(), cfg, &out)
			if err != nil {
				t.Fatal(err)
			}
			if s.OrdersPlaced == 0 || s.Fills == 0 {
				t.Fatalf("the bot did not trade: %+v", s)
			}
			checkBooks(t, s)
			if s.Stops.StopsPlaced == 0 {
				t.Errorf("no stop was placed: %+v", s.Stops)
			}
			if got := strings.Count("\n"+out.String(), "\nstep "); got != tt.steps/100 {
				t.Errorf("%d progress lines, want %d:\n%s", got, tt.steps/100, out.String())
			}
		})
	}
}

// TestEveryPositionIsProtected looks at the books after every step: an open
// position has a protection record with a stop, and its protective order is
// working through the tracker at the broker for exactly the position.
func TestEveryPositionIsProtected(t *testing.T) {
	for _, seed := range []uint64{1, 4, 8} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Seed, cfg.Steps, cfg.ProgressEvery = seed, 400, 0
			cfg.DB = filepath.Join(t.TempDir(), "bot.db")
			held := 0
			cfg.afterStep = func(ctx context.Context, bt *bot, step int) error {
				qty, _, err := bt.position(ctx)
				if err != nil {
					return err
				}
				p, found, err := bt.protections.Get(ctx, account, bt.in.Symbol)
				if err != nil {
					return err
				}
				if qty.IsZero() {
					if found {
						t.Errorf("step %d: flat, yet a protection record remains: %+v", step, p)
					}
					return nil
				}
				held++
				if !found || !p.StopPrice.IsPositive() || !p.Quantity.Equal(qty) {
					t.Errorf("step %d: position %s, protection found %v: %+v", step, qty, found, p)
					return nil
				}
				stop, err := bt.runner.Tracker().Get(ctx, p.StopOrderID)
				if err != nil {
					t.Errorf("step %d: the stop order %q: %v", step, p.StopOrderID, err)
					return nil
				}
				if stop.Terminal() || stop.Side != broker.Sell || stop.Type != broker.Stop ||
					!stop.Quantity.Equal(qty) || !stop.StopPrice.Equal(p.StopPrice) || !stop.Protective {
					t.Errorf("step %d: position %s with stop %s, protective order %s %s %s %s stop %s protective %v",
						step, qty, p.StopPrice, stop.Status, stop.Side, stop.Type, stop.Quantity, stop.StopPrice, stop.Protective)
				}
				if p.StopPrice.GreaterThanOrEqual(bt.feed.price) {
					t.Errorf("step %d: a long's stop %s is not below the price %s", step, p.StopPrice, bt.feed.price)
				}
				return nil
			}
			s, err := Run(context.Background(), cfg, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if held == 0 || s.Stops.StopsPlaced == 0 {
				t.Fatalf("never held a position (%d steps) or placed a stop: %+v", held, s.Stops)
			}
			checkBooks(t, s)
		})
	}
}

// TestRestartContinues stops a run half-way (by the steps it is given, and
// by an interrupt) and restarts it on the same SQLite file: it ends exactly
// where an uninterrupted run ends, with the same orders, none lost or
// duplicated.
func TestRestartContinues(t *testing.T) {
	const steps = 500
	dir := t.TempDir()
	base := defaultConfig()
	base.Seed, base.Steps, base.ProgressEvery = 4, steps, 0

	whole := base
	whole.DB = filepath.Join(dir, "whole.db")
	want, err := Run(context.Background(), whole, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	wantOrders := ordersIn(t, whole.DB)

	for _, tt := range []struct {
		name  string
		first func(cfg *Config, cancel context.CancelFunc)
	}{
		{"stopped by -steps", func(cfg *Config, _ context.CancelFunc) { cfg.Steps = 222 }},
		{"interrupted", func(cfg *Config, cancel context.CancelFunc) {
			cfg.afterStep = func(_ context.Context, _ *bot, step int) error {
				if step == 317 {
					cancel()
				}
				return nil
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			cfg.DB = filepath.Join(t.TempDir(), "bot.db")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := cfg
			tt.first(&first, cancel)
			var out bytes.Buffer
			if _, err := Run(ctx, first, &out); err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			out.Reset()
			got, err := Run(context.Background(), cfg, &out)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "resumed after step") || got.ResumedFrom == 0 {
				t.Errorf("the second run did not resume (from %d):\n%s", got.ResumedFrom, out.String())
			}
			checkBooks(t, got)
			got.ResumedFrom = 0
			if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
				t.Errorf("the restarted run differs from the whole one (-whole +restarted)\n%s", diff)
			}
			if diff := cmp.Diff(wantOrders, ordersIn(t, cfg.DB)); diff != "" {
				t.Errorf("orders (-whole +restarted)\n%s", diff)
			}

			// Done: running again changes nothing; another seed is refused.
			again, err := Run(context.Background(), cfg, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			again.ResumedFrom = 0
			if diff := cmp.Diff(want, again, decimalEqual); diff != "" {
				t.Errorf("a finished run rerun differs (-whole +rerun)\n%s", diff)
			}
			other := cfg
			other.Seed++
			if _, err := Run(context.Background(), other, &bytes.Buffer{}); !errors.Is(err, errors.ErrConfiguration) {
				t.Errorf("another seed on the database: %v, want ErrConfiguration", err)
			}
		})
	}
}

// ordersIn lists a database's orders as "client id broker id status filled",
// sorted, after checking that no client or broker id appears twice.
func ordersIn(t *testing.T, path string) []string {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	orders, err := db.Orders().BySymbol(ctx, account, defaultConfig().Symbol)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var rows []string
	for _, o := range orders {
		for _, id := range []string{"client " + o.ClientOrderID, "broker " + o.BrokerOrderID} {
			if seen[id] && id != "broker " {
				t.Errorf("%s appears twice", id)
			}
			seen[id] = true
		}
		rows = append(rows, fmt.Sprintf("%s %s %s %s %d", o.ClientOrderID, o.BrokerOrderID, o.Status, o.FilledQuantity, len(o.Fills)))
	}
	sort.Strings(rows)
	if len(rows) == 0 {
		t.Fatalf("no order in %s", path)
	}
	return rows
}

// TestRiskRefusals crafts limits the bot's orders break: the refusals are
// counted by rule and printed, nothing refused reaches the broker, and the
// positions the bot still holds stay protected.
func TestRiskRefusals(t *testing.T) {
	for _, tt := range []struct {
		rule   string
		change func(*Config)
		placed bool // whether some orders still reach the broker
	}{
		{"max order quantity", func(c *Config) { c.MaxOrderQuantity = d("10") }, false},
		{"max order notional", func(c *Config) { c.MaxOrderNotional = d("1000") }, false},
		{"max daily loss", func(c *Config) { c.MaxDailyLoss = d("5") }, true},
		{"max orders per day", func(c *Config) { c.MaxOrdersPerDay = 3 }, true},
	} {
		t.Run(tt.rule, func(t *testing.T) {
			cfg := defaultConfig()
			cfg.Seed, cfg.Steps, cfg.ProgressEvery = 2, 500, 0
			tt.change(&cfg)
			var out bytes.Buffer
			if err := runMain(context.Background(), cfg, "", &out); err != nil {
				t.Fatal(err)
			}
			s, err := Run(context.Background(), cfg, &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if s.RefusedBy[tt.rule] == 0 || s.OrdersRefused < s.RefusedBy[tt.rule] {
				t.Errorf("refused %d, by rule %v; want refusals by %q", s.OrdersRefused, s.RefusedBy, tt.rule)
			}
			if want := fmt.Sprintf("%s: %d", tt.rule, s.RefusedBy[tt.rule]); !strings.Contains(out.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, out.String())
			}
			if tt.placed != (s.OrdersPlaced > 0) {
				t.Errorf("%d orders placed, want some: %v", s.OrdersPlaced, tt.placed)
			}
			checkBooks(t, s)
		})
	}
}

// TestRefusedOrdersAreNotSent checks the tracker's records of a refused run:
// stored as rejected by the checker, without a broker id.
func TestRefusedOrdersAreNotSent(t *testing.T) {
	cfg := defaultConfig()
	cfg.Steps, cfg.ProgressEvery, cfg.MaxOrderQuantity = 300, 0, d("10")
	cfg.DB = filepath.Join(t.TempDir(), "bot.db")
	s, err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	orders, err := db.Orders().BySymbol(context.Background(), account, cfg.Symbol)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != s.OrdersRefused || len(orders) == 0 {
		t.Fatalf("%d records, %d refusals", len(orders), s.OrdersRefused)
	}
	for _, o := range orders {
		if o.Status != broker.StatusRejected || o.BrokerOrderID != "" || !strings.Contains(o.RejectReason, "max order quantity") {
			t.Errorf("refused order %s: status %s, broker id %q, reason %q", o.ClientOrderID, o.Status, o.BrokerOrderID, o.RejectReason)
		}
	}
}

func TestRunIsDeterministic(t *testing.T) {
	run := func(seed uint64) (Summary, string) {
		cfg := defaultConfig()
		cfg.Seed, cfg.Steps = seed, 600
		var out bytes.Buffer
		if err := runMain(context.Background(), cfg, "", &out); err != nil {
			t.Fatal(err)
		}
		s, _ := Run(context.Background(), cfg, &bytes.Buffer{})
		return s, out.String()
	}
	s1, out1 := run(5)
	s2, out2 := run(5)
	if diff := cmp.Diff(out1, out2); diff != "" {
		t.Errorf("two runs of seed 5 printed differently (-first +second)\n%s", diff)
	}
	if diff := cmp.Diff(s1, s2, decimalEqual); diff != "" {
		t.Errorf("two runs of seed 5 differ (-first +second)\n%s", diff)
	}
	if _, out3 := run(6); out3 == out1 {
		t.Error("seeds 5 and 6 gave the same run")
	}
	for _, want := range []string{"summary: AAPL, seed 5, 600 steps", "orders placed", "realized P&L", "unrealized P&L",
		"average cost", "refused by risk", "stops placed", "trailing moves", "stopped out", "emergency closes", "take-profits"} {
		if !strings.Contains(out1, want) {
			t.Errorf("output lacks %q:\n%s", want, out1)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	for name, change := range map[string]func(*Config){
		"negative steps":   func(c *Config) { c.Steps = -1 },
		"zero steps":       func(c *Config) { c.Steps = 0 },
		"windows reversed": func(c *Config) { c.Fast, c.Slow = 20, 5 },
		"zero quantity":    func(c *Config) { c.Quantity = decimal.Zero },
		"negative every":   func(c *Config) { c.ProgressEvery = -1 },
		"no database":      func(c *Config) { c.DB = "" },
		"no stop":          func(c *Config) { c.StopPercent = decimal.Zero },
		"zero risk limit":  func(c *Config) { c.MaxOrderQuantity = decimal.Zero },
	} {
		cfg := defaultConfig()
		change(&cfg)
		if _, err := Run(context.Background(), cfg, &bytes.Buffer{}); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: %v, want ErrConfiguration", name, err)
		}
	}
	cfg := defaultConfig()
	cfg.Symbol = "BAD SYMBOL"
	if _, err := Run(context.Background(), cfg, &bytes.Buffer{}); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("bad symbol: %v, want ErrInvalidOrder", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, defaultConfig(), &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestForeignDatabaseRefused: a database holding orders of the paperbot's
// account but no paperbot progress is not traded on. (Orders of other
// accounts are no concern: the stores are scoped by account.)
func TestForeignDatabaseRefused(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Orders().Create(ctx, order.Order{LocalID: "l1", ClientOrderID: "c1", Account: account,
		Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}, Side: broker.Buy, Type: broker.Market,
		Quantity: d("1"), TimeInForce: broker.Day, Status: broker.StatusPendingNew})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.DB, cfg.Steps = path, 10
	if _, err := Run(ctx, cfg, &bytes.Buffer{}); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("foreign database: %v, want ErrConfiguration", err)
	}
}

func TestWalkStaysOnTheCentGrid(t *testing.T) {
	w := newWalk(42, d("1.10"), 50)
	for range 10_000 {
		p := w.next()
		if p.LessThan(d("1")) || !p.Equal(p.Round(2)) {
			t.Fatalf("price %s is below the floor or off the cent grid", p)
		}
	}
}
