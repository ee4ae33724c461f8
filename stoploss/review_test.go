package stoploss_test

import (
	"time"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"

	"testing"

	"github.com/arbiontrader/arbion/paper"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
)

// TestReentryAfterFilledCloseProtected: the bot exits, the close fills, and
// the bot opens the symbol again before the supervisor handled the close's
// fill (both fills arrive in one batch). The new position must get its own
// stop: the record of the closed position must not stay "closing" with a
// filled close, which left the new position unprotected forever.
func TestReentryAfterFilledCloseProtected(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps func(broker.Capabilities) broker.Capabilities
	}{{"native", nil}, {"synthetic", synthetic}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOptions{caps: tc.caps})
			e.price("AAPL", "100")
			e.enter("AAPL", broker.Buy, "10", order.Request{})
			if _, err := e.sup.Exit(e.ctx, "AAPL"); err != nil {
				t.Fatal(err)
			}
			if q := e.position("AAPL"); !q.IsZero() {
				t.Fatalf("position = %s after exit, want 0", q)
			}
			// Re-entry before the close's fill is handled.
			if _, err := e.tracker.Submit(e.ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0],
				Side: broker.Buy, Type: broker.Market, Quantity: d("5"), TimeInForce: broker.Day}}); err != nil {
				t.Fatal(err)
			}
			e.handle()
			e.sweep()
			rec, ok := e.record("AAPL")
			if !ok {
				t.Fatal("no record for the new position")
			}
			if rec.CloseReason != "" {
				t.Errorf("new position's record is closing (%q): it is left unprotected", rec.CloseReason)
			}
			wantDec(t, "record quantity", rec.Quantity, "5")
			if tc.caps == nil {
				wantDec(t, "stop quantity", e.oneStop("AAPL").Quantity, "5")
			}
			// The protection works: a breach closes the new position, once.
			e.price("AAPL", "94")
			e.reconcile()
			e.handle()
			e.sweep()
			e.sweep()
			if q := e.position("AAPL"); !q.IsZero() {
				t.Errorf("position = %s after a breach, want 0", q)
			}
			if hb := e.sup.Heartbeat(); hb.Unprotected != 0 {
				t.Errorf("unprotected = %d, want 0", hb.Unprotected)
			}
			_ = stoploss.EventExitClose
		})
	}
}

// TestTrailingReplaceAnswerLost: the replace that ratchets a trailing stop
// reaches the broker but its answer is lost. Later sweeps must leave exactly
// one working stop for the position's size (never two, which would flip the
// position when both trigger), and a fall through the stop closes it once.
func TestTrailingReplaceAnswerLost(t *testing.T) {
	for _, side := range []broker.Side{broker.Buy, broker.SellShort} {
		t.Run(side.String(), func(t *testing.T) {
			var loseNext bool
			e := newEnv(t, envOptions{
				paper: func(c *paper.Config) {
					c.Faults.Inject = func(op paper.Op) paper.Fault {
						if op == paper.OpReplaceOrder && loseNext {
							loseNext = false
							return paper.FaultLoseAnswer
						}
						return paper.NoFault
					}
				},
				config: func(c *stoploss.Config) { c.DefaultPolicy = stoploss.Policy{TrailPercent: d("5")} },
			})
			long := side == broker.Buy
			up, hit := "110", "104"
			if !long {
				up, hit = "90", "95"
			}
			e.price("AAPL", "100")
			e.enter("AAPL", side, "10", order.Request{})
			e.price("AAPL", up)
			loseNext = true
			e.sweep()
			for range 3 {
				e.clock.Advance(time.Minute)
				e.reconcile()
				e.handle()
				e.sweep()
			}
			stop := e.oneStop("AAPL")
			wantDec(t, "stop quantity", stop.Quantity, "10")
			e.price("AAPL", hit)
			for range 2 {
				e.reconcile()
				e.handle()
				e.sweep()
			}
			if q := e.position("AAPL"); !q.IsZero() {
				t.Fatalf("position = %s, want 0 (flipped or not closed)", q)
			}
			if open := e.openOrders("AAPL"); len(open) != 0 {
				t.Errorf("orders left working: %+v", open)
			}
		})
	}
}

// TestTakeProfitThenStopWhileCancelPending: a short's take-profit is
// reached while its native stop rests; the stop's cancel is slow and the
// price jumps back through the stop meanwhile. Whatever fills, the short is
// closed once, never flipped into a long, and nothing is left working.
func TestTakeProfitThenStopWhileCancelPending(t *testing.T) {
	e := newEnv(t, envOptions{
		paper: func(c *paper.Config) { c.CancelLatency = 1 },
		config: func(c *stoploss.Config) {
			c.DefaultPolicy = stoploss.Policy{StopDistance: d("5"), TakeProfitPercent: d("3")}
		},
	})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.SellShort, "10", order.Request{})
	if stop := e.oneStop("AAPL"); stop.Side != broker.BuyToCover || !stop.StopPrice.Equal(d("105")) {
		t.Fatalf("stop = %s at %s, want buy_to_cover at 105", stop.Side, stop.StopPrice)
	}
	e.price("AAPL", "96")
	e.sweep() // take-profit: the stop's cancel is pending
	e.price("AAPL", "106")
	for range 3 {
		e.reconcile()
		e.handle()
		e.sweep()
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s, want 0", q)
	}
	if open := e.openOrders("AAPL"); len(open) != 0 {
		t.Errorf("orders left working: %+v", open)
	}
	if _, ok := e.record("AAPL"); ok {
		t.Error("record kept for a flat position")
	}
}

// TestBreachCloseBlockedEscalates: a breach close that cannot be sent (the
// broker keeps refusing it, or a working order the tracker does not know
// blocks it) leaves the position open. That must not stay silent: after
// EscalateAfter sweeps the trading switch trips and the host is alerted
// with errors.ErrStopNotPlaced, once.
func TestBreachCloseBlockedEscalates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		foreign bool
	}{{"close refused", false}, {"foreign working order", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var refuse bool
			e := newEnv(t, envOptions{caps: synthetic, paper: func(c *paper.Config) {
				c.Faults.Inject = func(op paper.Op) paper.Fault {
					if op == paper.OpPlaceOrder && refuse {
						return paper.FaultUnavailable
					}
					return paper.NoFault
				}
			}})
			e.price("AAPL", "100")
			e.enter("AAPL", broker.Buy, "10", order.Request{})
			if tc.foreign {
				// A resting buy placed by another program, outside the tracker.
				if _, err := e.paper.PlaceOrder(e.ctx, broker.OrderRequest{ClientOrderID: "outside1", Instrument: symbols[0],
					Side: broker.Buy, Type: broker.Limit, Quantity: d("1"), LimitPrice: d("50"), TimeInForce: broker.GTC}); err != nil {
					t.Fatal(err)
				}
			}
			e.price("AAPL", "94")
			refuse = !tc.foreign
			for range 5 {
				e.clock.Advance(time.Second)
				e.sweep()
			}
			if q := e.position("AAPL"); !q.Equal(d("10")) {
				t.Fatalf("position = %s, want 10 (the close is blocked)", q)
			}
			if got := e.alertsOf(errors.ErrStopNotPlaced); len(got) != 1 {
				t.Errorf("escalations = %d, want 1: the breached position stayed open for 5 sweeps", len(got))
			}
			if st, _ := e.engine.State(); st != risk.Halted {
				t.Errorf("trading state = %s, want halted", st)
			}
		})
	}
}

// TestResizeWithoutReplaceWhileCancelPending: on a broker without replace a
// resize is a cancel and a new stop. While the cancel is pending the old stop
// may still fill: the new one must not rest beside it (both would fill when
// the price falls through and flip the position), the dying stop must not be
// adopted back, and no client order id may be reused. Once the cancel is
// confirmed one stop rests for the whole position.
func TestResizeWithoutReplaceWhileCancelPending(t *testing.T) {
	e := newEnv(t, envOptions{caps: noReplace, paper: func(c *paper.Config) { c.CancelLatency = 1 }})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.enter("AAPL", broker.Buy, "5", order.Request{})
	working := func() decimal.Decimal {
		sum := decimal.Zero
		for _, o := range e.openOrders("AAPL") {
			sum = sum.Add(o.Remaining())
		}
		return sum
	}
	for range 2 {
		if w := working(); w.GreaterThan(d("15")) {
			t.Fatalf("working stop quantity = %s for a position of 15", w)
		}
		for _, f := range append(e.handle().Failures(), e.sweep().Failures()...) {
			if errors.Is(f.Err, errors.ErrDuplicateOrder) {
				t.Errorf("a client order id was reused: %v", f.Err)
			}
		}
	}
	e.price("AAPL", "100") // one price update: the cancel is confirmed
	e.reconcile()
	e.handle()
	e.sweep()
	wantDec(t, "stop quantity", e.oneStop("AAPL").Quantity, "15")
	e.price("AAPL", "90")
	for range 3 {
		e.reconcile()
		e.handle()
		e.sweep()
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s, want 0 (flipped or not closed)", q)
	}
	if open := e.openOrders("AAPL"); len(open) != 0 {
		t.Errorf("orders left working: %+v", open)
	}
}

// TestPartialCloseFill: the breach close of a crypto long fills in part
// (IOC: the rest expires). The remainder is closed by a new attempt for
// exactly what is left, never more.
func TestPartialCloseFill(t *testing.T) {
	e := newEnv(t, envOptions{caps: synthetic, paper: func(c *paper.Config) { c.MaxFillPerUpdate = d("0.3") }})
	e.price("BTC-USD", "60000")
	e.enter("BTC-USD", broker.Buy, "0.3", order.Request{})
	e.enter("BTC-USD", broker.Buy, "0.3", order.Request{})
	wantDec(t, "position", e.position("BTC-USD"), "0.6")
	e.price("BTC-USD", "59000")
	for range 4 {
		e.reconcile()
		e.handle()
		e.sweep()
		if q := e.position("BTC-USD"); q.IsNegative() {
			t.Fatalf("position flipped to %s", q)
		}
	}
	if q := e.position("BTC-USD"); !q.IsZero() {
		t.Fatalf("position = %s, want 0", q)
	}
	if _, ok := e.record("BTC-USD"); ok {
		t.Error("record kept for a flat position")
	}
}

// TestRestartBetweenCloseIDSavedAndSent: a supervisor crashed after saving
// the close's id and before sending it; a new process (fresh tracker store)
// sends the close once, with that id, and a third sweep sends nothing more.
func TestRestartBetweenCloseIDSavedAndSent(t *testing.T) {
	var refuse bool
	e := newEnv(t, envOptions{caps: synthetic, paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if op == paper.OpPlaceOrder && refuse {
				return paper.FaultUnavailable
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.price("AAPL", "94")
	refuse = true // stands for the crash: the id is saved, nothing reaches the broker
	e.sweep()
	refuse = false
	saved, _ := e.record("AAPL")
	if saved.CloseClientOrderID == "" {
		t.Fatal("no close id saved")
	}
	e.orders = order.NewMemoryStore()
	e.tracker = e.newTracker()
	cfg := e.cfg
	cfg.Orders = e.tracker
	e.sup = e.newSupervisor(cfg)
	for range 3 {
		e.clock.Advance(time.Second)
		e.reconcile()
		e.handle()
		e.sweep()
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s, want 0", q)
	}
	if got := e.broker.closingMarketOrders("AAPL", true); len(got) != 1 {
		t.Errorf("closes = %v, want exactly 1", got)
	}
}
