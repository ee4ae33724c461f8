package paper_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var (
	btc   = broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}
	epoch = time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC)
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// newBroker returns a paper broker on a fake clock with the given prices
// ("SYM", "price", ...).
func newBroker(t testing.TB, cfg paper.Config, prices ...string) *paper.Broker {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = clocktest.New(epoch)
	}
	b, err := paper.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(prices); i += 2 {
		setPrice(t, b, prices[i], prices[i+1])
	}
	return b
}

func setPrice(t testing.TB, b *paper.Broker, sym, p string) {
	t.Helper()
	if err := b.SetPrice(sym, d(p)); err != nil {
		t.Fatal(err)
	}
}

func req(in broker.Instrument, side broker.Side, typ broker.OrderType, qty string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(), Instrument: in, Side: side,
		Type: typ, Quantity: d(qty), TimeInForce: broker.GTC}
}

func limit(in broker.Instrument, side broker.Side, qty, price string) broker.OrderRequest {
	r := req(in, side, broker.Limit, qty)
	r.LimitPrice = d(price)
	return r
}

func place(t testing.TB, b broker.Broker, r broker.OrderRequest) string {
	t.Helper()
	ack, err := b.PlaceOrder(context.Background(), r)
	if err != nil {
		t.Fatalf("PlaceOrder: %v", err)
	}
	return ack.OrderID
}

func get(t testing.TB, b broker.Broker, id string) broker.Order {
	t.Helper()
	o, err := b.GetOrder(context.Background(), id)
	if err != nil {
		t.Fatalf("GetOrder(%s): %v", id, err)
	}
	return o
}

// fillSummary is what the trigger tests compare: status, filled quantity,
// and the fill prices.
func fillSummary(o broker.Order) string {
	s := fmt.Sprintf("%s %s", o.Status, o.FilledQuantity)
	for _, f := range o.Fills {
		s += " @" + f.Price.String()
	}
	return s
}

func TestOrderTypesTriggerAndFill(t *testing.T) {
	stop := func(side broker.Side, stopPrice string) broker.OrderRequest {
		r := req(aapl, side, broker.Stop, "1")
		r.StopPrice = d(stopPrice)
		return r
	}
	stopLimit := func(side broker.Side, stopPrice, limitPrice string) broker.OrderRequest {
		r := stop(side, stopPrice)
		r.Type, r.LimitPrice = broker.StopLimit, d(limitPrice)
		return r
	}
	trailing := func(side broker.Side, amount, percent string) broker.OrderRequest {
		r := req(aapl, side, broker.TrailingStop, "1")
		if amount != "" {
			r.TrailAmount = d(amount)
		} else {
			r.TrailPercent = d(percent)
		}
		return r
	}
	tests := []struct {
		name   string
		held   string // AAPL bought at 100 first, so that sells have something to sell
		req    broker.OrderRequest
		prices []string // AAPL prices after placement (it starts at 100)
		want   []string // fillSummary after placement and after each price
	}{
		{"market fills at once", "", req(aapl, broker.Buy, broker.Market, "1"), nil,
			[]string{"filled 1 @100"}},
		{"buy limit waits for the price", "", limit(aapl, broker.Buy, "1", "95"), []string{"96", "94.5"},
			[]string{"new 0", "new 0", "filled 1 @94.5"}},
		{"sell limit fills at or above", "1", limit(aapl, broker.Sell, "1", "105"), []string{"104.99", "105"},
			[]string{"new 0", "new 0", "filled 1 @105"}},
		{"buy stop triggers at or above the stop", "", stop(broker.Buy, "110"), []string{"109.99", "110"},
			[]string{"new 0", "new 0", "filled 1 @110"}},
		{"sell stop triggers at or below the stop", "1", stop(broker.Sell, "90"), []string{"90.01", "89"},
			[]string{"new 0", "new 0", "filled 1 @89"}},
		{"stop-limit triggers then waits for its limit", "1", stopLimit(broker.Sell, "90", "89.5"),
			[]string{"89", "89.4", "89.6"},
			[]string{"new 0", "new 0", "new 0", "filled 1 @89.6"}},
		{"trailing sell by amount follows the high", "1", trailing(broker.Sell, "5", ""),
			[]string{"110", "105.01", "105"},
			[]string{"new 0", "new 0", "new 0", "filled 1 @105"}},
		{"trailing buy by percent follows the low", "", trailing(broker.Buy, "", "10"),
			[]string{"80", "87.99", "88"},
			[]string{"new 0", "new 0", "new 0", "filled 1 @88"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, paper.Config{}, "AAPL", "100")
			if tt.held != "" {
				place(t, b, req(aapl, broker.Buy, broker.Market, tt.held))
			}
			id := place(t, b, tt.req)
			got := []string{fillSummary(get(t, b, id))}
			for _, p := range tt.prices {
				setPrice(t, b, "AAPL", p)
				got = append(got, fillSummary(get(t, b, id)))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestTrailingStopReportsItsCurrentStop(t *testing.T) {
	b := newBroker(t, paper.Config{}, "AAPL", "100")
	place(t, b, req(aapl, broker.Buy, broker.Market, "1"))
	r := req(aapl, broker.Sell, broker.TrailingStop, "1")
	r.TrailPercent = d("2.5")
	id := place(t, b, r)
	setPrice(t, b, "AAPL", "120")
	setPrice(t, b, "AAPL", "118")
	if got := get(t, b, id).StopPrice; !got.Equal(d("117")) {
		t.Errorf("stop = %s, want 117 (120 less 2.5%%)", got)
	}
}

func TestPartialFillsWithThinLiquidity(t *testing.T) {
	b := newBroker(t, paper.Config{MaxFillPerUpdate: d("3")}, "AAPL", "100")
	id := place(t, b, limit(aapl, broker.Buy, "7", "100"))
	var got []string
	for _, p := range []string{"99", "98"} {
		got = append(got, fillSummary(get(t, b, id)))
		setPrice(t, b, "AAPL", p)
	}
	o := get(t, b, id)
	got = append(got, fillSummary(o))
	want := []string{"partially_filled 3 @100", "partially_filled 6 @100 @99", "filled 7 @100 @99 @98"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	// (3×100 + 3×99 + 1×98) / 7 = 695/7, rounded to 16 places.
	if want := d("695").DivRound(d("7"), 16); !o.AvgFillPrice.Equal(want) {
		t.Errorf("AvgFillPrice = %s, want %s", o.AvgFillPrice, want)
	}
}

func TestTimeInForce(t *testing.T) {
	tests := []struct {
		name string
		tif  broker.TimeInForce
		max  string
		want string
	}{
		{"IOC fills what it can and cancels the rest", broker.IOC, "2", "canceled 2 @100"},
		{"FOK not fillable in full fills nothing", broker.FOK, "2", "canceled 0"},
		{"FOK fillable in full fills", broker.FOK, "0", "filled 5 @100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, paper.Config{MaxFillPerUpdate: d(tt.max)}, "AAPL", "100")
			r := limit(aapl, broker.Buy, "5", "101")
			r.TimeInForce = tt.tif
			if got := fillSummary(get(t, b, place(t, b, r))); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			open, _ := b.OpenOrders(context.Background())
			if len(open) != 0 {
				t.Errorf("OpenOrders = %d orders, want none", len(open))
			}
		})
	}
}

func TestCashPositionsAndPnL(t *testing.T) {
	b := newBroker(t, paper.Config{Cash: d("10000"), FeeBps: d("10"), MinFee: d("1")}, "AAPL", "100")
	ctx := context.Background()
	place(t, b, req(aapl, broker.Buy, broker.Market, "10")) // 1000, fee 1
	setPrice(t, b, "AAPL", "130")
	place(t, b, req(aapl, broker.Buy, broker.Market, "20")) // 2600, fee 2.6
	setPrice(t, b, "AAPL", "150")
	place(t, b, req(aapl, broker.Sell, broker.Market, "15")) // 2250, fee 2.25

	positions, err := b.Positions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Average cost 3600/30 = 120; selling 15 at 150 realizes 450 less fees 5.85.
	want := []broker.Position{{Instrument: aapl, Quantity: d("15"), AvgCost: d("120")}}
	if diff := cmp.Diff(want, positions, decimalEqual); diff != "" {
		t.Errorf("positions (-want +got)\n%s", diff)
	}
	realized, unrealized := b.PnL("AAPL")
	if !realized.Equal(d("444.15")) || !unrealized.Equal(d("450")) {
		t.Errorf("PnL = %s realized, %s unrealized; want 444.15, 450", realized, unrealized)
	}
	if got := b.RealizedPnL("AAPL"); !got.Equal(realized) {
		t.Errorf("RealizedPnL = %s, want %s", got, realized)
	}
	acct, err := b.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// 10000 - 1001 - 2602.6 + 2247.75
	if !acct.Cash.Equal(d("8644.15")) || !acct.Equity.Equal(d("10894.15")) {
		t.Errorf("account cash %s equity %s, want 8644.15 and 10894.15", acct.Cash, acct.Equity)
	}
	if !acct.Equity.Sub(d("10000")).Equal(realized.Add(unrealized)) {
		t.Errorf("equity change %s != realized + unrealized %s", acct.Equity.Sub(d("10000")), realized.Add(unrealized))
	}
}

var decimalEqual = cmp.Comparer(func(x, y decimal.Decimal) bool { return x.Equal(y) })

func TestShortSelling(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{AllowShort: true}, "AAPL", "100")
	place(t, b, req(aapl, broker.SellShort, broker.Market, "10"))
	setPrice(t, b, "AAPL", "80")
	place(t, b, req(aapl, broker.BuyToCover, broker.Market, "4"))
	positions, _ := b.Positions(ctx)
	want := []broker.Position{{Instrument: aapl, Quantity: d("-6"), AvgCost: d("100")}}
	if diff := cmp.Diff(want, positions, decimalEqual); diff != "" {
		t.Errorf("positions (-want +got)\n%s", diff)
	}
	realized, unrealized := b.PnL("AAPL")
	if !realized.Equal(d("80")) || !unrealized.Equal(d("120")) {
		t.Errorf("PnL = %s, %s; want 80 realized, 120 unrealized", realized, unrealized)
	}
	_, err := b.PlaceOrder(ctx, req(aapl, broker.BuyToCover, broker.Market, "7"))
	if !errors.Is(err, errors.ErrInsufficientFunds) {
		t.Errorf("covering more than the short: %v, want ErrInsufficientFunds", err)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	optionSym := broker.Instrument{Symbol: "AAPL  270116C00150000", AssetClass: broker.Option}
	tests := []struct {
		name string
		cfg  paper.Config
		req  broker.OrderRequest
		want errors.Kind
	}{
		{"unknown symbol", paper.Config{}, limit(broker.Instrument{Symbol: "NOPE", AssetClass: broker.Equity}, broker.Buy, "1", "1"), errors.ErrInvalidOrder},
		{"invalid request", paper.Config{}, limit(aapl, broker.Buy, "0", "1"), errors.ErrInvalidOrder},
		{"more than the buying power", paper.Config{Cash: d("1000")}, limit(aapl, broker.Buy, "10", "100.01"), errors.ErrInsufficientFunds},
		{"fee beyond the buying power", paper.Config{Cash: d("1000"), MinFee: d("0.01")}, limit(aapl, broker.Buy, "10", "100"), errors.ErrInsufficientFunds},
		{"sell without a position", paper.Config{}, req(aapl, broker.Sell, broker.Market, "1"), errors.ErrInsufficientFunds},
		{"crypto short", paper.Config{AllowShort: true}, req(btc, broker.SellShort, broker.Market, "0.1"), errors.ErrInvalidOrder},
		{"option short", paper.Config{AllowShort: true, Instruments: []broker.Instrument{optionSym}}, req(optionSym, broker.SellShort, broker.Market, "1"), errors.ErrInvalidOrder},
		{"equity short not enabled", paper.Config{}, req(aapl, broker.SellShort, broker.Market, "1"), errors.ErrOrderRejected},
		{"asset class differs from the registered one", paper.Config{Instruments: []broker.Instrument{{Symbol: "AAPL", AssetClass: broker.Crypto}}},
			req(aapl, broker.Buy, broker.Market, "1"), errors.ErrInvalidOrder},
		{"market order before any price", paper.Config{Instruments: []broker.Instrument{{Symbol: "MSFT", AssetClass: broker.Equity}}},
			req(broker.Instrument{Symbol: "MSFT", AssetClass: broker.Equity}, broker.Buy, broker.Market, "1"), errors.ErrInvalidOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t, tt.cfg, "AAPL", "100", "BTC-USD", "50000")
			_, err := b.PlaceOrder(ctx, tt.req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("PlaceOrder: %v, want %q", err, tt.want)
			}
			var be *errors.BrokerError
			if !errors.As(err, &be) || be.Broker != paper.Name || be.Op != string(paper.OpPlaceOrder) {
				t.Errorf("error %#v is not a paper *errors.BrokerError of place order", err)
			}
			if res, err := b.FindOrder(ctx, broker.FindQuery{Request: tt.req}); err != nil || len(res.Candidates) != 0 {
				t.Errorf("a refused order was recorded: FindOrder = %+v, %v", res, err)
			}
		})
	}
}

func TestBuyingPowerCountsWorkingOrders(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{Cash: d("1000")}, "AAPL", "100")
	id := place(t, b, limit(aapl, broker.Buy, "6", "90")) // reserves 540
	if _, err := b.PlaceOrder(ctx, limit(aapl, broker.Buy, "6", "90")); !errors.Is(err, errors.ErrInsufficientFunds) {
		t.Fatalf("second order: %v, want ErrInsufficientFunds", err)
	}
	acct, _ := b.Account(ctx)
	if !acct.BuyingPower.Equal(d("460")) {
		t.Errorf("buying power %s, want 460", acct.BuyingPower)
	}
	// Replacing may reuse the replaced order's reservation.
	r := limit(aapl, broker.Buy, "11", "90")
	if _, err := b.ReplaceOrder(ctx, id, r); err != nil {
		t.Fatalf("replace within the released power: %v", err)
	}
	if err := b.CancelOrder(ctx, get(t, b, id).ReplacedBy); err != nil {
		t.Fatal(err)
	}
	if acct, _ := b.Account(ctx); !acct.BuyingPower.Equal(d("1000")) {
		t.Errorf("after cancel, buying power %s, want 1000", acct.BuyingPower)
	}
}

func TestIdempotentClientOrderID(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{}, "AAPL", "100")
	r := limit(aapl, broker.Buy, "1", "90")
	first, err := b.PlaceOrder(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	r.Quantity = d("5") // even a changed request with the same id is the same intent
	second, err := b.PlaceOrder(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("second Ack differs (-first +second)\n%s", diff)
	}
	if open, _ := b.OpenOrders(ctx); len(open) != 1 {
		t.Errorf("OpenOrders = %d orders, want 1", len(open))
	}
}

func TestCancelAndReplace(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{}, "AAPL", "100")
	filled := place(t, b, req(aapl, broker.Buy, broker.Market, "1"))
	err := b.CancelOrder(ctx, filled)
	var be *errors.BrokerError
	if !errors.Is(err, errors.ErrOrderNotCancelable) || !errors.As(err, &be) || be.Broker != "paper" {
		t.Errorf("cancel of a filled order: %v, want a paper ErrOrderNotCancelable", err)
	}
	if _, err := b.ReplaceOrder(ctx, filled, limit(aapl, broker.Buy, "1", "90")); !errors.Is(err, errors.ErrOrderNotCancelable) {
		t.Errorf("replace of a filled order: %v, want ErrOrderNotCancelable", err)
	}

	old := place(t, b, limit(aapl, broker.Buy, "10", "99"))
	if err := b.Execute(ctx, old, d("4"), d("99")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  broker.OrderRequest
		want errors.Kind
	}{
		{"other side", limit(aapl, broker.Sell, "1", "99"), errors.ErrInvalidOrder},
		{"other symbol", limit(btc, broker.Buy, "1", "99"), errors.ErrInvalidOrder},
		{"reused client id", func() broker.OrderRequest {
			r := limit(aapl, broker.Buy, "1", "98")
			r.ClientOrderID = get(t, b, filled).ClientOrderID
			return r
		}(), errors.ErrDuplicateOrder},
		{"invalid", limit(aapl, broker.Buy, "-1", "98"), errors.ErrInvalidOrder},
	}
	for _, tt := range tests {
		if _, err := b.ReplaceOrder(ctx, old, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("replace with %s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if _, err := b.ReplaceOrder(ctx, "P999", limit(aapl, broker.Buy, "1", "98")); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("replace of an unknown order: %v, want ErrOrderNotFound", err)
	}

	ack, err := b.ReplaceOrder(ctx, old, limit(aapl, broker.Buy, "6", "98"))
	if err != nil {
		t.Fatal(err)
	}
	o := get(t, b, old)
	if o.Status != broker.StatusReplaced || o.ReplacedBy != ack.OrderID || !o.FilledQuantity.Equal(d("4")) {
		t.Errorf("old order: %s, replaced by %q, filled %s; want replaced by %s keeping its 4", o.Status, o.ReplacedBy, o.FilledQuantity, ack.OrderID)
	}
	n := get(t, b, ack.OrderID)
	if n.Status != broker.StatusNew || !n.FilledQuantity.IsZero() || len(n.Fills) != 0 || !n.Quantity.Equal(d("6")) {
		t.Errorf("new order: %s, filled %s, %d fills, qty %s; want new, nothing filled, 6", n.Status, n.FilledQuantity, len(n.Fills), n.Quantity)
	}
}

func TestFillRacesCancel(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{CancelLatency: 2, MaxFillPerUpdate: d("1")}, "AAPL", "100")
	id := place(t, b, limit(aapl, broker.Buy, "5", "95"))
	if err := b.CancelOrder(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.CancelOrder(ctx, id); err != nil {
		t.Errorf("a repeated cancel while pending: %v, want nil", err)
	}
	var got []string
	got = append(got, fillSummary(get(t, b, id)))
	for _, p := range []string{"94", "93"} {
		setPrice(t, b, "AAPL", p)
		got = append(got, fillSummary(get(t, b, id)))
	}
	want := []string{"pending_cancel 0", "pending_cancel 1 @94", "canceled 2 @94 @93"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if err := b.Execute(ctx, id, d("1"), d("93")); !errors.Is(err, errors.ErrInvalidTransition) {
		t.Errorf("Execute on a canceled order: %v, want ErrInvalidTransition", err)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []broker.Order {
		b := newBroker(t, paper.Config{MaxFillPerUpdate: d("2"), Seed: 7,
			Faults: paper.Faults{ErrorRate: 0.2}}, "AAPL", "100")
		ctx := context.Background()
		for i := range 20 {
			r := limit(aapl, broker.Buy, "3", fmt.Sprint(100-i%5))
			r.ClientOrderID = broker.DeriveClientOrderID("det", fmt.Sprint(i))
			_, _ = b.PlaceOrder(ctx, r) // some fail by injection, the same ones every run
			setPrice(t, b, "AAPL", fmt.Sprint(100-i%7))
		}
		var all []broker.Order
		for i := 1; i <= 20; i++ {
			if o, err := b.GetOrder(ctx, fmt.Sprintf("P%09d", i)); err == nil {
				all = append(all, o)
			}
		}
		return all
	}
	first, second := run(), run()
	if len(first) == 0 || len(first) == 20 {
		t.Fatalf("%d orders survived an error rate of 0.2; the faults are not exercised", len(first))
	}
	if diff := cmp.Diff(first, second, decimalEqual); diff != "" {
		t.Errorf("two runs with one seed differ (-first +second)\n%s", diff)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.NewAuto(epoch)
	next := paper.NoFault
	b := newBroker(t, paper.Config{Clock: clock, Faults: paper.Faults{
		Latency: 250 * time.Millisecond,
		Inject:  func(paper.Op) paper.Fault { f := next; next = paper.NoFault; return f },
	}}, "AAPL", "100")

	next = paper.FaultUnavailable
	r := limit(aapl, broker.Buy, "1", "90")
	_, err := b.PlaceOrder(ctx, r)
	var be *errors.BrokerError
	if !errors.Is(err, errors.ErrBrokerUnavailable) || !errors.As(err, &be) || be.HTTPStatus != 503 || !errors.Retryable(err) {
		t.Errorf("unavailable: %v, want a retryable 503 ErrBrokerUnavailable", err)
	}
	if res, err := b.FindOrder(ctx, broker.FindQuery{Request: r}); err != nil || len(res.Candidates) != 0 {
		t.Errorf("an order failed before taking effect was placed: %+v, %v", res, err)
	}

	next = paper.FaultNetwork
	if _, err := b.Quotes(ctx, "AAPL"); !errors.Is(err, errors.ErrNetwork) {
		t.Errorf("network: %v, want ErrNetwork", err)
	}

	next = paper.FaultLoseAnswer
	_, err = b.PlaceOrder(ctx, r)
	if !errors.Is(err, errors.ErrOutcomeUnknown) || errors.Retryable(err) {
		t.Errorf("lost answer: %v, want a non-retryable ErrOutcomeUnknown", err)
	}
	if res, err := b.FindOrder(ctx, broker.FindQuery{Request: r}); err != nil || len(res.Candidates) != 1 ||
		res.Candidates[0].Status != broker.StatusNew {
		t.Errorf("the order whose answer was lost: %+v, %v; want it placed", res, err)
	}
	if h := b.Health(ctx); !errors.Is(h.LastError, errors.ErrOutcomeUnknown) {
		t.Errorf("Health.LastError = %v, want the lost answer", h.LastError)
	}

	next = paper.FaultLoseAnswer
	if _, err := b.Account(ctx); !errors.Is(err, errors.ErrTimeout) {
		t.Errorf("lost answer of a read: %v, want ErrTimeout", err)
	}
	if got, want := clock.Now().Sub(epoch), 6*250*time.Millisecond; got != want {
		t.Errorf("latency advanced the clock by %s, want %s (6 calls)", got, want)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.GetOrder(cancelled, "P000000001"); !errors.Is(err, context.Canceled) || !errors.Is(err, errors.ErrTimeout) {
		t.Errorf("cancelled context: %v, want context.Canceled classified ErrTimeout", err)
	}
}

func TestFaultRates(t *testing.T) {
	b := newBroker(t, paper.Config{Seed: 1, Faults: paper.Faults{ErrorRate: 0.3, LostAnswerRate: 0.2,
		Ops: []paper.Op{paper.OpQuotes}}}, "AAPL", "100")
	ctx := context.Background()
	counts := map[errors.Kind]int{}
	for range 1000 {
		_, err := b.Quotes(ctx, "AAPL")
		counts[errors.KindOf(err)]++
		if _, err := b.Account(ctx); err != nil {
			t.Fatalf("Account is not in Faults.Ops but failed: %v", err)
		}
	}
	// Expected: 150 unavailable, 150 network, 140 timeouts (0.7 × 0.2), 560 fine.
	for kind, want := range map[errors.Kind]int{errors.ErrBrokerUnavailable: 150, errors.ErrNetwork: 150, errors.ErrTimeout: 140, "": 560} {
		if got := counts[kind]; got < want*7/10 || got > want*13/10 {
			t.Errorf("%q: %d of 1000, want about %d", kind, got, want)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	tests := map[string]paper.Config{
		"negative cash":       {Cash: d("-1")},
		"negative fee":        {FeeBps: d("-1")},
		"negative min fee":    {MinFee: d("-0.01")},
		"negative liquidity":  {MaxFillPerUpdate: d("-1")},
		"negative batch":      {QuoteBatchSize: -1},
		"negative latency":    {CancelLatency: -1},
		"error rate above 1":  {Faults: paper.Faults{ErrorRate: 1.5}},
		"lost rate below 0":   {Faults: paper.Faults{LostAnswerRate: -0.1}},
		"negative sleep":      {Faults: paper.Faults{Latency: -time.Second}},
		"instrument no class": {Instruments: []broker.Instrument{{Symbol: "X"}}},
		"instrument no name":  {Instruments: []broker.Instrument{{AssetClass: broker.Equity}}},
	}
	for name, cfg := range tests {
		if _, err := paper.New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: %v, want ErrConfiguration", name, err)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	b := newBroker(t, paper.Config{Cash: d("1000000")}, "AAPL", "100")
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := place(t, b, limit(aapl, broker.Buy, "1", "99"))
				_ = b.SetPrice("AAPL", d(fmt.Sprint(98+(g+i)%3)))
				_, _ = b.GetOrder(ctx, id)
				_, _ = b.OpenOrders(ctx)
				_ = b.CancelOrder(ctx, id)
			}
		})
	}
	wg.Wait()
	positions, _ := b.Positions(ctx)
	acct, _ := b.Account(ctx)
	held := decimal.Zero
	if len(positions) == 1 {
		held = positions[0].Quantity
	}
	// Every fill was at 98 or 99: cash spent must be between those bounds.
	spent := d("1000000").Sub(acct.Cash)
	if spent.LessThan(held.Mul(d("98"))) || spent.GreaterThan(held.Mul(d("99"))) {
		t.Errorf("spent %s for %s shares", spent, held)
	}
	if open, _ := b.OpenOrders(ctx); len(open) != 0 {
		t.Errorf("%d orders left open", len(open))
	}
}

func TestOpenOrdersAfterManyEnd(t *testing.T) {
	ctx := context.Background()
	b := newBroker(t, paper.Config{Cash: d("1e9")}, "AAPL", "100", "MSFT", "200")
	var want []string
	for i := range 300 {
		in := aapl
		if i%3 == 0 {
			in = broker.Instrument{Symbol: "MSFT", AssetClass: broker.Equity}
		}
		id := place(t, b, limit(in, broker.Buy, "1", "50"))
		if i%4 == 0 {
			want = append(want, id)
			continue
		}
		if err := b.CancelOrder(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	open, err := b.OpenOrders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range open {
		got = append(got, o.OrderID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("open orders (-want +got)\n%s", diff)
	}
	// The survivors still fill, oldest first, when the price comes to them.
	if err := b.SetPrice("AAPL", d("50")); err != nil {
		t.Fatal(err)
	}
	if err := b.SetPrice("MSFT", d("50")); err != nil {
		t.Fatal(err)
	}
	if open, _ := b.OpenOrders(ctx); len(open) != 0 {
		t.Errorf("%d orders still open after the price reached them", len(open))
	}
	if positions, _ := b.Positions(ctx); len(positions) != 2 || !positions[0].Quantity.Add(positions[1].Quantity).Equal(decimal.NewFromInt(int64(len(want)))) {
		t.Errorf("positions %v, want %d shares in all", positions, len(want))
	}
}
