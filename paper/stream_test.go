package paper_test

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
)

// kinds reads n events from s.
func kinds(t *testing.T, s broker.OrderStream, n int) []string {
	t.Helper()
	var out []string
	for range n {
		ev := <-s.Events()
		k := ev.Kind.String()
		if ev.Kind == broker.OrderEventFill {
			k += " " + ev.Fill.ExecID + " cum " + ev.Snapshot.FilledQuantity.String()
		}
		out = append(out, k)
	}
	return out
}

func TestStreamOrdersUnderFaults(t *testing.T) {
	aapl := broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
	cases := []struct {
		name  string
		fault func(uint64) paper.StreamFault
		want  []string
	}{
		{"no fault", nil, []string{"accepted", "fill E000000001 cum 4", "fill E000000002 cum 10", "accepted", "canceled"}},
		{"drop the 2nd", paper.StreamFaultEvery(paper.StreamDrop, 2), []string{"accepted", "gap", "fill E000000002 cum 10", "gap", "canceled"}},
		{"duplicate the 2nd", paper.StreamFaultEvery(paper.StreamDuplicate, 2), []string{"accepted", "fill E000000001 cum 4", "fill E000000001 cum 4", "fill E000000002 cum 10", "accepted", "accepted", "canceled"}},
		{"reorder the 2nd", paper.StreamFaultEvery(paper.StreamReorder, 2), []string{"accepted", "fill E000000002 cum 10", "fill E000000001 cum 4", "canceled", "accepted"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			b := newBroker(t, paper.Config{Faults: paper.Faults{Stream: tc.fault}}, "AAPL", "100")
			s, err := b.StreamOrders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !b.Capabilities().OrderStream || !b.Capabilities().QuoteStream {
				t.Error("capabilities do not say the paper broker streams")
			}
			id := place(t, b, limit(aapl, broker.Buy, "10", "99"))
			if err := b.Execute(ctx, id, d("4"), d("99")); err != nil {
				t.Fatal(err)
			}
			setPrice(t, b, "AAPL", "98")
			id2 := place(t, b, limit(aapl, broker.Buy, "1", "90"))
			if err := b.CancelOrder(ctx, id2); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, kinds(t, s, len(tc.want))); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			st := s.Status()
			if !st.Live || st.LastMessage.IsZero() {
				t.Errorf("status = %+v, want live", st)
			}
			cancel()
			for range s.Events() {
			}
			if err := s.Err(); err != nil {
				t.Errorf("Err after a clean end = %v", err)
			}
		})
	}
}

func TestStreamQuotesFollowsSubscriptions(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	b := newBroker(t, paper.Config{Faults: paper.Faults{Stream: paper.StreamFaultEvery(paper.StreamDrop, 3)}}, "AAPL", "100")
	s, err := b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	setPrice(t, b, "MSFT", "300") // not subscribed
	setPrice(t, b, "AAPL", "101")
	if q := <-s.Quotes(); q.Symbol != "AAPL" || !q.Last.Equal(d("101")) {
		t.Fatalf("quote = %+v, want AAPL at 101", q)
	}
	if err := s.Subscribe(ctx, "MSFT"); err != nil {
		t.Fatal(err)
	}
	setPrice(t, b, "MSFT", "301")
	<-s.Quotes()
	setPrice(t, b, "AAPL", "102") // the 3rd message: dropped
	if st := s.Status(); st.Live || st.Reconnects != 1 || st.LastError == nil {
		t.Errorf("status after a drop = %+v, want not live, 1 reconnect, an error", st)
	}
	if err := s.Unsubscribe(ctx, "MSFT"); err != nil {
		t.Fatal(err)
	}
	setPrice(t, b, "MSFT", "302")
	setPrice(t, b, "AAPL", "103")
	if q := <-s.Quotes(); q.Symbol != "AAPL" || !q.Last.Equal(d("103")) {
		t.Fatalf("quote = %+v, want AAPL at 103", q)
	}
	if !s.Status().Live {
		t.Error("stream not live again after the next message")
	}
}
