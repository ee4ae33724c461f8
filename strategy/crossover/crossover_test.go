package crossover_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/strategy/crossover"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var aapl = broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}

// barsOf returns one-minute bars closing at the given prices.
func barsOf(closes ...int64) []broker.Bar {
	start := time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	out := make([]broker.Bar, len(closes))
	for i, c := range closes {
		p := decimal.NewFromInt(c)
		out[i] = broker.Bar{Symbol: "AAPL", Interval: broker.OneMinute, Start: start.Add(time.Duration(i) * time.Minute),
			Open: p, High: p, Low: p, Close: p, Volume: decimal.NewFromInt(100)}
	}
	return out
}

func TestSignalOf(t *testing.T) {
	tests := []struct {
		name   string
		closes []int64
		want   crossover.Signal
	}{
		{"too few bars", []int64{1, 2, 3}, crossover.Hold},
		{"fast crosses above", []int64{5, 4, 3, 9}, crossover.GoLong},
		{"stays above", []int64{1, 2, 3, 4}, crossover.Hold},
		{"fast crosses below", []int64{1, 2, 3, 0}, crossover.GoFlat},
		{"equal means are not above", []int64{1, 2, 3, 2}, crossover.GoFlat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := crossover.SignalOf(barsOf(tt.closes...), 1, 3); got != tt.want {
				t.Errorf("SignalOf(%v) = %s, want %s", tt.closes, got, tt.want)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := crossover.Config{Instrument: aapl, Fast: 2, Slow: 5, Quantity: decimal.NewFromInt(1)}
	for name, mutate := range map[string]func(*crossover.Config){
		"no symbol":        func(c *crossover.Config) { c.Instrument.Symbol = "" },
		"fast not < slow":  func(c *crossover.Config) { c.Fast = 5 },
		"zero fast":        func(c *crossover.Config) { c.Fast = 0 },
		"zero quantity":    func(c *crossover.Config) { c.Quantity = decimal.Zero },
		"stop of 100%":     func(c *crossover.Config) { c.StopLossPercent = decimal.NewFromInt(100) },
		"negative take-pr": func(c *crossover.Config) { c.TakeProfitPercent = decimal.NewFromInt(-1) },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := crossover.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: New = %v, want ErrConfiguration", name, err)
		}
	}
	if _, err := crossover.New(good); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
}

// trader is a Trader over a fixed history that records what is submitted
// and holds what the test says.
type trader struct {
	history   []broker.Bar
	held      decimal.Decimal
	open      []order.Order
	submitted []order.Request
	exits     []string
	exiter    bool
}

func (f *trader) Submit(_ context.Context, req order.Request) (order.Order, error) {
	f.submitted = append(f.submitted, req)
	return order.Order{}, nil
}
func (f *trader) Cancel(context.Context, string) (order.Order, error) { return order.Order{}, nil }
func (f *trader) Open(context.Context) ([]order.Order, error)         { return f.open, nil }
func (f *trader) Positions(context.Context) ([]broker.Position, error) {
	if f.held.IsZero() {
		return nil, nil
	}
	return []broker.Position{{Instrument: aapl, Quantity: f.held}}, nil
}
func (f *trader) Account(context.Context) (broker.Account, error) { return broker.Account{}, nil }
func (f *trader) History(_ string, n int) []broker.Bar {
	return f.history[max(0, len(f.history)-n):]
}

// exitTrader is a trader with a stop-loss supervisor's Exit.
type exitTrader struct{ *trader }

func (f exitTrader) Exit(_ context.Context, symbol string) error {
	f.exits = append(f.exits, symbol)
	return nil
}

func TestOnBar(t *testing.T) {
	s, err := crossover.New(crossover.Config{Instrument: aapl, Fast: 1, Slow: 3, Quantity: decimal.NewFromInt(10),
		StopLossPercent: decimal.NewFromInt(2), TakeProfitPercent: decimal.NewFromInt(3)})
	if err != nil {
		t.Fatal(err)
	}
	up, down := barsOf(5, 4, 3, 9), barsOf(1, 2, 3, 0)
	entry := func(bars []broker.Bar) order.Request {
		last := bars[len(bars)-1]
		return order.Request{OrderRequest: broker.OrderRequest{
			ClientOrderID: broker.DeriveClientOrderID("crossover", "AAPL", "1m", last.Start.Format(time.RFC3339), "entry"),
			Instrument:    aapl, Side: broker.Buy, Type: broker.Market, Quantity: decimal.NewFromInt(10), TimeInForce: broker.Day},
			StopLossPrice: decimal.RequireFromString("8.82"), TakeProfitPrice: decimal.RequireFromString("9.27")}
	}
	exit := func(bars []broker.Bar, qty int64) order.Request {
		last := bars[len(bars)-1]
		return order.Request{OrderRequest: broker.OrderRequest{
			ClientOrderID: broker.DeriveClientOrderID("crossover", "AAPL", "1m", last.Start.Format(time.RFC3339), "exit"),
			Instrument:    aapl, Side: broker.Sell, Type: broker.Market, Quantity: decimal.NewFromInt(qty), TimeInForce: broker.Day}}
	}
	tests := []struct {
		name      string
		f         *trader
		want      []order.Request
		wantExits []string
		otherBar  bool
	}{
		{"long signal, flat: buys", &trader{history: up}, []order.Request{entry(up)}, nil, false},
		{"long signal, already long: nothing", &trader{history: up, held: decimal.NewFromInt(10)}, nil, nil, false},
		{"long signal, entry working: nothing", &trader{history: up,
			open: []order.Order{{Instrument: aapl, Side: broker.Buy}}}, nil, nil, false},
		{"long signal, only a protective order working: buys", &trader{history: up,
			open: []order.Order{{Instrument: aapl, Side: broker.Buy, Protective: true}}}, []order.Request{entry(up)}, nil, false},
		{"flat signal, long: sells what is held", &trader{history: down, held: decimal.NewFromInt(7)},
			[]order.Request{exit(down, 7)}, nil, false},
		{"flat signal, long, supervised: exits", &trader{history: down, held: decimal.NewFromInt(7), exiter: true},
			nil, []string{"AAPL"}, false},
		{"flat signal, flat: nothing", &trader{history: down}, nil, nil, false},
		{"another symbol's bar: nothing", &trader{history: up}, nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bar := tt.f.history[len(tt.f.history)-1]
			if tt.otherBar {
				bar.Symbol = "MSFT"
			}
			var err error
			if tt.f.exiter {
				err = s.OnBar(context.Background(), bar, exitTrader{tt.f})
			} else {
				err = s.OnBar(context.Background(), bar, tt.f)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.f.submitted); diff != "" {
				t.Errorf("submitted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantExits, tt.f.exits); diff != "" {
				t.Errorf("exits (-want +got):\n%s", diff)
			}
		})
	}
}

// A risk refusal is a decision (nothing sent), not a failure of the run;
// any other error stops it.
func TestOnBarRefusal(t *testing.T) {
	s, _ := crossover.New(crossover.Config{Instrument: aapl, Fast: 1, Slow: 3, Quantity: decimal.NewFromInt(10)})
	for _, tt := range []struct {
		err     error
		wantErr bool
	}{
		{&errors.RiskError{Rule: "max order notional", Kind: errors.ErrRiskLimitExceeded}, false},
		{fmt.Errorf("place: %w", errors.ErrBrokerUnavailable), true},
	} {
		f := &failingTrader{trader: &trader{history: barsOf(5, 4, 3, 9)}, err: tt.err}
		err := s.OnBar(context.Background(), f.history[3], f)
		if (err != nil) != tt.wantErr {
			t.Errorf("with %v: OnBar = %v, want error %v", tt.err, err, tt.wantErr)
		}
	}
}

type failingTrader struct {
	*trader
	err error
}

func (f *failingTrader) Submit(context.Context, order.Request) (order.Order, error) {
	return order.Order{}, f.err
}
