package order_test

import (
	"strconv"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// FuzzApplyEventSequences applies arbitrary event sequences (each byte
// picks an event; fills take the next byte as quantity and price) and checks
// after every step the invariants no sequence may break: fills sum to the
// filled quantity, never beyond the order's; the exact notional, the fees
// and the mean agree with the fills; execution ids are unique; a terminal
// order stays terminal; a full fill means filled; and applying the same
// event again changes nothing.
func FuzzApplyEventSequences(f *testing.F) {
	for _, seed := range [][]byte{
		{0, 2, 3, 2, 5, 9},            // ack, fill, fill, cancel req, cancel ok
		{0, 6, 2, 1, 8, 2, 200, 7},    // ack, replace req, fill, replace refused ...
		{2, 255, 2, 255, 2, 255, 3},   // overfill attempts
		{1, 2, 4, 9, 10, 0, 3, 4, 11}, // reject then anomalies
		{0, 3, 2, 9, 4, 5, 2, 50, 6, 7, 8},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 64 {
			script = script[:64]
		}
		e := newEnv(t, paper.Config{})
		ctx := t.Context()
		rec, err := e.store.Create(ctx, order.Order{LocalID: "L1", ClientOrderID: "C1", BrokerOrderID: "B1",
			Instrument: aapl, Side: broker.Buy, Type: broker.Limit, Quantity: dec("10"),
			LimitPrice: dec("90"), TimeInForce: broker.GTC, Status: broker.StatusPendingNew})
		if err != nil {
			t.Fatal(err)
		}
		kinds := order.EventKinds()
		wasTerminal := false
		for i := 0; i < len(script); i++ {
			ev := order.Event{LocalID: rec.LocalID, Kind: kinds[int(script[i])%len(kinds)]}
			if ev.Kind == order.EventFill {
				arg := byte(7)
				if i+1 < len(script) {
					i++
					arg = script[i]
				}
				ev.Fill = broker.Fill{ExecID: "X" + strconv.Itoa(int(arg%16)),
					Quantity: decimal.New(int64(arg%40)+1, -1), // 0.1 to 4.0
					Price:    decimal.New(9000+int64(arg), -2), Fee: decimal.New(int64(arg%3), -2)}
			}
			_, _ = e.tracker.Apply(ctx, ev)
			o := e.get(t, rec.LocalID)
			checkInvariants(t, o, wasTerminal)
			wasTerminal = o.Terminal()
			_, _ = e.tracker.Apply(ctx, ev)
			if again := e.get(t, rec.LocalID); again.Version != o.Version {
				t.Fatalf("step %d: %s applied twice changed the order", i, ev.Kind)
			}
		}
	})
}

func checkInvariants(t *testing.T, o order.Order, wasTerminal bool) {
	t.Helper()
	sum, notional, fees := decimal.Zero, decimal.Zero, decimal.Zero
	seen := map[string]bool{}
	for _, f := range o.Fills {
		if seen[f.ExecID] {
			t.Fatalf("execution id %s applied twice", f.ExecID)
		}
		seen[f.ExecID] = true
		sum = sum.Add(f.Quantity)
		notional = notional.Add(f.Quantity.Mul(f.Price))
		fees = fees.Add(f.Fee)
	}
	switch {
	case !sum.Equal(o.FilledQuantity):
		t.Fatalf("fills sum to %s, filled quantity %s", sum, o.FilledQuantity)
	case o.FilledQuantity.GreaterThan(o.Quantity):
		t.Fatalf("filled %s beyond the quantity %s", o.FilledQuantity, o.Quantity)
	case !notional.Equal(o.Notional) || !fees.Equal(o.Fees):
		t.Fatalf("notional %s fees %s, fills give %s and %s", o.Notional, o.Fees, notional, fees)
	case sum.IsPositive() && !o.AvgFillPrice.Equal(notional.DivRound(sum, order.AvgPricePlaces)):
		t.Fatalf("average %s, fills give %s", o.AvgFillPrice, notional.DivRound(sum, order.AvgPricePlaces))
	case o.Status == broker.StatusUnknown:
		t.Fatal("status unknown")
	case wasTerminal && !o.Terminal():
		t.Fatalf("a terminal order became %s", o.Status)
	case o.FilledQuantity.Equal(o.Quantity) && o.Status != broker.StatusFilled:
		t.Fatalf("fully filled but %s", o.Status)
	}
}
