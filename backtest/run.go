package backtest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/shopspring/decimal"
)

// run is the state of one Run: the live stack on a paper broker, driven by
// a clock that only the bars move.
type run struct {
	cfg   Config
	bars  []broker.Bar
	clock *clocktest.Fake

	paper   *paper.Broker
	engine  *risk.Engine
	tracker *order.Tracker
	sup     *stoploss.Supervisor
	pnl     *dailyPnL
	trader  *trader
	unsub   func()

	closed   int          // bars closed so far: History sees bars[:closed]
	fills    []fillRecord // every fill the tracker applied, in order
	points   []EquityPoint
	held     []bool // per bar: a position was open at its close
	refused  int    // orders the risk engine refused
	bhQty    decimal.Decimal
	bhCash   decimal.Decimal
	lastMark decimal.Decimal
}

// fillRecord is one applied fill with what the report needs of its order.
type fillRecord struct {
	fill       broker.Fill
	buy        bool
	orderType  broker.OrderType
	protective bool
}

func newRun(cfg Config, bars []broker.Bar) (*run, error) {
	start := cfg.From
	if len(bars) > 0 {
		start = bars[0].Start
	}
	r := &run{cfg: cfg, bars: bars, clock: clocktest.New(start)}
	var err error
	r.paper, err = paper.New(paper.Config{
		AccountID: Account, Cash: cfg.Cash, Instruments: []broker.Instrument{cfg.Instrument},
		AllowShort: cfg.AllowShort, FeeBps: cfg.FeeBps, MinFee: cfg.MinFee, FeePerOrder: cfg.FeePerOrder,
		Bars: cfg.Fill, Clock: r.clock,
		QuoteBatchSize: 1, // one symbol: the supervisor sizes its batches by it
	})
	if err != nil {
		return nil, err
	}
	loc := cfg.Location
	if loc == nil {
		loc = time.UTC
	}
	r.pnl = &dailyPnL{broker: r.paper, symbol: cfg.Instrument.Symbol, loc: loc}
	quoteAge, _ := cfg.Interval.Duration()
	r.engine, err = risk.NewEngine(risk.Config{
		Rules: cfg.Rules, Positions: r.paper, OpenOrders: r.paper, Account: r.paper, MarketData: r.paper, PnL: r.pnl,
		Location: loc, MaxQuoteAge: quoteAge, Clock: r.clock,
	})
	if err != nil {
		return nil, err
	}
	r.tracker, err = order.NewTracker(order.Config{Broker: r.paper, Checker: r.engine, Account: Account, Clock: r.clock})
	if err != nil {
		return nil, err
	}
	r.unsub = r.tracker.Subscribe(r.record)
	r.sup, err = stoploss.New(stoploss.Config{
		Account: Account, Broker: r.paper, Orders: workingOrders{r.tracker}, Clock: r.clock, Switch: r.engine,
		EscalateTo: risk.Halted, DefaultPolicy: cfg.StopLoss, Mode: cfg.StopLossMode,
		// Quotes are the bar's close, as of its end: as fresh as the clock.
		MaxQuoteAge: max(quoteAge, stoploss.DefaultMaxQuoteAge),
		// Verify every ten bars: the paper broker cannot cancel a stop
		// behind the supervisor's back, and each check costs two calls.
		VerifyInterval: 10 * quoteAge,
	})
	if err != nil {
		r.unsub()
		return nil, err
	}
	r.trader = &trader{r: r}
	r.bhCash = cfg.Cash
	r.points = make([]EquityPoint, 0, len(bars))
	r.held = make([]bool, 0, len(bars))
	return r, nil
}

func (r *run) close() {
	r.sup.Close()
	r.unsub()
}

// record keeps each applied fill for the trade list.
func (r *run) record(u order.Update) {
	if u.Fill == nil || u.Order.Instrument.Symbol != r.cfg.Instrument.Symbol {
		return
	}
	r.fills = append(r.fills, fillRecord{fill: *u.Fill, buy: u.Order.Side.IsBuy(),
		orderType: u.Order.Type, protective: u.Order.Protective})
}

// step replays bar i: see the package doc.
func (r *run) step(ctx context.Context, i int) error {
	bar := r.bars[i]
	r.clock.Set(bar.Start)
	if err := r.paper.ApplyBar(bar); err != nil {
		return err
	}
	r.clock.Set(bar.End())
	r.pnl.roll(bar.End())
	if _, err := r.tracker.Reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if _, err := r.sup.HandleUpdates(ctx); err != nil {
		return fmt.Errorf("stop-loss updates: %w", err)
	}
	if _, err := r.sup.Sweep(ctx); err != nil {
		return fmt.Errorf("stop-loss sweep: %w", err)
	}
	r.closed = i + 1
	if err := r.cfg.Strategy.OnBar(ctx, bar, r.trader); err != nil {
		return fmt.Errorf("strategy: %w", err)
	}
	if _, err := r.sup.HandleUpdates(ctx); err != nil {
		return fmt.Errorf("stop-loss updates: %w", err)
	}
	return r.mark(ctx, bar)
}

// mark records the equity at the bar's close, the strategy's and
// buy-and-hold's.
func (r *run) mark(ctx context.Context, bar broker.Bar) error {
	acct, err := r.paper.Account(ctx)
	if err != nil {
		return err
	}
	positions, err := r.paper.Positions(ctx)
	if err != nil {
		return err
	}
	held := false
	for _, p := range positions {
		held = held || p.Instrument.Symbol == r.cfg.Instrument.Symbol && !p.Quantity.IsZero()
	}
	if len(r.points) == 0 {
		// Buy and hold: all the cash at the first open, no fees, fractional
		// to the eighth decimal place (cents stay cash).
		r.bhQty = r.cfg.Cash.DivRound(bar.Open, 12).RoundDown(8)
		r.bhCash = r.cfg.Cash.Sub(r.bhQty.Mul(bar.Open))
	}
	r.points = append(r.points, EquityPoint{Time: bar.End(), Close: bar.Close, Equity: acct.Equity,
		BuyHold: r.bhCash.Add(r.bhQty.Mul(bar.Close))})
	r.held = append(r.held, held)
	r.lastMark = bar.Close
	return nil
}

// workingOrders is the tracker as the supervisor's stoploss.Orders, with
// BySymbol narrowed to the orders still working. The supervisor reads
// BySymbol only to cancel a symbol's working orders before a close; the
// tracker's BySymbol returns every order ever placed, which over a long
// run made each exit cost O(orders so far), the whole run quadratic.
type workingOrders struct{ *order.Tracker }

func (w workingOrders) BySymbol(ctx context.Context, symbol string) ([]order.Order, error) {
	open, err := w.Open(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(open, func(o order.Order) bool { return o.Instrument.Symbol != symbol }), nil
}

// trader is the strategy's [strategy.Trader]: the tracker, the paper
// account and the closed bars.
type trader struct{ r *run }

var _ strategy.Trader = (*trader)(nil)

func (t *trader) Submit(ctx context.Context, req order.Request) (order.Order, error) {
	o, err := t.r.tracker.Submit(ctx, req)
	var re *errors.RiskError
	if errors.As(err, &re) {
		t.r.refused++
	}
	return o, err
}

func (t *trader) Cancel(ctx context.Context, localID string) (order.Order, error) {
	return t.r.tracker.Cancel(ctx, localID)
}

func (t *trader) Open(ctx context.Context) ([]order.Order, error) { return t.r.tracker.Open(ctx) }

func (t *trader) Positions(ctx context.Context) ([]broker.Position, error) {
	return t.r.paper.Positions(ctx)
}

func (t *trader) Account(ctx context.Context) (broker.Account, error) { return t.r.paper.Account(ctx) }

// History returns the last n closed bars of the instrument (a copy: the
// strategy cannot change what later bars are decided on); nil for another
// symbol, and never a bar that has not closed.
func (t *trader) History(symbol string, n int) []broker.Bar {
	if symbol != t.r.cfg.Instrument.Symbol || n <= 0 {
		return nil
	}
	closed := t.r.bars[:t.r.closed]
	return slices.Clone(closed[max(0, len(closed)-n):])
}

// Exit closes the symbol's position through the supervisor, or with a
// market order through the tracker when the supervisor does not protect it.
func (t *trader) Exit(ctx context.Context, symbol string) error {
	_, err := t.r.sup.Exit(ctx, symbol)
	if !errors.Is(err, errors.ErrInvalidOrder) {
		return err
	}
	positions, err := t.r.paper.Positions(ctx)
	if err != nil {
		return err
	}
	for _, p := range positions {
		if p.Instrument.Symbol != symbol || p.Quantity.IsZero() {
			continue
		}
		side := broker.Sell
		if p.Quantity.IsNegative() {
			side = broker.BuyToCover
		}
		_, err := t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
			ClientOrderID: broker.DeriveClientOrderID(Account, symbol, t.r.clock.Now().Format(time.RFC3339Nano), "exit"),
			Instrument:    p.Instrument, Side: side, Type: broker.Market, Quantity: p.Quantity.Abs(), TimeInForce: broker.Day,
		}})
		return err
	}
	return nil
}

// dailyPnL is the risk engine's P&L source: the symbol's P&L since the
// trading day began, from the paper broker.
type dailyPnL struct {
	broker                 *paper.Broker
	symbol                 string
	loc                    *time.Location
	day                    time.Time
	realized0, unrealized0 decimal.Decimal
}

// roll starts a new day when now is in one.
func (p *dailyPnL) roll(now time.Time) {
	t := now.In(p.loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, p.loc)
	if day.Equal(p.day) {
		return
	}
	p.day = day
	p.realized0, p.unrealized0 = p.broker.PnL(p.symbol)
}

// DailyPnL implements risk.PnLSource.
func (p *dailyPnL) DailyPnL(_ context.Context, dayStart time.Time) (risk.PnL, error) {
	if !dayStart.Equal(p.day) {
		return risk.PnL{}, &errors.RiskError{Rule: "max daily loss", Kind: errors.ErrRiskDataUnavailable,
			Reason: fmt.Sprintf("no P&L recorded for the day starting %s", dayStart.Format(time.RFC3339))}
	}
	realized, unrealized := p.broker.PnL(p.symbol)
	return risk.PnL{Realized: realized.Sub(p.realized0), Unrealized: unrealized.Sub(p.unrealized0)}, nil
}
