package risk_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
)

// streamedSources serves the quotes of a stream whose status the test sets.
type streamedSources struct {
	*sources
	status broker.StreamStatus
}

func (s *streamedSources) Status() broker.StreamStatus { return s.status }

func TestQuotesFromAStaleStreamCountAsNoData(t *testing.T) {
	cases := []struct {
		name   string
		status broker.StreamStatus
		ok     bool
	}{
		{"fresh, quote unchanged for a minute", broker.StreamStatus{Live: true, LastMessage: t0.Add(-time.Second)}, true},
		{"silent too long", broker.StreamStatus{Live: true, LastMessage: t0.Add(-6 * time.Second)}, false},
		{"not live", broker.StreamStatus{Live: false, LastMessage: t0}, false},
		{"never heard from", broker.StreamStatus{Live: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, clk := fineSources(), newClock(t0)
			src.quotes[0].Time = t0.Add(-time.Minute) // the last change, a minute ago
			md := &streamedSources{sources: src, status: tc.status}
			e, err := risk.NewEngine(risk.Config{
				Rules: []risk.Rule{risk.PriceBand{Percent: dec("5")}}, Positions: src, OpenOrders: src, Account: src,
				MarketData: md, PnL: src, Location: time.UTC, MaxQuoteAge: 5 * time.Second, Clock: clk,
			})
			if err != nil {
				t.Fatal(err)
			}
			settle, err := e.PreTrade(context.Background(), fineOrder())
			if tc.ok {
				if err != nil {
					t.Fatalf("PreTrade = %v, want accepted", err)
				}
				settle(false)
				return
			}
			if !errors.Is(err, errors.ErrRiskDataUnavailable) {
				t.Fatalf("PreTrade = %v, want ErrRiskDataUnavailable", err)
			}
		})
	}
}
