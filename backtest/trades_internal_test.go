package backtest

import (
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// Fills become flat-to-flat trades: adds and partial exits stay in one
// trade, a fill through zero splits (its fee by quantity), a short counts
// the other way, and what is open at the end is marked.
func TestTrades(t *testing.T) {
	d := decimal.RequireFromString
	at := func(i int) time.Time { return time.Date(2026, 1, 5+i, 0, 0, 0, 0, time.UTC) }
	f := func(i int, buy bool, qty, price, fee string) fillRecord {
		return fillRecord{buy: buy, orderType: broker.Market,
			fill: broker.Fill{Quantity: d(qty), Price: d(price), Fee: d(fee), Time: at(i)}}
	}
	fills := []fillRecord{
		f(0, true, "10", "100", "1"), f(1, true, "10", "110", "1"), // long 20 at 105
		f(2, false, "5", "120", "1"), f(3, false, "15", "100", "1"), // out at 105: gross 75 − 4 fees
		f(4, false, "10", "50", "1"), // short 10 at 50
		f(5, true, "30", "40", "3"),  // covers 10 (fee 1), long 20 at 40 (fee 2)
	}
	got := trades(fills, d("45"))
	want := []Trade{
		{Side: "long", Entry: at(0), Exit: at(3), Quantity: d("20"), EntryPrice: d("105"), ExitPrice: d("105"),
			ExitBy: broker.Market, Fees: d("4"), PnL: d("-4")},
		{Side: "short", Entry: at(4), Exit: at(5), Quantity: d("10"), EntryPrice: d("50"), ExitPrice: d("40"),
			ExitBy: broker.Market, Fees: d("2"), PnL: d("98")},
		{Side: "long", Entry: at(5), Quantity: d("20"), EntryPrice: d("40"), ExitPrice: d("45"),
			Fees: d("2"), PnL: d("98"), Open: true},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("trades (-want +got):\n%s", diff)
	}
}
