package order_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
)

func TestSubmitPlacesEquityAndCryptoOrdersOfEveryType(t *testing.T) {
	tests := []struct {
		name       string
		req        broker.OrderRequest
		wantStatus broker.Status
		wantFilled string
	}{
		{"equity market fills at the last price", broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
			Type: broker.Market, Quantity: dec("5"), TimeInForce: broker.Day}, broker.StatusFilled, "5"},
		{"equity limit below the market works", broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
			Type: broker.Limit, Quantity: dec("5"), LimitPrice: dec("95.50"), TimeInForce: broker.GTC}, broker.StatusNew, "0"},
		{"equity stop above the market waits", broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
			Type: broker.Stop, Quantity: dec("5"), StopPrice: dec("105"), TimeInForce: broker.Day}, broker.StatusNew, "0"},
		{"equity stop-limit waits", broker.OrderRequest{Instrument: aapl, Side: broker.Buy,
			Type: broker.StopLimit, Quantity: dec("5"), StopPrice: dec("105"), LimitPrice: dec("106"),
			TimeInForce: broker.GTC}, broker.StatusNew, "0"},
		{"crypto market fills a fraction", broker.OrderRequest{Instrument: btc, Side: broker.Buy,
			Type: broker.Market, Quantity: dec("0.015"), TimeInForce: broker.IOC}, broker.StatusFilled, "0.015"},
		{"crypto limit works", broker.OrderRequest{Instrument: btc, Side: broker.Buy,
			Type: broker.Limit, Quantity: dec("0.25"), LimitPrice: dec("55000.01"), TimeInForce: broker.GTC}, broker.StatusNew, "0"},
		{"crypto stop waits", broker.OrderRequest{Instrument: btc, Side: broker.Buy,
			Type: broker.Stop, Quantity: dec("0.1"), StopPrice: dec("61000"), TimeInForce: broker.GTC},
			broker.StatusNew, "0"},
		{"crypto stop-limit waits", broker.OrderRequest{Instrument: btc, Side: broker.Buy,
			Type: broker.StopLimit, Quantity: dec("0.1"), StopPrice: dec("61000"), LimitPrice: dec("61500"),
			TimeInForce: broker.GTC}, broker.StatusNew, "0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, paper.Config{})
			o := e.submit(t, order.Request{OrderRequest: tc.req})
			wantStatus(t, o, tc.wantStatus)
			wantDec(t, "filled", o.FilledQuantity, tc.wantFilled)
			if o.BrokerOrderID == "" || o.ClientOrderID == "" || o.LocalID == "" || o.Version < 2 {
				t.Fatalf("record lacks ids or was not updated after sending: %+v", o)
			}
			snap, err := e.paper.GetOrder(t.Context(), o.BrokerOrderID)
			if err != nil {
				t.Fatal(err)
			}
			if snap.Status != o.Status || snap.ClientOrderID != o.ClientOrderID || !snap.FilledQuantity.Equal(o.FilledQuantity) {
				t.Errorf("record %s/%s/%s differs from the broker's %s/%s/%s", o.Status, o.ClientOrderID,
					o.FilledQuantity, snap.Status, snap.ClientOrderID, snap.FilledQuantity)
			}
			if stored := e.get(t, o.LocalID); stored.Version != o.Version || stored.Status != o.Status {
				t.Errorf("Submit returned version %d %s, store holds %d %s", o.Version, o.Status, stored.Version, stored.Status)
			}
		})
	}
}

func TestSubmitRefusesInvalidRequestsWithoutStoringOrSending(t *testing.T) {
	tests := map[string]broker.OrderRequest{
		"zero quantity": {Instrument: aapl, Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day},
		"limit without price": {Instrument: aapl, Side: broker.Buy, Type: broker.Limit,
			Quantity: dec("1"), TimeInForce: broker.Day},
		"no side": {Instrument: aapl, Type: broker.Market, Quantity: dec("1"), TimeInForce: broker.Day},
		"bad client id": {ClientOrderID: "has spaces!", Instrument: aapl, Side: broker.Buy,
			Type: broker.Market, Quantity: dec("1"), TimeInForce: broker.Day},
		"no time in force": {Instrument: aapl, Side: broker.Buy, Type: broker.Market, Quantity: dec("1")},
	}
	for name, req := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, paper.Config{})
			_, err := e.tracker.Submit(t.Context(), order.Request{OrderRequest: req})
			wantKind(t, err, errors.ErrInvalidOrder)
			if n := e.broker.calls(); n != 0 {
				t.Errorf("%d broker calls for an invalid request", n)
			}
			if list, _ := e.tracker.BySymbol(t.Context(), "AAPL"); len(list) != 0 {
				t.Errorf("an invalid request was stored: %+v", list)
			}
		})
	}
}

func TestSubmitBrokerRejectionIsRecordedAsRejected(t *testing.T) {
	tests := []struct {
		name string
		req  broker.OrderRequest
		kind errors.Kind
	}{
		{"insufficient funds", broker.OrderRequest{Instrument: aapl, Side: broker.Buy, Type: broker.Market,
			Quantity: dec("1000000"), TimeInForce: broker.Day}, errors.ErrInsufficientFunds},
		{"unknown symbol", broker.OrderRequest{Instrument: broker.Instrument{Symbol: "NOPE", AssetClass: broker.Equity},
			Side: broker.Buy, Type: broker.Market, Quantity: dec("1"), TimeInForce: broker.Day}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, paper.Config{})
			o, err := e.tracker.Submit(t.Context(), order.Request{OrderRequest: tc.req})
			if err == nil {
				t.Fatal("Submit succeeded")
			}
			if tc.kind != "" {
				wantKind(t, err, tc.kind)
			}
			var be *errors.BrokerError
			var oe *errors.OrderError
			if !errors.As(err, &be) || !errors.As(err, &oe) || oe.LocalID != o.LocalID {
				t.Errorf("error %v does not carry the broker error and the order ids", err)
			}
			wantStatus(t, o, broker.StatusRejected)
			if o.RejectReason == "" || o.OutcomeUnknown {
				t.Errorf("reject reason %q, outcome unknown %v", o.RejectReason, o.OutcomeUnknown)
			}
			wantStatus(t, e.get(t, o.LocalID), broker.StatusRejected)
		})
	}
}

// checker is a PreTradeChecker that refuses when refuse is set and counts
// settlements.
type checker struct {
	refuse           error
	checks           atomic.Int64
	protective       atomic.Int64 // of checks, those through PreTradeProtective
	refuseProtective error
	sent, notSent    atomic.Int64
	lastClientOrder  atomic.Value
}

func (c *checker) PreTrade(_ context.Context, req broker.OrderRequest) (func(bool), error) {
	c.checks.Add(1)
	c.lastClientOrder.Store(req.ClientOrderID)
	if c.refuse != nil {
		return nil, c.refuse
	}
	var once atomic.Bool
	return func(sent bool) {
		if !once.CompareAndSwap(false, true) {
			panic("settle called twice")
		}
		if sent {
			c.sent.Add(1)
		} else {
			c.notSent.Add(1)
		}
	}, nil
}

// PreTradeProtective stands for risk's: it lets a protective order through
// a halt unless refuseProtective is set.
func (c *checker) PreTradeProtective(ctx context.Context, req broker.OrderRequest) (func(bool), error) {
	c.protective.Add(1)
	if c.refuseProtective != nil {
		return nil, c.refuseProtective
	}
	saved := c.refuse
	c.refuse = nil
	defer func() { c.refuse = saved }()
	return c.PreTrade(ctx, req)
}

func TestSubmitRefusedByCheckerIsRecordedRejectedAndNotSent(t *testing.T) {
	risk := &errors.RiskError{Rule: "max order notional", Symbol: "AAPL", Limit: "1000", Actual: "5000"}
	c := &checker{refuse: risk}
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) { cfg.Checker = c })
	o, err := e.tracker.Submit(t.Context(), limitBuy("50", "100"))
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Rule != "max order notional" {
		t.Fatalf("error %v does not unwrap to the checker's *errors.RiskError", err)
	}
	wantKind(t, err, errors.ErrRiskLimitExceeded)
	wantStatus(t, o, broker.StatusRejected)
	if e.broker.place.Load() != 0 {
		t.Error("a refused order was sent")
	}
	if got := e.get(t, o.LocalID); got.RejectReason == "" || got.Status != broker.StatusRejected {
		t.Errorf("stored record %s with reason %q", got.Status, got.RejectReason)
	}
}

func TestSubmitSettlesTheCheckerExactlyOncePerOutcome(t *testing.T) {
	tests := []struct {
		name          string
		fault         paper.Fault
		req           order.Request
		sent, notSent int64
	}{
		{"accepted", paper.NoFault, limitBuy("1", "90"), 1, 0},
		{"answer lost counts as sent", paper.FaultLoseAnswer, limitBuy("1", "90"), 1, 0},
		{"network failure before sending", paper.FaultNetwork, limitBuy("1", "90"), 0, 1},
		{"broker refusal", paper.NoFault, limitBuy("100000", "90"), 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &checker{}
			e := newEnv(t, paper.Config{Faults: paper.Faults{Inject: func(op paper.Op) paper.Fault {
				if op == paper.OpPlaceOrder {
					return tc.fault
				}
				return paper.NoFault
			}}}, func(cfg *order.Config) { cfg.Checker = c })
			_, _ = e.tracker.Submit(t.Context(), tc.req)
			if c.checks.Load() != 1 || c.sent.Load() != tc.sent || c.notSent.Load() != tc.notSent {
				t.Errorf("checks %d, settle(true) %d, settle(false) %d; want 1, %d, %d",
					c.checks.Load(), c.sent.Load(), c.notSent.Load(), tc.sent, tc.notSent)
			}
		})
	}
}

// TestSubmitProtectiveOrderIsCheckedAsProtective: a protective order is no
// longer waved through; it goes to the checker's PreTradeProtective, which
// may let it through a halt, and whose refusal refuses it.
func TestSubmitProtectiveOrderIsCheckedAsProtective(t *testing.T) {
	c := &checker{}
	e := newEnv(t, paper.Config{}, func(cfg *order.Config) { cfg.Checker = c })
	e.submit(t, marketBuy(aapl, "10")) // a position to protect
	c.refuse = &errors.RiskError{Rule: "kill switch", Kind: errors.ErrTradingHalted}
	// The halted checker refuses an ordinary order...
	_, err := e.tracker.Submit(t.Context(), limitBuy("1", "90"))
	wantKind(t, err, errors.ErrTradingHalted)
	if c.protective.Load() != 0 {
		t.Fatalf("an ordinary order went through PreTradeProtective")
	}
	// ...and a protective stop is checked as protective, and allowed.
	stop := order.Request{OrderRequest: broker.OrderRequest{Instrument: aapl, Side: broker.Sell,
		Type: broker.Stop, Quantity: dec("10"), StopPrice: dec("95"), TimeInForce: broker.GTC}, Protective: true}
	o := e.submit(t, stop)
	wantStatus(t, o, broker.StatusNew)
	if !o.Protective || c.protective.Load() != 1 {
		t.Errorf("protective %v, PreTradeProtective consulted %d times; want true, 1", o.Protective, c.protective.Load())
	}
	// A refusal by PreTradeProtective refuses it: nothing is sent.
	c.refuseProtective = &errors.RiskError{Rule: "trading halted", Kind: errors.ErrTradingHalted,
		Reason: "would increase the position"}
	places := e.broker.place.Load()
	stop.ClientOrderID = ""
	stop.Side = broker.Buy
	_, err = e.tracker.Submit(t.Context(), stop)
	wantKind(t, err, errors.ErrTradingHalted)
	if got := e.broker.place.Load() - places; got != 0 {
		t.Errorf("%d orders sent after a protective refusal, want 0", got)
	}
}

func TestSubmitPersistsPendingNewBeforeSending(t *testing.T) {
	e := newEnv(t, paper.Config{})
	var seen order.Order
	var lookupErr error
	e.broker.placeFn = func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
		seen, lookupErr = e.store.ByClientOrderID(ctx, "paper", req.ClientOrderID)
		return e.paper.PlaceOrder(ctx, req)
	}
	o := e.submit(t, limitBuy("2", "90"))
	if lookupErr != nil {
		t.Fatalf("the order was not stored when it was sent: %v", lookupErr)
	}
	if seen.Status != broker.StatusPendingNew || seen.LocalID != o.LocalID || seen.BrokerOrderID != "" {
		t.Errorf("stored before sending: %s %s broker id %q; want pending new", seen.LocalID, seen.Status, seen.BrokerOrderID)
	}
	wantStatus(t, o, broker.StatusNew)
}

func TestSubmitDuplicateClientOrderIDIsNotSentTwice(t *testing.T) {
	e := newEnv(t, paper.Config{})
	req := limitBuy("2", "90")
	req.ClientOrderID = broker.DeriveClientOrderID("acct", "AAPL", "signal-42")
	first := e.submit(t, req)
	again, err := e.tracker.Submit(t.Context(), req)
	wantKind(t, err, errors.ErrDuplicateOrder)
	if again.LocalID != first.LocalID {
		t.Errorf("the duplicate returned %s, want the existing %s", again.LocalID, first.LocalID)
	}
	if n := e.broker.place.Load(); n != 1 {
		t.Errorf("PlaceOrder called %d times, want 1", n)
	}
}
