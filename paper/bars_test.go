package paper_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var (
	spy     = broker.Instrument{Symbol: "SPY", AssetClass: broker.Equity}
	barT0   = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)
	cmpDecs = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })
)

// ohlc is bar i (one minute each from barT0) of SPY.
func ohlc(i int, o, h, l, c, v string) broker.Bar {
	return broker.Bar{Symbol: "SPY", Interval: broker.OneMinute, Start: barT0.Add(time.Duration(i) * time.Minute),
		Open: d(o), High: d(h), Low: d(l), Close: d(c), Volume: d(v)}
}

func applyBar(t *testing.T, b *paper.Broker, bar broker.Bar) {
	t.Helper()
	if err := b.ApplyBar(bar); err != nil {
		t.Fatal(err)
	}
}

// fillOf is what a test checks of a fill.
type fillOf struct {
	Qty, Price, Fee decimal.Decimal
	Time            time.Time
}

func fillsOf(o broker.Order) []fillOf {
	var out []fillOf
	for _, f := range o.Fills {
		out = append(out, fillOf{f.Quantity, f.Price, f.Fee, f.Time})
	}
	return out
}

func TestApplyBarFills(t *testing.T) {
	first := ohlc(0, "100", "101", "99", "100", "1000")
	start1, end1 := barT0.Add(time.Minute), barT0.Add(2*time.Minute)
	req := func(side broker.Side, typ broker.OrderType, qty, limit, stop string) broker.OrderRequest {
		r := broker.OrderRequest{Instrument: spy, Side: side, Type: typ, Quantity: d(qty), TimeInForce: broker.GTC}
		if limit != "" {
			r.LimitPrice = d(limit)
		}
		if stop != "" {
			r.StopPrice = d(stop)
		}
		return r
	}
	tests := []struct {
		name   string
		cfg    paper.Config
		hold   string // SPY held before the order (bought on the first bar)
		req    broker.OrderRequest
		next   broker.Bar
		want   []fillOf
		status broker.Status
	}{
		{"market buy at the next open", paper.Config{}, "", req(broker.Buy, broker.Market, "10", "", ""),
			ohlc(1, "102", "103", "101", "102", "1000"), []fillOf{{d("10"), d("102"), d("0"), start1}}, broker.StatusFilled},
		{"market buy pays slippage", paper.Config{Bars: paper.BarFill{SlippageBps: d("5")}}, "", req(broker.Buy, broker.Market, "10", "", ""),
			ohlc(1, "102", "103", "101", "102", "1000"), []fillOf{{d("10"), d("102.051"), d("0"), start1}}, broker.StatusFilled},
		{"market sell pays slippage", paper.Config{Bars: paper.BarFill{SlippageBps: d("10")}}, "10", req(broker.Sell, broker.Market, "10", "", ""),
			ohlc(1, "102", "103", "101", "102", "1000"), []fillOf{{d("10"), d("101.898"), d("0"), start1}}, broker.StatusFilled},
		{"fees per notional and per order", paper.Config{FeeBps: d("10"), FeePerOrder: d("1")}, "", req(broker.Buy, broker.Market, "10", "", ""),
			ohlc(1, "100", "103", "99", "102", "1000"), []fillOf{{d("10"), d("100"), d("2"), start1}}, broker.StatusFilled},
		{"limit buy reached inside the bar fills at the limit", paper.Config{Bars: paper.BarFill{SlippageBps: d("5")}}, "", req(broker.Buy, broker.Limit, "10", "99.5", ""),
			ohlc(1, "100", "100.5", "99", "100", "1000"), []fillOf{{d("10"), d("99.5"), d("0"), end1}}, broker.StatusFilled},
		{"limit buy not reached rests", paper.Config{}, "", req(broker.Buy, broker.Limit, "10", "98", ""),
			ohlc(1, "100", "100.5", "98.01", "100", "1000"), nil, broker.StatusNew},
		{"limit buy gapped through fills at the limit, not better", paper.Config{}, "", req(broker.Buy, broker.Limit, "10", "99.5", ""),
			ohlc(1, "97", "98", "96", "97", "1000"), []fillOf{{d("10"), d("99.5"), d("0"), start1}}, broker.StatusFilled},
		{"limit sell reached", paper.Config{}, "10", req(broker.Sell, broker.Limit, "10", "101.5", ""),
			ohlc(1, "100", "101.5", "99", "100", "1000"), []fillOf{{d("10"), d("101.5"), d("0"), end1}}, broker.StatusFilled},
		{"sell stop reached inside the bar fills at the stop", paper.Config{}, "10", req(broker.Sell, broker.Stop, "10", "", "98"),
			ohlc(1, "99.5", "100", "97", "97.5", "1000"), []fillOf{{d("10"), d("98"), d("0"), end1}}, broker.StatusFilled},
		{"sell stop gapped through fills at the open", paper.Config{}, "10", req(broker.Sell, broker.Stop, "10", "", "98"),
			ohlc(1, "95", "96", "94", "95.5", "1000"), []fillOf{{d("10"), d("95"), d("0"), start1}}, broker.StatusFilled},
		{"sell stop gapped through pays slippage", paper.Config{Bars: paper.BarFill{SlippageBps: d("100")}}, "10", req(broker.Sell, broker.Stop, "10", "", "98"),
			ohlc(1, "95", "96", "94", "95.5", "1000"), []fillOf{{d("10"), d("94.05"), d("0"), start1}}, broker.StatusFilled},
		{"sell stop not reached rests", paper.Config{}, "10", req(broker.Sell, broker.Stop, "10", "", "98"),
			ohlc(1, "99", "100", "98.01", "99", "1000"), nil, broker.StatusNew},
		{"buy stop gapped through fills at the open", paper.Config{}, "", req(broker.Buy, broker.Stop, "10", "", "102"),
			ohlc(1, "104", "105", "103", "104", "1000"), []fillOf{{d("10"), d("104"), d("0"), start1}}, broker.StatusFilled},
		{"stop-limit triggered within its limit fills at the stop", paper.Config{}, "10", req(broker.Sell, broker.StopLimit, "10", "97", "98"),
			ohlc(1, "99", "99", "96", "96", "1000"), []fillOf{{d("10"), d("98"), d("0"), end1}}, broker.StatusFilled},
		{"stop-limit gapped past its limit rests as a limit", paper.Config{}, "10", req(broker.Sell, broker.StopLimit, "10", "97", "98"),
			ohlc(1, "95", "96.5", "94", "95", "1000"), nil, broker.StatusNew},
		{"stop-limit gapped past its limit fills if the bar comes back", paper.Config{}, "10", req(broker.Sell, broker.StopLimit, "10", "97", "98"),
			ohlc(1, "95", "97.5", "94", "95", "1000"), []fillOf{{d("10"), d("97"), d("0"), end1}}, broker.StatusFilled},
		{"volume fraction fills part, oldest first", paper.Config{Bars: paper.BarFill{VolumeFraction: d("0.1")}}, "", req(broker.Buy, broker.Market, "30", "", ""),
			ohlc(1, "102", "103", "101", "102", "200"), []fillOf{{d("20"), d("102"), d("0"), start1}}, broker.StatusPartiallyFilled},
		{"IOC meets one bar, then is cancelled", paper.Config{Bars: paper.BarFill{VolumeFraction: d("0.1")}}, "",
			broker.OrderRequest{Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: d("30"), TimeInForce: broker.IOC},
			ohlc(1, "102", "103", "101", "102", "200"), []fillOf{{d("20"), d("102"), d("0"), start1}}, broker.StatusCanceled},
		{"FOK not fillable in full fills nothing", paper.Config{Bars: paper.BarFill{VolumeFraction: d("0.1")}}, "",
			broker.OrderRequest{Instrument: spy, Side: broker.Buy, Type: broker.Market, Quantity: d("30"), TimeInForce: broker.FOK},
			ohlc(1, "102", "103", "101", "102", "200"), nil, broker.StatusCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			b := newBroker(t, tt.cfg)
			applyBar(t, b, first)
			if tt.hold != "" {
				if err := b.Execute(ctx, placeAck(t, b, broker.OrderRequest{ClientOrderID: "hold", Instrument: spy, Side: broker.Buy,
					Type: broker.Limit, LimitPrice: d("100"), Quantity: d(tt.hold), TimeInForce: broker.GTC}), d(tt.hold), d("100")); err != nil {
					t.Fatal(err)
				}
			}
			tt.req.ClientOrderID = "order"
			id := placeAck(t, b, tt.req)
			if o, _ := b.GetOrder(ctx, id); len(o.Fills) != 0 {
				t.Fatalf("the order filled at placement: %+v", o.Fills)
			}
			applyBar(t, b, tt.next)
			o, err := b.GetOrder(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, fillsOf(o), cmpDecs); diff != "" {
				t.Errorf("fills (-want +got):\n%s", diff)
			}
			if o.Status != tt.status {
				t.Errorf("status %s, want %s", o.Status, tt.status)
			}
			if p, _ := b.Price("SPY"); !p.Equal(tt.next.Close) {
				t.Errorf("last price %s, want the close %s", p, tt.next.Close)
			}
		})
	}
}

func placeAck(t *testing.T, b *paper.Broker, req broker.OrderRequest) string {
	t.Helper()
	ack, err := b.PlaceOrder(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return ack.OrderID
}

// A partly filled market order takes the rest at the next bar's open, and
// the fixed fee is charged on its first fill only.
func TestApplyBarPartialCarriesOver(t *testing.T) {
	b := newBroker(t, paper.Config{FeePerOrder: d("1"), Bars: paper.BarFill{VolumeFraction: d("0.5")}})
	applyBar(t, b, ohlc(0, "100", "101", "99", "100", "1000"))
	id := placeAck(t, b, broker.OrderRequest{ClientOrderID: "m", Instrument: spy, Side: broker.Buy, Type: broker.Market,
		Quantity: d("15"), TimeInForce: broker.GTC})
	applyBar(t, b, ohlc(1, "102", "103", "101", "102", "20"))
	applyBar(t, b, ohlc(2, "104", "105", "103", "104", "20"))
	o, _ := b.GetOrder(context.Background(), id)
	want := []fillOf{{d("10"), d("102"), d("1"), barT0.Add(time.Minute)}, {d("5"), d("104"), d("0"), barT0.Add(2 * time.Minute)}}
	if diff := cmp.Diff(want, fillsOf(o), cmpDecs); diff != "" {
		t.Errorf("fills (-want +got):\n%s", diff)
	}
	acct, _ := b.Account(context.Background())
	if wantCash := d("100000").Sub(d("1020")).Sub(d("520")).Sub(d("1")); !acct.Cash.Equal(wantCash) {
		t.Errorf("cash %s, want %s", acct.Cash, wantCash)
	}
}

// A trailing stop's trail moves with each bar's high, and a bar that
// reaches the stop it had fills there; a bar never both moves and triggers.
func TestApplyBarTrailingStop(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{})
	applyBar(t, b, ohlc(0, "100", "100", "100", "100", "1000"))
	if err := b.Execute(ctx, placeAck(t, b, broker.OrderRequest{ClientOrderID: "hold", Instrument: spy, Side: broker.Buy,
		Type: broker.Limit, LimitPrice: d("100"), Quantity: d("1"), TimeInForce: broker.GTC}), d("1"), d("100")); err != nil {
		t.Fatal(err)
	}
	id := placeAck(t, b, broker.OrderRequest{ClientOrderID: "trail", Instrument: spy, Side: broker.Sell, Type: broker.TrailingStop,
		TrailAmount: d("2"), Quantity: d("1"), TimeInForce: broker.GTC})
	applyBar(t, b, ohlc(1, "100", "105", "99", "104", "1000")) // stop 98 not reached; the trail moves to 103
	if o, _ := b.GetOrder(ctx, id); len(o.Fills) != 0 || !o.StopPrice.Equal(d("103")) {
		t.Fatalf("after bar 1: fills %v, stop %s, want none and 103", o.Fills, o.StopPrice)
	}
	applyBar(t, b, ohlc(2, "104", "104", "102", "102", "1000"))
	o, _ := b.GetOrder(ctx, id)
	want := []fillOf{{d("1"), d("103"), d("0"), barT0.Add(3 * time.Minute)}}
	if diff := cmp.Diff(want, fillsOf(o), cmpDecs); diff != "" {
		t.Errorf("fills (-want +got):\n%s", diff)
	}
}

func TestApplyBarRefuses(t *testing.T) {
	good := ohlc(0, "100", "101", "99", "100", "1000")
	tests := []struct {
		name string
		bar  broker.Bar
		want string
	}{
		{"provisional", func() broker.Bar { b := ohlc(1, "100", "101", "99", "100", "1"); b.Provisional = true; return b }(), "provisional"},
		{"high below close", ohlc(1, "100", "101", "99", "102", "1"), "not within"},
		{"zero low", ohlc(1, "100", "101", "0", "100", "1"), "not positive"},
		{"negative volume", ohlc(1, "100", "101", "99", "100", "-1"), "negative"},
		{"same start", ohlc(0, "100", "101", "99", "100", "1"), "before the previous bar ends"},
		{"other interval", func() broker.Bar { b := ohlc(1, "100", "101", "99", "100", "1"); b.Interval = broker.OneDay; return b }(), "earlier bars 1m"},
		{"unknown interval", func() broker.Bar { b := ohlc(1, "100", "101", "99", "100", "1"); b.Interval = "7m"; return b }(), "unknown interval"},
		{"no symbol", func() broker.Bar { b := ohlc(1, "100", "101", "99", "100", "1"); b.Symbol = ""; return b }(), "symbol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, paper.Config{})
			applyBar(t, b, good)
			err := b.ApplyBar(tt.bar)
			if !errors.Is(err, errors.ErrInvalidOrder) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ApplyBar = %v, want ErrInvalidOrder saying %q", err, tt.want)
			}
			got, _ := b.Bars(context.Background(), broker.BarQuery{Symbol: "SPY", Interval: broker.OneMinute, From: barT0, To: barT0.Add(time.Hour)})
			if len(got) != 1 {
				t.Errorf("a refused bar changed the history: %d bars", len(got))
			}
		})
	}
}

func TestBrokerBars(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{})
	if caps := b.Capabilities(); len(caps.BarIntervals) != 0 {
		t.Errorf("BarIntervals before any bar: %v", caps.BarIntervals)
	}
	var all []broker.Bar
	for i := range 5 {
		bar := ohlc(i, "100", "101", "99", "100", "1000")
		applyBar(t, b, bar)
		all = append(all, bar)
	}
	if diff := cmp.Diff([]broker.Interval{broker.OneMinute}, b.Capabilities().BarIntervals); diff != "" {
		t.Errorf("BarIntervals: %s", diff)
	}
	got, err := b.Bars(ctx, broker.BarQuery{Symbol: "SPY", Interval: broker.OneMinute, From: barT0.Add(time.Minute), To: barT0.Add(3 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all[1:3], got, cmpDecs); diff != "" {
		t.Errorf("Bars (-want +got):\n%s", diff)
	}
	if _, err := b.Bars(ctx, broker.BarQuery{Symbol: "SPY", Interval: broker.OneDay, From: barT0, To: barT0.Add(time.Hour)}); !errors.Is(err, errors.ErrNotSupported) {
		t.Errorf("another interval: %v, want ErrNotSupported", err)
	}
	if _, err := b.Bars(ctx, broker.BarQuery{Symbol: "SPY", Interval: broker.OneMinute, From: barT0, To: barT0}); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("empty range: %v, want ErrInvalidOrder", err)
	}
	if got, err := b.Bars(ctx, broker.BarQuery{Symbol: "QQQ", Interval: broker.OneMinute, From: barT0, To: barT0.Add(time.Hour)}); err != nil || len(got) != 0 {
		t.Errorf("unknown symbol: %v, %v", got, err)
	}
}

func TestBarFillConfig(t *testing.T) {
	for name, cfg := range map[string]paper.Config{
		"negative slippage":      {Bars: paper.BarFill{SlippageBps: d("-1")}},
		"volume fraction over 1": {Bars: paper.BarFill{VolumeFraction: d("1.5")}},
		"negative per-order fee": {FeePerOrder: d("-1")},
	} {
		if _, err := paper.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: New = %v, want ErrConfiguration", name, err)
		}
	}
}
