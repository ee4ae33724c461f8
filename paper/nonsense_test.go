package paper_test

import (
	"context"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// wantTyped fails unless err is a classified *errors.BrokerError of the paper
// broker.
func wantTyped(t *testing.T, what string, err error) {
	t.Helper()
	var be *errors.BrokerError
	if err == nil || errors.KindOf(err) == "" || !errors.As(err, &be) || be.Broker != paper.Name {
		t.Errorf("%s: error %v, want a classified paper *errors.BrokerError", what, err)
	}
}

func TestNonsenseInput(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{}, "AAPL", "100")
	huge := decimal.New(1, 2_000_000_000)
	tiny := decimal.New(1, -2_000_000_000)
	requests := map[string]broker.OrderRequest{
		"zero value":           {},
		"enums out of range":   {ClientOrderID: "a", Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: 200}, Side: 99, Type: 77, TimeInForce: 55, Quantity: d("1")},
		"huge quantity":        {ClientOrderID: "a", Instrument: aapl, Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: huge},
		"huge negative":        {ClientOrderID: "a", Instrument: aapl, Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: huge.Neg()},
		"tiny price":           {ClientOrderID: "a", Instrument: aapl, Side: broker.Buy, Type: broker.Limit, TimeInForce: broker.Day, Quantity: d("1"), LimitPrice: tiny},
		"absurd but valid qty": {ClientOrderID: "a", Instrument: aapl, Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: d("1e20")},
		"control characters":   {ClientOrderID: "a\x00b", Instrument: broker.Instrument{Symbol: "AA\nPL", AssetClass: broker.Equity}, Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: d("1")},
		"long client id":       {ClientOrderID: strings.Repeat("x", 10_000), Instrument: aapl, Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: d("1")},
		"trailing both trails": {ClientOrderID: "a", Instrument: aapl, Side: broker.Sell, Type: broker.TrailingStop, TimeInForce: broker.Day, Quantity: d("1"), TrailAmount: d("1"), TrailPercent: d("1")},
	}
	for name, r := range requests {
		_, err := b.PlaceOrder(ctx, r)
		wantTyped(t, "PlaceOrder "+name, err)
		_, err = b.ReplaceOrder(ctx, "P000000001", r)
		wantTyped(t, "ReplaceOrder "+name, err)
	}
	for _, id := range []string{"", "\x00", strings.Repeat("9", 100_000), "P-1", "P000000000"} {
		_, err := b.GetOrder(ctx, id)
		wantTyped(t, "GetOrder", err)
		wantTyped(t, "CancelOrder", b.CancelOrder(ctx, id))
		wantTyped(t, "Execute", b.Execute(ctx, id, d("1"), d("1")))
	}
	for name, p := range map[string]decimal.Decimal{"zero": {}, "negative": d("-1"), "huge": huge, "tiny": tiny} {
		wantTyped(t, "SetPrice "+name, b.SetPrice("AAPL", p))
	}
	for _, sym := range []string{"", "A B", strings.Repeat("A", 65), "\xff"} {
		wantTyped(t, "SetPrice symbol "+sym, b.SetPrice(sym, d("1")))
	}
	id := place(t, b, limit(aapl, broker.Buy, "2", "90"))
	for name, args := range map[string][2]decimal.Decimal{
		"zero qty": {decimal.Zero, d("90")}, "over the remaining": {d("3"), d("90")},
		"negative price": {d("1"), d("-90")}, "huge qty": {huge, d("90")}, "tiny price": {d("1"), tiny},
	} {
		wantTyped(t, "Execute "+name, b.Execute(ctx, id, args[0], args[1]))
	}
	if quotes, err := b.Quotes(ctx, "", "\x00", "AAPL", "AAPL"); err != nil || len(quotes) != 1 {
		t.Errorf("Quotes of nonsense and a repeated symbol = %v, %v; want one AAPL quote", quotes, err)
	}
	if open, _ := b.OpenOrders(ctx); len(open) != 1 {
		t.Errorf("nonsense placed orders: %d open, want 1", len(open))
	}
}

func FuzzPlaceOrder(f *testing.F) {
	f.Add("abc123", "AAPL", uint8(1), uint8(1), uint8(2), uint8(1), "1", "99.5", "", "", "")
	f.Add("", "", uint8(0), uint8(0), uint8(0), uint8(0), "", "", "", "", "")
	f.Add("X", "AAPL", uint8(1), uint8(2), uint8(5), uint8(3), "-1e10000", "1e-10000", "NaN", "5", "50")
	f.Add("Y", "BTC-USD", uint8(3), uint8(3), uint8(4), uint8(4), "0.00000001", "1", "2", "", "")
	f.Fuzz(func(t *testing.T, cid, sym string, class, side, typ, tif uint8, qty, lim, stop, trailAmt, trailPct string) {
		b := newBroker(t, paper.Config{AllowShort: true}, "AAPL", "100", "BTC-USD", "50000")
		parse := func(s string) decimal.Decimal {
			v, err := decimal.NewFromString(s)
			if err != nil {
				return decimal.Zero
			}
			return v
		}
		r := broker.OrderRequest{ClientOrderID: cid, Instrument: broker.Instrument{Symbol: sym, AssetClass: broker.AssetClass(class)},
			Side: broker.Side(side), Type: broker.OrderType(typ), TimeInForce: broker.TimeInForce(tif),
			Quantity: parse(qty), LimitPrice: parse(lim), StopPrice: parse(stop), TrailAmount: parse(trailAmt), TrailPercent: parse(trailPct)}
		ack, err := b.PlaceOrder(context.Background(), r)
		if err != nil {
			wantTyped(t, "PlaceOrder", err)
			return
		}
		o, err := b.GetOrder(context.Background(), ack.OrderID)
		if err != nil {
			t.Fatalf("GetOrder of a placed order: %v", err)
		}
		if o.FilledQuantity.GreaterThan(o.Quantity) {
			t.Errorf("overfilled: %s of %s", o.FilledQuantity, o.Quantity)
		}
	})
}
