package risk_test

import (
	"context"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// FuzzCheck judges arbitrary numbers with every rule: the engine never
// panics, every refusal is classifiable, and the order quantity rule refuses
// exactly the quantities above its limit.
func FuzzCheck(f *testing.F) {
	f.Add("10", "100", "0", "0", "100", "1000000", "-50", true)
	f.Add("101", "105.01", "-90", "10", "100", "100000", "-1000.01", false)
	f.Add("0.0001", "0.0001", "1e9", "0", "0.0001", "0", "1e12", true)
	f.Add("1000", "1", "-1000", "1000", "99999999", "-5", "0", false)
	parse := func(s string) (decimal.Decimal, bool) {
		d, err := decimal.NewFromString(s)
		return d, err == nil && d.Abs().LessThan(decimal.New(1, 30)) && d.Exponent() > -30
	}
	f.Fuzz(func(t *testing.T, qty, price, pos, pending, last, equity, pnl string, buy bool) {
		var v [7]decimal.Decimal
		for i, s := range []string{qty, price, pos, pending, last, equity, pnl} {
			d, ok := parse(s)
			if !ok {
				t.Skip()
			}
			v[i] = d
		}
		if !v[0].IsPositive() || !v[1].IsPositive() || v[3].IsNegative() {
			t.Skip() // an invalid request is refused by Validate, tested elsewhere
		}
		side := broker.SellShort
		if buy {
			side = broker.Buy
		}
		req := limitOrder(side, "AAPL", v[0].String(), v[1].String())
		in := risk.Intent{Request: req, Time: t0, OrdersToday: 3,
			Position: risk.Holding{Symbol: "AAPL", Quantity: v[2], PendingBuy: v[3], PendingSell: v[3]},
			Others:   []risk.Holding{{Symbol: "MSFT", Quantity: v[2].Neg(), Mark: v[4].Abs()}},
			Quote:    broker.Quote{Symbol: "AAPL", Last: v[4], Bid: v[4], Ask: v[4], Time: t0},
			Account:  broker.Account{Equity: v[5]},
			PnL:      risk.PnL{Realized: v[6]},
		}
		e := newEngine(t, fineSources(), newClock(t0), allRules()...)
		err := e.Check(context.Background(), in)
		quantityRefused := false
		for _, re := range riskErrors(err) {
			if errors.KindOf(re) == "" {
				t.Errorf("unclassifiable refusal %v", re)
			}
			if re.Rule == "max order quantity" {
				quantityRefused = true
			}
		}
		if over := v[0].GreaterThan(dec("1000")); quantityRefused != over {
			t.Errorf("quantity %s: refused %v, want %v (%v)", v[0], quantityRefused, over, err)
		}
	})
}
