package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// Config is one run of the bot.
type Config struct {
	Seed          uint64
	Steps         int    // price updates to trade
	Symbol        string // a pair with a dash (BTC-USD) trades as crypto, anything else as an equity
	ProgressEvery int    // steps between progress lines; 0 prints none

	StartPrice   decimal.Decimal
	StartCash    decimal.Decimal
	Quantity     decimal.Decimal // bought on each entry
	MaxStepCents int64           // the random walk's largest move per step
	Fast, Slow   int             // moving-average windows, in steps
	EntryOffset  decimal.Decimal // an entry is a limit buy this far below the price
	RepriceAfter int             // steps an unfilled entry waits before it is moved to the price
	FeeBps       decimal.Decimal
	MinFee       decimal.Decimal
}

func defaultConfig() Config {
	return Config{
		Seed: 1, Steps: 2000, Symbol: "AAPL", ProgressEvery: 250,
		StartPrice: decimal.NewFromInt(100), StartCash: decimal.NewFromInt(100_000),
		Quantity: decimal.NewFromInt(50), MaxStepCents: 25, Fast: 5, Slow: 20,
		EntryOffset: decimal.New(5, -2), RepriceAfter: 10,
		FeeBps: decimal.NewFromInt(1), MinFee: decimal.New(1, -2),
	}
}

func (c Config) validate() error {
	var problems []string
	if c.Steps < 0 {
		problems = append(problems, "steps may not be negative")
	}
	if c.Fast < 1 || c.Slow <= c.Fast {
		problems = append(problems, fmt.Sprintf("windows must be 1 <= fast < slow, got %d and %d", c.Fast, c.Slow))
	}
	if !c.Quantity.IsPositive() || !c.StartPrice.IsPositive() || c.MaxStepCents < 0 {
		problems = append(problems, "quantity and start price must be positive, the step not negative")
	}
	if c.ProgressEvery < 0 || c.RepriceAfter < 1 {
		problems = append(problems, "every may not be negative and reprice-after must be positive")
	}
	if len(problems) > 0 {
		return &errors.BrokerError{Op: "paperbot config", Kind: errors.ErrConfiguration, Message: strings.Join(problems, "; ")}
	}
	return nil
}

// Summary is the outcome of a run. Money and quantities are decimals.
type Summary struct {
	Symbol         string
	Seed           uint64
	Steps          int
	OrdersPlaced   int // including replacements
	OrdersReplaced int
	Fills          int
	NetFilled      decimal.Decimal // bought less sold, over every fill
	Position       decimal.Decimal
	AvgCost        decimal.Decimal
	LastPrice      decimal.Decimal
	Fees           decimal.Decimal
	Realized       decimal.Decimal // net of fees
	Unrealized     decimal.Decimal
	StartCash      decimal.Decimal
	Cash           decimal.Decimal
	Equity         decimal.Decimal
}

// epoch is the simulated time of step 0; each step is one minute.
var epoch = time.Date(2026, 1, 5, 14, 30, 0, 0, time.UTC)

// bot trades one symbol on a paper broker.
type bot struct {
	cfg      Config
	broker   *paper.Broker
	in       broker.Instrument
	strategy *crossover
	now      time.Time // the simulated clock the broker reads

	orders       []string // every order placed, in order
	entry        string   // the working entry order, "" if none
	entrySince   int      // the step the entry was placed or last moved
	replacements int
}

// Run trades cfg.Steps prices, printing progress to out, and returns the
// summary.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if err := cfg.validate(); err != nil {
		return Summary{}, err
	}
	bt := &bot{cfg: cfg, strategy: newCrossover(cfg.Fast, cfg.Slow), now: epoch,
		in: broker.Instrument{Symbol: cfg.Symbol, AssetClass: assetClass(cfg.Symbol)}}
	var err error
	bt.broker, err = paper.New(paper.Config{Cash: cfg.StartCash, FeeBps: cfg.FeeBps, MinFee: cfg.MinFee,
		Seed: cfg.Seed, Now: func() time.Time { return bt.now }})
	if err != nil {
		return Summary{}, err
	}
	feed := newWalk(cfg.Seed, cfg.StartPrice, cfg.MaxStepCents)
	if err := bt.broker.SetPrice(cfg.Symbol, feed.price); err != nil {
		return Summary{}, err
	}
	for i := 1; i <= cfg.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return Summary{}, err
		}
		bt.now = epoch.Add(time.Duration(i) * time.Minute)
		price := feed.next()
		sig, err := bt.step(ctx, i, price)
		if err != nil {
			return Summary{}, fmt.Errorf("step %d: %w", i, err)
		}
		if cfg.ProgressEvery > 0 && i%cfg.ProgressEvery == 0 {
			if err := bt.progress(ctx, out, i, price, sig); err != nil {
				return Summary{}, err
			}
		}
	}
	return bt.summary(ctx, cfg.Steps)
}

func assetClass(symbol string) broker.AssetClass {
	if strings.Contains(symbol, "-") {
		return broker.Crypto
	}
	return broker.Equity
}

// step moves the market to price and acts on the strategy's signalKind.
func (bt *bot) step(ctx context.Context, i int, price decimal.Decimal) (signalKind, error) {
	if err := bt.broker.SetPrice(bt.in.Symbol, price); err != nil {
		return hold, err
	}
	if err := bt.forgetFinishedEntry(ctx); err != nil {
		return hold, err
	}
	sig := bt.strategy.next(price)
	switch {
	case sig == goLong:
		return sig, bt.enter(ctx, i, price)
	case sig == goFlat:
		return sig, bt.exit(ctx, i)
	case bt.entry != "" && i-bt.entrySince >= bt.cfg.RepriceAfter:
		return sig, bt.reprice(ctx, i, price)
	}
	return sig, nil
}

// forgetFinishedEntry clears the working entry once it is no longer working.
func (bt *bot) forgetFinishedEntry(ctx context.Context) error {
	if bt.entry == "" {
		return nil
	}
	o, err := bt.broker.GetOrder(ctx, bt.entry)
	if err != nil {
		return err
	}
	if o.Status.Terminal() {
		bt.entry = ""
	}
	return nil
}

// enter places a limit buy just below the price, unless already long or
// entering.
func (bt *bot) enter(ctx context.Context, i int, price decimal.Decimal) error {
	held, _, err := bt.position(ctx)
	if err != nil || bt.entry != "" || !held.IsZero() {
		return err
	}
	ack, err := bt.broker.PlaceOrder(ctx, bt.entryRequest(i, price))
	if err != nil {
		return err
	}
	bt.orders = append(bt.orders, ack.OrderID)
	bt.entry, bt.entrySince = ack.OrderID, i
	return nil
}

// reprice moves an entry that waited too long to just below the price.
func (bt *bot) reprice(ctx context.Context, i int, price decimal.Decimal) error {
	ack, err := bt.broker.ReplaceOrder(ctx, bt.entry, bt.entryRequest(i, price))
	if errors.Is(err, errors.ErrOrderNotCancelable) {
		bt.entry = "" // it filled meanwhile
		return nil
	}
	if err != nil {
		return err
	}
	bt.orders = append(bt.orders, ack.OrderID)
	bt.replacements++
	bt.entry, bt.entrySince = ack.OrderID, i
	return nil
}

// exit cancels a working entry and sells the whole position at market.
func (bt *bot) exit(ctx context.Context, i int) error {
	if bt.entry != "" {
		err := bt.broker.CancelOrder(ctx, bt.entry)
		if err != nil && !errors.Is(err, errors.ErrOrderNotCancelable) {
			return err
		}
		bt.entry = ""
	}
	held, _, err := bt.position(ctx)
	if err != nil || !held.IsPositive() {
		return err
	}
	ack, err := bt.broker.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: bt.clientOrderID(i, "exit"), Instrument: bt.in, Side: broker.Sell,
		Type: broker.Market, Quantity: held, TimeInForce: broker.Day,
	})
	if err != nil {
		return err
	}
	bt.orders = append(bt.orders, ack.OrderID)
	return nil
}

func (bt *bot) entryRequest(i int, price decimal.Decimal) broker.OrderRequest {
	limit := decimal.Max(price.Sub(bt.cfg.EntryOffset), decimal.New(1, -2))
	return broker.OrderRequest{
		ClientOrderID: bt.clientOrderID(i, "entry"), Instrument: bt.in, Side: broker.Buy,
		Type: broker.Limit, Quantity: bt.cfg.Quantity, LimitPrice: limit, TimeInForce: broker.GTC,
	}
}

// clientOrderID derives the id from the run and the step, so that a rerun
// of the same seed sends the same ids (and a restarted bot would too).
func (bt *bot) clientOrderID(step int, what string) string {
	return broker.DeriveClientOrderID("paperbot", bt.in.Symbol, fmt.Sprint(bt.cfg.Seed), fmt.Sprint(step), what)
}

// position returns the signed quantity held and its average cost.
func (bt *bot) position(ctx context.Context) (qty, avgCost decimal.Decimal, err error) {
	positions, err := bt.broker.Positions(ctx)
	if err != nil {
		return decimal.Zero, decimal.Zero, err
	}
	for _, p := range positions {
		if p.Instrument.Symbol == bt.in.Symbol {
			return p.Quantity, p.AvgCost, nil
		}
	}
	return decimal.Zero, decimal.Zero, nil
}

func (bt *bot) progress(ctx context.Context, out io.Writer, i int, price decimal.Decimal, sig signalKind) error {
	held, _, err := bt.position(ctx)
	if err != nil {
		return err
	}
	realized, unrealized := bt.broker.PnL(bt.in.Symbol)
	_, err = fmt.Fprintf(out, "step %6d  price %9s  signal %-7s  orders %4d  position %6s  realized %10s  unrealized %9s\n",
		i, price.StringFixed(2), sig, len(bt.orders), held, realized.StringFixed(2), unrealized.StringFixed(2))
	return err
}

// summary reads the run's outcome back from the broker.
func (bt *bot) summary(ctx context.Context, steps int) (Summary, error) {
	s := Summary{Symbol: bt.in.Symbol, Seed: bt.cfg.Seed, Steps: steps, OrdersPlaced: len(bt.orders),
		OrdersReplaced: bt.replacements, StartCash: bt.cfg.StartCash}
	for _, id := range bt.orders {
		o, err := bt.broker.GetOrder(ctx, id)
		if err != nil {
			return s, err
		}
		s.Fills += len(o.Fills)
		s.Fees = s.Fees.Add(o.Fees)
		for _, f := range o.Fills {
			if o.Side.IsBuy() {
				s.NetFilled = s.NetFilled.Add(f.Quantity)
			} else {
				s.NetFilled = s.NetFilled.Sub(f.Quantity)
			}
		}
	}
	var err error
	if s.Position, s.AvgCost, err = bt.position(ctx); err != nil {
		return s, err
	}
	s.LastPrice, _ = bt.broker.Price(bt.in.Symbol)
	s.Realized, s.Unrealized = bt.broker.PnL(bt.in.Symbol)
	acct, err := bt.broker.Account(ctx)
	if err != nil {
		return s, err
	}
	s.Cash, s.Equity = acct.Cash, acct.Equity
	return s, nil
}
