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
)

// TestEntryPlacesNativeStop: a filled entry gets a GTC stop for its exact
// quantity on the closing side, at the policy's distance.
func TestEntryPlacesNativeStop(t *testing.T) {
	tests := []struct {
		name      string
		side      broker.Side
		wantSide  broker.Side
		wantStop  string
		wantQty   string
		policy    stoploss.Policy
		entryStop string
	}{
		{name: "long distance", side: broker.Buy, wantSide: broker.Sell, wantStop: "95", wantQty: "10",
			policy: stoploss.Policy{StopDistance: d("5")}},
		{name: "short distance", side: broker.SellShort, wantSide: broker.BuyToCover, wantStop: "105", wantQty: "-10",
			policy: stoploss.Policy{StopDistance: d("5")}},
		{name: "long percent", side: broker.Buy, wantSide: broker.Sell, wantStop: "98", wantQty: "10",
			policy: stoploss.Policy{StopPercent: d("2")}},
		{name: "short fixed", side: broker.SellShort, wantSide: broker.BuyToCover, wantStop: "107.5", wantQty: "-10",
			policy: stoploss.Policy{StopPrice: d("107.5")}},
		{name: "entry order's own stop wins", side: broker.Buy, wantSide: broker.Sell, wantStop: "97.25", wantQty: "10",
			policy: stoploss.Policy{StopDistance: d("5")}, entryStop: "97.25"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{config: func(c *stoploss.Config) { c.DefaultPolicy = tt.policy }})
			e.price("AAPL", "100")
			req := order.Request{}
			if tt.entryStop != "" {
				req.StopLossPrice = d(tt.entryStop)
			}
			e.enter("AAPL", tt.side, "10", req)
			stop := e.oneStop("AAPL")
			if stop.Type != broker.Stop || stop.Side != tt.wantSide || stop.TimeInForce != broker.GTC {
				t.Errorf("stop order = %s %s %s, want stop %s gtc", stop.Type, stop.Side, stop.TimeInForce, tt.wantSide)
			}
			wantDec(t, "stop price", stop.StopPrice, tt.wantStop)
			wantDec(t, "stop quantity", stop.Quantity, "10")
			rec, ok := e.record("AAPL")
			if !ok {
				t.Fatal("no protection record")
			}
			wantDec(t, "record quantity", rec.Quantity, tt.wantQty)
			if rec.Mode != stoploss.ModeNativeStop {
				t.Errorf("mode = %s", rec.Mode)
			}
			if got := e.sup.Totals().StopsPlaced; got != 1 {
				t.Errorf("stops placed = %d, want 1", got)
			}
		})
	}
}

// TestGapThroughStop: the price gaps through the stop. Synthetically the
// sweep closes at market; with a native stop-limit the limit is jumped, the
// order stays working, and the sweep cancels it and closes at market.
func TestGapThroughStop(t *testing.T) {
	tests := []struct {
		name     string
		caps     func(broker.Capabilities) broker.Capabilities
		side     broker.Side
		gap      string
		wantMode stoploss.Mode
	}{
		{"synthetic long", synthetic, broker.Buy, "90", stoploss.ModeSynthetic},
		{"synthetic short", synthetic, broker.SellShort, "111", stoploss.ModeSynthetic},
		{"stop-limit long", stopLimitOnly, broker.Buy, "90", stoploss.ModeNativeStopLimit},
		{"stop-limit short", stopLimitOnly, broker.SellShort, "111", stoploss.ModeNativeStopLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{caps: tt.caps})
			if e.sup.Mode() != tt.wantMode {
				t.Fatalf("mode = %s, want %s", e.sup.Mode(), tt.wantMode)
			}
			e.price("AAPL", "100")
			e.enter("AAPL", tt.side, "10", order.Request{})
			if tt.wantMode == stoploss.ModeSynthetic && len(e.openOrders("AAPL")) != 0 {
				t.Fatal("synthetic mode rests an order at the broker")
			}
			wantCount(t, e.sweep(), stoploss.EventBreachClose, 0)

			e.price("AAPL", tt.gap)
			if tt.wantMode == stoploss.ModeNativeStopLimit {
				e.reconcile()
				e.oneStop("AAPL") // triggered, but the limit was jumped
			}
			rep := e.sweep()
			wantCount(t, rep, stoploss.EventBreachClose, 1)
			if q := e.position("AAPL"); !q.IsZero() {
				t.Fatalf("position after the close = %s, want 0", q)
			}
			if n := len(e.openOrders("AAPL")); n != 0 {
				t.Errorf("%d orders still working", n)
			}
			breaches := e.alertsOf(errors.ErrStopLossBreach)
			if len(breaches) != 1 || breaches[0].Price != tt.gap || breaches[0].Symbol != "AAPL" {
				t.Fatalf("breach alerts = %+v, want one for AAPL at %s", breaches, tt.gap)
			}
			// The close's fill retires the record; later sweeps do nothing.
			e.handle()
			if _, ok := e.record("AAPL"); ok {
				t.Error("record kept after the position closed")
			}
			e.sweep()
			if got := e.broker.closingMarketOrders("AAPL", tt.side == broker.Buy); len(got) != 1 {
				t.Errorf("closing market orders = %v, want exactly 1", got)
			}
		})
	}
}

// TestSlowDriftIntoNativeStop: the price drifts down into a resting stop,
// which fills at the broker; the supervisor counts a stop-out and sends
// nothing more.
func TestSlowDriftIntoNativeStop(t *testing.T) {
	for _, side := range []broker.Side{broker.Buy, broker.SellShort} {
		t.Run(side.String(), func(t *testing.T) {
			e := newEnv(t, envOptions{})
			e.price("AAPL", "100")
			e.enter("AAPL", side, "10", order.Request{})
			path := []string{"99", "98", "97", "96", "95.5", "95"}
			if side == broker.SellShort {
				path = []string{"101", "102", "103", "104", "104.5", "105"}
			}
			for _, p := range path {
				e.price("AAPL", p)
				e.reconcile()
				e.sweep()
			}
			if q := e.position("AAPL"); !q.IsZero() {
				t.Fatalf("position = %s, want 0", q)
			}
			if got := e.sup.Totals(); got.StoppedOut != 1 || got.BreachCloses != 0 {
				t.Errorf("totals = %+v, want one stop-out and no emergency close", got)
			}
			if got := e.broker.closingMarketOrders("AAPL", side == broker.Buy); len(got) != 0 {
				t.Errorf("market closes sent: %v", got)
			}
			if _, ok := e.record("AAPL"); ok {
				t.Error("record kept after the stop-out")
			}
		})
	}
}

// TestTrailingStop: the stop follows the price up (down for a short), never
// back, and is then hit.
func TestTrailingStop(t *testing.T) {
	tests := []struct {
		name      string
		caps      func(broker.Capabilities) broker.Capabilities
		side      broker.Side
		up, back  string
		wantStop  string
		hit       string
		wantClose stoploss.EventKind
	}{
		{"native long", nil, broker.Buy, "110", "108", "104.5", "104", stoploss.EventStoppedOut},
		{"native long without replace", noReplace, broker.Buy, "110", "108", "104.5", "104", stoploss.EventStoppedOut},
		{"synthetic long", synthetic, broker.Buy, "110", "108", "104.5", "104", stoploss.EventBreachClose},
		{"native short", nil, broker.SellShort, "90", "92", "94.5", "95", stoploss.EventStoppedOut},
		{"synthetic short", synthetic, broker.SellShort, "90", "92", "94.5", "95", stoploss.EventBreachClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{caps: tt.caps, config: func(c *stoploss.Config) {
				c.DefaultPolicy = stoploss.Policy{TrailPercent: d("5")}
			}})
			e.price("AAPL", "100")
			e.enter("AAPL", tt.side, "10", order.Request{})
			rec, _ := e.record("AAPL")
			wantDec(t, "initial stop", rec.StopPrice, map[bool]string{true: "95", false: "105"}[tt.side == broker.Buy])

			e.price("AAPL", tt.up)
			wantCount(t, e.sweep(), stoploss.EventStopTrailed, 1)
			e.price("AAPL", tt.back) // moves against the position: the stop stays
			wantCount(t, e.sweep(), stoploss.EventStopTrailed, 0)
			rec, _ = e.record("AAPL")
			wantDec(t, "trailed stop", rec.StopPrice, tt.wantStop)
			if e.sup.Mode() == stoploss.ModeNativeStop {
				wantDec(t, "stop at the broker", e.oneStop("AAPL").StopPrice, tt.wantStop)
			}
			if got := e.sup.Totals().TrailingAdjustments; got != 1 {
				t.Errorf("trailing adjustments = %d, want 1", got)
			}

			e.price("AAPL", tt.hit)
			e.reconcile()
			e.handle()
			e.sweep()
			if q := e.position("AAPL"); !q.IsZero() {
				t.Fatalf("position = %s, want 0", q)
			}
			var got int
			switch tt.wantClose {
			case stoploss.EventStoppedOut:
				got = e.sup.Totals().StoppedOut
			default:
				got = e.sup.Totals().BreachCloses
			}
			if got != 1 {
				t.Errorf("%s = %d, want 1 (totals %+v)", tt.wantClose, got, e.sup.Totals())
			}
		})
	}
}

// TestTakeProfit: the take-profit closes the position at market and cancels
// the resting stop.
func TestTakeProfit(t *testing.T) {
	tests := []struct {
		name   string
		side   broker.Side
		req    order.Request
		policy stoploss.Policy
		price  string
	}{
		{"long policy percent", broker.Buy, order.Request{}, stoploss.Policy{StopDistance: d("5"), TakeProfitPercent: d("10")}, "110"},
		{"short policy percent", broker.SellShort, order.Request{}, stoploss.Policy{StopDistance: d("5"), TakeProfitPercent: d("10")}, "90"},
		{"long entry order target", broker.Buy, order.Request{TakeProfitPrice: d("103")}, stoploss.Policy{StopDistance: d("5")}, "103.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{config: func(c *stoploss.Config) { c.DefaultPolicy = tt.policy }})
			e.price("AAPL", "100")
			e.enter("AAPL", tt.side, "10", tt.req)
			e.price("AAPL", tt.price)
			rep := e.sweep()
			wantCount(t, rep, stoploss.EventTakeProfitClose, 1)
			if q := e.position("AAPL"); !q.IsZero() {
				t.Fatalf("position = %s, want 0", q)
			}
			if n := len(e.openOrders("AAPL")); n != 0 {
				t.Errorf("%d orders still working after the take-profit", n)
			}
			if n := len(e.alertsOf(errors.ErrStopLossBreach)); n != 0 {
				t.Errorf("a take-profit raised %d breach alerts", n)
			}
		})
	}
}

// TestPartialFillsResizeStop: an entry that fills in parts gets its stop
// resized to the position after each part.
func TestPartialFillsResizeStop(t *testing.T) {
	e := newEnv(t, envOptions{paper: func(c *paper.Config) { c.MaxFillPerUpdate = d("4") }})
	e.price("AAPL", "100")
	req := order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[0], Side: broker.Buy,
		Type: broker.Limit, LimitPrice: d("100"), Quantity: d("10"), TimeInForce: broker.Day}}
	entry, err := e.tracker.Submit(e.ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	e.handle()
	for _, want := range []string{"4", "8", "10"} {
		stops := stopsOf(e.openOrders("AAPL"))
		if len(stops) != 1 {
			t.Fatalf("after %s filled: %d stops working, want 1", want, len(stops))
		}
		wantDec(t, "stop quantity", stops[0].Quantity, want)
		wantDec(t, "position", e.position("AAPL"), want)
		e.price("AAPL", "100") // the next part fills
		e.reconcile()
		e.handle()
	}
	if got, _ := e.tracker.Get(e.ctx, entry.LocalID); got.Status != broker.StatusFilled {
		t.Fatalf("entry status = %s", got.Status)
	}
	if got := e.sup.Totals().StopsResized; got != 2 {
		t.Errorf("resizes = %d, want 2", got)
	}
}

func stopsOf(orders []broker.Order) []broker.Order {
	var out []broker.Order
	for _, o := range orders {
		if o.Type == broker.Stop || o.Type == broker.StopLimit {
			out = append(out, o)
		}
	}
	return out
}

// TestCancelledStopRestored: a stop cancelled behind the supervisor's back
// (at the broker, the tracker unaware) is back within one sweep, once.
func TestCancelledStopRestored(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	e.sweep()
	old := e.oneStop("AAPL")
	if err := e.paper.CancelOrder(e.ctx, old.OrderID); err != nil {
		t.Fatal(err)
	}
	rep := e.sweep()
	wantCount(t, rep, stoploss.EventStopRestored, 1)
	back := e.oneStop("AAPL")
	if back.OrderID == old.OrderID || back.ClientOrderID == old.ClientOrderID {
		t.Errorf("restored stop reuses the cancelled order's ids")
	}
	wantDec(t, "restored quantity", back.Quantity, "10")
	wantDec(t, "restored stop", back.StopPrice, "95")
	wantCount(t, e.sweep(), stoploss.EventStopRestored, 0)
	e.oneStop("AAPL")
}

// TestPlacementFailuresEscalate: a broker that refuses every stop makes the
// supervisor halt trading after EscalateAfter sweeps and alert the host.
func TestPlacementFailuresEscalate(t *testing.T) {
	var failPlace bool
	e := newEnv(t, envOptions{
		paper: func(c *paper.Config) {
			c.Faults.Inject = func(op paper.Op) paper.Fault {
				if op == paper.OpPlaceOrder && failPlace {
					return paper.FaultUnavailable
				}
				return paper.NoFault
			}
		},
		config: func(c *stoploss.Config) { c.EscalateAfter = 3; c.EscalateTo = risk.ReduceOnly },
	})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "1", order.Request{}) // protected normally
	failPlace = true
	req := order.Request{OrderRequest: broker.OrderRequest{Instrument: symbols[1], Side: broker.Buy,
		Type: broker.Market, Quantity: d("10"), TimeInForce: broker.Day}}
	e.price("MSFT", "200")
	failPlace = false
	if _, err := e.tracker.Submit(e.ctx, req); err != nil {
		t.Fatal(err)
	}
	failPlace = true
	if n := len(e.handle().Failures()); n != 1 {
		t.Fatalf("failures after the fill = %d, want 1", n)
	}
	for i := 1; i <= 3; i++ {
		if st, _ := e.engine.State(); st != risk.Active {
			t.Fatalf("state before sweep %d = %s, want active", i, st)
		}
		rep := e.sweep()
		wantCount(t, rep, stoploss.EventEscalated, map[bool]int{true: 1, false: 0}[i == 3])
	}
	if st, _ := e.engine.State(); st != risk.ReduceOnly {
		t.Fatalf("state = %s, want reduce_only", st)
	}
	alerts := e.alertsOf(errors.ErrStopNotPlaced)
	if len(alerts) != 1 || alerts[0].Symbol != "MSFT" {
		t.Fatalf("alerts = %+v, want one ErrStopNotPlaced for MSFT", alerts)
	}
	hb := e.sup.Heartbeat()
	if hb.Protected != 1 || hb.Unprotected != 1 || hb.LastError == nil {
		t.Errorf("heartbeat = %+v, want 1 protected, 1 unprotected and an error", hb)
	}
	// The broker recovers: the next sweep places the stop.
	failPlace = false
	wantCount(t, e.sweep(), stoploss.EventStopPlaced, 1)
	e.oneStop("MSFT")
}

// TestStaleQuotesHalt: with no fresh quote the supervisor cannot watch a
// synthetic stop; after EscalateAfter sweeps it halts trading.
func TestStaleQuotesHalt(t *testing.T) {
	e := newEnv(t, envOptions{caps: synthetic, config: func(c *stoploss.Config) {
		c.EscalateAfter = 2
		c.MaxQuoteAge = 30 * time.Second
	}})
	e.price("AAPL", "100")
	e.enter("AAPL", broker.Buy, "10", order.Request{})
	wantCount(t, e.sweep(), stoploss.EventStaleQuote, 0)
	for i := 1; i <= 2; i++ {
		e.clock.Advance(time.Minute) // no new price: the quote ages
		rep := e.sweep()
		wantCount(t, rep, stoploss.EventStaleQuote, 1)
	}
	if st, _ := e.engine.State(); st != risk.Halted {
		t.Fatalf("state = %s, want halted", st)
	}
	if n := len(e.alertsOf(errors.ErrRiskDataUnavailable)); n != 1 {
		t.Errorf("data alerts = %d, want 1", n)
	}
	if hb := e.sup.Heartbeat(); hb.Unprotected != 1 {
		t.Errorf("heartbeat unprotected = %d, want 1", hb.Unprotected)
	}
	// Halted, the supervisor still defends: a fresh price through the stop closes.
	e.price("AAPL", "94")
	wantCount(t, e.sweep(), stoploss.EventBreachClose, 1)
	if q := e.position("AAPL"); !q.IsZero() {
		t.Fatalf("position = %s, want 0", q)
	}
}

// TestPerSymbolPolicy: a symbol's own policy wins over the default.
func TestPerSymbolPolicy(t *testing.T) {
	e := newEnv(t, envOptions{config: func(c *stoploss.Config) {
		c.Policies = map[string]stoploss.Policy{"MSFT": {StopPrice: d("180")}}
	}})
	e.price("AAPL", "100")
	e.price("MSFT", "200")
	e.enter("AAPL", broker.Buy, "1", order.Request{})
	e.enter("MSFT", broker.Buy, "1", order.Request{})
	wantDec(t, "AAPL stop (default policy)", e.oneStop("AAPL").StopPrice, "95")
	wantDec(t, "MSFT stop (its own policy)", e.oneStop("MSFT").StopPrice, "180")
}
