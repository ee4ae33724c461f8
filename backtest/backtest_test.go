package backtest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/strategy"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var (
	spy     = broker.Instrument{Symbol: "SPY", AssetClass: broker.Equity}
	day0    = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	cmpDecs = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
	farStop = stoploss.Policy{StopPercent: decimal.NewFromInt(50)}
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// daily returns daily SPY bars from day0, each "open high low close".
func daily(t testing.TB, rows ...string) []broker.Bar {
	t.Helper()
	out := make([]broker.Bar, len(rows))
	for i, row := range rows {
		f := strings.Fields(row)
		out[i] = broker.Bar{Symbol: "SPY", Interval: broker.OneDay, Start: day0.AddDate(0, 0, i),
			Open: d(f[0]), High: d(f[1]), Low: d(f[2]), Close: d(f[3]), Volume: d("1000000")}
	}
	return out
}

func series(t testing.TB, bs []broker.Bar) *bars.Series {
	t.Helper()
	s, err := bars.NewSeries(bs...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// config is a backtest of strat over bs with 10,000 of cash and a stop too
// far to trigger.
func config(t testing.TB, bs []broker.Bar, strat strategy.Strategy) backtest.Config {
	return backtest.Config{Bars: series(t, bs), Instrument: spy, Interval: bs[0].Interval,
		From: bs[0].Start, To: bs[len(bs)-1].End(), Strategy: strat, Cash: d("10000"),
		StopLoss: farStop, BarsPerYear: d("252")}
}

func run(t testing.TB, cfg backtest.Config) backtest.Report {
	t.Helper()
	bt, err := backtest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := bt.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// exiter is the Trader's Exit, as strategies find it.
type exiter interface {
	Exit(ctx context.Context, symbol string) error
}

// script buys qty at market on the bars in buyOn and exits on those in
// exitOn (by index from day0). It keeps no state, so that it runs the same
// in every Run.
func script(qty string, buyOn, exitOn []int) strategy.Strategy {
	return strategy.Func(func(ctx context.Context, bar broker.Bar, t strategy.Trader) error {
		step, _ := bar.Interval.Duration()
		i := int(bar.Start.Sub(day0) / step)
		for _, b := range buyOn {
			if b == i {
				_, err := t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{ClientOrderID: fmt.Sprint("buy-", i),
					Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: d(qty), TimeInForce: broker.Day}})
				return err
			}
		}
		for _, e := range exitOn {
			if e == i {
				return t.(exiter).Exit(ctx, "SPY")
			}
		}
		return nil
	})
}

// The figures of a five-bar run, computed by hand: buy 10 on bar 0 (fills
// at bar 1's open, 101), exit on bar 3 (fills at bar 4's open, 99), a fee
// of 1 per order.
func TestReportFigures(t *testing.T) {
	bs := daily(t, "100 100 100 100", "101 103 100 102", "102 102 95 96", "96 99 96 98", "99 100 97 97")
	cfg := config(t, bs, script("10", []int{0}, []int{3}))
	cfg.FeePerOrder = d("1")
	rep := run(t, cfg)

	// Equity at the closes: 10000, 8989+1020, 8989+960, 8989+980, 9978.
	var equity []string
	for _, p := range rep.Equity {
		equity = append(equity, p.Equity.String())
	}
	if diff := cmp.Diff([]string{"10000", "10009", "9949", "9969", "9978"}, equity); diff != "" {
		t.Errorf("equity curve (-want +got):\n%s", diff)
	}
	wantTrades := []backtest.Trade{{Side: "long", Entry: bs[1].Start, Exit: bs[4].Start, Quantity: d("10"),
		EntryPrice: d("101"), ExitPrice: d("99"), ExitBy: broker.Market, Fees: d("2"), PnL: d("-22")}}
	if diff := cmp.Diff(wantTrades, rep.Trades, cmpDecs); diff != "" {
		t.Errorf("trades (-want +got):\n%s", diff)
	}
	got := map[string]decimal.Decimal{
		"end equity": rep.EndEquity, "net profit": rep.NetProfit, "total return": rep.TotalReturn,
		"annualised": rep.AnnualizedReturn, "max dd": rep.MaxDrawdown.Fraction, "max dd amount": rep.MaxDrawdown.Amount,
		"sharpe": rep.Sharpe, "win rate": rep.WinRate, "exposure": rep.Exposure, "fees": rep.Fees,
		"bh end": rep.BuyHold.EndEquity, "bh return": rep.BuyHold.TotalReturn, "bh annualised": rep.BuyHold.AnnualizedReturn,
		"bh max dd": rep.BuyHold.MaxDrawdown.Fraction, "bh dd amount": rep.BuyHold.MaxDrawdown.Amount, "bh sharpe": rep.BuyHold.Sharpe,
		"bh quantity": rep.BuyHold.Quantity,
	}
	want := map[string]decimal.Decimal{
		"end equity": d("9978"), "net profit": d("-22"), "total return": d("-0.0022"),
		// (0.9978)^(252/5) − 1 and the Sharpe ratios, to the report's
		// places, from a 50-digit computation.
		"annualised": d("-0.10506317"), "max dd": d("0.00599460"), "max dd amount": d("60"),
		"sharpe": d("-2.1727"), "win rate": d("0"), "exposure": d("0.6"), "fees": d("2"),
		"bh end": d("9700"), "bh return": d("-0.03"), "bh annualised": d("-0.78457534"),
		"bh max dd": d("0.05882353"), "bh dd amount": d("600"), "bh sharpe": d("-2.7496"), "bh quantity": d("100"),
	}
	if diff := cmp.Diff(want, got, cmpDecs); diff != "" {
		t.Errorf("figures (-want +got):\n%s", diff)
	}
	if rep.MaxDrawdown.Peak != bs[1].Start || rep.MaxDrawdown.Trough != bs[2].Start {
		t.Errorf("drawdown from %s to %s, want bars 1 to 2", rep.MaxDrawdown.Peak, rep.MaxDrawdown.Trough)
	}
	if rep.Wins != 0 || rep.Losses != 1 || rep.Orders != 3 || rep.Refused != 0 || rep.Stops.StopsPlaced != 1 || rep.Stops.Exits != 1 {
		t.Errorf("wins %d losses %d orders %d refused %d stops %+v", rep.Wins, rep.Losses, rep.Orders, rep.Refused, rep.Stops)
	}
	// Every cent of the profit is in the trades.
	sum := decimal.Zero
	for _, tr := range rep.Trades {
		sum = sum.Add(tr.PnL)
	}
	if !sum.Equal(rep.NetProfit) {
		t.Errorf("trades sum to %s, the net profit is %s", sum, rep.NetProfit)
	}
}

// A gap down through the protective stop fills it at the open: the
// supervisor's native stop closes the position, not the strategy.
func TestGapThroughStop(t *testing.T) {
	bs := daily(t, "100 100 100 100", "100 101 99 100", "100 100 99 99", "90 91 88 89", "89 90 88 89")
	cfg := config(t, bs, script("10", []int{0}, nil))
	cfg.StopLoss = stoploss.Policy{StopPercent: decimal.NewFromInt(5)} // 95
	rep := run(t, cfg)
	want := []backtest.Trade{{Side: "long", Entry: bs[1].Start, Exit: bs[3].Start, Quantity: d("10"),
		EntryPrice: d("100"), ExitPrice: d("90"), ExitBy: broker.Stop, Fees: d("0"), PnL: d("-100")}}
	if diff := cmp.Diff(want, rep.Trades, cmpDecs); diff != "" {
		t.Errorf("trades (-want +got):\n%s", diff)
	}
	if rep.Stops.StoppedOut != 1 {
		t.Errorf("stops %+v, want one stopped out", rep.Stops)
	}
}

// A synthetic stop is checked at each close and closes at market: the
// close below the stop sends it, the next open fills it.
func TestSyntheticStop(t *testing.T) {
	bs := daily(t, "100 100 100 100", "100 101 99 100", "100 100 94 96", "96 96 90 91", "92 93 91 92")
	cfg := config(t, bs, script("10", []int{0}, nil))
	cfg.StopLoss, cfg.StopLossMode = stoploss.Policy{StopPercent: decimal.NewFromInt(5)}, stoploss.ModeSynthetic
	rep := run(t, cfg)
	// Bar 2 dips to 94 but closes at 96, above the stop (95): not seen.
	// Bar 3 closes at 91: the close goes out, and fills at bar 4's open.
	want := []backtest.Trade{{Side: "long", Entry: bs[1].Start, Exit: bs[4].Start, Quantity: d("10"),
		EntryPrice: d("100"), ExitPrice: d("92"), ExitBy: broker.Market, Fees: d("0"), PnL: d("-80")}}
	if diff := cmp.Diff(want, rep.Trades, cmpDecs); diff != "" {
		t.Errorf("trades (-want +got):\n%s", diff)
	}
	if rep.Stops.BreachCloses != 1 || rep.Stops.StopsPlaced != 0 {
		t.Errorf("stops %+v, want one breach close and no stop placed", rep.Stops)
	}
}

// A refusal by the risk engine is counted and sends nothing.
func TestRiskRefusalCounted(t *testing.T) {
	bs := daily(t, "100 100 100 100", "101 103 100 102", "102 102 95 96")
	var refusal error
	cfg := config(t, bs, strategy.Func(func(ctx context.Context, bar broker.Bar, tr strategy.Trader) error {
		if refusal == nil {
			_, refusal = tr.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{ClientOrderID: "big",
				Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: d("10"), TimeInForce: broker.Day}})
		}
		return nil // a refusal is the strategy's to handle; this one carries on
	}))
	cfg.Rules = []risk.Rule{risk.MaxOrderQuantity{Limit: d("5")}}
	rep := run(t, cfg)
	var re *errors.RiskError
	if !errors.As(refusal, &re) {
		t.Errorf("Submit = %v, want a *errors.RiskError", refusal)
	}
	if rep.Refused != 1 || len(rep.Trades) != 0 || rep.Orders != 0 {
		t.Errorf("refused %d, trades %d, orders %d; want 1, 0, 0", rep.Refused, len(rep.Trades), rep.Orders)
	}
}

// A strategy that asks for more history than has closed gets the closed
// bars only, the last being the bar it is called with; the account it sees
// holds nothing of an order placed on this bar; and that order fills at the
// next bar's open, never at a price of the bar it was placed on.
func TestWalkForward(t *testing.T) {
	bs := daily(t, "100 100 100 100", "101 103 100 102", "102 102 95 96", "96 99 96 98", "99 100 97 97")
	i := -1
	var problems []string
	peek := strategy.Func(func(ctx context.Context, bar broker.Bar, tr strategy.Trader) error {
		i++
		h := tr.History("SPY", 1000)
		if len(h) != i+1 || !h[len(h)-1].Start.Equal(bar.Start) || !bar.Start.Equal(bs[i].Start) {
			problems = append(problems, fmt.Sprintf("bar %d: history of %d bars ending %v", i, len(h), h[len(h)-1].Start))
		}
		if len(tr.History("QQQ", 10)) != 0 {
			problems = append(problems, "history of another symbol")
		}
		h[0].Close = d("1") // a copy: changes nothing the run decides on
		if i == 1 {
			_, err := tr.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{ClientOrderID: "peek",
				Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: d("1"), TimeInForce: broker.Day}})
			if err != nil {
				return err
			}
			pos, _ := tr.Positions(ctx)
			if len(pos) != 0 {
				problems = append(problems, fmt.Sprintf("filled at placement: %v", pos))
			}
		}
		return nil
	})
	rep := run(t, config(t, bs, peek))
	for _, p := range problems {
		t.Error(p)
	}
	if len(rep.Trades) != 1 || !rep.Trades[0].EntryPrice.Equal(bs[2].Open) || !rep.Trades[0].Entry.Equal(bs[2].Start) {
		t.Errorf("trades %+v, want one entry at bar 2's open %s", rep.Trades, bs[2].Open)
	}
	if !rep.Equity[0].Equity.Equal(d("10000")) {
		t.Errorf("history was changed by the strategy: equity %s", rep.Equity[0].Equity)
	}
}

// walk is a deterministic random walk of n daily bars from 100.
func walk(t testing.TB, n int, interval broker.Interval) []broker.Bar {
	t.Helper()
	out := make([]broker.Bar, n)
	step, _ := interval.Duration()
	price := decimal.NewFromInt(10000) // cents
	x := uint64(12345)
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		open := price
		price = price.Add(decimal.NewFromInt(int64(x%61) - 30))
		if price.LessThan(decimal.NewFromInt(1000)) {
			price = decimal.NewFromInt(1000)
		}
		hi, lo := decimal.Max(open, price).Add(decimal.NewFromInt(int64(x>>8%20))), decimal.Min(open, price).Sub(decimal.NewFromInt(int64(x>>16%20)))
		out[i] = broker.Bar{Symbol: "SPY", Interval: interval, Start: day0.Add(time.Duration(i) * step),
			Open: open.Shift(-2), High: hi.Shift(-2), Low: lo.Shift(-2), Close: price.Shift(-2), Volume: decimal.NewFromInt(int64(1000 + x%5000))}
	}
	return out
}

// momentum buys when a close rises above the previous one and exits when
// it falls below: a strategy that trades often, from History only.
func momentum(qty string) strategy.Strategy {
	return strategy.Func(func(ctx context.Context, bar broker.Bar, t strategy.Trader) error {
		h := t.History(bar.Symbol, 2)
		if len(h) < 2 {
			return nil
		}
		pos, err := t.Positions(ctx)
		if err != nil {
			return err
		}
		held := decimal.Zero
		for _, p := range pos {
			held = p.Quantity
		}
		open, err := t.Open(ctx)
		if err != nil {
			return err
		}
		for _, o := range open {
			if !o.Protective {
				return nil // an entry or exit is on its way
			}
		}
		id := broker.DeriveClientOrderID("momentum", bar.Start.Format(time.RFC3339))
		switch {
		case held.IsZero() && h[1].Close.GreaterThan(h[0].Close):
			_, err = t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{ClientOrderID: id,
				Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: d(qty), TimeInForce: broker.Day}})
		case held.IsPositive() && h[1].Close.LessThan(h[0].Close):
			if ex, ok := t.(exiter); ok {
				return ex.Exit(ctx, bar.Symbol)
			}
			_, err = t.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{ClientOrderID: id,
				Instrument: spy, Side: broker.Sell, Type: broker.Market, Quantity: held, TimeInForce: broker.Day}})
		}
		return err
	})
}

// paperTrader is the simplest live Trader: a tracker on a paper broker
// fed bar by bar, without supervisor.
type paperTrader struct {
	tracker *order.Tracker
	broker  *paper.Broker
	bars    []broker.Bar
}

func (p *paperTrader) Submit(ctx context.Context, req order.Request) (order.Order, error) {
	return p.tracker.Submit(ctx, req)
}
func (p *paperTrader) Cancel(ctx context.Context, id string) (order.Order, error) {
	return p.tracker.Cancel(ctx, id)
}
func (p *paperTrader) Open(ctx context.Context) ([]order.Order, error) { return p.tracker.Open(ctx) }
func (p *paperTrader) Positions(ctx context.Context) ([]broker.Position, error) {
	return p.broker.Positions(ctx)
}
func (p *paperTrader) Account(ctx context.Context) (broker.Account, error) {
	return p.broker.Account(ctx)
}
func (p *paperTrader) History(_ string, n int) []broker.Bar {
	return p.bars[max(0, len(p.bars)-n):]
}

// The same strategy on the same prices trades the same in a backtest and
// in a plain paper run (broker, tracker, strategy, bar by bar).
func TestBacktestMatchesPaperRun(t *testing.T) {
	ctx := context.Background()
	bs := walk(t, 300, broker.OneDay)
	strat := momentum("5")
	cfg := config(t, bs, strat)
	cfg.FeeBps, cfg.Fill = d("2"), paper.BarFill{SlippageBps: d("3")}
	rep := run(t, cfg)

	clk := clocktest.New(bs[0].Start)
	pb, err := paper.New(paper.Config{Cash: d("10000"), FeeBps: d("2"), Bars: paper.BarFill{SlippageBps: d("3")},
		Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	tracker, err := order.NewTracker(order.Config{Broker: pb, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	tr := &paperTrader{tracker: tracker, broker: pb}
	for _, bar := range bs {
		clk.Set(bar.Start)
		if err := pb.ApplyBar(bar); err != nil {
			t.Fatal(err)
		}
		clk.Set(bar.End())
		if _, err := tracker.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		tr.bars = append(tr.bars, bar)
		if err := strat.OnBar(ctx, bar, tr); err != nil {
			t.Fatal(err)
		}
	}
	type fill struct {
		Buy        bool
		Qty, Price decimal.Decimal
		Time       time.Time
	}
	var live []fill
	orders, _ := tracker.BySymbol(ctx, "SPY")
	for _, o := range orders {
		for _, f := range o.Fills {
			live = append(live, fill{o.Side.IsBuy(), f.Quantity, f.Price, f.Time})
		}
	}
	var tested []fill
	for _, tr := range rep.Trades {
		tested = append(tested, fill{true, tr.Quantity, tr.EntryPrice, tr.Entry})
		if !tr.Open {
			tested = append(tested, fill{false, tr.Quantity, tr.ExitPrice, tr.Exit})
		}
	}
	if len(tested) < 20 {
		t.Fatalf("only %d fills: the test trades too little to compare", len(tested))
	}
	if diff := cmp.Diff(live, tested, cmpDecs); diff != "" {
		t.Errorf("paper run (-) and backtest (+) differ:\n%s", diff)
	}
	acct, _ := pb.Account(ctx)
	if !acct.Equity.Equal(rep.EndEquity) {
		t.Errorf("paper equity %s, backtest %s", acct.Equity, rep.EndEquity)
	}
}

// Two runs of the same inputs give the same bytes: text, JSON and picture.
func TestDeterministic(t *testing.T) {
	bs := walk(t, 400, broker.OneHour)
	cfg := config(t, bs, momentum("3"))
	cfg.FeeBps, cfg.Fill = d("1"), paper.BarFill{SlippageBps: d("2"), VolumeFraction: d("0.001")}
	cfg.StopLoss = stoploss.Policy{TrailPercent: d("1")}
	bt, err := backtest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var outs [2][3]bytes.Buffer
	for i := range outs {
		rep, err := bt.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteText(&outs[i][0]); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteJSON(&outs[i][1]); err != nil {
			t.Fatal(err)
		}
		if err := rep.WritePNG(&outs[i][2]); err != nil {
			t.Fatal(err)
		}
		if len(rep.Trades) < 10 {
			t.Fatalf("only %d trades", len(rep.Trades))
		}
	}
	for k, what := range []string{"text", "JSON", "PNG"} {
		if !bytes.Equal(outs[0][k].Bytes(), outs[1][k].Bytes()) {
			t.Errorf("the %s of two runs differ", what)
		}
	}
	if !bytes.HasPrefix(outs[0][2].Bytes(), []byte("\x89PNG")) {
		t.Error("WritePNG wrote no PNG")
	}
}

func TestNewRefuses(t *testing.T) {
	bs := daily(t, "100 100 100 100")
	good := config(t, bs, script("1", nil, nil))
	for name, mutate := range map[string]func(*backtest.Config){
		"no bars":          func(c *backtest.Config) { c.Bars = nil },
		"no strategy":      func(c *backtest.Config) { c.Strategy = nil },
		"no instrument":    func(c *backtest.Config) { c.Instrument = broker.Instrument{} },
		"unknown interval": func(c *backtest.Config) { c.Interval = "2d" },
		"empty range":      func(c *backtest.Config) { c.To = c.From },
		"no cash":          func(c *backtest.Config) { c.Cash = decimal.Zero },
		"negative fee":     func(c *backtest.Config) { c.FeeBps = d("-1") },
		"bad fill model":   func(c *backtest.Config) { c.Fill.VolumeFraction = d("2") },
		"no stop":          func(c *backtest.Config) { c.StopLoss = stoploss.Policy{} },
		"negative every":   func(c *backtest.Config) { c.ProgressEvery = -1 },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := backtest.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: New = %v, want ErrConfiguration", name, err)
		}
	}
}

func TestRunFailures(t *testing.T) {
	bs := daily(t, "100 100 100 100", "101 103 100 102")
	cfg := config(t, bs, script("1", nil, nil))
	cfg.From, cfg.To = day0.AddDate(1, 0, 0), day0.AddDate(2, 0, 0)
	bt, _ := backtest.New(cfg)
	if _, err := bt.Run(context.Background()); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("no bars in range: %v", err)
	}
	boom := errors.New("boom")
	cfg = config(t, bs, strategy.Func(func(context.Context, broker.Bar, strategy.Trader) error { return boom }))
	bt, _ = backtest.New(cfg)
	if _, err := bt.Run(context.Background()); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bar 0") {
		t.Errorf("strategy error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bt.Run(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestProgress(t *testing.T) {
	bs := walk(t, 25, broker.OneDay)
	cfg := config(t, bs, script("1", nil, nil))
	var got []int
	cfg.Progress, cfg.ProgressEvery = func(p backtest.Progress) { got = append(got, p.Bar) }, 10
	run(t, cfg)
	if diff := cmp.Diff([]int{10, 20, 25}, got); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
}
