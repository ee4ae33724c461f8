package etrade

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade/etradetest"
)

func limitBuy(symbol, price string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(), Instrument: broker.Instrument{Symbol: symbol, AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Limit, Quantity: dec("3"), LimitPrice: dec(price), TimeInForce: broker.Day}
}

// waiters is closed once a wait is parked on c.
func waiters(t *testing.T, c *clocktest.Fake) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		if c.WaitForWaiters(t.Context(), 1) == nil {
			close(ch)
		}
	}()
	return ch
}

func ordersFor(srv *etradetest.Server, clientOrderID string) []etradetest.OrderRecord {
	var out []etradetest.OrderRecord
	for _, o := range srv.Orders() {
		if o.ClientOrderID == clientOrderID {
			out = append(out, o)
		}
	}
	return out
}

// TestPlaceFaultsOneOrderPerIntent injects every fault on place, then lets
// the caller try the same intent again: the emulator never holds two orders
// for it; when the order was committed, the adapter finds it (by listing,
// since E*TRADE never echoes the client order id) and returns its id; a
// definite refusal lets the retry place exactly one. A committed order
// whose answer was lost stays outcome-unknown at the adapter (it never
// adopts by fields: another process may have placed the same fields); its
// lookup returns it as the one candidate, for the tracker to adopt.
func TestPlaceFaultsOneOrderPerIntent(t *testing.T) {
	tests := []struct {
		fault     etradetest.Fault
		committed bool        // the emulator did the work
		firstKind errors.Kind // "" = success
		retry     bool        // the caller's retry places the order
	}{
		{etradetest.FaultServerError, false, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultServerErrorXML, false, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultAuthMessage500, false, errors.ErrUnauthenticated, true},
		{etradetest.FaultRateLimitPage, false, errors.ErrRateLimited, true},
		{etradetest.FaultHTMLErrorPage, false, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultLatency, false, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultCommitThen500, true, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultCommitThenDrop, true, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultCommitThenTruncate, true, errors.ErrOutcomeUnknown, false},
		{etradetest.FaultCommitThenLatency, true, errors.ErrOutcomeUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			// The emulator's clock stands still: its latency waits until the
			// client gives up.
			serverClock := clocktest.New(time.Now())
			e := newEnv(t, envOptions{server: etradetest.Config{Clock: serverClock}})
			req := limitBuy("AAPL", "100.00")
			e.srv.InjectFault(etradetest.OpPlace, tt.fault)

			// The caller gives up once the place is parked on the
			// emulator's latency (the latency faults); the other faults
			// answer at once.
			ctx, cancel := context.WithCancel(t.Context())
			type result struct {
				ack broker.Ack
				err error
			}
			done := make(chan result, 1)
			go func() { ack, err := e.b.PlaceOrder(ctx, req); done <- result{ack, err} }()
			var r result
			select {
			case r = <-done:
			case <-waiters(t, serverClock):
				cancel()
				r = <-done
			}
			cancel()
			ack, err := r.ack, r.err
			if tt.firstKind == "" && err != nil || tt.firstKind != "" && !errors.Is(err, tt.firstKind) {
				t.Fatalf("first PlaceOrder: ack %+v, err %v; want kind %q", ack, err, tt.firstKind)
			}
			if tt.firstKind == errors.ErrOutcomeUnknown && errors.Retryable(err) {
				t.Error("an outcome-unknown error reports itself retryable")
			}
			// The caller tries the same intent again.
			again, err2 := e.b.PlaceOrder(t.Context(), req)
			got := ordersFor(e.srv, req.ClientOrderID)
			if len(got) > 1 {
				t.Fatalf("%d orders at the emulator for one intent", len(got))
			}
			if e.srv.Calls(etradetest.OpPlace) > 2 {
				t.Errorf("%d place requests for one intent", e.srv.Calls(etradetest.OpPlace))
			}
			switch {
			case tt.committed:
				if len(got) != 1 {
					t.Fatalf("committed fault: %d orders, want 1", len(got))
				}
				id := strconv.FormatInt(got[0].OrderID, 10)
				if err == nil && ack.OrderID != id {
					t.Errorf("first Ack id %q, want the committed order %s", ack.OrderID, id)
				}
				if err != nil && !errors.Is(err2, errors.ErrOutcomeUnknown) {
					t.Errorf("retry after a lost answer: %+v, %v; want outcome unknown, never resent", again, err2)
				}
				res, ferr := e.b.FindOrder(t.Context(), broker.FindQuery{Request: req,
					From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
				if ferr != nil || len(res.Candidates) != 1 || res.Candidates[0].OrderID != id {
					t.Errorf("FindOrder = %+v, %v; want the committed order %s as the one candidate", res, ferr, id)
				}
				if err == nil && !errors.Is(err2, errors.ErrDuplicateOrder) {
					t.Errorf("retry after success: %v, want ErrDuplicateOrder", err2)
				}
			case tt.retry:
				if err2 != nil || len(got) != 1 || again.OrderID != strconv.FormatInt(got[0].OrderID, 10) {
					t.Errorf("retry after a definite refusal: %+v, %v, %d orders; want one order placed", again, err2, len(got))
				}
			default:
				if len(got) != 0 {
					t.Fatalf("nothing was committed, yet %d orders", len(got))
				}
				if !errors.Is(err2, errors.ErrOutcomeUnknown) {
					t.Errorf("retry of an unresolved intent: %v, want ErrOutcomeUnknown (never resent)", err2)
				}
				if res, err := e.b.FindOrder(t.Context(), broker.FindQuery{Request: req}); err != nil || !res.Complete || len(res.Candidates) != 0 {
					t.Errorf("FindOrder: %+v %v, want a complete search with no candidate", res, err)
				}
			}
		})
	}
}

// TestChangeFaultResolvedThroughOldOrder: a change whose answer is lost is
// found through the old order's replacedByOrderId.
func TestChangeFaultResolvedThroughOldOrder(t *testing.T) {
	e := newEnv(t, envOptions{})
	ack, err := e.b.PlaceOrder(t.Context(), limitBuy("AAPL", "100.00"))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault(etradetest.OpChangePlace, etradetest.FaultCommitThenDrop)
	repl, err := e.b.ReplaceOrder(t.Context(), ack.OrderID, limitBuy("AAPL", "99.00"))
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.b.GetOrder(t.Context(), ack.OrderID)
	if err != nil || old.Status != broker.StatusReplaced || old.ReplacedBy != repl.OrderID {
		t.Errorf("old order %+v (%v): want replaced by %s", old, err, repl.OrderID)
	}
}

// TestPreviewTimedOutRetriedOnce: code 101 means nothing was placed; the
// adapter previews and places once more, and stops after a second 101.
func TestPreviewTimedOutRetriedOnce(t *testing.T) {
	for _, refusals := range []int{1, 2} {
		t.Run(strconv.Itoa(refusals), func(t *testing.T) {
			rt := &refusePlace{left: refusals}
			e2 := newEnv(t, envOptions{tune: func(c *Config) { c.HTTPClient = &http.Client{Transport: rt} }})
			rt.next = e2.srv.Client().Transport
			req := limitBuy("AAPL", "100.00")
			ack, err := e2.b.PlaceOrder(t.Context(), req)
			placed := ordersFor(e2.srv, req.ClientOrderID)
			if refusals == 1 && (err != nil || len(placed) != 1 || ack.OrderID != strconv.FormatInt(placed[0].OrderID, 10)) {
				t.Errorf("one 101: %+v, %v, %d orders; want placed on the second round", ack, err, len(placed))
			}
			if refusals == 2 && (brokerCode(err) != codePreviewTimedOut || len(placed) != 0) {
				t.Errorf("two 101s: %v, %d orders; want the 101 error and nothing placed", err, len(placed))
			}
			if got := e2.srv.Calls(etradetest.OpPreview); got != 2 {
				t.Errorf("previews = %d, want 2", got)
			}
		})
	}
}

// refusePlace answers the first n place requests with E*TRADE's code 101.
type refusePlace struct {
	next http.RoundTripper
	left int
}

func (r *refusePlace) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/orders/place.json") && r.left > 0 {
		r.left--
		body := `{"Error":{"code":101,"message":"For your protection, we have timed out your original order request. If you would like to place this order, please resubmit it now."}}`
		return &http.Response{StatusCode: 400, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	}
	return r.next.RoundTrip(req)
}
