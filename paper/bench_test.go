package paper_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// BenchmarkPlaceAndFill places a limit buy and fills it with a price update.
func BenchmarkPlaceAndFill(b *testing.B) {
	ctx := context.Background()
	p := newBroker(b, paper.Config{Cash: d("1e15")}, "AAPL", "100")
	ids := make([]string, b.N)
	for i := range ids {
		ids[i] = broker.DeriveClientOrderID("bench", fmt.Sprint(i))
	}
	high, low := d("100"), d("99")
	b.ResetTimer()
	for i := range b.N {
		r := broker.OrderRequest{ClientOrderID: ids[i], Instrument: aapl, Side: broker.Buy, Type: broker.Limit,
			Quantity: decimal.NewFromInt(1), LimitPrice: low, TimeInForce: broker.GTC}
		if _, err := p.PlaceOrder(ctx, r); err != nil {
			b.Fatal(err)
		}
		_ = p.SetPrice("AAPL", low)
		_ = p.SetPrice("AAPL", high)
	}
	b.StopTimer()
	if open, _ := p.OpenOrders(ctx); len(open) != 0 {
		b.Fatalf("%d orders did not fill", len(open))
	}
}

// BenchmarkGetOrderWith10kOpen reads one order among 10,000 working ones.
func BenchmarkGetOrderWith10kOpen(b *testing.B) {
	ctx := context.Background()
	p := newBroker(b, paper.Config{Cash: d("1e15")}, "AAPL", "100")
	ids := make([]string, 10_000)
	for i := range ids {
		ids[i] = place(b, p, limit(aapl, broker.Buy, "1", "50"))
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := p.GetOrder(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenOrdersWith10kOpen lists 10,000 working orders.
func BenchmarkOpenOrdersWith10kOpen(b *testing.B) {
	ctx := context.Background()
	p := newBroker(b, paper.Config{Cash: d("1e15")}, "AAPL", "100")
	for range 10_000 {
		place(b, p, limit(aapl, broker.Buy, "1", "50"))
	}
	b.ResetTimer()
	for range b.N {
		if open, err := p.OpenOrders(ctx); err != nil || len(open) != 10_000 {
			b.Fatal(len(open), err)
		}
	}
}
