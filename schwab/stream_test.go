package schwab

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/google/go-cmp/cmp"
)

// guard bounds how long a test waits for an event that should come; it is
// a failure deadline, not a synchronisation sleep.
const guard = 10 * time.Second

func nextEvent(t *testing.T, s broker.OrderStream) broker.OrderEvent {
	t.Helper()
	select {
	case ev, ok := <-s.Events():
		if !ok {
			t.Fatalf("order stream closed: %v", s.Err())
		}
		return ev
	case <-time.After(guard):
		t.Fatal("no order event")
	}
	return broker.OrderEvent{}
}

// nextKinds reads len(kinds) events and checks their kinds.
func nextKinds(t *testing.T, s broker.OrderStream, kinds ...broker.OrderEventKind) []broker.OrderEvent {
	t.Helper()
	var got []broker.OrderEvent
	var gotKinds []broker.OrderEventKind
	for range kinds {
		ev := nextEvent(t, s)
		got = append(got, ev)
		gotKinds = append(gotKinds, ev.Kind)
	}
	if diff := cmp.Diff(kinds, gotKinds); diff != "" {
		t.Fatalf("event kinds (-want +got):\n%s\n%+v", diff, got)
	}
	return got
}

func nextQuote(t *testing.T, s broker.QuoteStream) broker.StreamQuote {
	t.Helper()
	select {
	case q, ok := <-s.Quotes():
		if !ok {
			t.Fatalf("quote stream closed: %v", s.Err())
		}
		return q
	case <-time.After(guard):
		t.Fatal("no quote")
	}
	return broker.StreamQuote{}
}

// newStreamRig is a rig whose client-side rate limits are off: the stream
// tests keep the fake clock still (a limiter's wait would need it moved) and
// move it only to study heartbeats, backoff and token expiry.
func newStreamRig(t *testing.T, emuCfg schwabtest.Config, mod func(*Config)) *rig {
	t.Helper()
	return newRig(t, emuCfg, func(c *Config) {
		c.RequestsPerMinute, c.OrderRequestsPerMinute = -1, -1
		if mod != nil {
			mod(c)
		}
	})
}

// streamCtx is a context that ends with the test.
func streamCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

// The order book drives the stream: a placement, a partial fill, a cancel
// and its confirmation arrive as events, and the fill is the same on REST.
func TestStreamOrderLifecycle(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	req := limitBuy("AAPL", 10, "150.00")
	ack, err := r.b.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	ev := nextKinds(t, s, broker.OrderEventAccepted)[0]
	// The accept may outrun PlaceOrder's answer, so it may not know the
	// ClientOrderID yet; later events do.
	if ev.OrderID != ack.OrderID || ev.RawStatus != "OrderAccepted" {
		t.Errorf("accepted event %+v", ev)
	}
	if err := r.emu.Fill(ack.OrderID, dec("4"), dec("149.95")); err != nil {
		t.Fatal(err)
	}
	fill := nextKinds(t, s, broker.OrderEventFill)[0]
	if fill.Fill.ExecID == "" || fill.ClientOrderID != req.ClientOrderID || !fill.Fill.Quantity.Equal(dec("4")) || !fill.Fill.Price.Equal(dec("149.95")) ||
		!fill.Snapshot.FilledQuantity.Equal(dec("4")) || !fill.Snapshot.LeavesQuantity.Equal(dec("6")) ||
		!fill.Fill.Time.Equal(testStart) {
		t.Errorf("fill event %+v", fill)
	}
	o, err := r.b.GetOrder(ctx, ack.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if !o.FilledQuantity.Equal(fill.Snapshot.FilledQuantity) || len(o.Fills) != 1 || !o.Fills[0].Price.Equal(fill.Fill.Price) {
		t.Errorf("REST shows %s filled in %d fills; the stream said %s", o.FilledQuantity, len(o.Fills), fill.Snapshot.FilledQuantity)
	}
	if err := r.b.CancelOrder(ctx, ack.OrderID); err != nil {
		t.Fatal(err)
	}
	nextKinds(t, s, broker.OrderEventCancelRequested)
	r.emu.Settle()
	done := nextKinds(t, s, broker.OrderEventCanceled)[0]
	if done.OrderID != ack.OrderID {
		t.Errorf("canceled %+v", done)
	}
	if st := s.Status(); !st.Live || st.LastMessage.IsZero() || st.Reconnects != 0 {
		t.Errorf("status %+v", st)
	}
}

// Reject, expiry and replace map to their events.
func TestStreamRejectExpireReplace(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	place := func() string {
		ack, err := r.b.PlaceOrder(ctx, limitBuy("MSFT", 5, "100.00"))
		if err != nil {
			t.Fatal(err)
		}
		nextKinds(t, s, broker.OrderEventAccepted)
		return ack.OrderID
	}
	id := place()
	if err := r.emu.Reject(id, "Your buying power is below the order's cost."); err != nil {
		t.Fatal(err)
	}
	rej := nextKinds(t, s, broker.OrderEventRejected)[0]
	if rej.OrderID != id || rej.Reason != "EmulatorReject Your buying power is below the order's cost." {
		t.Errorf("rejected %+v", rej)
	}
	id = place()
	if err := r.emu.Expire(id); err != nil {
		t.Fatal(err)
	}
	if ev := nextKinds(t, s, broker.OrderEventExpired)[0]; ev.OrderID != id {
		t.Errorf("expired %+v", ev)
	}
	id = place()
	ack, err := r.b.ReplaceOrder(ctx, id, limitBuy("MSFT", 5, "101.00"))
	if err != nil {
		t.Fatal(err)
	}
	evs := nextKinds(t, s, broker.OrderEventReplaced, broker.OrderEventAccepted)
	if evs[1].OrderID != ack.OrderID || evs[0].OrderID != id || evs[0].NewOrderID != ack.OrderID {
		t.Errorf("replace events %+v", evs)
	}
	r.emu.Settle() // REPLACED: confirmed, already reported; nothing more
	if err := r.emu.Fill(ack.OrderID, dec("5"), dec("101.00")); err != nil {
		t.Fatal(err)
	}
	if ev := nextKinds(t, s, broker.OrderEventFill)[0]; ev.OrderID != ack.OrderID {
		t.Errorf("fill of the replacement %+v", ev)
	}
}

// An unknown message type is answered with a REST snapshot of its order;
// an unknown order id (the read fails) with a gap.
func TestStreamUnknownMessageSnapshot(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 3, "150.00"))
	if err != nil {
		t.Fatal(err)
	}
	nextKinds(t, s, broker.OrderEventAccepted)
	r.emu.SendActivity(testAccount, "OrderMonitorUpdated",
		`{"SchwabOrderID":"`+ack.OrderID+`","AccountNumber":"`+testAccount+`","BaseEvent":{"EventType":"OrderMonitorUpdated"}}`)
	snap := nextKinds(t, s, broker.OrderEventSnapshot)[0]
	if snap.OrderID != ack.OrderID || snap.Snapshot.OrderID != ack.OrderID || snap.Snapshot.RawStatus != "WORKING" ||
		snap.RawStatus != "OrderMonitorUpdated" {
		t.Errorf("snapshot %+v", snap)
	}
	r.emu.SendActivity(testAccount, "SomethingNew", `{"SchwabOrderID":"999","BaseEvent":{"EventType":"SomethingNew"}}`)
	nextKinds(t, s, broker.OrderEventGap)
	// a zero-leg fill (no ExecutionInfo) is read by REST too
	r.emu.SendActivity(testAccount, "OrderFillCompleted", `{"SchwabOrderID":"`+ack.OrderID+`","BaseEvent":{"EventType":"OrderFillCompleted","OrderFillCompletedEventOrderLegQuantityInfo":{"EventType":"OrderFillCompleted"}}}`)
	nextKinds(t, s, broker.OrderEventSnapshot)
	// another account's message is not this Broker's
	r.emu.SendActivity("87654321", "OrderMonitorUpdated", `{"SchwabOrderID":"1","BaseEvent":{}}`)
	r.emu.SendStreamFrame("not json at all")
	if err := r.emu.Fill(ack.OrderID, dec("3"), dec("150.00")); err != nil {
		t.Fatal(err)
	}
	nextKinds(t, s, broker.OrderEventFill)
}

// Two order streams and a quote stream share one connection and one
// LOGIN; both order streams get every event.
func TestStreamSharedConnection(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	s1, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithCancel(ctx)
	s2, err := r.b.StreamOrders(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	q, err := r.b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	nextQuote(t, q)
	if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "150.00")); err != nil {
		t.Fatal(err)
	}
	a, b := nextKinds(t, s1, broker.OrderEventAccepted), nextKinds(t, s2, broker.OrderEventAccepted)
	if a[0].OrderID != b[0].OrderID {
		t.Errorf("streams disagree: %v / %v", a, b)
	}
	if n, logins := r.emu.StreamConnectsTotal(), r.emu.StreamLogins(); n != 1 || logins != 1 {
		t.Errorf("%d connections, %d logins; want one each", n, logins)
	}
	var subs int
	for _, req := range r.emu.StreamRequests() {
		if req.Service == "ACCT_ACTIVITY" && req.Command == "SUBS" {
			subs++
		}
	}
	if subs != 1 {
		t.Errorf("ACCT_ACTIVITY subscribed %d times; want once for both streams", subs)
	}
	cancel2()
	if _, ok := <-s2.Events(); ok {
		t.Error("an ended stream's channel must close")
	}
	if s2.Err() != nil {
		t.Errorf("clean end, err %v", s2.Err())
	}
	if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "150.00")); err != nil {
		t.Fatal(err)
	}
	nextKinds(t, s1, broker.OrderEventAccepted)
	if n := r.emu.StreamConnections(); n != 1 {
		t.Errorf("%d connections open", n)
	}
}

// When the last stream ends, the adapter logs out and closes; a later
// stream opens a fresh connection.
func TestStreamEndsWithLastConsumer(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range s.Events() {
	}
	ctx2 := streamCtx(t)
	s2, err := r.b.StreamOrders(ctx2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.b.PlaceOrder(ctx2, limitBuy("AAPL", 1, "150.00")); err != nil {
		t.Fatal(err)
	}
	nextKinds(t, s2, broker.OrderEventAccepted)
	var logouts int
	for _, req := range r.emu.StreamRequests() {
		if req.Command == "LOGOUT" {
			logouts++
		}
	}
	if logouts != 1 || r.emu.StreamConnectsTotal() != 2 {
		t.Errorf("%d logouts, %d connections; want 1 and 2", logouts, r.emu.StreamConnectsTotal())
	}
}

// A refused LOGIN is a typed error with Schwab's code and words, and no
// token in it.
func TestStreamLoginRefused(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	r.emu.RefuseStreamLogins(1)
	_, err := r.b.StreamOrders(streamCtx(t))
	var be *errors.BrokerError
	if !errors.Is(err, errors.ErrUnauthenticated) || !errors.As(err, &be) || be.Code != "3" ||
		be.Message != "Login Denied.: token is invalid or has expired." {
		t.Fatalf("err %v", err)
	}
	tok, _ := r.src.Token(context.Background())
	if strings.Contains(err.Error(), tok.AccessToken) {
		t.Error("the error carries the token")
	}
}
