package coinbase_test

import (
	"testing"

	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
)

// An order accepted behind a 502, whose retry meets the intermittent 401
// (ISS-132), whose fresh-token resend then meets one 429 with a Retry-After
// too long to wait: the adapter must not report that last, clear refusal as
// "not placed" while the first attempt's order lives at Coinbase. It finds
// the order, or reports the outcome unknown.
func TestReviewAuthResendAfterAcceptedAttemptIsNotARefusal(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	path := coinbasetest.APIPrefix + "/orders"
	for _, f := range []coinbasetest.Fault{
		{Kind: coinbasetest.FaultServerErrorAfterAccept},
		{Kind: coinbasetest.FaultUnauthorized},
		{Kind: coinbasetest.FaultRateLimitHTML, RetryAfter: "3600"},
	} {
		f.Method, f.Path = "POST", path
		e.srv.InjectFault(f)
	}
	req := limitBuy("0.01", "50000")
	ack, err := e.b.PlaceOrder(ctx(t), req)
	got := ordersFor(e.srv, req.ClientOrderID)
	if len(got) != 1 {
		t.Fatalf("%d orders at the emulator, want 1 (err %v)", len(got), err)
	}
	if e.srv.PendingFaults() != 0 {
		t.Fatalf("%d faults not reached: the scenario did not run", e.srv.PendingFaults())
	}
	switch {
	case err == nil && ack.OrderID != got[0].OrderID:
		t.Errorf("ack names %s, the emulator holds %s", ack.OrderID, got[0].OrderID)
	case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown):
		t.Errorf("PlaceOrder = %v (kind %q) while the order lives at the broker; want the order or outcome unknown",
			err, errors.KindOf(err))
	}
}

// An order accepted behind a 502 whose pipeline retry is answered 200
// success:false (a refusal of the retry, say for funds the first order now
// holds) must not be reported as refused: the first attempt placed it.
func TestReviewRetryRefusedAfterAcceptedAttemptIsNotARefusal(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	path := coinbasetest.APIPrefix + "/orders"
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorAfterAccept, Method: "POST", Path: path})
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultRejectOrder, Method: "POST", Path: path,
		FailureReason: "INSUFFICIENT_FUND"})
	req := limitBuy("0.01", "50000")
	ack, err := e.b.PlaceOrder(ctx(t), req)
	got := ordersFor(e.srv, req.ClientOrderID)
	if len(got) != 1 {
		t.Fatalf("%d orders at the emulator, want 1 (err %v)", len(got), err)
	}
	if e.srv.PendingFaults() != 0 {
		t.Fatalf("%d faults not reached: the scenario did not run", e.srv.PendingFaults())
	}
	switch {
	case err == nil && ack.OrderID != got[0].OrderID:
		t.Errorf("ack names %s, the emulator holds %s", ack.OrderID, got[0].OrderID)
	case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown):
		t.Errorf("PlaceOrder = %v (kind %q) while the order lives at the broker; want the order or outcome unknown",
			err, errors.KindOf(err))
	}
}
