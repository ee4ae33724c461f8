package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

var decimalEqual = cmp.Comparer(func(x, y decimal.Decimal) bool { return x.Equal(y) })

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
			if got := strings.Count(out.String(), "\nstep ") + 1; got != tt.steps/100 {
				t.Errorf("%d progress lines, want %d:\n%s", got, tt.steps/100, out.String())
			}
		})
	}
}

func TestRunIsDeterministic(t *testing.T) {
	run := func(seed uint64) (Summary, string) {
		cfg := defaultConfig()
		cfg.Seed, cfg.Steps = seed, 600
		var out bytes.Buffer
		if err := runMain(context.Background(), cfg, &out); err != nil {
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
	for _, want := range []string{"summary: AAPL, seed 5, 600 steps", "orders placed", "realized P&L", "unrealized P&L", "average cost"} {
		if !strings.Contains(out1, want) {
			t.Errorf("output lacks %q:\n%s", want, out1)
		}
	}
}

func TestConfigRefused(t *testing.T) {
	for name, change := range map[string]func(*Config){
		"negative steps":   func(c *Config) { c.Steps = -1 },
		"windows reversed": func(c *Config) { c.Fast, c.Slow = 20, 5 },
		"zero quantity":    func(c *Config) { c.Quantity = decimal.Zero },
		"negative every":   func(c *Config) { c.ProgressEvery = -1 },
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

func TestCrossover(t *testing.T) {
	c := newCrossover(2, 3)
	prices := []string{"10", "10", "10", "12", "13", "9", "8", "8", "11"}
	var got []string
	for _, p := range prices {
		got = append(got, c.next(d(p)).String())
	}
	// Averages exist from the third price: fast (10) vs slow (10) not above;
	// 12: fast 11 > slow 10.67 → go long; 9: fast 11 < slow 11.33 → go flat;
	// 11: fast 9.5 > slow 9 → go long.
	want := []string{"hold", "hold", "hold", "go long", "hold", "go flat", "hold", "hold", "go long"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signals (-want +got)\n%s", diff)
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
