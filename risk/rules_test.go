package risk_test

import (
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/google/go-cmp/cmp"
)

// ruleCase is one rule judged on one intent. want is nil when the order
// passes, else the refusal expected (compared on Rule, Symbol, Limit, Actual
// and Kind).
type ruleCase struct {
	name string
	rule risk.Rule
	in   risk.Intent
	want []*errors.RiskError
}

func runRuleCases(t *testing.T, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rule.Check(tc.in)
			var got []*errors.RiskError
			for _, re := range riskErrors(err) {
				got = append(got, &errors.RiskError{Rule: re.Rule, Symbol: re.Symbol, Limit: re.Limit,
					Actual: re.Actual, Kind: re.Kind})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Check refusals (-want +got):\n%s\nerror: %v", diff, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want[0].Kind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.want[0].Kind)
			}
		})
	}
}

func over(rule, symbol, limit, actual string) []*errors.RiskError {
	return []*errors.RiskError{{Rule: rule, Symbol: symbol, Limit: limit, Actual: actual, Kind: errors.ErrRiskLimitExceeded}}
}

func intent(req broker.OrderRequest) risk.Intent {
	return risk.Intent{Request: req, Time: t0, DayStart: time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC),
		Position: risk.Holding{Symbol: req.Instrument.Symbol}}
}

func withQuote(in risk.Intent, q broker.Quote) risk.Intent { in.Quote = q; return in }

func withPosition(in risk.Intent, qty, pendingBuy, pendingSell string) risk.Intent {
	in.Position.Quantity, in.Position.PendingBuy, in.Position.PendingSell = dec(qty), dec(pendingBuy), dec(pendingSell)
	return in
}

func TestMaxOrderQuantity(t *testing.T) {
	shares := risk.MaxOrderQuantity{Limit: dec("100")}
	coins := risk.MaxOrderQuantity{Limit: dec("0.5")}
	buy := func(q string) risk.Intent { return intent(limitOrder(broker.Buy, "AAPL", q, "10")) }
	sell := func(q string) risk.Intent { return intent(limitOrder(broker.SellShort, "BTC-USD", q, "10")) }
	runRuleCases(t, []ruleCase{
		{"one share under", shares, buy("99"), nil},
		{"at the limit", shares, buy("100"), nil},
		{"one share over", shares, buy("101"), over("max order quantity", "AAPL", "100", "101")},
		{"crypto tick under", coins, sell("0.49"), nil},
		{"crypto at the limit", coins, sell("0.5"), nil},
		{"crypto tick over", coins, sell("0.51"), over("max order quantity", "BTC-USD", "0.5", "0.51")},
	})
}

func TestMaxOrderNotional(t *testing.T) {
	r := risk.MaxOrderNotional{Limit: dec("10000")}
	q := quote("AAPL", "99.98", "100.01", "100", t0)
	limitBuy := func(p string) risk.Intent { return withQuote(intent(limitOrder(broker.Buy, "AAPL", "100", p)), q) }
	stop := intent(limitOrder(broker.Sell, "AAPL", "100", "0"))
	stop.Request.Type, stop.Request.LimitPrice, stop.Request.StopPrice = broker.Stop, dec("0"), dec("100.01")
	noLast := q
	noLast.Ask, noLast.Bid = dec("0"), dec("0")
	runRuleCases(t, []ruleCase{
		{"limit tick under", r, limitBuy("99.99"), nil},
		{"limit at the limit", r, limitBuy("100"), nil},
		{"limit tick over", r, limitBuy("100.01"), over("max order notional", "AAPL", "10000", "10001")},
		{"stop valued at stop price", r, withQuote(stop, q), over("max order notional", "AAPL", "10000", "10001")},
		{"market buy valued at ask", r, withQuote(intent(marketOrder(broker.Buy, "AAPL", "100")), q),
			over("max order notional", "AAPL", "10000", "10001")},
		{"market sell valued at bid", r, withQuote(intent(marketOrder(broker.Sell, "AAPL", "100")), q), nil},
		{"market valued at last without bid and ask", r,
			withQuote(intent(marketOrder(broker.Buy, "AAPL", "100")), noLast), nil},
		{"market without any price fails closed", r, intent(marketOrder(broker.Buy, "AAPL", "100")),
			[]*errors.RiskError{{Rule: "max order notional", Symbol: "AAPL", Kind: errors.ErrRiskDataUnavailable}}},
	})
}

func TestMaxPositionQuantity(t *testing.T) {
	r := risk.MaxPositionQuantity{Limit: dec("100")}
	order := func(side broker.Side, q string) risk.Intent {
		return intent(limitOrder(side, "AAPL", q, "10"))
	}
	const name = "max position quantity"
	runRuleCases(t, []ruleCase{
		{"long: buy to one under", r, withPosition(order(broker.Buy, "9"), "90", "0", "0"), nil},
		{"long: buy to the limit", r, withPosition(order(broker.Buy, "10"), "90", "0", "0"), nil},
		{"long: buy to one over", r, withPosition(order(broker.Buy, "11"), "90", "0", "0"), over(name, "AAPL", "100", "101")},
		{"short: sell to one under", r, withPosition(order(broker.SellShort, "9"), "-90", "0", "0"), nil},
		{"short: sell to the limit", r, withPosition(order(broker.SellShort, "10"), "-90", "0", "0"), nil},
		{"short: sell to one over", r, withPosition(order(broker.SellShort, "11"), "-90", "0", "0"), over(name, "AAPL", "100", "101")},
		{"sell reduces a long", r, withPosition(order(broker.Sell, "50"), "100", "0", "0"), nil},
		{"flip long to short at the limit", r, withPosition(order(broker.Sell, "200"), "100", "0", "0"), nil},
		{"flip long to short one over", r, withPosition(order(broker.Sell, "201"), "100", "0", "0"), over(name, "AAPL", "100", "101")},
		{"reducing a long beyond the limit", r, withPosition(order(broker.Sell, "10"), "150", "0", "0"), nil},
		{"covering a short beyond the limit", r, withPosition(order(broker.BuyToCover, "10"), "-150", "0", "0"), nil},
		{"reserved buys count", r, withPosition(order(broker.Buy, "1"), "90", "10", "0"), over(name, "AAPL", "100", "101")},
		{"reserved sells count", r, withPosition(order(broker.SellShort, "1"), "-90", "0", "10"), over(name, "AAPL", "100", "101")},
		{"fractional tick over", risk.MaxPositionQuantity{Limit: dec("1")},
			withPosition(order(broker.Buy, "0.01"), "1", "0", "0"), over(name, "AAPL", "1", "1.01")},
	})
}

func TestMaxPositionNotional(t *testing.T) {
	r := risk.MaxPositionNotional{Limit: dec("10000")}
	const name = "max position notional"
	long := func(p string) risk.Intent {
		return withPosition(intent(limitOrder(broker.Buy, "AAPL", "10", p)), "90", "0", "0")
	}
	short := func(p string) risk.Intent {
		return withPosition(intent(limitOrder(broker.SellShort, "AAPL", "10", p)), "-90", "0", "0")
	}
	runRuleCases(t, []ruleCase{
		{"long tick under", r, long("99.99"), nil},
		{"long at the limit", r, long("100"), nil},
		{"long tick over", r, long("100.01"), over(name, "AAPL", "10000", "10001")},
		{"short tick under", r, short("99.99"), nil},
		{"short at the limit", r, short("100"), nil},
		{"short tick over", r, short("100.01"), over(name, "AAPL", "10000", "10001")},
		{"reducing is never refused", r,
			withPosition(intent(limitOrder(broker.Sell, "AAPL", "10", "500")), "90", "0", "0"), nil},
	})
}

func TestMaxGrossExposure(t *testing.T) {
	r := risk.MaxGrossExposure{Limit: dec("20000")}
	const name = "max gross exposure"
	in := func(p, otherQty string) risk.Intent {
		i := intent(limitOrder(broker.Buy, "AAPL", "100", p))
		i.Others = []risk.Holding{{Symbol: "MSFT", Quantity: dec(otherQty), Mark: dec("200")}}
		return i
	}
	reducing := withPosition(intent(limitOrder(broker.Sell, "AAPL", "10", "100")), "100", "0", "0")
	reducing.Others = []risk.Holding{{Symbol: "MSFT", Quantity: dec("500"), Mark: dec("200")}}
	runRuleCases(t, []ruleCase{
		{"tick under", r, in("99.99", "50"), nil},
		{"at the limit", r, in("100", "50"), nil},
		{"tick over", r, in("100.01", "50"), over(name, "", "20000", "20001")},
		{"a short elsewhere counts as exposure", r, in("100.01", "-50"), over(name, "", "20000", "20001")},
		{"reducing is never refused", r, reducing, nil},
	})
}

func TestMaxConcentration(t *testing.T) {
	r := risk.MaxConcentration{Percent: dec("10")}
	const name = "max concentration"
	in := func(side broker.Side, p, equity string) risk.Intent {
		i := intent(limitOrder(side, "AAPL", "100", p))
		i.Account.Equity = dec(equity)
		return i
	}
	runRuleCases(t, []ruleCase{
		{"long tick under", r, in(broker.Buy, "99.99", "100000"), nil},
		{"long at the limit", r, in(broker.Buy, "100", "100000"), nil},
		{"long tick over", r, in(broker.Buy, "100.01", "100000"), over(name, "AAPL", "10%", "10.001%")},
		{"short tick over", r, in(broker.SellShort, "100.01", "100000"), over(name, "AAPL", "10%", "10.001%")},
		{"no equity", r, in(broker.Buy, "1", "0"), over(name, "AAPL", "10%", "")},
	})
}

func TestMaxDailyLoss(t *testing.T) {
	r := risk.MaxDailyLoss{Limit: dec("1000")}
	in := func(realized, unrealized string) risk.Intent {
		i := intent(limitOrder(broker.Buy, "AAPL", "1", "10"))
		i.PnL = risk.PnL{Realized: dec(realized), Unrealized: dec(unrealized)}
		return i
	}
	runRuleCases(t, []ruleCase{
		{"tick under", r, in("-600", "-399.99"), nil},
		{"at the limit", r, in("-600", "-400"), nil},
		{"tick over", r, in("-600", "-400.01"), over("max daily loss", "", "1000", "1000.01")},
		{"unrealized gain offsets", r, in("-1500", "600"), nil},
		{"profit", r, in("5000", "0"), nil},
	})
	if !r.HaltsOnBreach() {
		t.Error("MaxDailyLoss.HaltsOnBreach() = false, want true")
	}
}

func TestMaxOrdersPerDay(t *testing.T) {
	r := risk.MaxOrdersPerDay{Limit: 5}
	in := func(n int) risk.Intent {
		i := intent(limitOrder(broker.Buy, "AAPL", "1", "10"))
		i.OrdersToday = n
		return i
	}
	runRuleCases(t, []ruleCase{
		{"one under", r, in(3), nil},
		{"at the limit", r, in(4), nil},
		{"one over", r, in(5), over("max orders per day", "", "5", "6")},
	})
}

func TestMaxOrderRate(t *testing.T) {
	r := risk.MaxOrderRate{Limit: 3, Window: time.Second}
	in := func(ago ...time.Duration) risk.Intent {
		i := intent(limitOrder(broker.Buy, "AAPL", "1", "10"))
		for _, d := range ago {
			i.OrderTimes = append(i.OrderTimes, t0.Add(-d))
		}
		return i
	}
	ms := time.Millisecond
	runRuleCases(t, []ruleCase{
		{"one under", r, in(500 * ms), nil},
		{"at the limit", r, in(999*ms, 1*ms), nil},
		{"one over", r, in(999*ms, 500*ms, 1*ms), over("max order rate", "", "3 per 1s", "4")},
		{"an order exactly a window old has left it", r, in(1000*ms, 500*ms, 1*ms), nil},
	})
}

func TestPriceBand(t *testing.T) {
	r := risk.PriceBand{Percent: dec("5"), MaxQuoteAge: 2 * time.Second}
	q := quote("AAPL", "99", "101", "100", t0)
	limit := func(side broker.Side, p string) risk.Intent {
		return withQuote(intent(limitOrder(side, "AAPL", "1", p)), q)
	}
	stopLimit := withQuote(intent(limitOrder(broker.Sell, "AAPL", "1", "94.99")), q)
	stopLimit.Request.Type, stopLimit.Request.StopPrice = broker.StopLimit, dec("105.01")
	market := func(age time.Duration) risk.Intent {
		qq := q
		qq.Time = t0.Add(-age)
		return withQuote(intent(marketOrder(broker.Buy, "AAPL", "1")), qq)
	}
	noLast := q
	noLast.Last = dec("0")
	const name = "price band"
	runRuleCases(t, []ruleCase{
		{"above: tick under", r, limit(broker.Buy, "104.99"), nil},
		{"above: at the band", r, limit(broker.Buy, "105"), nil},
		{"above: tick over", r, limit(broker.Buy, "105.01"), over(name, "AAPL", "5%", "5.01%")},
		{"below: tick under", r, limit(broker.Sell, "95.01"), nil},
		{"below: at the band", r, limit(broker.Sell, "95"), nil},
		{"below: tick over", r, limit(broker.Sell, "94.99"), over(name, "AAPL", "5%", "5.01%")},
		{"stop and limit both out", r, stopLimit, append(over(name, "AAPL", "5%", "5.01%"), over(name, "AAPL", "5%", "5.01%")...)},
		{"midpoint without a last", r, withQuote(intent(limitOrder(broker.Buy, "AAPL", "1", "105.01")), noLast),
			over(name, "AAPL", "5%", "5.01%")},
		{"market: quote at the age limit", r, market(2 * time.Second), nil},
		{"market: quote a nanosecond too old", r, market(2*time.Second + 1),
			[]*errors.RiskError{{Rule: name, Symbol: "AAPL", Limit: "2s", Actual: "2.000000001s", Kind: errors.ErrRiskDataUnavailable}}},
		{"market: no own age limit", risk.PriceBand{Percent: dec("5")}, market(time.Hour), nil},
	})
}

func TestSymbolAndAssetClassLists(t *testing.T) {
	allow := risk.NewSymbolAllowList("AAPL", "msft")
	deny := risk.NewSymbolDenyList("GME")
	classes := risk.AssetClassAllowList{Classes: []broker.AssetClass{broker.Equity, broker.Option}}
	in := func(symbol string) risk.Intent { return intent(limitOrder(broker.Buy, symbol, "1", "10")) }
	crypto := in("BTC-USD")
	crypto.Request.Instrument.AssetClass = broker.Crypto
	runRuleCases(t, []ruleCase{
		{"allowed", allow, in("AAPL"), nil},
		{"allowed in another case", allow, in("MSFT"), nil},
		{"not allowed", allow, in("TSLA"), over("symbol allow list", "TSLA", "allowed symbols only", "TSLA")},
		{"not denied", deny, in("AAPL"), nil},
		{"denied", deny, in("GME"), over("symbol deny list", "GME", "denied symbols excluded", "GME")},
		{"denied in another case", deny, in("gme"), over("symbol deny list", "gme", "denied symbols excluded", "gme")},
		{"asset class allowed", classes, in("AAPL"), nil},
		{"asset class refused", classes, crypto, over("asset classes", "BTC-USD", "equity,option", "crypto")},
	})
}

func TestRuleValidation(t *testing.T) {
	type validator interface{ Validate() error }
	for _, r := range []risk.Rule{
		risk.MaxOrderQuantity{}, risk.MaxOrderNotional{Limit: dec("-1")}, risk.MaxPositionQuantity{},
		risk.MaxPositionNotional{}, risk.MaxGrossExposure{}, risk.MaxConcentration{Percent: dec("100.01")},
		risk.MaxDailyLoss{}, risk.MaxOrdersPerDay{}, risk.MaxOrderRate{Limit: 1},
		risk.PriceBand{Percent: dec("1"), MaxQuoteAge: -1}, risk.SymbolAllowList{}, risk.SymbolDenyList{},
		risk.AssetClassAllowList{}, risk.AssetClassAllowList{Classes: []broker.AssetClass{0}},
	} {
		err := r.(validator).Validate()
		if !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s %+v: Validate() = %v, want ErrConfiguration", r.Name(), r, err)
		}
	}
}
