package brokertest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// tb is the part of *testing.T the suite uses. The checks run against it so
// that the suite's own tests can run them on a recorder and assert that a
// broken broker fails.
type tb interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Context() context.Context
	Cleanup(f func())
	Run(name string, f func(tb)) bool
}

// testingT adapts *testing.T to tb.
type testingT struct{ *testing.T }

func (t testingT) Run(name string, f func(tb)) bool {
	return t.T.Run(name, func(t *testing.T) { f(testingT{t}) })
}

// check is one subtest of the suite.
type check struct {
	name string
	run  func(s *suite, t tb)
}

var checks = [...]check{
	{"capabilities-and-account", (*suite).checkCapabilities},
	{"place-get-cancel", (*suite).checkPlaceGetCancel},
	{"replace", (*suite).checkReplace},
	{"idempotent-client-order-id", (*suite).checkIdempotent},
	{"errors-classified", (*suite).checkErrors},
	{"partial-then-full-fill", (*suite).checkPartialFill},
	{"quotes", (*suite).checkQuotes},
	{"find-order", (*suite).checkFindOrder},
	{"order-lister", (*suite).checkOrderLister},
	{"order-checker", (*suite).checkOrderChecker},
	{"preview", (*suite).checkPreview},
}

// suite holds the harness with its defaults filled in.
type suite struct {
	h    Harness
	caps broker.Capabilities
}

func run(t tb, h Harness) {
	t.Helper()
	if err := h.withDefaults(); err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	s := &suite{h: h, caps: h.Broker.Capabilities()}
	for _, c := range checks {
		t.Run(c.name, func(t tb) { c.run(s, t) })
	}
}

// withDefaults checks the required fields and fills in the optional ones.
func (h *Harness) withDefaults() error {
	switch {
	case h.Broker == nil:
		return fmt.Errorf("Harness.Broker is nil")
	case h.Fill == nil:
		return fmt.Errorf("Harness.Fill is nil")
	case h.Instrument.Symbol == "":
		return fmt.Errorf("Harness.Instrument has no symbol")
	case !h.Quantity.IsPositive():
		return fmt.Errorf("Harness.Quantity must be positive, got %s", h.Quantity)
	case !h.RestingLimitBuy.IsPositive():
		return fmt.Errorf("Harness.RestingLimitBuy must be positive, got %s", h.RestingLimitBuy)
	}
	if h.PriceTick.IsZero() {
		h.PriceTick = decimal.New(1, -2)
	}
	if h.ReplaceLimitBuy.IsZero() {
		h.ReplaceLimitBuy = h.RestingLimitBuy.Sub(h.PriceTick)
	}
	if h.PartialQuantity.IsZero() {
		h.PartialQuantity = h.Quantity.Div(decimal.NewFromInt(2)).Truncate(-h.Quantity.Exponent())
		if h.Quantity.Exponent() > 0 {
			h.PartialQuantity = h.Quantity.Div(decimal.NewFromInt(2)).Truncate(0)
		}
	}
	if len(h.QuoteSymbols) == 0 {
		h.QuoteSymbols = []string{h.Instrument.Symbol}
	}
	if h.UnknownSymbol == "" {
		h.UnknownSymbol = "ZZZZQX"
	}
	if h.UnknownOrderID == "" {
		h.UnknownOrderID = "987654321012"
	}
	h.Clock = clock.Or(h.Clock)
	if !h.PriceTick.IsPositive() || !h.ReplaceLimitBuy.IsPositive() {
		return fmt.Errorf("Harness.PriceTick %s and ReplaceLimitBuy %s must be positive", h.PriceTick, h.ReplaceLimitBuy)
	}
	return nil
}

// limitBuy returns a fresh resting limit buy at price.
func (s *suite) limitBuy(price decimal.Decimal) broker.OrderRequest {
	tif := broker.Day
	if s.caps.GTC {
		tif = broker.GTC
	}
	return broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    s.h.Instrument,
		Side:          broker.Buy,
		Type:          broker.Limit,
		Quantity:      s.h.Quantity,
		LimitPrice:    price,
		TimeInForce:   tif,
	}
}

// place places req, stops the check if it fails, and cancels the order when
// the check ends if it is still working.
func (s *suite) place(t tb, req broker.OrderRequest) broker.Ack {
	t.Helper()
	ack, err := s.h.Broker.PlaceOrder(t.Context(), req)
	if err != nil {
		t.Fatalf("PlaceOrder(%s %s %s @ %s): %v", req.Side, req.Quantity, req.Instrument.Symbol, req.LimitPrice, err)
	}
	if ack.OrderID == "" {
		t.Fatalf("PlaceOrder returned an Ack without an order id: %+v", ack)
	}
	if ack.ClientOrderID != "" && ack.ClientOrderID != req.ClientOrderID {
		t.Errorf("Ack.ClientOrderID = %q, want %q", ack.ClientOrderID, req.ClientOrderID)
	}
	s.cancelAtEnd(t, ack.OrderID)
	return ack
}

func (s *suite) cancelAtEnd(t tb, orderID string) {
	t.Cleanup(func() {
		ctx := context.Background()
		if o, err := s.h.Broker.GetOrder(ctx, orderID); err == nil && !o.Status.Terminal() {
			_ = s.h.Broker.CancelOrder(ctx, orderID) // best effort: the check already reported what matters
		}
	})
}

func (s *suite) get(t tb, orderID string) broker.Order {
	t.Helper()
	o, err := s.h.Broker.GetOrder(t.Context(), orderID)
	if err != nil {
		t.Fatalf("GetOrder(%q): %v", orderID, err)
	}
	if o.OrderID != orderID {
		t.Errorf("GetOrder(%q).OrderID = %q", orderID, o.OrderID)
	}
	return o
}

func (s *suite) openIDs(t tb) []string {
	t.Helper()
	open, err := s.h.Broker.OpenOrders(t.Context())
	if err != nil {
		t.Fatalf("OpenOrders: %v", err)
	}
	ids := make([]string, 0, len(open))
	for _, o := range open {
		if o.Status.Terminal() {
			t.Errorf("OpenOrders holds order %s in terminal status %s", o.OrderID, o.Status)
		}
		ids = append(ids, o.OrderID)
	}
	return ids
}

func (s *suite) settle(t tb) {
	t.Helper()
	if s.h.Settle == nil {
		return
	}
	if err := s.h.Settle(t.Context()); err != nil {
		t.Fatalf("Harness.Settle: %v", err)
	}
}

func (s *suite) fill(t tb, orderID string, qty, price decimal.Decimal) {
	t.Helper()
	if err := s.h.Fill(t.Context(), orderID, qty, price); err != nil {
		t.Fatalf("Harness.Fill(%s, %s @ %s): %v", orderID, qty, price, err)
	}
}

func (s *suite) position(t tb) decimal.Decimal {
	t.Helper()
	positions, err := s.h.Broker.Positions(t.Context())
	if err != nil {
		t.Fatalf("Positions: %v", err)
	}
	total := decimal.Zero
	for _, p := range positions {
		if p.Instrument.Symbol == s.h.Instrument.Symbol {
			total = total.Add(p.Quantity)
		}
	}
	return total
}

// wantWorking checks that o is the unfilled working order req asked for.
func wantWorking(t tb, o broker.Order, req broker.OrderRequest) {
	t.Helper()
	if o.Status != broker.StatusNew && o.Status != broker.StatusPendingNew {
		t.Errorf("order %s status = %s, want new (or pending_new)", o.OrderID, o.Status)
	}
	if o.Instrument.Symbol != req.Instrument.Symbol {
		t.Errorf("order %s symbol = %q, want %q", o.OrderID, o.Instrument.Symbol, req.Instrument.Symbol)
	}
	if o.Side != req.Side || o.Type != req.Type {
		t.Errorf("order %s is %s %s, want %s %s", o.OrderID, o.Side, o.Type, req.Side, req.Type)
	}
	if !o.Quantity.Equal(req.Quantity) {
		t.Errorf("order %s quantity = %s, want %s", o.OrderID, o.Quantity, req.Quantity)
	}
	if !o.LimitPrice.Equal(req.LimitPrice) {
		t.Errorf("order %s limit price = %s, want %s", o.OrderID, o.LimitPrice, req.LimitPrice)
	}
	if !o.FilledQuantity.IsZero() || len(o.Fills) != 0 {
		t.Errorf("order %s has fills before any execution: filled %s, %d fills", o.OrderID, o.FilledQuantity, len(o.Fills))
	}
	if o.ClientOrderID != "" && o.ClientOrderID != req.ClientOrderID {
		t.Errorf("order %s client order id = %q, want %q", o.OrderID, o.ClientOrderID, req.ClientOrderID)
	}
}

// wantLeaves checks that o's working quantity is want: Remaining() says
// so, and LeavesQuantity is zero on a terminal order and, where the broker
// reports it, want on a working one.
func wantLeaves(t tb, o broker.Order, want decimal.Decimal) {
	t.Helper()
	if o.Status.Terminal() && !o.LeavesQuantity.IsZero() {
		t.Errorf("order %s is %s with LeavesQuantity %s, want 0 on a terminal order", o.OrderID, o.Status, o.LeavesQuantity)
	}
	if !o.Status.Terminal() && !o.LeavesQuantity.IsZero() && !o.LeavesQuantity.Equal(want) {
		t.Errorf("order %s LeavesQuantity = %s, want %s", o.OrderID, o.LeavesQuantity, want)
	}
	if r := o.Remaining(); !r.Equal(want) {
		t.Errorf("order %s (%s) Remaining() = %s, want %s", o.OrderID, o.Status, r, want)
	}
}

// wantKind checks that err is non-nil and matches kind.
func wantKind(t tb, what string, err error, kind errors.Kind) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error, want one matching %q", what, kind)
	case !errors.Is(err, kind):
		t.Errorf("%s: error %q (kind %q) does not match %q", what, err, errors.KindOf(err), kind)
	}
}

func (s *suite) checkCapabilities(t tb) {
	name := s.h.Broker.Name()
	if name == "" || name != strings.ToLower(name) || strings.ContainsAny(name, " \t") {
		t.Errorf("Name() = %q, want a short lower-case name", name)
	}
	if s.caps.QuoteBatchSize <= 0 {
		t.Errorf("Capabilities().QuoteBatchSize = %d, want > 0", s.caps.QuoteBatchSize)
	}
	if _, err := s.h.Broker.Account(t.Context()); err != nil {
		t.Errorf("Account: %v", err)
	}
}

func (s *suite) checkPlaceGetCancel(t tb) {
	ctx := t.Context()
	req := s.limitBuy(s.h.RestingLimitBuy)
	ack := s.place(t, req)
	wantWorking(t, s.get(t, ack.OrderID), req)
	if !slices.Contains(s.openIDs(t), ack.OrderID) {
		t.Errorf("OpenOrders does not hold the working order %s", ack.OrderID)
	}

	if err := s.h.Broker.CancelOrder(ctx, ack.OrderID); err != nil {
		t.Fatalf("CancelOrder(%s): %v", ack.OrderID, err)
	}
	if st := s.get(t, ack.OrderID).Status; st != broker.StatusPendingCancel && st != broker.StatusCanceled {
		t.Errorf("after CancelOrder, status = %s, want pending_cancel or canceled", st)
	}
	s.settle(t)
	canceled := s.get(t, ack.OrderID)
	if canceled.Status != broker.StatusCanceled {
		t.Errorf("after CancelOrder and Settle, status = %s, want canceled", canceled.Status)
	}
	wantLeaves(t, canceled, decimal.Zero)
	if slices.Contains(s.openIDs(t), ack.OrderID) {
		t.Errorf("OpenOrders still holds the canceled order %s", ack.OrderID)
	}
	wantKind(t, "CancelOrder of a canceled order", s.h.Broker.CancelOrder(ctx, ack.OrderID), errors.ErrOrderNotCancelable)
}

func (s *suite) checkReplace(t tb) {
	if !s.caps.Replace {
		t.Skipf("Capabilities().Replace is false")
	}
	oldReq := s.limitBuy(s.h.RestingLimitBuy)
	old := s.place(t, oldReq)
	req := s.limitBuy(s.h.ReplaceLimitBuy)
	ack, err := s.h.Broker.ReplaceOrder(t.Context(), old.OrderID, req)
	if err != nil {
		t.Fatalf("ReplaceOrder(%s): %v", old.OrderID, err)
	}
	s.cancelAtEnd(t, ack.OrderID)
	switch {
	case s.h.ReplaceKeepsID && ack.OrderID != old.OrderID:
		t.Errorf("ReplaceOrder returned id %q, want the same id %q (Harness.ReplaceKeepsID)", ack.OrderID, old.OrderID)
	case !s.h.ReplaceKeepsID && (ack.OrderID == old.OrderID || ack.OrderID == ""):
		t.Errorf("ReplaceOrder returned id %q, want a new order id (old %q)", ack.OrderID, old.OrderID)
	}
	s.settle(t)

	if !s.h.ReplaceKeepsID {
		o := s.get(t, old.OrderID)
		if o.Status != broker.StatusReplaced {
			t.Errorf("replaced order %s status = %s, want replaced", old.OrderID, o.Status)
		}
		if o.ReplacedBy != "" && o.ReplacedBy != ack.OrderID {
			t.Errorf("replaced order ReplacedBy = %q, want %q", o.ReplacedBy, ack.OrderID)
		}
	}
	want := req
	if s.h.ReplaceKeepsID {
		// An edit in place keeps the order's own client order id.
		want.ClientOrderID = oldReq.ClientOrderID
	}
	wantWorking(t, s.get(t, ack.OrderID), want)
	open := s.openIDs(t)
	if !slices.Contains(open, ack.OrderID) {
		t.Errorf("OpenOrders does not hold the replacing order %s", ack.OrderID)
	}
	if !s.h.ReplaceKeepsID && slices.Contains(open, old.OrderID) {
		t.Errorf("OpenOrders still holds the replaced order %s", old.OrderID)
	}
}

func (s *suite) checkIdempotent(t tb) {
	before := s.openIDs(t)
	req := s.limitBuy(s.h.RestingLimitBuy)
	first := s.place(t, req)
	second, err := s.h.Broker.PlaceOrder(t.Context(), req)
	switch {
	case err == nil:
		s.cancelAtEnd(t, second.OrderID)
		if second.OrderID != first.OrderID {
			t.Errorf("the same ClientOrderID placed twice gave two orders: %q and %q", first.OrderID, second.OrderID)
		}
	case s.caps.IdempotentClientOrderID:
		t.Errorf("second placement of ClientOrderID %s: %v; Capabilities report IdempotentClientOrderID, want the first order back", req.ClientOrderID, err)
	case !errors.Is(err, errors.ErrDuplicateOrder):
		t.Errorf("second placement of ClientOrderID %s: error %q (kind %q), want the first order or ErrDuplicateOrder",
			req.ClientOrderID, err, errors.KindOf(err))
	}

	var added []string
	for _, id := range s.openIDs(t) {
		if !slices.Contains(before, id) {
			added = append(added, id)
			s.cancelAtEnd(t, id)
		}
	}
	if len(added) != 1 || added[0] != first.OrderID {
		t.Errorf("after placing one ClientOrderID twice, OpenOrders gained %v, want exactly [%s]", added, first.OrderID)
	}
}

func (s *suite) checkErrors(t tb) {
	ctx := t.Context()
	b := s.h.Broker
	_, err := b.GetOrder(ctx, s.h.UnknownOrderID)
	wantKind(t, "GetOrder of an unknown id", err, errors.ErrOrderNotFound)
	wantKind(t, "CancelOrder of an unknown id", b.CancelOrder(ctx, s.h.UnknownOrderID), errors.ErrOrderNotFound)
	if _, err := b.GetOrder(ctx, ""); errors.KindOf(err) == "" {
		t.Errorf("GetOrder of an empty id: error %v, want a classified error", err)
	}

	before := s.openIDs(t)
	req := s.limitBuy(s.h.RestingLimitBuy)
	req.Quantity = s.h.Quantity.Neg()
	ack, err := b.PlaceOrder(ctx, req)
	if err == nil {
		s.cancelAtEnd(t, ack.OrderID)
	}
	wantKind(t, "PlaceOrder with a negative quantity", err, errors.ErrInvalidOrder)
	if after := s.openIDs(t); len(after) != len(before) {
		t.Errorf("an invalid request changed OpenOrders from %d to %d orders", len(before), len(after))
	}
	if finder, ok := broker.Find[broker.OrderFinder](b); ok {
		// A lookup never validates: it reports what the broker holds, and
		// the broker holds nothing for a request it refused.
		res, err := finder.FindOrder(ctx, s.findQuery(req))
		if err != nil {
			t.Errorf("FindOrder of a refused request: %v, want no error (a lookup never validates)", err)
		}
		if len(res.Candidates) != 0 {
			t.Errorf("FindOrder of a refused request returned candidates %v, want none", orderIDs(res.Candidates))
		}
	}
}

func (s *suite) checkPartialFill(t tb) {
	first := s.h.PartialQuantity
	if !first.IsPositive() || first.GreaterThanOrEqual(s.h.Quantity) {
		t.Skipf("no partial fill possible: PartialQuantity %s, Quantity %s", first, s.h.Quantity)
	}
	rest := s.h.Quantity.Sub(first)
	p1, p2 := s.h.RestingLimitBuy, s.h.RestingLimitBuy.Sub(s.h.PriceTick)
	positionBefore := s.position(t)

	req := s.limitBuy(s.h.RestingLimitBuy)
	ack := s.place(t, req)
	s.fill(t, ack.OrderID, first, p1)
	o := s.get(t, ack.OrderID)
	if o.Status != broker.StatusPartiallyFilled {
		t.Errorf("after a partial fill, status = %s, want partially_filled", o.Status)
	}
	wantFills(t, o, []decimal.Decimal{first}, []decimal.Decimal{p1})
	wantLeaves(t, o, rest)
	if !slices.Contains(s.openIDs(t), ack.OrderID) {
		t.Errorf("OpenOrders does not hold the partially filled order %s", ack.OrderID)
	}

	s.fill(t, ack.OrderID, rest, p2)
	o = s.get(t, ack.OrderID)
	if o.Status != broker.StatusFilled {
		t.Errorf("after the rest filled, status = %s, want filled", o.Status)
	}
	wantFills(t, o, []decimal.Decimal{first, rest}, []decimal.Decimal{p1, p2})
	wantLeaves(t, o, decimal.Zero)
	if slices.Contains(s.openIDs(t), ack.OrderID) {
		t.Errorf("OpenOrders still holds the filled order %s", ack.OrderID)
	}
	wantKind(t, "CancelOrder of a filled order", s.h.Broker.CancelOrder(t.Context(), ack.OrderID), errors.ErrOrderNotCancelable)
	if grown := s.position(t).Sub(positionBefore); !grown.Equal(s.h.Quantity) {
		t.Errorf("after buying %s, the position in %s grew by %s", s.h.Quantity, s.h.Instrument.Symbol, grown)
	}
}

// wantFills checks an order's cumulative fields against the executions the
// suite made: quantities qs at prices ps.
func wantFills(t tb, o broker.Order, qs, ps []decimal.Decimal) {
	t.Helper()
	total, notional := decimal.Zero, decimal.Zero
	for i := range qs {
		total = total.Add(qs[i])
		notional = notional.Add(qs[i].Mul(ps[i]))
	}
	if !o.FilledQuantity.Equal(total) {
		t.Errorf("order %s FilledQuantity = %s, want %s", o.OrderID, o.FilledQuantity, total)
	}
	if !avgPriceMatches(o.AvgFillPrice, total, notional) {
		t.Errorf("order %s AvgFillPrice = %s, want the weighted mean %s", o.OrderID, o.AvgFillPrice, notional.DivRound(total, 16))
	}
	if len(o.Fills) == 0 {
		return // the broker does not list fills; the cumulative fields were checked
	}
	sum := decimal.Zero
	seen := make(map[string]bool, len(o.Fills))
	for _, f := range o.Fills {
		sum = sum.Add(f.Quantity)
		if !f.Quantity.IsPositive() || !f.Price.IsPositive() {
			t.Errorf("order %s fill %q has quantity %s, price %s", o.OrderID, f.ExecID, f.Quantity, f.Price)
		}
		if f.ExecID == "" || seen[f.ExecID] {
			t.Errorf("order %s fill exec id %q is empty or repeated", o.OrderID, f.ExecID)
		}
		seen[f.ExecID] = true
	}
	if !sum.Equal(o.FilledQuantity) {
		t.Errorf("order %s FilledQuantity %s != sum of its %d fills %s", o.OrderID, o.FilledQuantity, len(o.Fills), sum)
	}
}

// avgPriceMatches reports whether avg is the mean notional/total: exactly
// when the mean has a finite decimal expansion within 16 places, else to
// within half a unit of avg's last digit (a broker that rounds).
func avgPriceMatches(avg, total, notional decimal.Decimal) bool {
	mean := notional.DivRound(total, 16)
	if mean.Mul(total).Equal(notional) {
		return avg.Equal(mean)
	}
	halfUnit := decimal.New(5, avg.Exponent()-1)
	return avg.Sub(mean).Abs().LessThanOrEqual(halfUnit)
}

func (s *suite) checkQuotes(t tb) {
	ctx := t.Context()
	symbols := s.h.QuoteSymbols
	if len(symbols) <= s.caps.QuoteBatchSize {
		t.Logf("%d quote symbols do not exceed QuoteBatchSize %d: batching is not exercised", len(symbols), s.caps.QuoteBatchSize)
	}
	quotes, err := s.h.Broker.Quotes(ctx, symbols...)
	if err != nil {
		t.Fatalf("Quotes(%d symbols): %v", len(symbols), err)
	}
	got := make(map[string]int, len(quotes))
	for _, q := range quotes {
		got[q.Symbol]++
		if !slices.Contains(symbols, q.Symbol) {
			t.Errorf("Quotes returned %q, which was not requested", q.Symbol)
		}
		if !q.Bid.IsPositive() && !q.Ask.IsPositive() && !q.Last.IsPositive() {
			t.Errorf("quote for %s has no positive price: %+v", q.Symbol, q)
		}
	}
	for _, sym := range symbols {
		if got[sym] != 1 {
			t.Errorf("Quotes returned %d quotes for %s, want 1", got[sym], sym)
		}
	}

	if none, err := s.h.Broker.Quotes(ctx); err != nil || len(none) != 0 {
		t.Errorf("Quotes() with no symbols = %d quotes, %v; want none and no error", len(none), err)
	}
	mixed, err := s.h.Broker.Quotes(ctx, symbols[0], s.h.UnknownSymbol)
	if err != nil {
		t.Fatalf("Quotes(%s, unknown %s): %v", symbols[0], s.h.UnknownSymbol, err)
	}
	var mixedSymbols []string
	for _, q := range mixed {
		mixedSymbols = append(mixedSymbols, q.Symbol)
	}
	if !slices.Equal(mixedSymbols, []string{symbols[0]}) {
		t.Errorf("Quotes(%s, unknown %s) returned %v, want only %s", symbols[0], s.h.UnknownSymbol, mixedSymbols, symbols[0])
	}
}

// lookupSkew is how far on either side of the broker's clock a lookup
// window reaches, as the order tracker allows for clock skew.
const lookupSkew = time.Minute

// findQuery returns the query the order tracker would make for req sent
// just now.
func (s *suite) findQuery(req broker.OrderRequest) broker.FindQuery {
	now := s.h.Clock.Now()
	return broker.FindQuery{Request: req, From: now.Add(-lookupSkew), To: now.Add(lookupSkew)}
}

func orderIDs(orders []broker.Order) []string {
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.OrderID
	}
	return ids
}

func (s *suite) checkFindOrder(t tb) {
	finder, ok := broker.Find[broker.OrderFinder](s.h.Broker)
	if !ok {
		t.Skipf("the broker does not implement broker.OrderFinder")
	}
	ctx := t.Context()
	req := s.limitBuy(s.h.RestingLimitBuy)
	ack := s.place(t, req)
	// Twice: a lookup never claims what it found, so the second must see
	// the order as the first did.
	for i := range 2 {
		res, err := finder.FindOrder(ctx, s.findQuery(req))
		if err != nil {
			t.Fatalf("FindOrder #%d of a placed order: %v", i+1, err)
		}
		if !slices.Contains(orderIDs(res.Candidates), ack.OrderID) {
			t.Errorf("FindOrder #%d of placed order %s: candidates %v do not hold it", i+1, ack.OrderID, orderIDs(res.Candidates))
		}
		wantOldestFirst(t, "FindOrder candidates", res.Candidates)
	}

	// A request never sent, at a price no check uses, so that a broker
	// matching by fields has nothing to match either.
	never := s.limitBuy(s.h.RestingLimitBuy.Sub(s.h.PriceTick.Mul(decimal.NewFromInt(5))))
	res, err := finder.FindOrder(ctx, s.findQuery(never))
	switch {
	case err != nil:
		t.Errorf("FindOrder of a request never sent: %v", err)
	case len(res.Candidates) != 0:
		t.Errorf("FindOrder of a request never sent returned candidates %v", orderIDs(res.Candidates))
	case !res.Complete:
		t.Errorf("FindOrder of a request never sent on a small account: Complete = false, want a complete search")
	}
}

// wantOldestFirst checks that orders are sorted by CreatedAt.
func wantOldestFirst(t tb, what string, orders []broker.Order) {
	t.Helper()
	if !slices.IsSortedFunc(orders, func(a, b broker.Order) int { return a.CreatedAt.Compare(b.CreatedAt) }) {
		t.Errorf("%s are not oldest first: %v", what, orderIDs(orders))
	}
}

func (s *suite) checkOrderLister(t tb) {
	lister, ok := broker.Find[broker.OrderLister](s.h.Broker)
	if !ok {
		t.Skipf("the broker does not implement broker.OrderLister")
	}
	ctx := t.Context()
	start := s.h.Clock.Now()
	working := s.place(t, s.limitBuy(s.h.RestingLimitBuy))
	canceled := s.place(t, s.limitBuy(s.h.RestingLimitBuy))
	if err := s.h.Broker.CancelOrder(ctx, canceled.OrderID); err != nil {
		t.Fatalf("CancelOrder(%s): %v", canceled.OrderID, err)
	}
	s.settle(t)

	from := start.Add(-lookupSkew)
	tests := []struct {
		name    string
		q       broker.OrderQuery
		want    []string // ids that must be listed
		wantNot []string // ids that must not be
	}{
		{"all", broker.OrderQuery{From: from}, []string{working.OrderID, canceled.OrderID}, nil},
		{"open", broker.OrderQuery{Filter: broker.FilterOpen, From: from}, []string{working.OrderID}, []string{canceled.OrderID}},
		{"canceled", broker.OrderQuery{Filter: broker.FilterCanceled, From: from}, []string{canceled.OrderID}, []string{working.OrderID}},
		{"filled", broker.OrderQuery{Filter: broker.FilterFilled, From: from}, nil, []string{working.OrderID, canceled.OrderID}},
		{"symbol", broker.OrderQuery{From: from, Symbol: s.h.Instrument.Symbol}, []string{working.OrderID, canceled.OrderID}, nil},
		{"other symbol", broker.OrderQuery{From: from, Symbol: s.h.UnknownSymbol}, nil, []string{working.OrderID, canceled.OrderID}},
		{"window before", broker.OrderQuery{From: from.Add(-time.Hour), To: from}, nil, []string{working.OrderID, canceled.OrderID}},
	}
	for _, tt := range tests {
		orders, err := lister.Orders(ctx, tt.q)
		if err != nil {
			t.Errorf("Orders(%s): %v", tt.name, err)
			continue
		}
		ids := orderIDs(orders)
		for _, id := range tt.want {
			if !slices.Contains(ids, id) {
				t.Errorf("Orders(%s) = %v, does not hold %s", tt.name, ids, id)
			}
		}
		for _, id := range tt.wantNot {
			if slices.Contains(ids, id) {
				t.Errorf("Orders(%s) = %v, holds %s", tt.name, ids, id)
			}
		}
		for _, o := range orders {
			s.wantSelected(t, tt.name, tt.q, o)
		}
	}
}

// wantSelected checks that o is an order q selects.
func (s *suite) wantSelected(t tb, name string, q broker.OrderQuery, o broker.Order) {
	t.Helper()
	if !q.Filter.Match(o) {
		t.Errorf("Orders(%s) holds order %s in status %s, which the filter refuses", name, o.OrderID, o.Status)
	}
	if q.Symbol != "" && o.Instrument.Symbol != q.Symbol {
		t.Errorf("Orders(%s) holds order %s for %s", name, o.OrderID, o.Instrument.Symbol)
	}
	if o.Status.Terminal() && !o.LeavesQuantity.IsZero() {
		t.Errorf("Orders(%s): terminal order %s has LeavesQuantity %s", name, o.OrderID, o.LeavesQuantity)
	}
}

func (s *suite) checkOrderChecker(t tb) {
	checker, ok := broker.Find[broker.OrderChecker](s.h.Broker)
	if !ok {
		t.Skipf("the broker does not implement broker.OrderChecker")
	}
	req := s.limitBuy(s.h.RestingLimitBuy)
	if err := checker.CheckOrder(req); err != nil {
		t.Errorf("CheckOrder of a plain %s limit buy: %v, want nil", req.TimeInForce, err)
	}
}

func (s *suite) checkPreview(t tb) {
	previewer, ok := broker.Find[broker.Previewer](s.h.Broker)
	if !ok {
		t.Skipf("the broker does not implement broker.Previewer")
	}
	before := s.openIDs(t)
	req := s.limitBuy(s.h.RestingLimitBuy)
	p, err := previewer.PreviewOrder(t.Context(), req)
	if err != nil {
		t.Fatalf("PreviewOrder of a plain limit buy: %v", err)
	}
	if len(p.Rejects) != 0 {
		t.Errorf("PreviewOrder of a plain limit buy: rejects %q", p.Rejects)
	}
	if notional := req.Quantity.Mul(req.LimitPrice); p.Total.LessThan(notional) {
		t.Errorf("PreviewOrder total %s is below the order's notional %s", p.Total, notional)
	}
	if p.Commission.IsNegative() || p.Fees.IsNegative() {
		t.Errorf("PreviewOrder charges commission %s, fees %s: negative", p.Commission, p.Fees)
	}
	if after := s.openIDs(t); len(after) != len(before) {
		t.Errorf("a preview changed OpenOrders from %d to %d orders: it placed something", len(before), len(after))
	}
}
