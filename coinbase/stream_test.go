package coinbase_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"
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

// placeAccepted places a limit buy and returns it with its Accepted event.
func placeAccepted(t *testing.T, e *env, s broker.OrderStream) (broker.Ack, broker.OrderEvent) {
	t.Helper()
	ack, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000"))
	if err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, s)
	if ev.Kind != broker.OrderEventAccepted || ev.OrderID != ack.OrderID {
		t.Fatalf("want Accepted for %s, got %+v", ack.OrderID, ev)
	}
	return ack, ev
}

func TestStreamReconnectAfterDropReportsGap(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	s, _ := startOrders(t, e)
	_, accepted := placeAccepted(t, e, s)
	e.clock.Advance(2 * time.Second)
	e.srv.DropStreams()
	gap := nextEvent(t, s)
	if gap.Kind != broker.OrderEventGap || !gap.Since.Equal(accepted.Time) || accepted.Time.IsZero() {
		t.Fatalf("after a drop: %+v; want a gap since %v", gap, accepted.Time)
	}
	st := s.Status()
	if !st.Live || st.Reconnects != 1 || st.LastError == nil {
		t.Errorf("status after the reconnect: %+v", st)
	}
	if n := e.srv.StreamConnects(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
	_, _ = placeAccepted(t, e, s) // the new connection delivers
}

func TestStreamStallReconnectsAndFetchesWhatTheSnapshotShows(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	s, _ := startOrders(t, e)
	ack, accepted := placeAccepted(t, e, s)
	e.srv.StallStreams()
	if err := e.srv.Fill(ack.OrderID, d("0.003"), d("50000")); err != nil { // unseen: the socket is silent
		t.Fatal(err)
	}
	e.clock.Advance(coinbase.DefaultHeartbeatTimeout)
	gap := nextEvent(t, s)
	if gap.Kind != broker.OrderEventGap || !gap.Since.Equal(accepted.Time) {
		t.Fatalf("after a stall: %+v; want a gap since %v", gap, accepted.Time)
	}
	// The new snapshot shows more filled than the stream knew: no
	// synthetic fill, a REST fetch after the confirmation delay.
	e.clock.Advance(coinbase.DefaultConfirmDelay)
	conf := nextEvent(t, s)
	if conf.Kind != broker.OrderEventSnapshot || conf.Provisional || len(conf.Snapshot.Fills) != 1 ||
		conf.Snapshot.Fills[0].ExecID == "" || !conf.Snapshot.FilledQuantity.Equal(d("0.003")) {
		t.Fatalf("after the snapshot: %+v", conf)
	}
}

func TestStreamSequenceFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault coinbasetest.StreamFaultKind
		// want: the kinds seen after placing two orders, the first one's
		// frame being the faulty one.
		want []broker.OrderEventKind
		// firstSeen: whether the first order's Accepted is delivered.
		firstSeen bool
	}{
		{"lost frame is a gap", coinbasetest.StreamLose, []broker.OrderEventKind{broker.OrderEventGap, broker.OrderEventAccepted}, false},
		{"duplicate changes nothing", coinbasetest.StreamDuplicate, []broker.OrderEventKind{broker.OrderEventAccepted, broker.OrderEventAccepted}, true},
		{"late frame is ignored after the gap", coinbasetest.StreamReorder, []broker.OrderEventKind{broker.OrderEventGap, broker.OrderEventAccepted}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newStreamEnv(t, coinbasetest.Config{}, nil)
			s, _ := startOrders(t, e)
			e.srv.InjectStreamFault(coinbasetest.StreamFault{Kind: tc.fault, Channel: "user"})
			first, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000"))
			if err != nil {
				t.Fatal(err)
			}
			second, err := e.b.PlaceOrder(ctx(t), limitBuy("0.02", "50000"))
			if err != nil {
				t.Fatal(err)
			}
			got := []broker.OrderEvent{nextEvent(t, s), nextEvent(t, s)}
			if diff := cmp.Diff(tc.want, kinds(got...)); diff != "" {
				t.Fatalf("kinds (-want +got):\n%s", diff)
			}
			if tc.want[0] == broker.OrderEventGap && !got[0].Since.Equal(start) {
				t.Errorf("gap since %v, want the snapshot's time %v", got[0].Since, start)
			}
			ids := []string{got[0].OrderID, got[1].OrderID}
			wantIDs := []string{"", second.OrderID}
			if tc.firstSeen {
				wantIDs = []string{first.OrderID, second.OrderID}
			}
			if diff := cmp.Diff(wantIDs, ids); diff != "" {
				t.Errorf("order ids (-want +got):\n%s", diff)
			}
			// Nothing else is pending: the next event is the next order's.
			_, _ = placeAccepted(t, e, s)
		})
	}
}

func TestStreamStatusEvents(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{CancelQueued: true}, nil)
	s, _ := startOrders(t, e)
	a, _ := placeAccepted(t, e, s)
	if err := e.b.CancelOrder(ctx(t), a.OrderID); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, s); ev.Kind != broker.OrderEventCancelRequested || ev.RawStatus != "CANCEL_QUEUED" {
		t.Fatalf("after cancel: %+v", ev)
	}
	e.srv.Settle()
	if ev := nextEvent(t, s); ev.Kind != broker.OrderEventCanceled || ev.Snapshot.Status != broker.StatusCanceled {
		t.Fatalf("after settle: %+v", ev)
	}
	b, _ := placeAccepted(t, e, s)
	if err := e.srv.SetStatus(b.OrderID, "SOMETHING_NEW"); err != nil { // unknown: kept, logged, no event
		t.Fatal(err)
	}
	if err := e.srv.Expire(b.OrderID); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, s); ev.Kind != broker.OrderEventExpired || ev.OrderID != b.OrderID {
		t.Fatalf("after expiry: %+v", ev)
	}
}

func TestStreamFreshJWTForEverySubscribe(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	s, _ := startOrders(t, e)
	_, _ = placeAccepted(t, e, s) // every frame of the subscription has been read
	e.srv.StallStreams()
	e.clock.Advance(3 * time.Minute) // past the first JWTs' expiry; the silence forces a reconnect
	if gap := nextEvent(t, s); gap.Kind != broker.OrderEventGap {
		t.Fatalf("want a gap, got %+v", gap)
	}
	if fails := e.srv.AuthFailures(); len(fails) > 0 {
		t.Fatalf("emulator refused stream tokens: %q", fails)
	}
	frames := e.srv.StreamFrames()
	if len(frames) != 4 {
		t.Fatalf("%d frames, want heartbeats+user subscribes on two connections: %+v", len(frames), frames)
	}
	nonces := map[string]bool{}
	for i, f := range frames {
		wantNbf := start.Unix()
		if i >= 2 {
			wantNbf = start.Add(3 * time.Minute).Unix()
		}
		if f.Token == nil || f.Token.URI != "" || f.Token.Nbf != wantNbf || f.Token.Exp != wantNbf+120 || nonces[f.Token.Nonce] || !f.User {
			t.Errorf("frame %d: %+v token %+v", i, f, f.Token)
			continue
		}
		nonces[f.Token.Nonce] = true
	}
	if got := []string{frames[0].Channel, frames[1].Channel, frames[2].Channel, frames[3].Channel}; !cmp.Equal(got, []string{"heartbeats", "user", "heartbeats", "user"}) {
		t.Errorf("channels %q", got)
	}
}

func TestStreamGivesUpWithErr(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, func(c *coinbase.Config) { c.Stream.MaxReconnects = 2 })
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := e.b.StreamOrders(sctx)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Close()
	drained, stop := context.WithCancel(ctx(t))
	unexpected := 0
	go func() {
		for range s.Events() {
			unexpected++
		}
		stop()
	}()
	for drained.Err() == nil { // move the clock through each backoff wait, once the adapter is parked on it
		if e.clock.WaitForWaiters(drained, 1) == nil {
			e.clock.Advance(time.Minute)
		}
	}
	err = s.Err()
	if unexpected != 0 || !errors.Is(err, errors.ErrBrokerUnavailable) || s.Status().Live {
		t.Fatalf("%d events; Err %v, status %+v", unexpected, err, s.Status())
	}
}

func TestStreamOrdersFirstConnectionFailure(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	e.srv.Close()
	if _, err := e.b.StreamOrders(ctx(t)); !errors.Is(err, errors.ErrNetwork) {
		t.Fatalf("StreamOrders on a closed server: %v", err)
	}
}

func TestQuoteStreamsShareOneConnection(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	c1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	q1, err := e.b.StreamQuotes(c1, "BTC-USD")
	if err != nil {
		t.Fatal(err)
	}
	want := broker.StreamQuote{Quote: broker.Quote{Symbol: "BTC-USD", Bid: d("101716.47"), Ask: d("101722.02"), Last: d("101716.47"), Time: start},
		BidSize: d("10"), AskSize: d("10")}
	if diff := cmp.Diff(want, nextQuote(t, q1), cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("snapshot quote (-want +got):\n%s", diff)
	}
	c2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	q2, err := e.b.StreamQuotes(c2, "BTC-USD", "ETH-USD")
	if err != nil {
		t.Fatal(err)
	}
	if q := nextQuote(t, q2); q.Symbol != "ETH-USD" { // BTC-USD was already subscribed: only ETH-USD's snapshot comes
		t.Fatalf("q2 first quote %+v", q)
	}
	if err := e.srv.SetQuote("BTC-USD", d("100"), d("101"), d("100.5")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []broker.QuoteStream{q1, q2} {
		if got := nextQuote(t, q); got.Symbol != "BTC-USD" || !got.Bid.Equal(d("100")) || !got.Ask.Equal(d("101")) || !got.Last.Equal(d("100.5")) {
			t.Errorf("fan-out quote %+v", got)
		}
	}
	if err := q2.Unsubscribe(ctx(t), "BTC-USD"); err != nil { // q1 still wants it: nothing sent
		t.Fatal(err)
	}
	cancel1() // nobody wants BTC-USD now: unsubscribed
	for range q1.Quotes() {
	}
	if err := q2.Subscribe(ctx(t), "SOL-USD"); err != nil {
		t.Fatal(err)
	}
	if q := nextQuote(t, q2); q.Symbol != "SOL-USD" {
		t.Fatalf("after subscribing SOL-USD: %+v", q)
	}
	var got []string
	for _, f := range e.srv.StreamFrames() {
		if f.Channel == "ticker" {
			got = append(got, f.Type+" "+strings.Join(f.ProductIDs, ","))
		}
	}
	if diff := cmp.Diff([]string{"subscribe BTC-USD", "subscribe ETH-USD", "unsubscribe BTC-USD", "subscribe SOL-USD"}, got); diff != "" {
		t.Errorf("ticker frames (-want +got):\n%s", diff)
	}
	if n := e.srv.StreamConnects(); n != 1 {
		t.Errorf("%d market connections, want 1", n)
	}
	if !q2.Status().Live {
		t.Errorf("status %+v", q2.Status())
	}
}

func TestStreamCapabilities(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	c := e.b.Capabilities()
	if !c.OrderStream || !c.QuoteStream {
		t.Errorf("capabilities %+v", c)
	}
	if _, ok := broker.Find[broker.OrderStreamer](e.b); !ok {
		t.Error("no OrderStreamer")
	}
}

// TestStreamsWithOAuth: the WebSocket documents no OAuth authentication,
// so the order stream is refused (and not advertised) while the public
// ticker works without a JWT.
func TestStreamsWithOAuth(t *testing.T) {
	e := newStreamEnv(t, coinbasetest.Config{}, nil)
	oc := &oauth2.Config{ClientID: "app-id", ClientSecret: "app-secret",
		Endpoint: oauth2.Endpoint{TokenURL: e.srv.URL() + coinbasetest.OAuthTokenPath}}
	src, err := auth.NewSource(auth.SourceConfig{Broker: "coinbase", OAuth2: oc, Store: auth.NewMemoryStore(), StoreKey: "cb",
		HTTPClient: e.srv.Client(), Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	ws := "ws" + strings.TrimPrefix(e.srv.URL(), "http")
	b, err := coinbase.New(coinbase.Config{OAuth: src, RetailPortfolioID: e.srv.Portfolio(), BaseURL: e.srv.URL(),
		HTTPClient: e.srv.Client(), Clock: e.clock,
		Stream: coinbase.StreamConfig{UserURL: ws + coinbasetest.UserStreamPath, MarketURL: ws + coinbasetest.MarketStreamPath}})
	if err != nil {
		t.Fatal(err)
	}
	if c := b.Capabilities(); c.OrderStream || !c.QuoteStream {
		t.Errorf("capabilities with OAuth: %+v", c)
	}
	if _, err := b.StreamOrders(ctx(t)); !errors.Is(err, errors.ErrNotSupported) {
		t.Errorf("StreamOrders with OAuth: %v", err)
	}
	qctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q, err := b.StreamQuotes(qctx, "ETH-USD")
	if err != nil {
		t.Fatal(err)
	}
	if got := nextQuote(t, q); got.Symbol != "ETH-USD" {
		t.Errorf("quote %+v", got)
	}
	for _, f := range e.srv.StreamFrames() {
		if f.Token != nil || strings.Contains(f.Body, `"jwt"`) {
			t.Errorf("OAuth stream frame carries a JWT: %s", f.Body)
		}
	}
}
