package coinbase_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
)

// newStreamEnv is an adapter and emulator on one manual clock, the
// adapter's streams pointed at the emulator's two WebSocket endpoints.
func newStreamEnv(t *testing.T, scfg coinbasetest.Config, mod func(*coinbase.Config)) *env {
	t.Helper()
	return newEnv(t, scfg, true, func(c *coinbase.Config) {
		ws := "ws" + strings.TrimPrefix(c.BaseURL, "http")
		c.Stream.UserURL = ws + coinbasetest.UserStreamPath
		c.Stream.MarketURL = ws + coinbasetest.MarketStreamPath
		if mod != nil {
			mod(c)
		}
	})
}

// recvTimeout only guards a test that would otherwise hang: events are
// awaited on their channel, never slept for.
const recvTimeout = 5 * time.Second

func nextEvent(t *testing.T, s broker.OrderStream) broker.OrderEvent {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("order stream closed: %v", s.Err())
		}
		return ev
	case <-time.After(recvTimeout):
		t.Fatal("no order event")
	}
	return broker.OrderEvent{}
}

func nextQuote(t *testing.T, s broker.QuoteStream) broker.StreamQuote {
	t.Helper()
	select {
	case q, ok := <-s.Quotes():
		if !ok {
			t.Fatalf("quote stream closed: %v", s.Err())
		}
		return q
	case <-time.After(recvTimeout):
		t.Fatal("no quote")
	}
	return broker.StreamQuote{}
}

// closeOrders ends the stream and checks that it closes cleanly.
func closeOrders(t *testing.T, cancel context.CancelFunc, s broker.OrderStream) {
	t.Helper()
	cancel()
	for {
		select {
		case _, ok := <-s.Events():
			if !ok {
				if err := s.Err(); err != nil {
					t.Errorf("Err after a clean end: %v", err)
				}
				return
			}
		case <-time.After(recvTimeout):
			t.Fatal("order stream did not close")
		}
	}
}

func startOrders(t *testing.T, e *env) (broker.OrderStream, context.CancelFunc) {
	t.Helper()
	sctx, cancel := context.WithCancel(context.Background())
	s, err := e.b.StreamOrders(sctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { closeOrders(t, cancel, s) })
	return s, cancel
}

// kinds lists the kinds of events, for compact diffs.
func kinds(evs ...broker.OrderEvent) []broker.OrderEventKind {
	out := make([]broker.OrderEventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

func TestStreamProvisionalFillThenConfirmedByREST(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	s, _ := startOrders(t, e)
	if !s.Status().Live {
		t.Fatal("stream not live after StreamOrders returned")
	}
	ack, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000"))
	if err != nil {
		t.Fatal(err)
	}
	accepted := nextEvent(t, s)
	if accepted.Kind != broker.OrderEventAccepted || accepted.OrderID != ack.OrderID || accepted.ClientOrderID != ack.ClientOrderID {
		t.Fatalf("first event %+v", accepted)
	}
	if err := e.srv.Fill(ack.OrderID, d("0.004"), d("50000")); err != nil {
		t.Fatal(err)
	}
	prov := nextEvent(t, s)
	want := broker.Order{OrderID: ack.OrderID, ClientOrderID: ack.ClientOrderID, Status: broker.StatusPartiallyFilled,
		RawStatus: "OPEN", FilledQuantity: d("0.004"), AvgFillPrice: d("50000"), Fees: d("0.8"), LeavesQuantity: d("0.006")}
	if prov.Kind != broker.OrderEventSnapshot || !prov.Provisional || len(prov.Snapshot.Fills) != 0 {
		t.Fatalf("fill event %+v", prov)
	}
	if diff := cmp.Diff(want, prov.Snapshot, cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) }),
		cmpopts.IgnoreFields(broker.Order{}, "Instrument", "Side", "Type", "TimeInForce", "LimitPrice", "CreatedAt", "UpdatedAt")); diff != "" {
		t.Errorf("provisional snapshot (-want +got):\n%s", diff)
	}
	e.clock.Advance(time.Second) // the confirmation delay
	conf := nextEvent(t, s)
	if conf.Kind != broker.OrderEventSnapshot || conf.Provisional {
		t.Fatalf("confirmation %+v", conf)
	}
	execs, err := e.b.Fills(ctx(t), coinbase.FillFilter{OrderIDs: []string{ack.OrderID}})
	if err != nil || len(execs) != 1 {
		t.Fatalf("fills: %v %v", execs, err)
	}
	if len(conf.Snapshot.Fills) != 1 || conf.Snapshot.Fills[0].ExecID != execs[0].ExecID || execs[0].ExecID == "" ||
		!conf.Snapshot.Fills[0].Quantity.Equal(d("0.004")) || !conf.Snapshot.FilledQuantity.Equal(d("0.004")) {
		t.Errorf("confirmed fills %+v, REST trade %+v", conf.Snapshot.Fills, execs)
	}
}
