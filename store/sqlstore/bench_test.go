package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/shopspring/decimal"
)

// BenchmarkSaveOrderWithFills measures saves of an order with its fills:
// each op creates an order carrying three fills, then updates it with a
// fourth (two saves per op; saves/s is reported).
func BenchmarkSaveOrderWithFills(b *testing.B) {
	stores := []struct {
		name string
		open func(testing.TB) order.Store
	}{
		{"memory", func(testing.TB) order.Store { return order.NewMemoryStore() }},
		{"sqlite", func(tb testing.TB) order.Store { return sqliteEngine().open(tb).Orders() }},
		{"postgres", func(tb testing.TB) order.Store { return postgresEngine().open(tb).Orders() }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			fill := func(i int) broker.Fill {
				return broker.Fill{ExecID: fmt.Sprintf("E%d", i), Quantity: decimal.RequireFromString("12.5"),
					Price: decimal.RequireFromString("187.0125"), Fee: decimal.RequireFromString("0.0125")}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				o := newOrder(i)
				o.Fills = []broker.Fill{fill(0), fill(1), fill(2)}
				o.FilledQuantity = decimal.RequireFromString("37.5")
				created, err := s.Create(b.Context(), o)
				if err != nil {
					b.Fatal(err)
				}
				created.Fills = append(created.Fills, fill(3))
				created.FilledQuantity = decimal.RequireFromString("50")
				created.Status = broker.StatusPartiallyFilled
				if _, err := s.Update(b.Context(), created); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "saves/s")
		})
	}
}
