package schwab

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

var allFaults = []schwabtest.Fault{
	{Kind: schwabtest.FaultServerError},
	{Kind: schwabtest.FaultServerError, Status: 503},
	{Kind: schwabtest.FaultServerErrorAfter},
	{Kind: schwabtest.FaultLatency, Delay: 45 * time.Second},
	{Kind: schwabtest.FaultDropAfterAccept},
	{Kind: schwabtest.FaultNoLocation},
	{Kind: schwabtest.FaultHTMLError},
	{Kind: schwabtest.FaultTruncatedJSON},
	{Kind: schwabtest.FaultRateLimited},
	{Kind: schwabtest.FaultTextNotFound},
	{Kind: schwabtest.FaultPathOnlyLocation},
}

func faultName(f schwabtest.Fault) string {
	if f.Status != 0 {
		return fmt.Sprintf("%s-%d", f.Kind, f.Status)
	}
	return f.Kind.String()
}

// faultRig is a rig for one fault case: limits off (the fault tests run on
// a manual clock, where a limiter wait would never end) and the clock in
// auto-advance mode so that retries' backoff passes, except for latency,
// which the test drives by hand.
func faultRig(t *testing.T, f schwabtest.Fault) *rig {
	r := newRig(t, schwabtest.Config{}, func(c *Config) { c.RequestsPerMinute, c.OrderRequestsPerMinute = -1, -1 })
	r.clock.SetAutoAdvance(f.Kind != schwabtest.FaultLatency)
	if _, err := r.b.Account(context.Background()); err != nil { // look the hash up before the fault
		t.Fatal(err)
	}
	return r
}

// call runs op; for a latency fault it waits until the emulator holds the
// request, gives up on the client side (the client's timeout), then lets the
// emulator finish.
func call[T any](t *testing.T, r *rig, f schwabtest.Fault, op func(ctx context.Context) (T, error)) (T, error) {
	t.Helper()
	if f.Kind != schwabtest.FaultLatency {
		return op(context.Background())
	}
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op(ctx)
		done <- result{v, err}
	}()
	wait, stop := context.WithTimeout(context.Background(), 30*time.Second)
	defer stop()
	if err := r.clock.WaitForWaiters(wait, 1); err != nil {
		cancel()
		t.Fatalf("the emulator never held the request: %v", err)
	}
	cancel() // the client gives up while the emulator still works
	res := <-done
	r.clock.Advance(f.Delay) // the emulator finishes the request now
	waitEmulatorIdle(t, r)
	return res.v, res.err
}

// waitEmulatorIdle waits until the emulator has finished every request.
func waitEmulatorIdle(t *testing.T, r *rig) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.emu.WaitIdle(ctx); err != nil {
		t.Fatalf("the emulator is still busy: %v", err)
	}
}

// wantClassified: the outcome is either success, a classified error
// saying nothing was done, or ErrOutcomeUnknown.
func wantClassified(t *testing.T, err error) {
	t.Helper()
	if err != nil && errors.KindOf(err) == "" {
		t.Fatalf("unclassified error: %v", err)
	}
}

// ordersFor counts the emulator's orders for one intent (identified by its
// unique price).
func ordersFor(r *rig, price decimal.Decimal) []schwabtest.OrderRecord {
	var out []schwabtest.OrderRecord
	for _, o := range r.emu.Orders() {
		if o.Price.Equal(price) {
			out = append(out, o)
		}
	}
	return out
}

func TestPlaceUnderFaults(t *testing.T) {
	for i, f := range allFaults {
		t.Run(faultName(f), func(t *testing.T) {
			r := faultRig(t, f)
			req := limitBuy("AAPL", 10, fmt.Sprintf("%d.01", 50+i))
			r.emu.InjectFault(schwabtest.RoutePlace, f)
			ack, err := call(t, r, f, func(ctx context.Context) (broker.Ack, error) { return r.b.PlaceOrder(ctx, req) })
			wantClassified(t, err)
			held := ordersFor(r, req.LimitPrice)
			switch {
			case len(held) > 1:
				t.Fatalf("the emulator holds %d orders for one intent", len(held))
			case err == nil && (len(held) != 1 || held[0].ID != ack.OrderID):
				t.Fatalf("success with id %q, emulator holds %+v", ack.OrderID, held)
			case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown) && len(held) != 0:
				t.Fatalf("error %q says nothing was placed, but the emulator holds %+v", err, held)
			}

			// Placing the same intent again never makes a second order; a
			// lost answer stays unknown at the adapter, and its lookup
			// returns the order as the one candidate for the tracker.
			ack2, err2 := r.b.PlaceOrder(context.Background(), req)
			wantClassified(t, err2)
			held = ordersFor(r, req.LimitPrice)
			if len(held) > 1 {
				t.Fatalf("the repeat made a second order: %+v", held)
			}
			switch {
			case len(held) == 1 && err == nil && (err2 != nil || ack2.OrderID != held[0].ID):
				t.Errorf("repeat after success: %v %q, emulator holds %s", err2, ack2.OrderID, held[0].ID)
			case err != nil && !errors.Is(err2, errors.ErrOutcomeUnknown) && errors.Is(err, errors.ErrOutcomeUnknown):
				t.Errorf("repeat after a lost answer: %v %q; want outcome unknown, never resent", err2, ack2.OrderID)
			}
			if len(held) == 1 {
				now := r.clock.Now()
				res, err := r.b.FindOrder(context.Background(), broker.FindQuery{Request: req,
					From: now.Add(-time.Minute), To: now.Add(time.Minute)})
				if err != nil || !res.Complete || len(res.Candidates) != 1 || res.Candidates[0].OrderID != held[0].ID {
					t.Errorf("FindOrder = %+v, %v; want complete with the one candidate %s", res, err, held[0].ID)
				}
			}
			t.Logf("first: %v; repeat: %v; held %d", errors.KindOf(err), errors.KindOf(err2), len(held))
		})
	}
}

func TestReplaceUnderFaults(t *testing.T) {
	for i, f := range allFaults {
		t.Run(faultName(f), func(t *testing.T) {
			r := faultRig(t, f)
			old, err := r.b.PlaceOrder(context.Background(), limitBuy("AAPL", 10, "40.00"))
			if err != nil {
				t.Fatal(err)
			}
			req := limitBuy("AAPL", 10, fmt.Sprintf("%d.02", 50+i))
			r.emu.InjectFault(schwabtest.RouteReplace, f)
			ack, err := call(t, r, f, func(ctx context.Context) (broker.Ack, error) {
				return r.b.ReplaceOrder(ctx, old.OrderID, req)
			})
			wantClassified(t, err)
			held := ordersFor(r, req.LimitPrice)
			switch {
			case len(held) > 1:
				t.Fatalf("the emulator holds %d replacements for one intent", len(held))
			case err == nil && (len(held) != 1 || held[0].ID != ack.OrderID || held[0].Replaces != old.OrderID):
				t.Fatalf("success with id %q, emulator holds %+v", ack.OrderID, held)
			case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown) && len(held) != 0:
				t.Fatalf("error %q says nothing was replaced, but the emulator holds %+v", err, held)
			}
			if _, err := r.b.ReplaceOrder(context.Background(), old.OrderID, req); len(ordersFor(r, req.LimitPrice)) > 1 {
				t.Fatalf("the repeated replace made a second order (%v)", err)
			}
		})
	}
}

func TestCancelUnderFaults(t *testing.T) {
	for _, f := range allFaults {
		t.Run(faultName(f), func(t *testing.T) {
			r := faultRig(t, f)
			ack, err := r.b.PlaceOrder(context.Background(), limitBuy("AAPL", 10, "40.00"))
			if err != nil {
				t.Fatal(err)
			}
			r.emu.InjectFault(schwabtest.RouteCancel, f)
			_, err = call(t, r, f, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, r.b.CancelOrder(ctx, ack.OrderID)
			})
			wantClassified(t, err)
			rec, _ := r.emu.Order(ack.OrderID)
			switch {
			case len(r.emu.Orders()) != 1:
				t.Fatalf("a cancel created orders: %+v", r.emu.Orders())
			case err == nil && rec.Status != "PENDING_CANCEL":
				t.Errorf("cancel succeeded but the order is %s", rec.Status)
			}
			// Whatever happened, a second cancel settles it.
			if err := r.b.CancelOrder(context.Background(), ack.OrderID); err != nil {
				t.Errorf("second cancel: %v", err)
			}
			r.emu.Settle()
			if o, err := r.b.GetOrder(context.Background(), ack.OrderID); err != nil || o.Status != broker.StatusCanceled {
				t.Errorf("after cancel and settle: %s %v", o.Status, err)
			}
		})
	}
}

func TestGetUnderFaults(t *testing.T) {
	for _, f := range allFaults {
		t.Run(faultName(f), func(t *testing.T) {
			r := faultRig(t, f)
			req := limitBuy("AAPL", 10, "40.00")
			ack, err := r.b.PlaceOrder(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			r.emu.InjectFault(schwabtest.RouteGet, f)
			o, err := call(t, r, f, func(ctx context.Context) (broker.Order, error) { return r.b.GetOrder(ctx, ack.OrderID) })
			wantClassified(t, err)
			if err == nil && (o.OrderID != ack.OrderID || !o.LimitPrice.Equal(req.LimitPrice) || o.ClientOrderID != req.ClientOrderID) {
				t.Errorf("GetOrder = %+v", o)
			}
			if errors.Is(err, errors.ErrOrderNotFound) {
				t.Errorf("a fault read as 'order not found': %v", err)
			}
			if len(r.emu.Orders()) != 1 {
				t.Errorf("a read created orders")
			}
		})
	}
}

// A Location naming another order is caught when VerifyPlacedOrder is on:
// the order is read back, does not match, and the placement is reported
// outcome-unknown (the tracker's lookup settles it), never acknowledged
// under the wrong id.
func TestWrongLocationCaughtByVerification(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, func(c *Config) { c.VerifyPlacedOrder = true })
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	decoy, err := r.b.PlaceOrder(ctx, limitBuy("MSFT", 3, "20.00"))
	if err != nil {
		t.Fatal(err)
	}
	r.emu.InjectFault(schwabtest.RoutePlace, schwabtest.Fault{Kind: schwabtest.FaultWrongLocation})
	req := limitBuy("AAPL", 10, "10.00")
	ack, err := r.b.PlaceOrder(ctx, req)
	if !errors.Is(err, errors.ErrOutcomeUnknown) || ack.OrderID != "" {
		t.Fatalf("PlaceOrder = %q, %v; want outcome unknown, not the decoy %s", ack.OrderID, err, decoy.OrderID)
	}
	held := ordersFor(r, req.LimitPrice)
	now := r.clock.Now()
	res, err := r.b.FindOrder(ctx, broker.FindQuery{Request: req, From: now.Add(-time.Minute), To: now.Add(time.Minute)})
	if err != nil || len(held) != 1 || len(res.Candidates) != 1 || res.Candidates[0].OrderID != held[0].ID {
		t.Errorf("FindOrder = %+v, %v; emulator holds %+v", res, err, held)
	}
}

func TestDailyOrderLimit(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, func(c *Config) { c.OrdersPerDay = 3 })
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	var last broker.Ack
	for range 3 {
		ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "10.00"))
		if err != nil {
			t.Fatal(err)
		}
		last = ack
	}
	_, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "10.00"))
	if wait, ok := errors.RetryAfter(err); !errors.Is(err, errors.ErrRateLimited) || !ok || wait <= 0 {
		t.Fatalf("4th order of the day: %v", err)
	}
	if n := len(r.emu.Orders()); n != 3 {
		t.Errorf("emulator holds %d orders, want 3", n)
	}
	if err := r.b.CancelOrder(ctx, last.OrderID); err != nil {
		t.Errorf("a cancel must never be refused by the daily limit: %v", err)
	}
	r.clock.Set(testStart.Truncate(24 * time.Hour).Add(24*time.Hour + time.Minute))
	if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "10.00")); err != nil {
		t.Errorf("next day: %v", err)
	}
}
