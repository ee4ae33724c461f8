// Package paper is an in-memory broker that implements [broker.Broker] (and
// [broker.OrderFinder], [broker.HealthReporter]) and behaves like a real one:
// the embedded default for examples, tests and backtests.
//
// The caller drives the market with [Broker.SetPrice]. Market, limit, stop,
// stop-limit and trailing-stop orders trigger and fill against those prices,
// at placement and at each price update of their symbol; a buy stop triggers
// when the price reaches the stop or above, a sell stop at the stop or below;
// a trailing stop follows the best price since placement. Fills may be
// limited per update ([Config].MaxFillPerUpdate), charged a fee, and move
// cash, signed positions with average cost, and realized P&L.
//
// Bars can drive it instead ([Broker.ApplyBar]): from a symbol's first bar
// on, its orders meet the next bar (market orders at its open, limits and
// stops where its range reaches them), with the fill model of
// [Config].Bars; the bars replayed are served back as a [broker.BarSource].
//
// It keeps a real broker's promises: the same ClientOrderID placed twice
// returns the first order; a cancel of a filled order is refused with
// errors.ErrOrderNotCancelable; a replace gives a new order id and marks the
// old order replaced; with [Config].CancelLatency a fill can race a cancel.
// Every error is a *errors.BrokerError with Broker "paper". Fault injection
// ([Faults]) simulates outages and lost answers for the layers above.
//
// It is deterministic (ids from counters, randomness from [Config].Seed, time
// from [Config].Now) and safe for concurrent use. Orders are indexed by id,
// client order id and symbol, so GetOrder costs O(1) and OpenOrders O(open
// orders), however many orders were placed before. A day order never
// expires: the paper market has no sessions.
package paper

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Name is the paper broker's name, as Name returns it and as errors carry it.
const Name = "paper"

// Broker is an in-memory simulated broker. Create one with [New].
type Broker struct {
	cfg Config

	mu       sync.Mutex
	rng      *rand.Rand
	orderSeq uint64
	execSeq  uint64

	prices     map[string]price
	classes    map[string]broker.AssetClass // registered instruments
	orders     map[string]*order            // by order id, every order ever placed
	byClientID map[string]*order
	working    queue             // every working order, oldest first
	bySymbol   map[string]*queue // working orders by symbol, oldest first

	cash      decimal.Decimal
	committed decimal.Decimal // cash reserved by working buy orders
	positions map[string]*position
	bars      map[string][]broker.Bar // replayed bars by symbol, oldest first (bars.go)

	lastError   error
	lastErrorAt time.Time

	orderStreams []*pipe[broker.OrderEvent]
	quoteStreams []*quoteStream
}

// price is the last price of a symbol and when it was set.
type price struct {
	value decimal.Decimal
	at    time.Time
}

var (
	_ broker.Broker         = (*Broker)(nil)
	_ broker.OrderFinder    = (*Broker)(nil)
	_ broker.OrderLister    = (*Broker)(nil)
	_ broker.Previewer      = (*Broker)(nil)
	_ broker.HealthReporter = (*Broker)(nil)
	_ broker.BarSource      = (*Broker)(nil)
)

// New returns a paper broker configured by cfg. An invalid cfg returns an
// error matching errors.ErrConfiguration.
func New(cfg Config) (*Broker, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{
		cfg:        cfg,
		rng:        rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		prices:     make(map[string]price),
		classes:    make(map[string]broker.AssetClass),
		orders:     make(map[string]*order),
		byClientID: make(map[string]*order),
		bySymbol:   make(map[string]*queue),
		cash:       cfg.Cash,
		positions:  make(map[string]*position),
		bars:       make(map[string][]broker.Bar),
	}
	for _, in := range cfg.Instruments {
		b.classes[in.Symbol] = in.AssetClass
	}
	return b, nil
}

// Name returns "paper".
func (b *Broker) Name() string { return Name }

// Capabilities reports everything supported, with the configured
// QuoteBatchSize.
func (b *Broker) Capabilities() broker.Capabilities {
	return broker.Capabilities{
		NativeStop: true, StopLimit: true, TrailingStop: true, GTC: true, Replace: true,
		Bracket: true, Fractional: true, IdempotentClientOrderID: true,
		ClientOrderID:  broker.ClientOrderIDRule{MaxLen: broker.LongestClientOrderIDLen},
		QuoteBatchSize: b.cfg.QuoteBatchSize,
		AssetClasses:   []broker.AssetClass{broker.Equity, broker.Option, broker.Crypto},
		BarIntervals:   b.barIntervals(),
		OrderStream:    true,
		QuoteStream:    true,
	}
}

// SetPrice sets the last price of symbol (making it known) and lets every
// working order of that symbol trigger and fill against it. Pending cancels
// of the symbol advance by one update. A non-positive price or a malformed
// symbol returns an error matching errors.ErrInvalidOrder.
func (b *Broker) SetPrice(symbol string, p decimal.Decimal) error {
	if err := checkSymbol(symbol); err != nil {
		return b.fail("set price", errors.ErrInvalidOrder, err.Error())
	}
	if !sane(p) {
		return b.fail("set price", errors.ErrInvalidOrder, "price of "+symbol+" is out of range")
	}
	if !p.IsPositive() {
		return b.fail("set price", errors.ErrInvalidOrder, fmt.Sprintf("price of %s must be positive, got %s", symbol, p))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.cfg.Clock.Now()
	b.prices[symbol] = price{value: p, at: now}
	b.emitQuote(symbol, b.prices[symbol])
	for _, o := range b.openOf(symbol) {
		b.match(o, p, now)
		b.advanceCancel(o, now)
	}
	return nil
}

// Price returns the last price of symbol and whether it has one.
func (b *Broker) Price(symbol string) (decimal.Decimal, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.prices[symbol]
	return p.value, ok
}

// Execute fills qty of the working order orderID at price, as if a
// counterparty had taken it, without moving the last price: a hook for tests
// and conformance harnesses that need an exact fill. qty must be positive and
// at most the remaining quantity.
func (b *Broker) Execute(ctx context.Context, orderID string, qty, p decimal.Decimal) error {
	const op = "execute"
	if err := ctx.Err(); err != nil {
		return b.ctxError(Op(op), err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.orders[orderID]
	switch {
	case !ok:
		return b.fail(op, errors.ErrOrderNotFound, fmt.Sprintf("no order %q", orderID))
	case o.snap.Status.Terminal():
		return b.fail(op, errors.ErrInvalidTransition, fmt.Sprintf("order %s is %s", orderID, o.snap.Status))
	case !sane(qty) || !sane(p):
		return b.fail(op, errors.ErrInvalidOrder, "quantity or price out of range")
	case !qty.IsPositive() || qty.GreaterThan(o.snap.Remaining()):
		return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("quantity %s is not within (0, %s]", qty, o.snap.Remaining()))
	case !p.IsPositive():
		return b.fail(op, errors.ErrInvalidOrder, fmt.Sprintf("price must be positive, got %s", p))
	}
	b.fill(o, qty, p, b.cfg.Clock.Now())
	return nil
}

// PlaceOrder validates req, checks the symbol and buying power, and places
// the order; a marketable order fills at once against the last price. The
// same ClientOrderID placed again returns the first order's Ack.
func (b *Broker) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	var ack broker.Ack
	err := b.call(ctx, OpPlaceOrder, func() error {
		var err error
		ack, err = b.place(req)
		return err
	})
	return ack, err
}

func (b *Broker) place(req broker.OrderRequest) (broker.Ack, error) {
	if err := b.checkMagnitudes(OpPlaceOrder, req); err != nil {
		return broker.Ack{}, err
	}
	if err := req.Validate(); err != nil {
		return broker.Ack{}, b.wrap(OpPlaceOrder, errors.ErrInvalidOrder, "invalid order request", err)
	}
	if o, ok := b.byClientID[req.ClientOrderID]; ok {
		return o.ack(), nil
	}
	if err := b.admit(OpPlaceOrder, req, nil); err != nil {
		return broker.Ack{}, err
	}
	now := b.cfg.Clock.Now()
	o := b.newOrder(req, now)
	b.matchAtPlacement(o, now)
	return o.ack(), nil
}

// PreviewOrder estimates req with paper's fee model: the notional at the
// limit price (or the last price for other types), the fee on it, and a
// reject where PlaceOrder would refuse it (unknown symbol, buying power,
// shorting). Nothing is placed.
func (b *Broker) PreviewOrder(ctx context.Context, req broker.OrderRequest) (broker.Preview, error) {
	var p broker.Preview
	err := b.call(ctx, OpPreviewOrder, func() error {
		if err := b.checkMagnitudes(OpPreviewOrder, req); err != nil {
			return err
		}
		if err := req.Validate(); err != nil {
			return b.wrap(OpPreviewOrder, errors.ErrInvalidOrder, "invalid order request", err)
		}
		if err := b.admit(OpPreviewOrder, req, nil); err != nil {
			p.Rejects = append(p.Rejects, err.Error())
		}
		px := req.LimitPrice
		if req.Type != broker.Limit && req.Type != broker.StopLimit {
			px = b.prices[req.Instrument.Symbol].value
		}
		notional := req.Quantity.Mul(px)
		p.Fees = b.fee(notional).Add(b.cfg.FeePerOrder)
		if req.Side.IsBuy() {
			p.Total = notional.Add(p.Fees)
		} else {
			p.Total = notional.Sub(p.Fees)
		}
		return nil
	})
	return p, err
}

// CancelOrder cancels a working order: at once, or after
// Config.CancelLatency price updates during which it is pending_cancel and
// can still fill. A filled, canceled, replaced or rejected order is refused
// with errors.ErrOrderNotCancelable.
func (b *Broker) CancelOrder(ctx context.Context, orderID string) error {
	return b.call(ctx, OpCancelOrder, func() error { return b.cancel(orderID) })
}

func (b *Broker) cancel(orderID string) error {
	o, err := b.lookup(OpCancelOrder, orderID)
	if err != nil {
		return err
	}
	switch {
	case o.snap.Status.Terminal():
		return b.fail(OpCancelOrder, errors.ErrOrderNotCancelable,
			fmt.Sprintf("order %s is %s", orderID, o.snap.Status))
	case o.snap.Status == broker.StatusPendingCancel:
		return nil // already requested
	}
	now := b.cfg.Clock.Now()
	if b.cfg.CancelLatency == 0 {
		b.close(o, broker.StatusCanceled, now)
		return nil
	}
	o.cancelIn = b.cfg.CancelLatency
	o.setStatus(broker.StatusPendingCancel, now)
	b.emitOrder(broker.OrderEventCancelRequested, o, nil)
	return nil
}

// ReplaceOrder replaces a working order with req, which must keep the
// order's symbol and side: the old order becomes replaced (keeping its
// fills, ReplacedBy naming the new one) and a new order with a new id and
// req's full quantity is placed. req.ClientOrderID must be new.
func (b *Broker) ReplaceOrder(ctx context.Context, orderID string, req broker.OrderRequest) (broker.Ack, error) {
	var ack broker.Ack
	err := b.call(ctx, OpReplaceOrder, func() error {
		var err error
		ack, err = b.replace(orderID, req)
		return err
	})
	return ack, err
}

func (b *Broker) replace(orderID string, req broker.OrderRequest) (broker.Ack, error) {
	old, err := b.lookup(OpReplaceOrder, orderID)
	if err != nil {
		return broker.Ack{}, err
	}
	if err := b.checkMagnitudes(OpReplaceOrder, req); err != nil {
		return broker.Ack{}, err
	}
	if err := req.Validate(); err != nil {
		return broker.Ack{}, b.wrap(OpReplaceOrder, errors.ErrInvalidOrder, "invalid order request", err)
	}
	switch {
	case old.snap.Status.Terminal() || old.snap.Status == broker.StatusPendingCancel:
		return broker.Ack{}, b.fail(OpReplaceOrder, errors.ErrOrderNotCancelable,
			fmt.Sprintf("order %s is %s", orderID, old.snap.Status))
	case req.Instrument.Symbol != old.snap.Instrument.Symbol || req.Side != old.snap.Side:
		return broker.Ack{}, b.fail(OpReplaceOrder, errors.ErrInvalidOrder,
			"a replacement must keep the order's instrument and side")
	}
	if _, dup := b.byClientID[req.ClientOrderID]; dup {
		return broker.Ack{}, b.fail(OpReplaceOrder, errors.ErrDuplicateOrder,
			fmt.Sprintf("client_order_id %s is already used", req.ClientOrderID))
	}
	if err := b.admit(OpReplaceOrder, req, old); err != nil {
		return broker.Ack{}, err
	}
	now := b.cfg.Clock.Now()
	b.close(old, broker.StatusReplaced, now)
	o := b.newOrder(req, now)
	old.snap.ReplacedBy = o.snap.OrderID
	b.emitOrder(broker.OrderEventReplaced, old, nil)
	b.matchAtPlacement(o, now)
	return o.ack(), nil
}

// GetOrder returns the order's snapshot; an unknown id matches
// errors.ErrOrderNotFound.
func (b *Broker) GetOrder(ctx context.Context, orderID string) (broker.Order, error) {
	var snap broker.Order
	err := b.call(ctx, OpGetOrder, func() error {
		o, err := b.lookup(OpGetOrder, orderID)
		if err == nil {
			snap = o.snapshot()
		}
		return err
	})
	return snap, err
}

// FindOrder looks the order up by q.Request.ClientOrderID, which paper
// keeps: the answer is authoritative, so the result is always Complete
// with at most one candidate. Orders entered outside [q.From, q.To] are
// still reported: a client order id is proof enough.
func (b *Broker) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	var res broker.FindResult
	err := b.call(ctx, OpFindOrder, func() error {
		if o, ok := b.byClientID[q.Request.ClientOrderID]; ok {
			res.Candidates = []broker.Order{o.snapshot()}
		}
		res.Complete = true
		return nil
	})
	return res, err
}

// Orders lists the orders q selects, oldest first. Paper keeps every order
// of its life, so the listing is always complete.
func (b *Broker) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	var out []broker.Order
	err := b.call(ctx, OpOrders, func() error {
		for _, o := range b.orders {
			s := o.snap
			switch {
			case q.Symbol != "" && s.Instrument.Symbol != q.Symbol,
				!q.From.IsZero() && s.CreatedAt.Before(q.From),
				!q.To.IsZero() && !s.CreatedAt.Before(q.To),
				!q.Filter.Match(s):
				continue
			}
			out = append(out, o.snapshot())
		}
		return nil
	})
	broker.SortOldestFirst(out)
	return out, err
}

// OpenOrders returns every working order, oldest first.
func (b *Broker) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	var out []broker.Order
	err := b.call(ctx, OpOpenOrders, func() error {
		working := b.working.working()
		out = make([]broker.Order, len(working))
		for i, o := range working {
			out[i] = o.snapshot()
		}
		return nil
	})
	return out, err
}

// Positions returns every non-zero position, by symbol.
func (b *Broker) Positions(ctx context.Context) ([]broker.Position, error) {
	var out []broker.Position
	err := b.call(ctx, OpPositions, func() error {
		for _, p := range b.positions {
			if !p.quantity.IsZero() {
				out = append(out, p.public())
			}
		}
		slices.SortFunc(out, func(x, y broker.Position) int { return cmp.Compare(x.Instrument.Symbol, y.Instrument.Symbol) })
		return nil
	})
	return out, err
}

// Account returns cash, buying power (cash not reserved by working buy
// orders) and equity (cash plus positions at their last price).
func (b *Broker) Account(ctx context.Context) (broker.Account, error) {
	var acct broker.Account
	err := b.call(ctx, OpAccount, func() error {
		equity := b.cash
		for sym, p := range b.positions {
			equity = equity.Add(p.quantity.Mul(b.prices[sym].value))
		}
		acct = broker.Account{ID: b.cfg.AccountID, Currency: b.cfg.Currency, Cash: b.cash,
			BuyingPower: b.buyingPower(), Equity: equity}
		return nil
	})
	return acct, err
}

// Quotes returns a quote (bid, ask and last all at the last price) for each
// requested symbol that has a price, in the order asked; others are left out.
func (b *Broker) Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error) {
	var out []broker.Quote
	if len(symbols) == 0 {
		return nil, nil
	}
	err := b.call(ctx, OpQuotes, func() error {
		seen := make(map[string]bool, len(symbols))
		for _, sym := range symbols {
			p, ok := b.prices[sym]
			if !ok || seen[sym] {
				continue
			}
			seen[sym] = true
			out = append(out, broker.Quote{Symbol: sym, Bid: p.value, Ask: p.value, Last: p.value, Time: p.at})
		}
		return nil
	})
	return out, err
}

// Health reports the paper broker reachable and authenticated, with the last
// injected fault as LastError.
func (b *Broker) Health(ctx context.Context) broker.Health {
	b.mu.Lock()
	defer b.mu.Unlock()
	return broker.Health{Broker: Name, Reachable: true, Authenticated: true,
		LastError: b.lastError, LastErrorAt: b.lastErrorAt}
}

// RealizedPnL returns the realized profit and loss of symbol so far, net of
// fees.
func (b *Broker) RealizedPnL(symbol string) decimal.Decimal {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.positions[symbol]; ok {
		return p.realized
	}
	return decimal.Zero
}

// PnL returns the realized (net of fees) and unrealized (position at the last
// price less its cost) profit and loss of symbol. Cash plus positions at
// their last prices, less the starting cash, equals the sum of realized and
// unrealized over every symbol.
func (b *Broker) PnL(symbol string) (realized, unrealized decimal.Decimal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.positions[symbol]
	if !ok {
		return decimal.Zero, decimal.Zero
	}
	return p.realized, p.quantity.Mul(b.prices[symbol].value).Sub(p.cost)
}

// lookup returns the order orderID or an error matching
// errors.ErrOrderNotFound.
func (b *Broker) lookup(op Op, orderID string) (*order, error) {
	o, ok := b.orders[orderID]
	if !ok {
		return nil, b.fail(op, errors.ErrOrderNotFound, fmt.Sprintf("no order %q", orderID))
	}
	return o, nil
}

// openOf returns the working orders of symbol, oldest first, so that a price
// update serves them in time priority (and deterministically).
func (b *Broker) openOf(symbol string) []*order {
	return b.bySymbol[symbol].working()
}

func (b *Broker) buyingPower() decimal.Decimal { return b.cash.Sub(b.committed) }

// fail returns a *errors.BrokerError of kind.
func (b *Broker) fail(op Op, kind errors.Kind, msg string) error {
	return &errors.BrokerError{Broker: Name, Op: string(op), Kind: kind, Message: msg}
}

// wrap returns a *errors.BrokerError of kind wrapping cause.
func (b *Broker) wrap(op Op, kind errors.Kind, msg string, cause error) error {
	return &errors.BrokerError{Broker: Name, Op: string(op), Kind: kind, Message: msg, Err: cause}
}

// sane reports whether v is within the magnitudes a market uses (28 digits
// either side of the point, 40 significant digits): a decimal built with an
// absurd exponent would otherwise cost gigabytes to print or multiply.
func sane(v decimal.Decimal) bool {
	e := v.Exponent()
	return e >= -28 && e <= 28 && v.NumDigits() <= 40
}

// checkMagnitudes refuses a request with an absurd decimal before anything
// formats or computes with it.
func (b *Broker) checkMagnitudes(op Op, req broker.OrderRequest) error {
	fields := []struct {
		name string
		v    decimal.Decimal
	}{{"quantity", req.Quantity}, {"limit_price", req.LimitPrice}, {"stop_price", req.StopPrice},
		{"trail_amount", req.TrailAmount}, {"trail_percent", req.TrailPercent}}
	for _, f := range fields {
		if !sane(f.v) {
			return b.fail(op, errors.ErrInvalidOrder, f.name+" is out of range")
		}
	}
	return nil
}

func checkSymbol(s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("symbol %q must be 1 to 64 characters", s)
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("symbol %q has a character no broker accepts", s)
		}
	}
	return nil
}
