package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// Config is the bot's configuration.
type Config struct {
	Emulator bool
	// Supervisor protects positions with the stop-loss supervisor (a
	// trailing stop-limit) instead of a bracket order.
	Supervisor bool
	// Stream (with Supervisor) has the tracker follow Coinbase's user
	// channel and the supervisor its ticker, so fills and stops are seen
	// as they happen; each step still reconciles and sweeps by REST.
	Stream     bool
	Product    string
	Steps      int
	Seed       uint64
	Quantity   string // base size of an entry
	KeyName    string // CDP API key name (real mode)
	PrivateKey string // CDP API private key (real mode); never printed
	// EntryDiscount is how far below the bid the entry buy rests; StopLoss
	// and TakeProfit are the bracket's distances from the entry price.
	EntryDiscount, StopLoss, TakeProfit decimal.Decimal
	// Step is the pause between steps in real mode (the emulator does not
	// wait: its market moves one tick per step).
	Step time.Duration
}

func defaultConfig() Config {
	return Config{Product: "BTC-USD", Steps: 200, Seed: 7, Quantity: "0.01",
		EntryDiscount: decimal.RequireFromString("0.0003"), StopLoss: decimal.RequireFromString("0.002"),
		TakeProfit: decimal.RequireFromString("0.002"), Step: 10 * time.Second}
}

// Summary is what a run did.
type Summary struct {
	Entries, StopOuts, TakeProfits, Refused int
	Position, Fees                          decimal.Decimal
}

// market moves prices and executes resting orders in emulator mode; in real
// mode it does nothing (the real market does both).
type market interface {
	Move(ctx context.Context) error
	Cross(ctx context.Context, orders []broker.Order) error
}

// bot holds one run's state: flat, entering (a resting buy) or long (a
// bracket sell protecting the position).
type bot struct {
	cfg     Config
	b       *coinbase.Broker
	risk    *risk.Engine
	market  market
	out     io.Writer
	qty     decimal.Decimal
	entry   string // working entry order id
	bracket string // working bracket order id
	paid    decimal.Decimal
	sum     Summary
}

// Run trades cfg.Steps steps and returns the summary.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	qty, err := decimal.NewFromString(cfg.Quantity)
	if err != nil || !qty.IsPositive() {
		return Summary{}, fmt.Errorf("quantity %q must be a positive decimal", cfg.Quantity)
	}
	b, mkt, closeFn, err := connect(cfg)
	if err != nil {
		return Summary{}, err
	}
	defer closeFn()
	engine, err := risk.NewEngine(risk.Config{
		Rules: []risk.Rule{
			risk.MaxOrderQuantity{Limit: qty.Mul(decimal.NewFromInt(10))},
			risk.PriceBand{Percent: decimal.NewFromInt(5)},
			risk.MaxOrdersPerDay{Limit: 2000},
		},
		Positions: b, MarketData: b, Location: time.UTC, MaxQuoteAge: time.Minute,
	})
	if err != nil {
		return Summary{}, err
	}
	bt := &bot{cfg: cfg, b: b, risk: engine, market: mkt, out: out, qty: qty}
	stopStreams := func() {} // the streams end before the summary is read
	step := bt.step
	sum := &bt.sum
	if cfg.Supervisor {
		sv, err := newSupervised(cfg, b, engine, mkt, out, qty)
		if err != nil {
			return Summary{}, err
		}
		defer sv.close()
		if cfg.Stream {
			stop, err := sv.follow(ctx)
			if err != nil {
				return Summary{}, err
			}
			defer stop()
			stopStreams = stop
		}
		step, sum = sv.step, &sv.sum
	}
	for i := 0; i < cfg.Steps; i++ {
		if err := ctx.Err(); err != nil { // interrupted: stop between steps
			return *sum, err
		}
		if err := step(ctx); err != nil {
			return *sum, err
		}
		if !cfg.Emulator && i+1 < cfg.Steps {
			if err := clock.Sleep(ctx, clock.Real(), cfg.Step); err != nil {
				return *sum, err
			}
		}
	}
	stopStreams()
	sum.Position = bt.position(ctx)
	if cfg.Supervisor {
		execs, err := b.Fills(ctx, coinbase.FillFilter{ProductIDs: []string{cfg.Product}})
		if err != nil {
			return *sum, err
		}
		for _, e := range execs {
			sum.Fees = sum.Fees.Add(e.Fee)
		}
	}
	return *sum, nil
}

func (bt *bot) step(ctx context.Context) error {
	if err := bt.market.Move(ctx); err != nil {
		return err
	}
	working, err := bt.b.OpenOrders(ctx)
	if err != nil {
		return err
	}
	if err := bt.market.Cross(ctx, working); err != nil {
		return err
	}
	switch {
	case bt.entry != "":
		return bt.checkEntry(ctx)
	case bt.bracket != "":
		return bt.checkBracket(ctx)
	default:
		return bt.enter(ctx)
	}
}

// place runs the order through the risk engine, then sends it.
func (bt *bot) place(ctx context.Context, req broker.OrderRequest, opts coinbase.PlaceOptions) (string, error) {
	settle, err := bt.risk.PreTrade(ctx, req)
	if err != nil {
		bt.sum.Refused++
		fmt.Fprintf(bt.out, "risk refused %s %s: %v\n", req.Side, req.Instrument, err)
		return "", nil
	}
	ack, err := bt.b.PlaceOrderWith(ctx, req, opts)
	settle(err == nil || errors.Is(err, errors.ErrOutcomeUnknown))
	if err != nil {
		return "", err
	}
	return ack.OrderID, nil
}

func (bt *bot) enter(ctx context.Context) error {
	quotes, err := bt.b.Quotes(ctx, bt.cfg.Product)
	if err != nil || len(quotes) == 0 || !quotes[0].Bid.IsPositive() {
		return err // no bid: stay flat (fail closed)
	}
	price := quotes[0].Bid.Mul(decimal.NewFromInt(1).Sub(bt.cfg.EntryDiscount))
	id, err := bt.place(ctx, broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(),
		Instrument: bt.instrument(), Side: broker.Buy, Type: broker.Limit, Quantity: bt.qty,
		LimitPrice: price, TimeInForce: broker.GTC}, coinbase.PlaceOptions{PostOnly: true})
	if err != nil {
		return err
	}
	bt.entry = id
	return nil
}

func (bt *bot) checkEntry(ctx context.Context) error {
	o, err := bt.b.GetOrder(ctx, bt.entry)
	if err != nil || o.Status != broker.StatusFilled {
		return err
	}
	bt.entry, bt.paid = "", o.AvgFillPrice
	bt.sum.Entries++
	bt.sum.Fees = bt.sum.Fees.Add(o.Fees)
	one := decimal.NewFromInt(1)
	id, err := bt.place(ctx, broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(),
		Instrument: bt.instrument(), Side: broker.Sell, Type: broker.Limit, Quantity: o.FilledQuantity,
		LimitPrice: bt.paid.Mul(one.Add(bt.cfg.TakeProfit)), TimeInForce: broker.GTC},
		coinbase.PlaceOptions{BracketStopTrigger: bt.paid.Mul(one.Sub(bt.cfg.StopLoss))})
	if err != nil {
		return err
	}
	fmt.Fprintf(bt.out, "bought %s %s @ %s; bracket placed\n", o.FilledQuantity, bt.cfg.Product, bt.paid)
	bt.bracket = id
	return nil
}

func (bt *bot) checkBracket(ctx context.Context) error {
	o, err := bt.b.GetOrder(ctx, bt.bracket)
	if err != nil || o.Status != broker.StatusFilled {
		return err
	}
	bt.bracket = ""
	bt.sum.Fees = bt.sum.Fees.Add(o.Fees)
	if o.AvgFillPrice.GreaterThan(bt.paid) {
		bt.sum.TakeProfits++
		fmt.Fprintf(bt.out, "took profit @ %s\n", o.AvgFillPrice)
	} else {
		bt.sum.StopOuts++
		fmt.Fprintf(bt.out, "stopped out @ %s\n", o.AvgFillPrice)
	}
	return nil
}

func (bt *bot) instrument() broker.Instrument {
	return broker.Instrument{Symbol: bt.cfg.Product, AssetClass: broker.Crypto}
}

func (bt *bot) position(ctx context.Context) decimal.Decimal {
	positions, err := bt.b.Positions(ctx)
	if err != nil {
		return decimal.Zero
	}
	for _, p := range positions {
		if p.Instrument.Symbol == bt.cfg.Product {
			return p.Quantity
		}
	}
	return decimal.Zero
}
