package etrade

import (
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade/etradetest"
)

func TestPreviewWarningsReachTheCaller(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.srv.SetPreviewMessage("AAPL", etradetest.Message{Code: 9011, Type: "WARNING",
		Description: "200|Your limit price is at least 20% above the ask."})
	ack, err := e.b.PlaceOrder(t.Context(), limitBuy("AAPL", "100.00"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"9011 WARNING: Your limit price is at least 20% above the ask."}
	if len(ack.Warnings) != 2 || ack.Warnings[0] != want[0] || !strings.HasPrefix(ack.Warnings[1], "1027 WARNING: The market was closed") {
		t.Errorf("Warnings = %q, want the preview's 9011 then the place's 1027", ack.Warnings)
	}
	if ack.Status != broker.StatusNew || ack.RawStatus != "OPEN" || ack.AcceptedAt.IsZero() {
		t.Errorf("ack = %+v", ack)
	}
}

func TestOrderLifecycleStatuses(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	place := func() (string, int64) {
		ack, err := e.b.PlaceOrder(ctx, limitBuy("MSFT", "200.00"))
		if err != nil {
			t.Fatal(err)
		}
		return ack.OrderID, id64(t, ack.OrderID)
	}
	get := func(id string) broker.Order {
		o, err := e.b.GetOrder(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	// Partial fill, then a cancel behind the client's back: canceled with fills.
	id, n := place()
	if err := e.srv.Fill(n, dec("1"), dec("199.50")); err != nil {
		t.Fatal(err)
	}
	if o := get(id); o.Status != broker.StatusPartiallyFilled || o.RawStatus != "INDIVIDUAL_FILLS" || !o.AvgFillPrice.Equal(dec("199.5")) {
		t.Errorf("partial: %+v", o)
	}
	e.srv.SetPartialStatus("PARTIAL")
	if err := e.srv.Fill(n, dec("1"), dec("199.00")); err != nil {
		t.Fatal(err)
	}
	if o := get(id); o.Status != broker.StatusPartiallyFilled || o.RawStatus != "PARTIAL" || !o.FilledQuantity.Equal(dec("2")) || !o.AvgFillPrice.Equal(dec("199.25")) {
		t.Errorf("partial (PARTIAL): %+v", o)
	}
	if err := e.srv.CancelBehindBack(n); err != nil {
		t.Fatal(err)
	}
	if o := get(id); o.Status != broker.StatusCanceled || !o.FilledQuantity.Equal(dec("2")) || o.UpdatedAt.Before(o.CreatedAt) {
		t.Errorf("canceled with fills: %+v", o)
	}
	if err := e.b.CancelOrder(ctx, id); !errors.Is(err, errors.ErrOrderNotCancelable) {
		t.Errorf("cancel of a canceled order: %v", err)
	}
	// Unfilled cancel behind the back carries a junk executedTime: ignored.
	id, n = place()
	_ = e.srv.CancelBehindBack(n)
	if o := get(id); o.Status != broker.StatusCanceled || !o.UpdatedAt.Equal(o.CreatedAt) {
		t.Errorf("unfilled cancel: %+v", o)
	}
	// Expired and rejected.
	id, n = place()
	_ = e.srv.Expire(n)
	if o := get(id); o.Status != broker.StatusExpired {
		t.Errorf("expired: %s", o.Status)
	}
	id, n = place()
	_ = e.srv.Reject(n)
	if o := get(id); o.Status != broker.StatusRejected {
		t.Errorf("rejected: %s", o.Status)
	}
}

func TestUnknownStatusIsSafeAndReported(t *testing.T) {
	var logged strings.Builder
	e := newEnv(t, envOptions{tune: func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&logged, nil)) }})
	ack, err := e.b.PlaceOrder(t.Context(), limitBuy("AAPL", "100.00"))
	if err != nil {
		t.Fatal(err)
	}
	_ = e.srv.ForceStatus(id64(t, ack.OrderID), "SOMETHING_NEW")
	o, err := e.b.GetOrder(t.Context(), ack.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != broker.StatusUnknown || o.RawStatus != "SOMETHING_NEW" || o.Status.Terminal() {
		t.Errorf("order = %s / %s", o.Status, o.RawStatus)
	}
	if !strings.Contains(logged.String(), "SOMETHING_NEW") {
		t.Errorf("unknown status not reported; log: %q", logged.String())
	}
}

// TestListPaginationToTheEnd places more orders than a page holds (100) and
// checks OpenOrders reads every page through the marker.
func TestListPaginationToTheEnd(t *testing.T) {
	e := newEnv(t, envOptions{})
	var ids []string
	for range 130 {
		ack, err := e.b.PlaceOrder(t.Context(), limitBuy("SPY", "300.00"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.OrderID)
	}
	before := e.srv.Calls(etradetest.OpListOrders)
	open, err := e.b.OpenOrders(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range open {
		got = append(got, o.OrderID)
	}
	slices.Sort(got)
	slices.Sort(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("OpenOrders = %d orders, want the %d placed", len(got), len(ids))
	}
	// OPEN: 2 pages; INDIVIDUAL_FILLS and CANCEL_REQUESTED: one 204 each.
	if calls := e.srv.Calls(etradetest.OpListOrders) - before; calls != 4 {
		t.Errorf("list calls = %d, want 4", calls)
	}
}

func TestQuotesBatchAndUnknown(t *testing.T) {
	e := newEnv(t, envOptions{})
	syms := []string{"AAPL", "MSFT"}
	for i := range 30 {
		s := "Q" + string(rune('A'+i/26)) + string(rune('A'+i%26))
		e.srv.SetQuote(s, quote("1.00", "1.01", "1.005"))
		syms = append(syms, s)
	}
	quotes, err := e.b.Quotes(t.Context(), append(syms, "ZZZZQX", "AAPL")...)
	if err != nil {
		t.Fatal(err)
	}
	if len(quotes) != len(syms) || quotes[0].Symbol != "AAPL" || !quotes[0].Bid.Equal(dec("132.29")) {
		t.Errorf("%d quotes (first %+v), want %d", len(quotes), quotes[0], len(syms))
	}
	if calls := e.srv.Calls(etradetest.OpQuote); calls != 2 {
		t.Errorf("quote requests = %d, want 2 (33 symbols in batches of 25)", calls)
	}
	if _, err := e.b.Quotes(t.Context(), "A,B"); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("symbol with a comma: %v", err)
	}
}

func TestPositionsAndAccount(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	if pos, err := e.b.Positions(ctx); err != nil || len(pos) != 0 {
		t.Fatalf("empty portfolio: %v, %v", pos, err)
	}
	ack, err := e.b.PlaceOrder(ctx, limitBuy("PLTR", "21.00"))
	if err != nil {
		t.Fatal(err)
	}
	_ = e.srv.Fill(id64(t, ack.OrderID), dec("3"), dec("21.00"))
	pos, err := e.b.Positions(ctx)
	if err != nil || len(pos) != 1 || pos[0].Instrument.Symbol != "PLTR" || !pos[0].Quantity.Equal(dec("3")) || !pos[0].AvgCost.Equal(dec("21")) {
		t.Fatalf("positions = %+v, %v", pos, err)
	}
	acct, err := e.b.Account(ctx)
	if err != nil || !acct.Cash.Equal(dec("99937")) || !acct.Equity.Equal(dec("99999.97")) || acct.ID != etradetest.DefaultAccountID {
		t.Errorf("account = %+v, %v", acct, err)
	}
}

func TestOrderInputChecks(t *testing.T) {
	e := newEnv(t, envOptions{})
	for name, mutate := range map[string]func(*broker.OrderRequest){
		"fractional":     func(r *broker.OrderRequest) { r.Quantity = dec("1.5") },
		"sub-cent":       func(r *broker.OrderRequest) { r.LimitPrice = dec("100.001") },
		"crypto":         func(r *broker.OrderRequest) { r.Instrument.AssetClass = broker.Crypto },
		"long client id": func(r *broker.OrderRequest) { r.ClientOrderID = strings.Repeat("a", 21) },
	} {
		req := limitBuy("AAPL", "100.00")
		mutate(&req)
		if _, err := e.b.PlaceOrder(t.Context(), req); err == nil {
			t.Errorf("%s: placed", name)
		}
	}
	if n := len(e.srv.Orders()); n != 0 || e.srv.Calls(etradetest.OpPreview) != 0 {
		t.Errorf("invalid requests reached the emulator: %d orders", n)
	}
}
