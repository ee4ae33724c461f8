package stoploss_test

import (
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// TestCloseAnswerLost: the emergency close reaches the broker but its
// answer is lost. Later sweeps send nothing more; the tracker settles the
// order and the record is retired. One close, no flip.
func TestCloseAnswerLost(t *testing.T) {
	var loseNextPlace bool
	e := newEnv(t, envOptions{caps: synthetic, paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if op == paper.OpPlaceOrder && loseNextPlace {
				loseNextPlace = false
				return paper.FaultLoseAnswer
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.price("AAPL", "94")
	loseNextPlace = true
	rep := e.sweep()
	if len(rep.Failures()) != 1 {
		t.Fatalf("failures = %+v, want the lost answer", rep.Failures())
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s: the close should have executed at the broker", q)
	}
	for range 3 {
		e.sweep()
	}
	e.reconcile()
	e.handle()
	e.sweep()
	if got := e.broker.closingMarketOrders("AAPL", true); len(got) != 0 {
		t.Errorf("closes whose answer was seen: %v, want none (the only one lost its answer)", got)
	}
	if got := e.broker.Calls()["PlaceOrder"]; got != 2 {
		t.Errorf("PlaceOrder calls = %d, want 2 (entry and one close)", got)
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Errorf("position = %s, want 0", q)
	}
	if _, ok := e.record("AAPL"); ok {
		t.Error("record kept after the close settled")
	}
}

// TestCloseWaitsForPendingCancel: a stop-limit jumped by a gap is cancelled
// with latency; while its cancel is pending the close is not sent (the stop
// could still fill and the close would flip the position). Once the cancel
// is confirmed the close goes out.
func TestCloseWaitsForPendingCancel(t *testing.T) {
	e := newEnv(t, envOptions{caps: stopLimitOnly, paper: func(c *paper.Config) { c.CancelLatency = 1 }})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.price("AAPL", "90")
	rep := e.sweep()
	wantCount(t, rep, stoploss.EventBreachClose, 0)
	if got := e.position("AAPL"); !got.Equal(d("10")) {
		t.Fatalf("position = %s, want 10 while the cancel is pending", got)
	}
	e.price("AAPL", "90") // one price update: the cancel is confirmed
	rep = e.sweep()
	wantCount(t, rep, stoploss.EventBreachClose, 1)
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s, want 0", q)
	}
	if got := e.broker.closingMarketOrders("AAPL", true); len(got) != 1 {
		t.Errorf("closing orders = %v, want 1", got)
	}
}

// TestStopPartialFillShrinks: the protective stop fills in parts; the
// position shrinks with it and nothing is resized or sent meanwhile.
func TestStopPartialFillShrinks(t *testing.T) {
	e := newEnv(t, envOptions{paper: func(c *paper.Config) { c.MaxFillPerUpdate = d("4") }})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "4", order.Request{})
	e.enter("AAPL", broker.Buy, "4", order.Request{})
	e.enter("AAPL", broker.Buy, "2", order.Request{})
	wantDec(t, "stop", e.oneStop("AAPL").Quantity, "10")
	e.broker.Reset()
	for _, want := range []string{"6", "2"} {
		e.price("AAPL", "95")
		e.reconcile()
		e.handle()
		rec, ok := e.record("AAPL")
		if !ok {
			t.Fatal("record gone while the position is open")
		}
		wantDec(t, "record quantity", rec.Quantity, want)
		wantDec(t, "stop remaining", e.oneStop("AAPL").Remaining(), want)
	}
	e.price("AAPL", "95")
	e.reconcile()
	e.handle()
	if calls := e.broker.Calls(); calls["PlaceOrder"]+calls["ReplaceOrder"]+calls["CancelOrder"] != 0 {
		t.Errorf("order calls while the stop filled: %v", calls)
	}
	if got := e.sup.Totals().StoppedOut; got != 1 {
		t.Errorf("stopped out = %d, want 1", got)
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Errorf("position = %s, want 0", q)
	}
}

// TestAdoptsUnknownPosition: a position opened behind the tracker's back
// (another program, before the supervisor started) is found by the
// verification and protected; crypto closes with Sell.
func TestAdoptsUnknownPosition(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.price("BTC-USD", "60000")
	ack, err := e.paper.PlaceOrder(e.ctx, broker.OrderRequest{ClientOrderID: "outside1",
		Instrument: symbols[3], Side: broker.Buy, Type: broker.Market, Quantity: d("0.5"), TimeInForce: broker.IOC})
	if err != nil || ack.Status != broker.StatusFilled {
		t.Fatalf("outside order: %v %v", ack.Status, err)
	}
	rep := e.sweep()
	wantCount(t, rep, stoploss.EventPositionAdopted, 1)
	stop := e.oneStop("BTC-USD")
	if stop.Side != broker.Sell || !stop.Quantity.Equal(d("0.5")) || !stop.StopPrice.Equal(decimal.NewFromInt(59995)) {
		t.Errorf("stop = %s %s @ %s, want sell 0.5 @ 59995", stop.Side, stop.Quantity, stop.StopPrice)
	}
}

// TestExit: the bot exits a position whose shares the resting stop
// reserves; Exit cancels the stop and closes exactly the position, once.
func TestExit(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	// The bot's own sell is refused: the stop holds the shares.
	_, err := e.tracker.Submit(e.ctx, order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0],
		Side: broker.Sell, Type: broker.Market, Quantity: d("10"), TimeInForce: broker.Day}})
	if err == nil {
		t.Fatal("the paper broker sold shares reserved by the stop")
	}
	rep, err := e.sup.Exit(e.ctx, "AAPL")
	if err != nil {
		t.Fatal(err)
	}
	wantCount(t, rep, stoploss.EventExitClose, 1)
	// Asked again, it finds the position closed and sends nothing.
	if _, err := e.sup.Exit(e.ctx, "AAPL"); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("second exit = %v, want ErrInvalidOrder", err)
	}
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s, want 0", q)
	}
	if got := e.broker.closingMarketOrders("AAPL", true); len(got) != 1 {
		t.Errorf("exit orders = %v, want 1", got)
	}
	if got := e.sup.Totals().Exits; got != 1 {
		t.Errorf("exits = %d, want 1", got)
	}
}

// TestFailedResizeRetried: the position grows while the broker refuses the
// replace; the stop is short, the position counts as unprotected, and the
// next sweep resizes it.
func TestFailedResizeRetried(t *testing.T) {
	var failReplace bool
	e := newEnv(t, envOptions{paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if op == paper.OpReplaceOrder && failReplace {
				return paper.FaultUnavailable
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	failReplace = true
	rep := func() stoploss.Report {
		req := order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0], Side: broker.Buy,
			Type: broker.Market, Quantity: d("5"), TimeInForce: broker.Day}}
		if _, err := e.tracker.Submit(e.ctx, req); err != nil {
			t.Fatal(err)
		}
		return e.handle()
	}()
	if len(rep.Failures()) != 1 {
		t.Fatalf("failures = %+v, want the refused resize", rep.Failures())
	}
	wantDec(t, "stop while the broker refuses", e.oneStop("AAPL").Quantity, "10")
	e.sweep()
	if hb := e.sup.Heartbeat(); hb.Unprotected != 1 {
		t.Errorf("heartbeat = %+v, want the short stop unprotected", hb)
	}
	failReplace = false
	wantCount(t, e.sweep(), stoploss.EventStopResized, 1)
	wantDec(t, "stop after the retry", e.oneStop("AAPL").Quantity, "15")
	if hb := e.sup.Heartbeat(); hb.Protected != 1 || hb.Unprotected != 0 {
		t.Errorf("heartbeat = %+v, want protected", hb)
	}
}

// TestBrokerReadsFailingEscalate: when the broker cannot list orders and
// positions, the supervisor cannot verify anything; after EscalateAfter
// sweeps it halts trading.
func TestBrokerReadsFailingEscalate(t *testing.T) {
	var down bool
	e := newEnv(t, envOptions{paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if down && (op == paper.OpOpenOrders || op == paper.OpPositions || op == paper.OpQuotes) {
				return paper.FaultNetwork
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	down = true
	for i := 1; i <= 3; i++ {
		rep := e.sweep()
		if !errors.Is(e.sup.Heartbeat().LastError, errors.ErrRiskDataUnavailable) {
			t.Errorf("sweep %d: heartbeat error = %v", i, e.sup.Heartbeat().LastError)
		}
		if i == 3 {
			wantCount(t, rep, stoploss.EventEscalated, 2) // verification and AAPL's quotes
		}
	}
	if st, _ := e.engine.State(); st != risk.Halted {
		t.Errorf("state = %s, want halted", st)
	}
	// The resting stop still protects: the heartbeat says so.
	if hb := e.sup.Heartbeat(); hb.Protected != 1 {
		t.Errorf("heartbeat = %+v", hb)
	}
}

// TestStopAnswerLost: the stop reaches the broker but its answer is lost.
// The supervisor never sends a second one; the tracker's reconciliation
// finds the first, and the position counts as protected again.
func TestStopAnswerLost(t *testing.T) {
	var lose bool
	e := newEnv(t, envOptions{paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if op == paper.OpPlaceOrder && lose {
				lose = false
				return paper.FaultLoseAnswer
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	req := order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0], Side: broker.Buy,
		Type: broker.Market, Quantity: d("10"), TimeInForce: broker.Day}}
	if _, err := e.tracker.Submit(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	lose = true
	if n := len(e.handle().Failures()); n != 1 {
		t.Fatalf("failures = %d, want the lost answer", n)
	}
	for range 3 {
		e.sweep()
		e.reconcile()
	}
	if got := e.broker.Calls()["PlaceOrder"]; got != 2 {
		t.Errorf("PlaceOrder calls = %d, want 2 (entry, one stop)", got)
	}
	wantDec(t, "stop", e.oneStop("AAPL").Quantity, "10")
	if hb := e.sup.Heartbeat(); hb.Protected != 1 {
		t.Errorf("heartbeat = %+v, want protected", hb)
	}
}

// TestRejectedCloseRetried: the broker refuses the first emergency close;
// the next sweep sends a second attempt under a new id, and the position
// is closed once.
func TestRejectedCloseRetried(t *testing.T) {
	var refuse bool
	e := newEnv(t, envOptions{caps: synthetic, paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if op == paper.OpPlaceOrder && refuse {
				refuse = false
				return paper.FaultUnavailable
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.price("AAPL", "94")
	refuse = true
	rep := e.sweep()
	wantCount(t, rep, stoploss.EventBreachClose, 0)
	first, _ := e.record("AAPL")
	if first.CloseReason == "" || first.CloseClientOrderID == "" {
		t.Fatalf("record after the refused close = %+v, want it closing", first)
	}
	e.clock.Advance(time.Second)
	rep = e.sweep()
	wantCount(t, rep, stoploss.EventBreachClose, 1)
	closes := e.broker.closingMarketOrders("AAPL", true)
	if len(closes) != 1 {
		t.Fatalf("closes = %v, want 1", closes)
	}
	if rep.Events[0].ClientOrderID == first.CloseClientOrderID {
		t.Error("the retry reused the refused order's client id")
	}
	e.handle()
	e.sweep()
	if q := e.position("AAPL"); !q.IsZero() {
		t.Errorf("position = %s, want 0", q)
	}
	if got := e.broker.Calls()["PlaceOrder"]; got != 3 {
		t.Errorf("PlaceOrder calls = %d, want 3 (entry, refused close, close)", got)
	}
}

// TestUpdatesKeptWhenPositionsFail: a fill whose positions read fails is
// kept, and handled (the stop placed) once the broker answers again.
func TestUpdatesKeptWhenPositionsFail(t *testing.T) {
	var down bool
	e := newEnv(t, envOptions{paper: func(c *paper.Config) {
		c.Faults.Inject = func(op paper.Op) paper.Fault {
			if down && op == paper.OpPositions {
				return paper.FaultUnavailable
			}
			return paper.NoFault
		}
	}})
	e.price("AAPL", "100")
	down = true
	e.enter("AAPL", broker.Buy, "10", order.Request{TakeProfitPrice: d("120")})
	if len(e.openOrders("AAPL")) != 0 {
		t.Fatal("a stop was placed without the positions")
	}
	rep := e.handle()
	if f := rep.Failures(); len(f) != 1 || !errors.Is(f[0].Err, errors.ErrRiskDataUnavailable) {
		t.Fatalf("failures = %+v, want one ErrRiskDataUnavailable", f)
	}
	down = false
	wantCount(t, e.handle(), stoploss.EventStopPlaced, 1)
	wantDec(t, "stop", e.oneStop("AAPL").Quantity, "10")
	rec, _ := e.record("AAPL")
	wantDec(t, "take-profit kept from the entry order", rec.TakeProfitPrice, "120")
}
