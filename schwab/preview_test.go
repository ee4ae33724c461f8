package schwab

import (
	"testing"

	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

// TestPreviewOrder: a preview reports the order's value, and for an order
// Schwab would refuse it answers 200 with rejects (read, not missed);
// nothing is placed.
func TestPreviewOrder(t *testing.T) {
	r := newRig(t, schwabtest.Config{Accounts: []schwabtest.Account{{Number: testAccount,
		Cash: decimal.NewFromInt(10_000)}}}, nil)
	r.clock.SetAutoAdvance(true)
	p, err := r.b.PreviewOrder(t.Context(), limitBuy("AAPL", 10, "150.00"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Total.Equal(decimal.NewFromInt(1500)) || len(p.Rejects) != 0 || !p.Commission.IsZero() {
		t.Errorf("preview = %+v; want total 1500, no commission, no rejects", p)
	}
	p, err = r.b.PreviewOrder(t.Context(), limitBuy("AAPL", 100, "150.00"))
	if err != nil || len(p.Rejects) != 1 {
		t.Errorf("preview beyond the buying power = %+v, %v; want one reject", p, err)
	}
	if n := len(r.emu.Orders()); n != 0 {
		t.Errorf("previews placed %d orders", n)
	}
}
