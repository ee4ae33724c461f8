package restart_test

import (
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// clock is the fake clock every rig shares with its trackers.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var start = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// paperRig: paper is its own state, so a restart reuses the same broker.
type paperRig struct {
	clk *clock
	b   *paper.Broker
}

func newPaperRig(t *testing.T) rig {
	clk := &clock{t: start}
	b, err := paper.New(paper.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetPrice("AAPL", decimal.RequireFromString("100")); err != nil {
		t.Fatal(err)
	}
	return &paperRig{clk: clk, b: b}
}

func (r *paperRig) connect(*testing.T) broker.Broker { return r.b }

func (r *paperRig) fill(t *testing.T, id string, qty, price decimal.Decimal) {
	if err := r.b.Execute(t.Context(), id, qty, price); err != nil {
		t.Fatal(err)
	}
}

func (r *paperRig) orders(t *testing.T) []broker.Order {
	all, err := r.b.Orders(t.Context(), broker.OrderQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func (r *paperRig) now() time.Time          { return r.clk.Now() }
func (r *paperRig) advance(d time.Duration) { r.clk.advance(d) }
func (r *paperRig) instrument() broker.Instrument {
	return broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
}
func (r *paperRig) quantity() decimal.Decimal   { return decimal.NewFromInt(10) }
func (r *paperRig) limitPrice() decimal.Decimal { return decimal.RequireFromString("99.50") }

func TestRestartMatrixPaper(t *testing.T) { runMatrix(t, "paper", newPaperRig) }
