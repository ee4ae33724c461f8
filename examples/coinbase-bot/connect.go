package main

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/shopspring/decimal"
)

// connect builds the adapter: against a fresh emulator with a generated
// ES256 test key, or against Coinbase with the configured key.
func connect(cfg Config) (*coinbase.Broker, market, func(), error) {
	if !cfg.Emulator {
		if cfg.KeyName == "" || cfg.PrivateKey == "" {
			return nil, nil, nil, fmt.Errorf("set COINBASE_API_KEY_NAME and COINBASE_API_PRIVATE_KEY, or run with -emulator")
		}
		b, err := coinbase.New(coinbase.Config{Credentials: coinbase.Credentials{KeyName: cfg.KeyName, PrivateKey: cfg.PrivateKey},
			CostBasisFromFills: cfg.Supervisor})
		return b, noMarket{}, func() {}, err
	}
	srv := coinbasetest.NewServer(coinbasetest.Config{})
	key, err := coinbasetest.NewES256Key("organizations/coinbase-bot/apiKeys/emulator")
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	srv.RegisterKey(key)
	b, err := coinbase.New(coinbase.Config{
		Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
		BaseURL:     srv.URL(), HTTPClient: srv.Client(),
		Stream:             coinbase.StreamConfig{MarketURL: srv.MarketStreamURL(), UserURL: srv.UserStreamURL()},
		RequestsPerSecond:  1000,           // the emulator has no rate limit to respect
		CostBasisFromFills: cfg.Supervisor, // the supervisor needs entry prices
	})
	if err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	m := &simMarket{srv: srv, product: cfg.Product, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))}
	if err := m.init(); err != nil {
		srv.Close()
		return nil, nil, nil, err
	}
	return b, m, srv.Close, nil
}

// noMarket is real mode: the market moves and fills by itself.
type noMarket struct{}

func (noMarket) Move(context.Context) error                  { return nil }
func (noMarket) Cross(context.Context, []broker.Order) error { return nil }

// simMarket is a seeded random walk of the emulator's quote, in ticks, and
// executes resting orders the way the market would once their price is
// crossed.
type simMarket struct {
	srv      *coinbasetest.Server
	product  string
	rng      *rand.Rand
	bid, ask decimal.Decimal
}

func (m *simMarket) init() error {
	m.bid, m.ask = decimal.RequireFromString("100000.00"), decimal.RequireFromString("100000.50")
	return m.srv.SetQuote(m.product, m.bid, m.ask, m.bid)
}

// Move shifts the quote by -40..+40 dollars.
func (m *simMarket) Move(context.Context) error {
	delta := decimal.NewFromInt(int64(m.rng.IntN(81) - 40))
	m.bid, m.ask = m.bid.Add(delta), m.ask.Add(delta)
	return m.srv.SetQuote(m.product, m.bid, m.ask, m.bid)
}

// Cross fills a buy whose limit the ask reached; a sell stop-limit once the
// bid falls to its stop (at the bid, if its limit allows); and a bracket
// sell whose take-profit the bid reached or whose stop trigger the bid fell
// to.
func (m *simMarket) Cross(_ context.Context, orders []broker.Order) error {
	for _, o := range orders {
		rest := o.Remaining()
		var err error
		switch {
		case o.Side == broker.Buy && o.Type == broker.Limit && m.ask.LessThanOrEqual(o.LimitPrice):
			err = m.srv.Fill(o.OrderID, rest, o.LimitPrice)
		case o.Side == broker.Sell && o.Type == broker.StopLimit:
			if m.bid.LessThanOrEqual(o.StopPrice) && m.bid.GreaterThanOrEqual(o.LimitPrice) {
				err = m.srv.Fill(o.OrderID, rest, m.bid)
			}
		case o.Side == broker.Sell && m.bid.GreaterThanOrEqual(o.LimitPrice):
			err = m.srv.Fill(o.OrderID, rest, o.LimitPrice)
		case o.Side == broker.Sell && o.StopPrice.IsPositive() && m.bid.LessThanOrEqual(o.StopPrice):
			err = m.srv.Fill(o.OrderID, rest, o.StopPrice)
		}
		if err != nil && m.stillWorking(o.OrderID) {
			return err
		}
		// An order that ended since it was listed (the supervisor, on a
		// streamed tick, cancelled it) is simply not there to fill.
	}
	return nil
}

// stillWorking reports whether the emulator still holds id as a working order.
func (m *simMarket) stillWorking(id string) bool {
	for _, o := range m.srv.Orders() {
		if o.OrderID == id {
			return o.Status == "OPEN" || o.Status == "PENDING" || o.Status == "QUEUED"
		}
	}
	return false
}
