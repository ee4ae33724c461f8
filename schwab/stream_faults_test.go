package schwab

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

type note struct {
	what string
	wait time.Duration
}

// notes makes the hub report what its loop does, for tests that must move
// the fake clock at the right moment. Set before the first stream starts.
func notes(r *rig) chan note {
	ch := make(chan note, 64)
	r.b.stream.note = func(what string, wait time.Duration) { ch <- note{what, wait} }
	return ch
}

// waitNote reads notes until one named what arrives.
func waitNote(t *testing.T, ch chan note, what string) note {
	t.Helper()
	deadline := time.After(guard)
	for {
		select {
		case n := <-ch:
			if n.what == what {
				return n
			}
		case <-deadline:
			t.Fatalf("no %q from the stream loop", what)
		}
	}
}

// Each way a connection dies ends in a reconnect, a new LOGIN, the same
// subscriptions and one gap whose Since is the last event before it; the
// change made meanwhile is on REST for the reconcile.
func TestStreamReconnects(t *testing.T) {
	cases := []struct {
		name  string
		fault func(r *rig)
	}{
		{"drop with close frame", func(r *rig) { r.emu.DropStreams(true) }},
		{"drop without close frame", func(r *rig) { r.emu.DropStreams(false) }},
		{"code 30 stop streaming", func(r *rig) { r.emu.StopStreaming() }},
		{"stall", func(r *rig) {
			r.emu.StallStreams()
			r.clock.Advance(31 * time.Second) // past the 30 s heartbeat window
		}},
		{"subscription error item", func(r *rig) { r.emu.SendActivity(testAccount, "ERROR", "EXPIRED_KEY") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newStreamRig(t, schwabtest.Config{}, nil)
			ns := notes(r)
			ctx := streamCtx(t)
			s, err := r.b.StreamOrders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			q, err := r.b.StreamQuotes(ctx, "AAPL")
			if err != nil {
				t.Fatal(err)
			}
			nextQuote(t, q)
			ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "150.00"))
			if err != nil {
				t.Fatal(err)
			}
			nextKinds(t, s, broker.OrderEventAccepted)
			lastEvent := r.clock.Now()
			// A round trip drains the frames still in flight (the routing
			// messages after the accept), so none lands after the fault.
			if err := q.Subscribe(ctx, "NOQUOTE"); err != nil {
				t.Fatal(err)
			}
			tc.fault(r)
			if tc.name == "subscription error item" {
				// not a disconnect: resubscribed on the same connection
				gap := nextKinds(t, s, broker.OrderEventGap)[0]
				if !gap.Since.Equal(lastEvent) || r.emu.StreamConnectsTotal() != 1 {
					t.Errorf("gap %+v, %d connections", gap, r.emu.StreamConnectsTotal())
				}
				return
			}
			wait := waitNote(t, ns, "backoff").wait
			if st := s.Status(); st.Live || st.LastError == nil {
				t.Errorf("during the outage: %+v", st)
			}
			if err := r.emu.Fill(ack.OrderID, dec("10"), dec("149.90")); err != nil { // missed by the stream
				t.Fatal(err)
			}
			if wait < time.Second || wait > 3*time.Second {
				t.Errorf("first backoff %s; want 2 s ± 50%%", wait)
			}
			r.clock.Advance(wait)
			gap := nextKinds(t, s, broker.OrderEventGap)[0]
			if !gap.Since.Equal(lastEvent) {
				t.Errorf("gap since %s; want the last event's time %s", gap.Since, lastEvent)
			}
			if st := s.Status(); !st.Live || st.Reconnects != 1 {
				t.Errorf("after the reconnect: %+v", st)
			}
			if got := nextQuote(t, q); got.Symbol != "AAPL" || got.Bid.IsZero() {
				t.Errorf("resubscribed quote %+v", got)
			}
			// What the reconcile reads: the order, filled while the stream was down.
			o, err := r.b.GetOrder(ctx, ack.OrderID)
			if err != nil || o.Status != broker.StatusFilled || len(o.Fills) != 1 {
				t.Errorf("REST after the gap: %+v %v", o, err)
			}
			var logins, activitySubs int
			for _, req := range r.emu.StreamRequests() {
				switch {
				case req.Command == "LOGIN":
					logins++
				case req.Service == "ACCT_ACTIVITY" && req.Command == "SUBS":
					activitySubs++
				}
			}
			if logins != 2 || activitySubs != 2 {
				t.Errorf("%d LOGINs, %d ACCT_ACTIVITY SUBS; want 2 and 2", logins, activitySubs)
			}
		})
	}
}

// Duplicated, reordered and skipped messages: no event twice, a gap where
// one was lost (or seemed to be), every fill once.
func TestStreamDuplicatesReorderSkip(t *testing.T) {
	cases := []struct {
		fault schwabtest.StreamFaultKind
		want  []broker.OrderEventKind // after the two fills
		fills []string                // quantities of the fill events, in order
	}{
		{schwabtest.StreamDuplicate, []broker.OrderEventKind{broker.OrderEventFill, broker.OrderEventFill}, []string{"1", "2"}},
		{schwabtest.StreamDuplicateNewSeq, []broker.OrderEventKind{broker.OrderEventFill, broker.OrderEventFill}, []string{"1", "2"}},
		{schwabtest.StreamReorder, []broker.OrderEventKind{broker.OrderEventGap, broker.OrderEventFill, broker.OrderEventFill}, []string{"2", "1"}},
		{schwabtest.StreamSkip, []broker.OrderEventKind{broker.OrderEventGap, broker.OrderEventFill}, []string{"2"}},
	}
	for _, tc := range cases {
		t.Run(tc.fault.String(), func(t *testing.T) {
			r := newStreamRig(t, schwabtest.Config{}, nil)
			ctx := streamCtx(t)
			s, err := r.b.StreamOrders(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "150.00"))
			if err != nil {
				t.Fatal(err)
			}
			accepted := nextKinds(t, s, broker.OrderEventAccepted)[0]
			r.emu.InjectStreamFault(schwabtest.StreamFault{Kind: tc.fault})
			for _, qty := range []string{"1", "2"} {
				if err := r.emu.Fill(ack.OrderID, dec(qty), dec("150.00")); err != nil {
					t.Fatal(err)
				}
			}
			evs := nextKinds(t, s, tc.want...)
			var fills []string
			for _, ev := range evs {
				switch ev.Kind {
				case broker.OrderEventFill:
					fills = append(fills, ev.Fill.Quantity.String())
				case broker.OrderEventGap:
					if !ev.Since.Equal(accepted.Time) {
						t.Errorf("gap since %s; want %s", ev.Since, accepted.Time)
					}
				}
			}
			if len(fills) != len(tc.fills) || fills[0] != tc.fills[0] || fills[len(fills)-1] != tc.fills[len(tc.fills)-1] {
				t.Errorf("fills %v; want %v", fills, tc.fills)
			}
			// Nothing else is queued: the next event is the cancel.
			if err := r.b.CancelOrder(ctx, ack.OrderID); err != nil {
				t.Fatal(err)
			}
			nextKinds(t, s, broker.OrderEventCancelRequested)
		})
	}
}

// Code 12 (another login took the user's one connection) ends every stream
// with the error; the adapter does not fight for the connection.
func TestStreamSecondLoginDropsFirst(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, err := r.b.StreamQuotes(ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	// A second Broker (another process) of the same user logs in.
	other, err := New(Config{AccountNumber: testAccount, Tokens: r.src, BaseURL: r.emu.URL(), HTTPClient: r.emu.Client(),
		Clock: r.clock, RequestsPerMinute: -1, OrderRequestsPerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := other.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range s.Events() {
	}
	for range q.Quotes() {
	}
	var be *errors.BrokerError
	if err := s.Err(); !errors.As(err, &be) || be.Code != "12" || !errors.Is(err, errors.ErrBrokerUnavailable) {
		t.Errorf("first stream ended with %v", err)
	}
	if q.Err() == nil {
		t.Error("the quote stream must end with the error too")
	}
	if n := r.emu.StreamConnectsTotal(); n != 2 {
		t.Errorf("%d connections; the dropped Broker must not reconnect", n)
	}
	if st := s2.Status(); !st.Live {
		t.Errorf("the newer stream: %+v", st)
	}
}

// Logins refused on every reconnect: after GiveUpAfter the streams end with
// the typed login error, never silently.
func TestStreamGivesUp(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, func(c *Config) { c.Stream.GiveUpAfter = time.Minute })
	ns := notes(r)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.emu.RefuseStreamLogins(1000)
	r.emu.DropStreams(true)
	attempts := 0
	for {
		select {
		case n := <-ns:
			if n.what == "backoff" {
				attempts++
				r.clock.Advance(n.wait)
			}
			continue
		case _, ok := <-s.Events():
			if ok {
				continue
			}
		case <-time.After(guard):
			t.Fatal("the stream never gave up")
		}
		break
	}
	var be *errors.BrokerError
	if err := s.Err(); !errors.Is(err, errors.ErrUnauthenticated) || !errors.As(err, &be) || be.Code != "3" {
		t.Errorf("ended with %v", err)
	}
	if attempts < 3 {
		t.Errorf("gave up after %d attempts", attempts)
	}
}

// A new access token is sent in a new LOGIN on the same connection.
func TestStreamReloginOnTokenRefresh(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{Stream: schwabtest.StreamConfig{HeartbeatInterval: -1, IdleTimeout: -1}},
		func(c *Config) { c.Stream.HeartbeatTimeout = 24 * time.Hour })
	ns := notes(r)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitNote(t, ns, "live")
	r.clock.Advance(31 * time.Minute) // the 30-minute access token is dead; the check runs
	waitNote(t, ns, "login")
	if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "150.00")); err != nil {
		t.Fatal(err)
	}
	nextKinds(t, s, broker.OrderEventAccepted)
	if logins, conns := r.emu.StreamLogins(), r.emu.StreamConnectsTotal(); logins != 2 || conns != 1 {
		t.Errorf("%d logins on %d connections; want 2 on 1", logins, conns)
	}
	if st := s.Status(); !st.Live || st.Reconnects != 0 {
		t.Errorf("status %+v", st)
	}
}

// Stream ends when its context ends, whatever the connection is doing.
func TestStreamEndsDuringBackoff(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ns := notes(r)
	ctx, cancel := context.WithCancel(context.Background())
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.emu.DropStreams(false)
	waitNote(t, ns, "backoff")
	cancel()
	for range s.Events() {
	}
	if s.Err() != nil {
		t.Errorf("a stream ended by its context has no error: %v", s.Err())
	}
}

// Reconnects refused for a while (login denied twice) back off longer each
// time and recover, with one gap at the end.
func TestStreamRecoversAfterRefusedLogins(t *testing.T) {
	r := newStreamRig(t, schwabtest.Config{}, nil)
	ns := notes(r)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.emu.RefuseStreamLogins(2)
	r.emu.DropStreams(true)
	var waits []time.Duration
	for range 3 {
		w := waitNote(t, ns, "backoff").wait
		waits = append(waits, w)
		r.clock.Advance(w)
	}
	gap := nextKinds(t, s, broker.OrderEventGap)[0]
	if !gap.Since.IsZero() {
		t.Errorf("no event came before the gap, Since %s", gap.Since)
	}
	if st := s.Status(); !st.Live || st.Reconnects != 3 || st.LastError == nil {
		t.Errorf("status %+v", st)
	}
	// 2 s, 4 s, 8 s with ±50 % jitter: the third is always past the first.
	if waits[2] <= waits[0] || waits[2] < 4*time.Second {
		t.Errorf("waits %v do not back off", waits)
	}
}

// No token and no schwabClientCustomerId (a credential, streaming.md §1.1)
// reaches a log line or an error, through a refused login and a reconnect.
func TestStreamSecretsStayOut(t *testing.T) {
	var buf safeBuffer
	r := newStreamRig(t, schwabtest.Config{}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ns := notes(r)
	ctx := streamCtx(t)
	s, err := r.b.StreamOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := r.src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.emu.SendStreamFrame("not json " + tok.AccessToken) // echoed garbage must not be logged either
	r.emu.RefuseStreamLogins(1)
	r.emu.DropStreams(false)
	for range 2 {
		r.clock.Advance(waitNote(t, ns, "backoff").wait)
	}
	gap := nextKinds(t, s, broker.OrderEventGap)[0]
	texts := []string{buf.String(), fmt.Sprint(s.Status()), fmt.Sprintf("%+v %#v", gap, r.b)}
	for _, text := range texts {
		for _, secret := range []string{tok.AccessToken, r.emu.StreamCustomerID()} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret leaked into %q", text)
			}
		}
	}
	if !strings.Contains(buf.String(), "connection lost") {
		t.Error("the log should say the connection was lost")
	}
}

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
