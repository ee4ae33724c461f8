package coinbase_test

import (
	"testing"

	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
)

// TestPreviewOrder: the preview carries Coinbase's estimate (order total
// with the taker commission) and, for an order it would refuse, its
// reasons as Rejects with a 200 answer; nothing is placed.
func TestPreviewOrder(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.SetBalance("USD", d("1000000"))
	p, err := e.b.PreviewOrder(ctx(t), limitBuy("0.01", "50000"))
	if err != nil {
		t.Fatal(err)
	}
	// 0.01 × 50,000 = 500, taker 0.6 % = 3.
	if !p.Total.Equal(d("503")) || !p.Commission.Equal(d("3")) || len(p.Rejects) != 0 || p.PreviewID == "" {
		t.Errorf("preview = %+v; want total 503, commission 3, no rejects, a preview id", p)
	}
	e.srv.SetBalance("USD", d("1"))
	p, err = e.b.PreviewOrder(ctx(t), limitBuy("0.01", "50000"))
	if err != nil || len(p.Rejects) == 0 {
		t.Errorf("preview beyond the balance = %+v, %v; want a reject", p, err)
	}
	if n := len(e.srv.Orders()); n != 0 {
		t.Errorf("previews placed %d orders", n)
	}
	bad := limitBuy("0.01", "50000")
	bad.Quantity = d("-1")
	if _, err := e.b.PreviewOrder(ctx(t), bad); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("invalid preview = %v, want ErrInvalidOrder before sending", err)
	}
}

// TestCallersUUIDIsAClientOrderID: Coinbase takes client order ids up to
// 128 characters and recommends UUIDs; a caller's own works (Validate
// refused it before).
func TestCallersUUIDIsAClientOrderID(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.SetBalance("USD", d("1000000"))
	req := limitBuy("0.01", "50000")
	req.ClientOrderID = "9f1c2a7e-3b4d-4c5e-8f90-1a2b3c4d5e6f"
	if _, err := e.b.PlaceOrder(ctx(t), req); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Orders(); len(got) != 1 || got[0].ClientOrderID != req.ClientOrderID {
		t.Errorf("emulator orders %+v, want one with the UUID", got)
	}
	if rule := e.b.Capabilities().ClientOrderID; rule.MaxLen != 128 || rule.Alphanumeric {
		t.Errorf("Capabilities().ClientOrderID = %+v", rule)
	}
}
