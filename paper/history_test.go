package paper_test

import (
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

func TestPreviewOrderEstimatesWithTheFeeModel(t *testing.T) {
	b, err := paper.New(paper.Config{FeeBps: decimal.NewFromInt(10), MinFee: decimal.NewFromInt(1),
		Cash: decimal.NewFromInt(5000)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetPrice("AAPL", decimal.NewFromInt(100)); err != nil {
		t.Fatal(err)
	}
	aapl := broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
	tests := []struct {
		name        string
		req         broker.OrderRequest
		fees, total string
		rejected    bool
	}{
		{"limit buy", broker.OrderRequest{ClientOrderID: "p1", Instrument: aapl, Side: broker.Buy, Type: broker.Limit,
			Quantity: decimal.NewFromInt(20), LimitPrice: decimal.NewFromInt(99), TimeInForce: broker.Day},
			"1.98", "1981.98", false},
		{"market buy at the last price, min fee", broker.OrderRequest{ClientOrderID: "p2", Instrument: aapl,
			Side: broker.Buy, Type: broker.Market, Quantity: decimal.NewFromInt(5), TimeInForce: broker.Day},
			"1", "501", false},
		{"beyond buying power", broker.OrderRequest{ClientOrderID: "p3", Instrument: aapl, Side: broker.Buy,
			Type: broker.Limit, Quantity: decimal.NewFromInt(100), LimitPrice: decimal.NewFromInt(100),
			TimeInForce: broker.Day}, "10", "10010", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := b.PreviewOrder(t.Context(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if !p.Fees.Equal(decimal.RequireFromString(tc.fees)) || !p.Total.Equal(decimal.RequireFromString(tc.total)) ||
				(len(p.Rejects) > 0) != tc.rejected {
				t.Errorf("preview = fees %s, total %s, rejects %q; want %s, %s, rejected %v",
					p.Fees, p.Total, p.Rejects, tc.fees, tc.total, tc.rejected)
			}
		})
	}
	if open, _ := b.OpenOrders(t.Context()); len(open) != 0 {
		t.Errorf("a preview placed %d orders", len(open))
	}
}

func TestOrdersFiltersHistory(t *testing.T) {
	b, err := paper.New(paper.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for sym, px := range map[string]int64{"AAPL": 100, "MSFT": 300} {
		if err := b.SetPrice(sym, decimal.NewFromInt(px)); err != nil {
			t.Fatal(err)
		}
	}
	place := func(id, sym string, typ broker.OrderType, limit int64) string {
		ack, err := b.PlaceOrder(t.Context(), broker.OrderRequest{ClientOrderID: id,
			Instrument: broker.Instrument{Symbol: sym, AssetClass: broker.Equity}, Side: broker.Buy, Type: typ,
			Quantity: decimal.NewFromInt(1), LimitPrice: decimal.NewFromInt(limit), TimeInForce: broker.GTC})
		if err != nil {
			t.Fatal(err)
		}
		return ack.OrderID
	}
	resting := place("h1", "AAPL", broker.Limit, 90)
	place("h2", "AAPL", broker.Market, 0)
	cancelled := place("h3", "MSFT", broker.Limit, 200)
	if err := b.CancelOrder(t.Context(), cancelled); err != nil {
		t.Fatal(err)
	}
	ids := func(q broker.OrderQuery) []string {
		os, err := b.Orders(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range os {
			out = append(out, o.ClientOrderID)
			if o.Status.Terminal() && !o.LeavesQuantity.IsZero() {
				t.Errorf("%s is %s with leaves %s", o.OrderID, o.Status, o.LeavesQuantity)
			}
		}
		return out
	}
	for name, tc := range map[string]struct {
		q    broker.OrderQuery
		want []string
	}{
		"all":      {broker.OrderQuery{}, []string{"h1", "h2", "h3"}},
		"open":     {broker.OrderQuery{Filter: broker.FilterOpen}, []string{"h1"}},
		"filled":   {broker.OrderQuery{Filter: broker.FilterFilled}, []string{"h2"}},
		"canceled": {broker.OrderQuery{Filter: broker.FilterCanceled}, []string{"h3"}},
		"symbol":   {broker.OrderQuery{Symbol: "MSFT"}, []string{"h3"}},
	} {
		if got := ids(tc.q); len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
	_ = resting
}
