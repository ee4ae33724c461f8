package etrade

import (
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade/etradetest"
)

// TestPreviewOrderThenPlaceOnIt: a preview reports E*TRADE's estimate, its
// warning and its id; the PlaceOrder that follows with the same request
// places on that preview (no second preview request) and carries the same
// warning. A different request previews anew.
func TestPreviewOrderThenPlaceOnIt(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.srv.SetPreviewMessage("AAPL", etradetest.Message{Code: 9011, Type: "WARNING",
		Description: "200|Your limit price is at least 20% above the ask."})
	req := limitBuy("AAPL", "100.00")
	p, err := e.b.PreviewOrder(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if p.PreviewID == "" || !p.Total.Equal(dec("300")) || len(p.Warnings) != 1 ||
		!strings.HasPrefix(p.Warnings[0], "9011 WARNING") || len(p.Rejects) != 0 {
		t.Fatalf("preview = %+v; want an id, total 300, the 9011 warning, no rejects", p)
	}
	if n := len(e.srv.Orders()); n != 0 {
		t.Fatalf("a preview placed %d orders", n)
	}
	ack, err := e.b.PlaceOrder(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Calls(etradetest.OpPreview); got != 1 {
		t.Errorf("%d preview requests for one preview and its place, want 1", got)
	}
	if len(ack.Warnings) == 0 || ack.Warnings[0] != p.Warnings[0] {
		t.Errorf("place warnings %q, want the preview's %q first", ack.Warnings, p.Warnings)
	}
	other := limitBuy("AAPL", "99.00")
	if _, err := e.b.PreviewOrder(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	other.LimitPrice = dec("98.00") // not what was previewed
	if _, err := e.b.PlaceOrder(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if got := e.srv.Calls(etradetest.OpPreview); got != 3 {
		t.Errorf("%d preview requests, want 3 (the changed request previews anew)", got)
	}
}

// TestClientOrderIDRuleRefusedLocally: E*TRADE takes at most 20 letters and
// digits; a UUID is refused before anything is sent.
func TestClientOrderIDRuleRefusedLocally(t *testing.T) {
	e := newEnv(t, envOptions{})
	req := limitBuy("AAPL", "100.00")
	req.ClientOrderID = "9f1c2a7e-3b4d-4c5e-8f90-1a2b3c4d5e6f"
	if err := e.b.CheckOrder(req); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Fatalf("CheckOrder = %v, want ErrInvalidOrder", err)
	}
	if _, err := e.b.PlaceOrder(t.Context(), req); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Fatalf("PlaceOrder = %v, want ErrInvalidOrder", err)
	}
	if n := e.srv.Calls(etradetest.OpPreview) + e.srv.Calls(etradetest.OpPlace); n != 0 {
		t.Errorf("%d requests reached the emulator, want 0", n)
	}
}
