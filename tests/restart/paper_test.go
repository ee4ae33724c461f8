package restart_test

import (
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

var start = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// paperRig: paper is its own state, so a restart reuses the same broker.
type paperRig struct {
	clk *clocktest.Fake
	b   *paper.Broker
}

func newPaperRig(t *testing.T) rig {
	clk := clocktest.New(start)
	b, err := paper.New(paper.Config{Clock: clk})
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

func (r *paperRig) clock() clock.Clock      { return r.clk }
func (r *paperRig) advance(d time.Duration) { r.clk.Advance(d) }
func (r *paperRig) instrument() broker.Instrument {
	return broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
}
func (r *paperRig) quantity() decimal.Decimal   { return decimal.NewFromInt(10) }
func (r *paperRig) limitPrice() decimal.Decimal { return decimal.RequireFromString("99.50") }

func TestRestartMatrixPaper(t *testing.T) { runMatrix(t, "paper", newPaperRig) }
