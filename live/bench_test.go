package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/metrics"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	sdk "go.opentelemetry.io/otel/sdk/metric"
)

// BenchmarkSubmit compares one order (a market buy or sell of 1, filled
// at placement) through a bare tracker with the same risk engine, and
// through the runner's Trader (observed broker, daily P&L, supervisor
// subscription), without and with metrics: the difference is the runner's
// overhead per order.
func BenchmarkSubmit(b *testing.B) {
	ctx := context.Background()
	newPaper := func(b *testing.B) *paper.Broker {
		p, err := paper.New(paper.Config{})
		if err != nil {
			b.Fatal(err)
		}
		if err := p.SetPrice("AAPL", dec("100")); err != nil {
			b.Fatal(err)
		}
		return p
	}
	rules := func() []risk.Rule {
		return []risk.Rule{risk.MaxOrderQuantity{Limit: dec("100")}, risk.PriceBand{Percent: dec("5")}}
	}
	req := func(i int) order.Request {
		side := broker.Buy
		if i%2 == 1 {
			side = broker.Sell
		}
		return order.Request{OrderRequest: broker.OrderRequest{Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
			Side: side, Type: broker.Market, Quantity: dec("1"), TimeInForce: broker.Day}}
	}
	b.Run("tracker", func(b *testing.B) {
		p := newPaper(b)
		eng, err := risk.NewEngine(risk.Config{Rules: rules(), Positions: p, OpenOrders: p, MarketData: p,
			Location: time.UTC, MaxQuoteAge: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		tr, err := order.NewTracker(order.Config{Broker: p, Checker: eng, Account: "a"})
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			if _, err := tr.Submit(ctx, req(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, withMetrics := range []bool{false, true} {
		name := "runner"
		if withMetrics {
			name = "runner+metrics"
		}
		b.Run(name, func(b *testing.B) {
			cfg := live.Config{Account: "a", Broker: newPaper(b), Rules: rules(), Location: time.UTC,
				MaxQuoteAge: time.Hour, Policy: stoploss.Policy{StopPercent: dec("50")}}
			if withMetrics {
				m, err := metrics.New(sdk.NewMeterProvider(sdk.WithReader(sdk.NewManualReader())))
				if err != nil {
					b.Fatal(err)
				}
				cfg.Metrics = m
			}
			r, err := live.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			i := 0
			for b.Loop() {
				if _, err := r.Trader().Submit(ctx, req(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
