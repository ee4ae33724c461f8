package risk_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// paperPnL is a PnLSource over a paper broker for the symbols a test trades
// (the paper market has no sessions, so its P&L is the day's).
type paperPnL struct {
	b       *paper.Broker
	symbols []string
}

func (p paperPnL) DailyPnL(context.Context, time.Time) (risk.PnL, error) {
	var sum risk.PnL
	for _, s := range p.symbols {
		r, u := p.b.PnL(s)
		sum.Realized, sum.Unrealized = sum.Realized.Add(r), sum.Unrealized.Add(u)
	}
	return sum, nil
}

// desk is a tracker sending to a paper broker through a risk engine.
type desk struct {
	clk     *clocktest.Fake
	paper   *paper.Broker
	engine  *risk.Engine
	tracker *order.Tracker
}

func newDesk(t *testing.T) *desk {
	t.Helper()
	clk := newClock(t0)
	pb, err := paper.New(paper.Config{Clock: clk, Cash: dec("100000")})
	if err != nil {
		t.Fatal(err)
	}
	if err := pb.SetPrice("AAPL", dec("100")); err != nil {
		t.Fatal(err)
	}
	engine, err := risk.NewEngine(risk.Config{
		Rules: []risk.Rule{
			risk.MaxOrderQuantity{Limit: dec("100")},
			risk.MaxPositionQuantity{Limit: dec("150")},
			risk.PriceBand{Percent: dec("5"), MaxQuoteAge: time.Minute},
			risk.MaxDailyLoss{Limit: dec("1000")},
		},
		Positions: pb, OpenOrders: pb, Account: pb, MarketData: pb, PnL: paperPnL{pb, []string{"AAPL"}},
		Location: time.UTC, MaxQuoteAge: time.Minute, Clock: clk,
	})
	if err != nil {
		t.Fatal(err)
	}
	tracker, err := order.NewTracker(order.Config{Broker: pb, Checker: engine, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &desk{clk: clk, paper: pb, engine: engine, tracker: tracker}
}

func (d *desk) submit(t *testing.T, req broker.OrderRequest) (order.Order, error) {
	t.Helper()
	req.ClientOrderID = broker.NewClientOrderID()
	return d.tracker.Submit(context.Background(), order.Request{OrderRequest: req})
}

// assertRefusedAndNotSent checks that a refused submission was recorded as
// rejected with its reasons and never reached the broker.
func (d *desk) assertRefusedAndNotSent(t *testing.T, rec order.Order, err error, kind errors.Kind, rules ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Submit accepted %+v", rec)
	}
	if !errors.Is(err, kind) {
		t.Errorf("errors.Is(%v, %v) = false", err, kind)
	}
	var re *errors.RiskError
	if !errors.As(err, &re) {
		t.Errorf("errors.As(%v, *RiskError) = false", err)
	}
	if rec.Status != broker.StatusRejected || rec.BrokerOrderID != "" {
		t.Errorf("record status %v broker id %q, want rejected with no broker id", rec.Status, rec.BrokerOrderID)
	}
	for _, rule := range rules {
		if !strings.Contains(rec.RejectReason, rule) {
			t.Errorf("reject reason %q does not name %q", rec.RejectReason, rule)
		}
	}
	stored, gerr := d.tracker.Get(context.Background(), rec.LocalID)
	if gerr != nil || stored.Status != broker.StatusRejected || stored.RejectReason != rec.RejectReason {
		t.Errorf("stored record = %+v, %v; want rejected with the reasons", stored, gerr)
	}
	found, ferr := d.paper.FindOrder(context.Background(),
		broker.FindQuery{Request: broker.OrderRequest{ClientOrderID: rec.ClientOrderID}})
	if ferr != nil || len(found.Candidates) != 0 {
		t.Errorf("paper FindOrder(refused order) = %+v, %v; want no candidate: it was sent", found, ferr)
	}
}

func TestTrackerRefusedOrderIsNeverSent(t *testing.T) {
	d := newDesk(t)
	// A fat finger: 500 shares at 200 against a last of 100. Both reasons.
	rec, err := d.submit(t, limitOrder(broker.Buy, "AAPL", "500", "200"))
	d.assertRefusedAndNotSent(t, rec, err, errors.ErrRiskLimitExceeded,
		"max order quantity", "max position quantity", "price band")
	if ps, _ := d.paper.Positions(context.Background()); len(ps) != 0 {
		t.Errorf("paper positions after a refusal = %v, want none", ps)
	}
}

func TestTrackerSentOrderCountsThroughPositions(t *testing.T) {
	d := newDesk(t)
	rec, err := d.submit(t, marketOrder(broker.Buy, "AAPL", "100"))
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if rec.Status != broker.StatusFilled {
		t.Fatalf("status %v, want filled", rec.Status)
	}
	// The reservation was released when the order was sent; the position
	// limit now sees the filled 100 shares through the paper positions.
	rec, err = d.submit(t, marketOrder(broker.Buy, "AAPL", "51"))
	d.assertRefusedAndNotSent(t, rec, err, errors.ErrRiskLimitExceeded, "max position quantity")
	if _, err := d.submit(t, marketOrder(broker.Buy, "AAPL", "50")); err != nil {
		t.Fatalf("buy to the position limit: %v", err)
	}
}

func TestTrackerRestingOrdersCount(t *testing.T) {
	d := newDesk(t)
	rec, err := d.submit(t, limitOrder(broker.Buy, "AAPL", "100", "99"))
	if err != nil || rec.Status != broker.StatusNew {
		t.Fatalf("resting buy = %v, %v; want new", rec.Status, err)
	}
	// Settled as sent, unfilled: it still counts through the open orders.
	rec, err = d.submit(t, limitOrder(broker.Buy, "AAPL", "51", "99"))
	d.assertRefusedAndNotSent(t, rec, err, errors.ErrRiskLimitExceeded, "max position quantity")
	if _, err := d.submit(t, limitOrder(broker.Buy, "AAPL", "50", "99")); err != nil {
		t.Fatalf("buy to the position limit: %v", err)
	}
}

func TestTrackerStaleQuoteFailsClosed(t *testing.T) {
	d := newDesk(t)
	d.clk.Advance(time.Minute + time.Second) // the paper price is now 61s old
	rec, err := d.submit(t, marketOrder(broker.Buy, "AAPL", "1"))
	d.assertRefusedAndNotSent(t, rec, err, errors.ErrRiskDataUnavailable, "quote")
}

func TestTrackerDailyLossHaltsTrading(t *testing.T) {
	d := newDesk(t)
	if _, err := d.submit(t, marketOrder(broker.Buy, "AAPL", "100")); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if err := d.paper.SetPrice("AAPL", dec("89.99")); err != nil { // unrealized -1001
		t.Fatal(err)
	}
	sell := limitOrder(broker.Sell, "AAPL", "10", "89.99")
	rec, err := d.submit(t, sell)
	d.assertRefusedAndNotSent(t, rec, err, errors.ErrRiskLimitExceeded, "max daily loss")
	if s, _ := d.engine.State(); s != risk.Halted {
		t.Fatalf("engine state %v, want halted", s)
	}
	rec, err = d.submit(t, sell)
	d.assertRefusedAndNotSent(t, rec, err, errors.ErrTradingHalted, "trading halted")

	// The tracker's protective orders skip the checker, so a halted engine
	// still lets the host defend the position.
	sell.ClientOrderID = broker.NewClientOrderID()
	closeOut, err := d.tracker.Submit(context.Background(), order.Request{OrderRequest: sell, Protective: true})
	if err != nil || closeOut.Status != broker.StatusFilled {
		t.Fatalf("protective sell while halted = %v, %v; want filled", closeOut.Status, err)
	}
	if got := d.paper.RealizedPnL("AAPL"); !got.Equal(decimal.RequireFromString("-100.1")) {
		t.Errorf("realized P&L %s, want -100.1", got)
	}
}
