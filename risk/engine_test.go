package risk_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func TestNewEngineConfig(t *testing.T) {
	src := &sources{}
	valid := risk.Config{Positions: src, Location: time.UTC}
	tests := []struct {
		name   string
		mutate func(c *risk.Config)
		want   string // a substring of the error; "" for success
	}{
		{"minimal", func(*risk.Config) {}, ""},
		{"no location", func(c *risk.Config) { c.Location = nil }, "Location"},
		{"no positions", func(c *risk.Config) { c.Positions = nil }, "Positions"},
		{"quote rule without market data", func(c *risk.Config) {
			c.Rules = []risk.Rule{risk.PriceBand{Percent: dec("5")}}
			c.MaxQuoteAge = time.Second
		}, "MarketData"},
		{"quote rule without max quote age", func(c *risk.Config) {
			c.Rules = []risk.Rule{risk.MaxOrderNotional{Limit: dec("1")}}
			c.MarketData = src
		}, "MaxQuoteAge"},
		{"pnl rule without pnl source", func(c *risk.Config) {
			c.Rules = []risk.Rule{risk.MaxDailyLoss{Limit: dec("1")}}
		}, "PnL"},
		{"account rule without account source", func(c *risk.Config) {
			c.Rules = []risk.Rule{risk.MaxConcentration{Percent: dec("1")}}
			c.MarketData, c.MaxQuoteAge = src, time.Second
		}, "Account"},
		{"invalid rule", func(c *risk.Config) { c.Rules = []risk.Rule{risk.MaxOrderQuantity{}} }, "max order quantity"},
		{"nil rule", func(c *risk.Config) { c.Rules = []risk.Rule{nil} }, "nil rule"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.mutate(&cfg)
			e, err := risk.NewEngine(cfg)
			if tc.want == "" {
				if err != nil || e == nil {
					t.Fatalf("NewEngine = %v, %v; want an engine", e, err)
				}
				return
			}
			if e != nil || !errors.Is(err, errors.ErrConfiguration) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewEngine = %v, %v; want ErrConfiguration mentioning %q", e, err, tc.want)
			}
		})
	}
}

func TestNewEngineReportsEveryConfigProblem(t *testing.T) {
	_, err := risk.NewEngine(risk.Config{Rules: []risk.Rule{risk.MaxOrderQuantity{}, risk.MaxDailyLoss{}}})
	for _, want := range []string{"max order quantity", "max daily loss", "Positions", "Location", "PnL"} {
		if !strings.Contains(fmt.Sprint(err), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// allRules is a configuration with every built-in rule, all passing for
// fineOrder against fineSources.
func allRules() []risk.Rule {
	return []risk.Rule{
		risk.MaxOrderQuantity{Limit: dec("1000")},
		risk.MaxOrderNotional{Limit: dec("100000")},
		risk.MaxPositionQuantity{Limit: dec("2000")},
		risk.MaxPositionNotional{Limit: dec("200000")},
		risk.MaxGrossExposure{Limit: dec("500000")},
		risk.MaxConcentration{Percent: dec("50")},
		risk.MaxDailyLoss{Limit: dec("5000")},
		risk.MaxOrdersPerDay{Limit: 100},
		risk.MaxOrderRate{Limit: 10, Window: time.Second},
		risk.PriceBand{Percent: dec("5"), MaxQuoteAge: 2 * time.Second},
		risk.NewSymbolAllowList("AAPL", "MSFT"),
		risk.NewSymbolDenyList("GME"),
		risk.AssetClassAllowList{Classes: []broker.AssetClass{broker.Equity}},
	}
}

func fineSources() *sources {
	return &sources{
		positions: []broker.Position{position("AAPL", "100"), position("MSFT", "-50")},
		account:   broker.Account{ID: "A1", Currency: "USD", Equity: dec("1000000")},
		quotes:    []broker.Quote{quote("AAPL", "99.99", "100.01", "100", t0), quote("MSFT", "199", "201", "200", t0)},
		pnl:       risk.PnL{Realized: dec("-100"), Unrealized: dec("50")},
	}
}

func fineOrder() broker.OrderRequest { return limitOrder(broker.Buy, "AAPL", "10", "100") }

func TestPreTradeAllRulesPass(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, allRules()...)
	settle, err := e.PreTrade(context.Background(), fineOrder())
	if err != nil {
		t.Fatalf("PreTrade: %v", err)
	}
	settle(true)
	if got := src.days; len(got) != 1 || !got[0].Equal(time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("DailyPnL day starts = %v, want [2026-06-15 00:00 UTC]", got)
	}
}

func TestRefusalReportsEveryFailingRule(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, allRules()...)
	req := limitOrder(broker.Buy, "GME", "1001", "200")
	src.set(func(s *sources) { s.quotes = append(s.quotes, quote("GME", "19", "21", "20", t0)) })
	_, err := e.PreTrade(context.Background(), req)
	want := []string{"max order quantity", "max order notional", "max position notional",
		"price band", "symbol allow list", "symbol deny list"}
	if diff := cmp.Diff(want, ruleNames(err)); diff != "" {
		t.Fatalf("refused rules (-want +got):\n%s\nerror: %v", diff, err)
	}
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Rule != "max order quantity" || re.Limit != "1000" || re.Actual != "1001" {
		t.Errorf("errors.As = %+v, want the max order quantity refusal with limit and actual", re)
	}
	if !errors.Is(err, errors.ErrRiskLimitExceeded) {
		t.Errorf("errors.Is(err, ErrRiskLimitExceeded) = false")
	}
}

func TestFailClosed(t *testing.T) {
	cause := errors.New("connection reset")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		mutate   func(s *sources)
		ctx      context.Context
		rules    []risk.Rule
		wantRule string
		wantErr  error // also matched by errors.Is, when set
	}{
		{"positions fail", func(s *sources) { s.posErr = cause }, nil,
			[]risk.Rule{risk.MaxPositionQuantity{Limit: dec("1")}}, "positions", cause},
		{"open orders fail", func(s *sources) { s.openErr = cause }, nil,
			[]risk.Rule{risk.MaxPositionQuantity{Limit: dec("1")}}, "open orders", cause},
		{"account fails", func(s *sources) { s.accErr = cause }, nil,
			[]risk.Rule{risk.MaxConcentration{Percent: dec("10")}}, "account", cause},
		{"pnl fails", func(s *sources) { s.pnlErr = cause }, nil,
			[]risk.Rule{risk.MaxDailyLoss{Limit: dec("10")}}, "daily pnl", cause},
		{"quotes fail", func(s *sources) { s.quoteErr = cause }, nil,
			[]risk.Rule{risk.PriceBand{Percent: dec("10")}}, "quote", cause},
		{"quote missing", func(s *sources) { s.quotes = s.quotes[1:] }, nil,
			[]risk.Rule{risk.MaxOrderNotional{Limit: dec("1000000")}}, "quote", nil},
		{"quote stale", func(s *sources) { s.quotes[0].Time = t0.Add(-5*time.Second - 1) }, nil,
			[]risk.Rule{risk.MaxOrderNotional{Limit: dec("1000000")}}, "quote", nil},
		{"quote from the future", func(s *sources) { s.quotes[0].Time = t0.Add(5*time.Second + 1) }, nil,
			[]risk.Rule{risk.MaxOrderNotional{Limit: dec("1000000")}}, "quote", nil},
		{"quote without prices", func(s *sources) { s.quotes[0] = quote("AAPL", "0", "0", "0", t0) }, nil,
			[]risk.Rule{risk.MaxOrderNotional{Limit: dec("1000000")}}, "quote", nil},
		{"mark of another holding missing", func(s *sources) { s.quotes = s.quotes[:1] }, nil,
			[]risk.Rule{risk.MaxGrossExposure{Limit: dec("1000000")}}, "quote", nil},
		{"context canceled", func(*sources) {}, canceled,
			[]risk.Rule{risk.MaxOrderQuantity{Limit: dec("1000")}}, "context", context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, clk := fineSources(), newClock(t0)
			tc.mutate(src)
			e := newEngine(t, src, clk, tc.rules...)
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			settle, err := e.PreTrade(ctx, fineOrder())
			if settle != nil || err == nil {
				t.Fatal("PreTrade let the order through")
			}
			var re *errors.RiskError
			if !errors.As(err, &re) || re.Rule != tc.wantRule || re.Kind != errors.ErrRiskDataUnavailable {
				t.Fatalf("refusal = %+v, want rule %q of kind ErrRiskDataUnavailable", re, tc.wantRule)
			}
			if !errors.Is(err, errors.ErrRiskDataUnavailable) {
				t.Errorf("errors.Is(%v, ErrRiskDataUnavailable) = false", err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("errors.Is(%v, %v) = false: the cause is not wrapped", err, tc.wantErr)
			}
			if re.Reason == "" {
				t.Errorf("refusal %v does not say what was missing", err)
			}
		})
	}
}

func TestStaleQuoteNamesAge(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.quotes[0].Time = t0.Add(-6 * time.Second)
	e := newEngine(t, src, clk, risk.PriceBand{Percent: dec("5")})
	_, err := e.PreTrade(context.Background(), fineOrder())
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Symbol != "AAPL" || re.Limit != "5s" || re.Actual != "6s" {
		t.Fatalf("refusal = %+v, want AAPL quote limit 5s actual 6s", re)
	}
}

func TestSourcesFailingTogetherAreAllReported(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.posErr, src.accErr, src.pnlErr = errors.New("a"), errors.New("b"), errors.New("c")
	e := newEngine(t, src, clk, allRules()...)
	_, err := e.PreTrade(context.Background(), fineOrder())
	if diff := cmp.Diff([]string{"positions", "account", "daily pnl"}, ruleNames(err)); diff != "" {
		t.Errorf("refusals (-want +got):\n%s", diff)
	}
}

func TestInvalidRequestIsRefused(t *testing.T) {
	e := newEngine(t, fineSources(), newClock(t0), risk.MaxOrderQuantity{Limit: dec("10")})
	req := fineOrder()
	req.Quantity = dec("-5")
	if _, err := e.PreTrade(context.Background(), req); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("PreTrade(negative quantity) = %v, want ErrInvalidOrder", err)
	}
	in := risk.Intent{Request: req}
	if err := e.Check(context.Background(), in); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("Check(negative quantity) = %v, want ErrInvalidOrder", err)
	}
}

func TestReservationHoldsUntilSettled(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.positions = nil
	e := newEngine(t, src, clk, risk.MaxPositionQuantity{Limit: dec("100")})
	ctx := context.Background()
	buy60 := limitOrder(broker.Buy, "AAPL", "60", "100")

	settle, err := e.PreTrade(ctx, buy60)
	if err != nil {
		t.Fatalf("first buy: %v", err)
	}
	_, err = e.PreTrade(ctx, buy60)
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Actual != "120" {
		t.Fatalf("second buy while the first is reserved = %v, want refused at 120", err)
	}
	settle(false)
	settle(true) // a second call is a no-op: the reservation is gone
	settle2, err := e.PreTrade(ctx, buy60)
	if err != nil {
		t.Fatalf("buy after the first was released: %v", err)
	}
	// Sent: the reservation is released and the position source shows the fill.
	settle2(true)
	src.set(func(s *sources) { s.positions = []broker.Position{position("AAPL", "60")} })
	if _, err := e.PreTrade(ctx, buy60); !errors.As(err, &re) || re.Actual != "120" {
		t.Fatalf("buy on top of the filled position = %v, want refused at 120", err)
	}
	if _, err := e.PreTrade(ctx, limitOrder(broker.Buy, "AAPL", "40", "100")); err != nil {
		t.Fatalf("buy to the limit: %v", err)
	}
}

// TestOrderSentDuringAGatherStillCounts: order B is checked, sent, filled
// and settled while order A's position lookup is on its way back with the
// book from before B's fill. A must still see B.
func TestOrderSentDuringAGatherStillCounts(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.positions = nil
	e := newEngine(t, src, clk, risk.MaxPositionQuantity{Limit: dec("100")})
	ctx := context.Background()
	buy60 := limitOrder(broker.Buy, "AAPL", "60", "100")
	src.onPositions = func() {
		settle, err := e.PreTrade(ctx, buy60) // B
		if err != nil {
			t.Errorf("B: %v", err)
			return
		}
		settle(true)
		src.set(func(s *sources) { s.positions = []broker.Position{position("AAPL", "60")} })
	}
	_, err := e.PreTrade(ctx, buy60) // A, answered with the book before B
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Actual != "120" {
		t.Fatalf("A = %v, want refused at 120: B was sent while A gathered", err)
	}
	// With no gather in flight, B is no longer counted twice: the book has it.
	if _, err := e.PreTrade(ctx, limitOrder(broker.Buy, "AAPL", "40", "100")); err != nil {
		t.Fatalf("buy to the limit after B filled: %v", err)
	}
}

func TestWorkingOrdersCount(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.positions = nil
	working := broker.Order{OrderID: "B1", ClientOrderID: "W1", Instrument: broker.Instrument{Symbol: "AAPL"},
		Side: broker.Buy, Type: broker.Limit, Quantity: dec("80"), FilledQuantity: dec("20"),
		LimitPrice: dec("99"), Status: broker.StatusPartiallyFilled}
	filled := working
	filled.ClientOrderID, filled.Status, filled.FilledQuantity = "W2", broker.StatusFilled, dec("80")
	src.open = []broker.Order{working, filled}
	src.positions = []broker.Position{position("AAPL", "20")} // the 20 filled
	e := newEngine(t, src, clk, risk.MaxPositionQuantity{Limit: dec("100")})
	ctx := context.Background()
	// 20 held + 60 working = 80: room for 20.
	_, err := e.PreTrade(ctx, limitOrder(broker.Buy, "AAPL", "21", "100"))
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Actual != "101" {
		t.Fatalf("buy of 21 = %v, want refused at 101", err)
	}
	// A reservation for an order that is also working at the broker (sent,
	// not yet settled) counts once.
	req := limitOrder(broker.Buy, "AAPL", "20", "100")
	req.ClientOrderID = "R1"
	if _, err := e.PreTrade(ctx, req); err != nil {
		t.Fatalf("buy of 20: %v", err)
	}
	src.set(func(s *sources) {
		s.open = append(s.open, broker.Order{ClientOrderID: "R1", Instrument: broker.Instrument{Symbol: "AAPL"},
			Side: broker.Buy, Quantity: dec("20"), Status: broker.StatusNew})
	})
	in, err := e.Gather(ctx, limitOrder(broker.Sell, "AAPL", "1", "100"))
	if err != nil {
		t.Fatal(err)
	}
	if !in.Position.PendingBuy.Equal(dec("80")) {
		t.Errorf("pending buys %s, want 80 (60 working + 20 reserved, counted once)", in.Position.PendingBuy)
	}
}

func TestGatherIncludesReservations(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.quotes = append(src.quotes, quote("TSLA", "299", "301", "300", t0))
	e := newEngine(t, src, clk, risk.MaxGrossExposure{Limit: dec("1000000")}, risk.MaxOrdersPerDay{Limit: 10})
	ctx := context.Background()
	if _, err := e.PreTrade(ctx, limitOrder(broker.Buy, "AAPL", "10", "100")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PreTrade(ctx, limitOrder(broker.SellShort, "TSLA", "5", "300")); err != nil {
		t.Fatal(err)
	}
	in, err := e.Gather(ctx, limitOrder(broker.Sell, "AAPL", "1", "100"))
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Position    risk.Holding
		Others      []risk.Holding
		OrdersToday int
	}
	want := view{
		Position: risk.Holding{Symbol: "AAPL", Quantity: dec("100"), PendingBuy: dec("10"), Mark: dec("100")},
		Others: []risk.Holding{
			{Symbol: "MSFT", Quantity: dec("-50"), Mark: dec("200")},
			{Symbol: "TSLA", PendingSell: dec("5"), Mark: dec("300")},
		},
		OrdersToday: 2,
	}
	got := view{Position: in.Position, Others: in.Others, OrdersToday: in.OrdersToday}
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("Gather (-want +got):\n%s", diff)
	}
}

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func TestHaltedRefusesEverythingWithoutAskingSources(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, allRules()...)
	if err := e.SetState(context.Background(), risk.Halted, "operator kill switch"); err != nil {
		t.Fatal(err)
	}
	_, err := e.PreTrade(context.Background(), fineOrder())
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Kind != errors.ErrTradingHalted || !strings.Contains(err.Error(), "operator kill switch") {
		t.Fatalf("PreTrade while halted = %v, want ErrTradingHalted with the reason", err)
	}
	if n := src.callCount(); n != 0 {
		t.Errorf("sources called %d times while halted, want 0", n)
	}
	if err := e.SetState(context.Background(), risk.Active, "reset"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PreTrade(context.Background(), fineOrder()); err != nil {
		t.Errorf("PreTrade after reset: %v", err)
	}
	if err := e.SetState(context.Background(), risk.State(9), ""); !errors.Is(err, errors.ErrConfiguration) {
		t.Errorf("SetState(undefined) = %v, want ErrConfiguration", err)
	}
}

func TestReduceOnly(t *testing.T) {
	tests := []struct {
		name     string
		position string // "" for none
		req      broker.OrderRequest
		wantOK   bool
		actual   string
	}{
		{"long: sell part", "100", limitOrder(broker.Sell, "AAPL", "40", "100"), true, ""},
		{"long: sell all", "100", limitOrder(broker.Sell, "AAPL", "100", "100"), true, ""},
		{"long: sell one more flips to short", "100", limitOrder(broker.Sell, "AAPL", "101", "100"), false, "-1"},
		{"long: fractional flip", "0.5", limitOrder(broker.Sell, "AAPL", "0.51", "100"), false, "-0.01"},
		{"long: buy adds", "100", limitOrder(broker.Buy, "AAPL", "1", "100"), false, "101"},
		{"short: cover part", "-100", limitOrder(broker.BuyToCover, "AAPL", "40", "100"), true, ""},
		{"short: cover all", "-100", limitOrder(broker.BuyToCover, "AAPL", "100", "100"), true, ""},
		{"short: cover one more flips to long", "-100", limitOrder(broker.Buy, "AAPL", "101", "100"), false, "1"},
		{"short: sell adds", "-100", limitOrder(broker.SellShort, "AAPL", "1", "100"), false, "-101"},
		{"no position", "", limitOrder(broker.Sell, "AAPL", "1", "100"), false, "-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, clk := fineSources(), newClock(t0)
			src.positions = nil
			if tc.position != "" {
				src.positions = []broker.Position{position("AAPL", tc.position)}
			}
			e := newEngine(t, src, clk)
			if err := e.SetState(context.Background(), risk.ReduceOnly, "end of day"); err != nil {
				t.Fatal(err)
			}
			_, err := e.PreTrade(context.Background(), tc.req)
			if tc.wantOK {
				if err != nil {
					t.Fatalf("PreTrade: %v", err)
				}
				return
			}
			var re *errors.RiskError
			if !errors.As(err, &re) || re.Rule != "reduce only" || re.Actual != tc.actual || !errors.Is(err, errors.ErrTradingHalted) {
				t.Fatalf("PreTrade = %v (%+v), want a reduce only refusal of kind ErrTradingHalted with actual %s", err, re, tc.actual)
			}
		})
	}
}

func TestReduceOnlyCountsReservedOrders(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk) // AAPL long 100
	if err := e.SetState(context.Background(), risk.ReduceOnly, ""); err != nil {
		t.Fatal(err)
	}
	sell60 := limitOrder(broker.Sell, "AAPL", "60", "100")
	if _, err := e.PreTrade(context.Background(), sell60); err != nil {
		t.Fatalf("first sell: %v", err)
	}
	if _, err := e.PreTrade(context.Background(), sell60); !errors.Is(err, errors.ErrTradingHalted) {
		t.Fatalf("second sell of 60 on a long of 100 = %v, want refused (would flip)", err)
	}
}

func TestDailyLossHaltsUntilReset(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, risk.MaxDailyLoss{Limit: dec("1000")}, risk.MaxOrderQuantity{Limit: dec("1000")})
	var events []risk.StateChange
	unsubscribe := e.Subscribe(func(ev risk.StateChange) { events = append(events, ev) })
	defer unsubscribe()

	src.set(func(s *sources) { s.pnl = risk.PnL{Realized: dec("-1000.01")} })
	_, err := e.PreTrade(context.Background(), fineOrder())
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Rule != "max daily loss" || re.Actual != "1000.01" {
		t.Fatalf("PreTrade = %v, want a max daily loss refusal", err)
	}
	if s, _ := e.State(); s != risk.Halted {
		t.Fatalf("state after a daily-loss breach = %v, want halted", s)
	}
	// The loss recovers, but trading stays halted until the host resets it.
	src.set(func(s *sources) { s.pnl = risk.PnL{} })
	if _, err := e.PreTrade(context.Background(), fineOrder()); !errors.Is(err, errors.ErrTradingHalted) {
		t.Fatalf("PreTrade after the breach = %v, want ErrTradingHalted", err)
	}
	if err := e.SetState(context.Background(), risk.Active, "reviewed"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PreTrade(context.Background(), fineOrder()); err != nil {
		t.Fatalf("PreTrade after reset: %v", err)
	}
	want := []risk.StateChange{
		{Seq: 1, From: risk.Active, To: risk.Halted, Time: t0},
		{Seq: 2, From: risk.Halted, To: risk.Active, Reason: "reviewed", Time: t0},
	}
	if len(events) > 0 {
		if !strings.Contains(events[0].Reason, "max daily loss") {
			t.Errorf("halt reason %q does not name the rule", events[0].Reason)
		}
		events[0].Reason = ""
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestCheckTripsHalt(t *testing.T) {
	e := newEngine(t, fineSources(), newClock(t0), risk.MaxDailyLoss{Limit: dec("10")})
	in := risk.Intent{Request: fineOrder(), PnL: risk.PnL{Unrealized: dec("-11")}}
	if err := e.Check(context.Background(), in); !errors.Is(err, errors.ErrRiskLimitExceeded) {
		t.Fatalf("Check = %v, want ErrRiskLimitExceeded", err)
	}
	if s, _ := e.State(); s != risk.Halted {
		t.Fatalf("state = %v, want halted", s)
	}
	in.PnL = risk.PnL{}
	if err := e.Check(context.Background(), in); !errors.Is(err, errors.ErrTradingHalted) {
		t.Fatalf("Check while halted = %v, want ErrTradingHalted", err)
	}
}

func TestStateEventsInOrder(t *testing.T) {
	e := newEngine(t, fineSources(), newClock(t0))
	var got []string
	record := func(name string) func(risk.StateChange) {
		return func(ev risk.StateChange) {
			got = append(got, fmt.Sprintf("%s %d %s->%s %s", name, ev.Seq, ev.From, ev.To, ev.Reason))
		}
	}
	unsubA := e.Subscribe(record("a"))
	// b reacts to a halt by asking for reduce-only: a change made from inside
	// a delivery is delivered after the current event, to everyone.
	unsubB := e.Subscribe(func(ev risk.StateChange) {
		record("b")(ev)
		if ev.To == risk.Halted {
			if err := e.SetState(context.Background(), risk.ReduceOnly, "from b"); err != nil {
				t.Error(err)
			}
		}
	})
	mustSet := func(s risk.State, reason string) {
		if err := e.SetState(context.Background(), s, reason); err != nil {
			t.Fatal(err)
		}
	}
	mustSet(risk.Halted, "x")
	mustSet(risk.ReduceOnly, "same state: no event")
	unsubB()
	unsubB()
	mustSet(risk.Active, "y")
	unsubA()
	mustSet(risk.Halted, "nobody listens")
	want := []string{
		"a 1 active->halted x", "b 1 active->halted x",
		"a 2 halted->reduce_only from b", "b 2 halted->reduce_only from b",
		"a 3 reduce_only->active y",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestOrdersPerDayAndSettle(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, risk.MaxOrdersPerDay{Limit: 2})
	ctx := context.Background()
	s1, err := e.PreTrade(ctx, fineOrder())
	if err != nil {
		t.Fatal(err)
	}
	s1(true)
	s1(true) // idempotent: counted once
	s2, err := e.PreTrade(ctx, fineOrder())
	if err != nil {
		t.Fatalf("second order: %v", err)
	}
	// The second is reserved, not yet settled: it already counts.
	if _, err := e.PreTrade(ctx, fineOrder()); err == nil {
		t.Fatal("third order allowed while the second is reserved")
	}
	s2(false) // never sent: forgotten
	s3, err := e.PreTrade(ctx, fineOrder())
	if err != nil {
		t.Fatalf("order after a refused one: %v", err)
	}
	s3(true)
	_, err = e.PreTrade(ctx, fineOrder())
	var re *errors.RiskError
	if !errors.As(err, &re) || re.Limit != "2" || re.Actual != "3" {
		t.Fatalf("third sent order = %v, want refused limit 2 actual 3", err)
	}
}

func TestOrderRateSlidingWindow(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, risk.MaxOrderRate{Limit: 2, Window: time.Second})
	ctx := context.Background()
	send := func() error {
		settle, err := e.PreTrade(ctx, fineOrder())
		if err == nil {
			settle(true)
		}
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(500 * time.Millisecond)
	if err := send(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(499 * time.Millisecond) // t0+999ms: both still in the window
	if err := send(); err == nil {
		t.Fatal("third order within the window allowed")
	}
	clk.Advance(time.Millisecond) // t0+1s: the first has left the window
	if err := send(); err != nil {
		t.Fatalf("order after the first left the window: %v", err)
	}
	if err := send(); err == nil {
		t.Fatal("order at t0+1s with two in the window allowed")
	}
}

func TestTradingDayBoundary(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("tzdata: %v", err) // time/tzdata is embedded in the test binary (tzdata_test.go)
	}
	tests := []struct {
		name      string
		loc       *time.Location
		lastTick  time.Time // 23:59:59 local
		wantStart time.Time // the start of lastTick's day
	}{
		{"New York, summer (EDT)", newYork, time.Date(2026, 6, 15, 23, 59, 59, 0, newYork),
			time.Date(2026, 6, 15, 4, 0, 0, 0, time.UTC)},
		{"New York, DST starts (23-hour day)", newYork, time.Date(2026, 3, 8, 23, 59, 59, 0, newYork),
			time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC)},
		{"New York, DST ends (25-hour day)", newYork, time.Date(2026, 11, 1, 23, 59, 59, 0, newYork),
			time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC)},
		{"UTC", time.UTC, time.Date(2026, 6, 15, 23, 59, 59, 0, time.UTC),
			time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, clk := fineSources(), newClock(tc.lastTick)
			e, err := risk.NewEngine(risk.Config{
				Rules:     []risk.Rule{risk.MaxOrdersPerDay{Limit: 1}, risk.MaxDailyLoss{Limit: dec("1000")}},
				Positions: src, PnL: src, Location: tc.loc, Clock: clk,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			settle, err := e.PreTrade(ctx, fineOrder())
			if err != nil {
				t.Fatalf("first order at 23:59:59: %v", err)
			}
			settle(true)
			if _, err := e.PreTrade(ctx, fineOrder()); err == nil {
				t.Fatal("second order at 23:59:59 allowed")
			}
			clk.Advance(time.Second) // 00:00:00 local: a new trading day
			settle, err = e.PreTrade(ctx, fineOrder())
			if err != nil {
				t.Fatalf("first order of the new day: %v", err)
			}
			settle(true)
			nextStart := tc.lastTick.Add(time.Second)
			want := []time.Time{tc.wantStart, tc.wantStart, nextStart}
			if diff := cmp.Diff(want, src.days, cmp.Comparer(time.Time.Equal)); diff != "" {
				t.Errorf("day starts handed to the PnL source (-want +got):\n%s", diff)
			}
			if got := nextStart.In(tc.loc); got.Hour() != 0 || got.Minute() != 0 || got.Second() != 0 {
				t.Errorf("test setup: %v is not local midnight", got)
			}
		})
	}
}

func TestTradingDayFollowsZoneNotUTC(t *testing.T) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	// UTC midnight is 20:00 in New York in summer: still the same trading day.
	clk := newClock(time.Date(2026, 6, 15, 23, 59, 59, 0, time.UTC))
	src := fineSources()
	e, err := risk.NewEngine(risk.Config{Rules: []risk.Rule{risk.MaxOrdersPerDay{Limit: 1}},
		Positions: src, Location: newYork, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	settle, err := e.PreTrade(context.Background(), fineOrder())
	if err != nil {
		t.Fatal(err)
	}
	settle(true)
	clk.Advance(time.Second)
	if _, err := e.PreTrade(context.Background(), fineOrder()); err == nil {
		t.Fatal("the count reset at UTC midnight for a New York trading day")
	}
}

// TestConcurrentPreTradeNeverExceedsALimit races many orders against one
// position limit and one daily count: together they never exceed it.
func TestConcurrentPreTradeNeverExceedsALimit(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	src.positions = nil
	e := newEngine(t, src, clk,
		risk.MaxPositionQuantity{Limit: dec("100")},
		risk.MaxOrdersPerDay{Limit: 25},
	)
	const goroutines = 64
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		settles  []func(bool)
		refusals int
	)
	start := make(chan struct{})
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			settle, err := e.PreTrade(context.Background(), limitOrder(broker.Buy, "AAPL", "10", "100"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refusals++
				return
			}
			settles = append(settles, settle)
		}()
	}
	close(start)
	wg.Wait()
	if len(settles) != 10 || refusals != goroutines-10 {
		t.Fatalf("%d orders reserved, %d refused; want exactly 10 of 10 shares under a 100-share limit",
			len(settles), refusals)
	}

	// Release them all as refused and race again on the order count, each
	// order settled as sent at once.
	for _, s := range settles {
		s(false)
	}
	var sent int
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			settle, err := e.PreTrade(context.Background(), limitOrder(broker.Buy, "AAPL", "1", "100"))
			if err != nil {
				return
			}
			settle(true)
			settle(true)
			mu.Lock()
			sent++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if sent != 25 {
		t.Fatalf("%d orders sent, want exactly 25 under a 25-per-day limit", sent)
	}
}

func TestConcurrentStateChangesAreDeliveredInOrder(t *testing.T) {
	e := newEngine(t, fineSources(), newClock(t0))
	var mu sync.Mutex
	var seqs []uint64
	defer e.Subscribe(func(ev risk.StateChange) {
		mu.Lock()
		defer mu.Unlock()
		seqs = append(seqs, ev.Seq)
	})()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				_ = e.SetState(context.Background(), risk.State((i+j)%3), "flip")
			}
		}()
	}
	wg.Wait()
	// Every change made before wg.Wait was delivered by the goroutine that
	// was delivering; the last delivery ends before its SetState returns.
	mu.Lock()
	defer mu.Unlock()
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("event %d has Seq %d: delivered out of order or skipped (%v)", i, s, seqs)
		}
	}
}

func TestOnlyNeededSourcesAreAsked(t *testing.T) {
	src, clk := fineSources(), newClock(t0)
	e := newEngine(t, src, clk, risk.MaxOrderQuantity{Limit: dec("100")}, risk.MaxOrdersPerDay{Limit: 5})
	if _, err := e.PreTrade(context.Background(), fineOrder()); err != nil {
		t.Fatal(err)
	}
	if n := src.callCount(); n != 0 {
		t.Errorf("%d source calls for rules that need no data, want 0", n)
	}
	// Reduce-only needs the positions (and the working orders) even then.
	if err := e.SetState(context.Background(), risk.ReduceOnly, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.PreTrade(context.Background(), limitOrder(broker.Sell, "AAPL", "1", "100")); err != nil {
		t.Fatal(err)
	}
	if n := src.callCount(); n != 2 {
		t.Errorf("%d source calls in reduce-only, want 2 (positions, open orders)", n)
	}
}

func TestPanickingSubscriberDoesNotStopDelivery(t *testing.T) {
	e := newEngine(t, fineSources(), newClock(t0))
	var got []uint64
	panicked := false
	defer e.Subscribe(func(ev risk.StateChange) {
		got = append(got, ev.Seq)
		if !panicked {
			panicked = true
			panic("subscriber bug")
		}
	})()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the subscriber's panic did not reach the caller")
			}
		}()
		_ = e.SetState(context.Background(), risk.Halted, "first")
	}()
	if err := e.SetState(context.Background(), risk.Active, "second"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{1, 2}, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}
