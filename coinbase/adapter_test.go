package coinbase_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/retry"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func btc() broker.Instrument { return broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto} }

func limitBuy(qty, price string) broker.OrderRequest {
	return broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(), Instrument: btc(), Side: broker.Buy,
		Type: broker.Limit, Quantity: d(qty), LimitPrice: d(price), TimeInForce: broker.GTC}
}

// ordersFor returns the emulator's orders with this client order id.
func ordersFor(srv *coinbasetest.Server, clientID string) []coinbasetest.OrderRecord {
	var out []coinbasetest.OrderRecord
	for _, o := range srv.Orders() {
		if o.ClientOrderID == clientID {
			out = append(out, o)
		}
	}
	return out
}

func TestAdapterTokensAreVerifiedByTheEmulator(t *testing.T) {
	for _, alg := range []string{"ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, coinbasetest.Config{}, false, func(c *coinbase.Config) { c.OrdersPageSize = 2 })
			if alg == "EdDSA" {
				key, err := coinbasetest.NewEd25519Key("5f2a1b7c-ed25519-key", nil)
				if err != nil {
					t.Fatal(err)
				}
				e.srv.RegisterKey(key)
				b, err := coinbase.New(coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
					BaseURL: e.srv.URL(), HTTPClient: e.srv.Client(), Clock: e.clock, OrdersPageSize: 2})
				if err != nil {
					t.Fatal(err)
				}
				e.b = b
			}
			for range 5 {
				if _, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000")); err != nil {
					t.Fatal(err)
				}
			}
			open, err := e.b.OpenOrders(ctx(t)) // three pages: cursors in the query, never in the uri
			if err != nil || len(open) != 5 {
				t.Fatalf("OpenOrders: %d, %v", len(open), err)
			}
			if fails := e.srv.AuthFailures(); len(fails) > 0 {
				t.Fatalf("emulator refused tokens: %q", fails)
			}
			nonces := map[string]bool{}
			paged := 0
			for _, r := range e.srv.Requests() {
				if r.Token == nil || r.Token.Alg != alg {
					t.Fatalf("request %s %s: token %+v", r.Method, r.Path, r.Token)
				}
				if nonces[r.Token.Nonce] {
					t.Errorf("nonce %s reused", r.Token.Nonce)
				}
				nonces[r.Token.Nonce] = true
				if r.Query.Get("cursor") != "" {
					paged++
				}
				if r.GETWithBody || len(r.UnknownKeys) > 0 {
					t.Errorf("request %s %s: body on GET %v, unknown keys %v", r.Method, r.Path, r.GETWithBody, r.UnknownKeys)
				}
			}
			if paged < 2 {
				t.Errorf("%d requests carried a cursor, want at least 2", paged)
			}
		})
	}
}

func TestPrecisionIsEnforcedBeforeSending(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.SetBalance("BTC", d("1"))
	e.srv.AddProduct(coinbasetest.Product{ID: "DOGE-USD", Base: "DOGE", Quote: "USD", BaseIncrement: d("0.1"),
		QuoteIncrement: d("0.00001"), BaseMinSize: d("1"), QuoteMinSize: d("1"), Bid: d("0.31"), Ask: d("0.32"), Last: d("0.31")})
	doge := broker.Instrument{Symbol: "DOGE-USD", AssetClass: broker.Crypto}
	tests := []struct {
		name            string
		req             broker.OrderRequest
		wantSize, price string // sent values; "" = refused
	}{
		{"size rounded down to base_increment", limitBuy("0.0100000049", "50000"), "0.01", "50000"},
		{"buy price rounded down", limitBuy("0.01", "50000.004"), "0.01", "50000"},
		{"sell price rounded up", broker.OrderRequest{Instrument: btc(), Side: broker.Sell, Type: broker.Limit,
			Quantity: d("0.01"), LimitPrice: d("150000.001"), TimeInForce: broker.GTC}, "0.01", "150000.01"},
		{"size that would round to zero", broker.OrderRequest{Instrument: doge, Side: broker.Buy, Type: broker.Limit,
			Quantity: d("0.05"), LimitPrice: d("0.3"), TimeInForce: broker.GTC}, "", ""},
		{"material size change refused", broker.OrderRequest{Instrument: doge, Side: broker.Buy, Type: broker.Limit,
			Quantity: d("10.15"), LimitPrice: d("0.3"), TimeInForce: broker.GTC}, "", ""},
		{"below base_min_size", broker.OrderRequest{Instrument: doge, Side: broker.Buy, Type: broker.Limit,
			Quantity: d("0.5"), LimitPrice: d("0.3"), TimeInForce: broker.GTC}, "", ""},
		{"price far off the tick", limitBuy("0.01", "0.005"), "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.ClientOrderID == "" {
				tc.req.ClientOrderID = broker.NewClientOrderID()
			}
			_, err := e.b.PlaceOrder(ctx(t), tc.req)
			got := ordersFor(e.srv, tc.req.ClientOrderID)
			if tc.wantSize == "" {
				if !errors.Is(err, errors.ErrInvalidOrder) {
					t.Fatalf("error %v, want ErrInvalidOrder", err)
				}
				for _, a := range e.srv.CreateAttempts() {
					if a.ClientOrderID == tc.req.ClientOrderID {
						t.Fatalf("a refused order reached the emulator: %s", a.Body)
					}
				}
				return
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("PlaceOrder: %v; %d orders at the emulator", err, len(got))
			}
			if !got[0].BaseSize.Equal(d(tc.wantSize)) || !got[0].LimitPrice.Equal(d(tc.price)) {
				t.Errorf("sent size %s price %s, want %s %s", got[0].BaseSize, got[0].LimitPrice, tc.wantSize, tc.price)
			}
		})
	}
	// The emulator counts any precision rejection: there must be none.
	for _, a := range e.srv.CreateAttempts() {
		if strings.Contains(a.Outcome, "PRECISION") || strings.Contains(a.Outcome, "TOO_SMALL") {
			t.Errorf("an off-increment order was sent: %s", a.Body)
		}
	}
}

func TestOrderConfigurations(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.SetBalance("BTC", d("5"))
	end := start.Add(3 * time.Hour)
	sell := func(typ broker.OrderType, tif broker.TimeInForce, limit, stop string) broker.OrderRequest {
		r := broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(), Instrument: btc(), Side: broker.Sell,
			Type: typ, Quantity: d("0.1"), TimeInForce: tif}
		if limit != "" {
			r.LimitPrice = d(limit)
		}
		if stop != "" {
			r.StopPrice = d(stop)
		}
		return r
	}
	buyStop := sell(broker.StopLimit, broker.GTC, "120001", "120000")
	buyStop.Side = broker.Buy
	tests := []struct {
		name     string
		req      broker.OrderRequest
		opts     coinbase.PlaceOptions
		config   string
		stopDir  string
		status   string
		postOnly bool
		endTime  time.Time
	}{
		{"market sell", sell(broker.Market, broker.IOC, "", ""), coinbase.PlaceOptions{}, "market_market_ioc", "", "FILLED", false, time.Time{}},
		{"market day is IOC", sell(broker.Market, broker.Day, "", ""), coinbase.PlaceOptions{}, "market_market_ioc", "", "FILLED", false, time.Time{}},
		{"limit GTC post-only", sell(broker.Limit, broker.GTC, "150000", ""), coinbase.PlaceOptions{PostOnly: true}, "limit_limit_gtc", "", "OPEN", true, time.Time{}},
		{"limit GTD", sell(broker.Limit, broker.GTC, "150000", ""), coinbase.PlaceOptions{EndTime: end}, "limit_limit_gtd", "", "OPEN", false, end},
		{"limit day is GTD", sell(broker.Limit, broker.Day, "150000", ""), coinbase.PlaceOptions{}, "limit_limit_gtd", "", "OPEN", false, start.Add(24 * time.Hour)},
		{"limit FOK that cannot fill", sell(broker.Limit, broker.FOK, "150000", ""), coinbase.PlaceOptions{}, "limit_limit_fok", "", "CANCELLED", false, time.Time{}},
		{"limit IOC through the bid", sell(broker.Limit, broker.IOC, "100000", ""), coinbase.PlaceOptions{}, "sor_limit_ioc", "", "FILLED", false, time.Time{}},
		{"protective sell stop-limit", sell(broker.StopLimit, broker.GTC, "89000", "90000"), coinbase.PlaceOptions{}, "stop_limit_stop_limit_gtc", "STOP_DIRECTION_STOP_DOWN", "OPEN", false, time.Time{}},
		{"sell stop-limit GTD", sell(broker.StopLimit, broker.Day, "89000", "90000"), coinbase.PlaceOptions{EndTime: end}, "stop_limit_stop_limit_gtd", "STOP_DIRECTION_STOP_DOWN", "OPEN", false, end},
		{"buy stop-limit", buyStop, coinbase.PlaceOptions{}, "stop_limit_stop_limit_gtc", "STOP_DIRECTION_STOP_UP", "OPEN", false, time.Time{}},
		{"bracket", sell(broker.Limit, broker.GTC, "150000", ""), coinbase.PlaceOptions{BracketStopTrigger: d("90000")}, "trigger_bracket_gtc", "", "OPEN", false, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ack, err := e.b.PlaceOrderWith(ctx(t), tc.req, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got := ordersFor(e.srv, tc.req.ClientOrderID)
			if len(got) != 1 || got[0].OrderID != ack.OrderID {
				t.Fatalf("emulator holds %+v for ack %+v", got, ack)
			}
			o := got[0]
			if o.Configuration != tc.config || o.StopDirection != tc.stopDir || o.Status != tc.status ||
				o.PostOnly != tc.postOnly || !o.EndTime.Equal(tc.endTime) {
				t.Errorf("sent %s stop %q status %s post-only %v end %v; want %s %q %s %v %v",
					o.Configuration, o.StopDirection, o.Status, o.PostOnly, o.EndTime, tc.config, tc.stopDir, tc.status, tc.postOnly, tc.endTime)
			}
			back, err := e.b.GetOrder(ctx(t), ack.OrderID)
			if err != nil {
				t.Fatal(err)
			}
			if back.Type != tc.req.Type && tc.opts.BracketStopTrigger.IsZero() || back.Side != tc.req.Side || !back.Quantity.Equal(tc.req.Quantity) {
				t.Errorf("read back %s %s %s, want %s %s %s", back.Side, back.Type, back.Quantity, tc.req.Side, tc.req.Type, tc.req.Quantity)
			}
		})
	}
}

func TestRefusedBeforeSending(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	base := limitBuy("0.01", "50000")
	tests := []struct {
		name string
		edit func(*broker.OrderRequest)
		kind errors.Kind
	}{
		{"sell short", func(r *broker.OrderRequest) { r.Side = broker.SellShort }, errors.ErrNotSupported},
		{"buy to cover", func(r *broker.OrderRequest) { r.Side = broker.BuyToCover }, errors.ErrNotSupported},
		{"stop market", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.StopPrice = broker.Stop, decimal.Zero, d("40000")
		}, errors.ErrNotSupported},
		{"trailing stop", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TrailPercent = broker.TrailingStop, decimal.Zero, d("2")
		}, errors.ErrNotSupported},
		{"equity", func(r *broker.OrderRequest) {
			r.Instrument = broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}
		}, errors.ErrNotSupported},
		{"unknown product", func(r *broker.OrderRequest) { r.Instrument.Symbol = "NOPE-USD" }, errors.ErrInvalidOrder},
		{"negative quantity", func(r *broker.OrderRequest) { r.Quantity = d("-1") }, errors.ErrInvalidOrder},
		{"stop-limit IOC", func(r *broker.OrderRequest) {
			r.Type, r.StopPrice, r.TimeInForce = broker.StopLimit, d("49000"), broker.IOC
		}, errors.ErrNotSupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := base
			req.ClientOrderID = broker.NewClientOrderID()
			tc.edit(&req)
			_, err := e.b.PlaceOrder(ctx(t), req)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("error %v (kind %s), want %s", err, errors.KindOf(err), tc.kind)
			}
		})
	}
	if n := len(e.srv.CreateAttempts()); n != 0 {
		t.Errorf("%d creates reached the emulator", n)
	}
}

func TestRejectionsAreTyped(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.SetBalance("USD", d("100"))
	_, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000"))
	var oe *errors.OrderError
	var be *errors.BrokerError
	if !errors.Is(err, errors.ErrInsufficientFunds) || !errors.As(err, &oe) || !errors.As(err, &be) ||
		be.HTTPStatus != http.StatusOK || be.Code != "PREVIEW_INSUFFICIENT_FUND" || oe.Reason != "Insufficient balance in source account" {
		t.Fatalf("insufficient funds: %v (%+v)", err, be)
	}
	e.srv.SetBalance("USD", d("1000000"))
	post := limitBuy("0.01", "200000")
	if _, err := e.b.PlaceOrderWith(ctx(t), post, coinbase.PlaceOptions{PostOnly: true}); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("post-only crossing: %v", err)
	}
	for _, tc := range []struct {
		reason, preview string
		kind            errors.Kind
	}{
		{"UNSUPPORTED_ORDER_CONFIGURATION", "", errors.ErrInvalidOrder},
		{"ORDER_ENTRY_DISABLED", "", errors.ErrMarketClosed},
		{"", "PREVIEW_INVALID_BASE_SIZE_TOO_LARGE", errors.ErrInvalidOrder},
		{"INSUFFICIENT_FUNDS", "", errors.ErrInsufficientFunds},
		{"SOMETHING_NEW_2027", "", errors.ErrOrderRejected},
	} {
		e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultRejectOrder, Method: "POST",
			Path: coinbasetest.APIPrefix + "/orders", FailureReason: tc.reason, PreviewFailureReason: tc.preview})
		req := limitBuy("0.01", "50000")
		_, err := e.b.PlaceOrder(ctx(t), req)
		if !errors.Is(err, tc.kind) {
			t.Errorf("%s%s: %v (kind %s), want %s", tc.reason, tc.preview, err, errors.KindOf(err), tc.kind)
		}
		if n := len(ordersFor(e.srv, req.ClientOrderID)); n != 0 {
			t.Errorf("a rejected order exists at the emulator")
		}
	}
}

// TestExactlyOneOrderUnderFaults: whatever goes wrong with a create, the
// emulator ends up with exactly one order for the client order id.
func TestExactlyOneOrderUnderFaults(t *testing.T) {
	faults := []struct {
		name  string
		fault coinbasetest.Fault
		times int
	}{
		{"5xx HTML before processing", coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorHTML}, 1},
		{"5xx JSON before processing", coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorJSON}, 2},
		{"5xx after the order was accepted", coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorAfterAccept}, 1},
		{"connection dropped after accept", coinbasetest.Fault{Kind: coinbasetest.FaultDropAfterAccept}, 1},
		{"truncated JSON after accept", coinbasetest.Fault{Kind: coinbasetest.FaultTruncatedJSONAfterAccept}, 1},
		{"HTML on 200 after accept", coinbasetest.Fault{Kind: coinbasetest.FaultHTMLOn200AfterAccept}, 1},
		{"HTML 429", coinbasetest.Fault{Kind: coinbasetest.FaultRateLimitHTML, RetryAfter: "1"}, 2},
		{"dropped after accept, then HTML 429s until retries run out", coinbasetest.Fault{Kind: coinbasetest.FaultDropAfterAccept}, 1},
		{"every attempt dropped after accept", coinbasetest.Fault{Kind: coinbasetest.FaultDropAfterAccept}, 20},
		{"every attempt truncated after accept", coinbasetest.Fault{Kind: coinbasetest.FaultTruncatedJSONAfterAccept}, 20},
	}
	for _, tc := range faults {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, coinbasetest.Config{}, false, nil)
			f := tc.fault
			f.Method, f.Path, f.Times = "POST", coinbasetest.APIPrefix+"/orders", tc.times
			e.srv.InjectFault(f)
			if strings.HasPrefix(tc.name, "dropped after accept, then") {
				e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultRateLimitHTML, Method: "POST",
					Path: coinbasetest.APIPrefix + "/orders", Times: 20})
			}
			req := limitBuy("0.01", "50000")
			ack, err := e.b.PlaceOrder(ctx(t), req)
			got := ordersFor(e.srv, req.ClientOrderID)
			if len(got) != 1 {
				t.Fatalf("%d orders at the emulator for one client order id (err %v)", len(got), err)
			}
			if err != nil {
				t.Fatalf("PlaceOrder: %v", err)
			}
			if ack.OrderID != got[0].OrderID {
				t.Errorf("ack names %s, the emulator holds %s", ack.OrderID, got[0].OrderID)
			}
			again, err := e.b.PlaceOrder(ctx(t), req)
			if err != nil || again.OrderID != got[0].OrderID || len(ordersFor(e.srv, req.ClientOrderID)) != 1 {
				t.Errorf("placing the same id again: %+v %v", again, err)
			}
		})
	}
}

// TestOutcomeUnknownWhenTheAnswerNeverComes: a create whose answer is late
// beyond the caller's deadline is ErrOutcomeUnknown, never a second order;
// once the emulator has processed it, FindOrder and a repeated PlaceOrder
// both find the one order.
func TestOutcomeUnknownWhenTheAnswerNeverComes(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, true, nil)
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultLatency, Method: "POST",
		Path: coinbasetest.APIPrefix + "/orders", Delay: time.Minute})
	req := limitBuy("0.01", "50000")
	// The caller gives up once the create is at the broker (parked on the
	// injected delay): its answer is lost after it was sent.
	short, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { _, err := e.b.PlaceOrder(short, req); done <- err }()
	if err := e.clock.WaitForWaiters(ctx(t), 1); err != nil {
		t.Fatal("the create never reached the injected delay")
	}
	cancel()
	if err := <-done; !errors.Is(err, errors.ErrOutcomeUnknown) {
		t.Fatalf("late answer: %v (kind %s), want ErrOutcomeUnknown", err, errors.KindOf(err))
	}
	// The emulator's handler stops waiting when the client leaves (or when
	// the clock passes the delay) and then processes the order anyway, as a
	// real server would.
	e.clock.Advance(time.Minute)
	e.srv.WaitIdle()
	if n := len(e.srv.CreateAttempts()); n != 1 {
		t.Fatalf("%d creates processed, want 1", n)
	}
	res, err := e.b.FindOrder(ctx(t), broker.FindQuery{Request: req, From: start.Add(-time.Minute), To: e.clock.Now()})
	if err != nil || !res.Complete || len(res.Candidates) != 1 {
		t.Fatalf("FindOrder: %+v %v", res, err)
	}
	found := res.Candidates[0]
	ack, err := e.b.PlaceOrder(ctx(t), req)
	if err != nil || ack.OrderID != found.OrderID || len(ordersFor(e.srv, req.ClientOrderID)) != 1 {
		t.Fatalf("resubmission: %+v %v; %d orders", ack, err, len(ordersFor(e.srv, req.ClientOrderID)))
	}
}

func TestErrorsAreClassified(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, func(c *coinbase.Config) {
		c.Retry.Disabled = true
	})
	tests := []struct {
		name   string
		fault  coinbasetest.Fault
		kind   errors.Kind
		status int
	}{
		{"plain-text 401, twice", coinbasetest.Fault{Kind: coinbasetest.FaultUnauthorized, Times: 2}, errors.ErrUnauthenticated, 401},
		{"HTML 429", coinbasetest.Fault{Kind: coinbasetest.FaultRateLimitHTML, RetryAfter: "7"}, errors.ErrRateLimited, 429},
		{"HTML 503", coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorHTML}, errors.ErrBrokerUnavailable, 503},
		{"JSON 500", coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorJSON}, errors.ErrBrokerUnavailable, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.srv.InjectFault(tc.fault)
			_, err := e.b.Positions(ctx(t))
			var be *errors.BrokerError
			if !errors.Is(err, tc.kind) || !errors.As(err, &be) || be.HTTPStatus != tc.status || be.Broker != "coinbase" {
				t.Fatalf("error %v (%+v), want %s with status %d", err, be, tc.kind, tc.status)
			}
			if strings.Contains(err.Error(), "<html") || len(err.Error()) > 300 {
				t.Errorf("error carries the page: %q", err)
			}
			if tc.status == 429 && be.RetryAfter != 7*time.Second {
				t.Errorf("RetryAfter = %v, want 7s", be.RetryAfter)
			}
		})
	}
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultUnauthorized})
	if _, err := e.b.Positions(ctx(t)); err != nil {
		t.Errorf("one spurious 401 on a read is retried with a fresh token: %v", err)
	}
	_, err := e.b.GetOrder(ctx(t), "7f0d1c3e-0000-4000-8000-000000000000")
	if !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("unknown order: %v", err)
	}
	_, err = e.b.GetOrder(ctx(t), "None")
	if !errors.Is(err, errors.ErrInvalidOrder) || errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("malformed id: %v, want invalid, not not-found", err)
	}
	h := e.b.Health(ctx(t))
	if h.LastError == nil || !h.Reachable || h.RateLimitRemaining["private"] <= 0 {
		t.Errorf("health after errors: %+v", h)
	}
}

func TestStatusesAndFills(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	ack, err := e.b.PlaceOrder(ctx(t), limitBuy("1", "50000"))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"50000", "49999.99", "49999.98"} {
		if err := e.srv.Fill(ack.OrderID, d("0.25"), d(p)); err != nil {
			t.Fatal(err)
		}
		o, err := e.b.GetOrder(ctx(t), ack.OrderID)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != broker.StatusPartiallyFilled || o.RawStatus != "OPEN" || len(o.Fills) != i+1 {
			t.Errorf("after fill %d: %s (%s), %d fills", i+1, o.Status, o.RawStatus, len(o.Fills))
		}
		// Leaves is derived (Coinbase sends none): the base size less what filled.
		if want := d("1").Sub(d("0.25").Mul(decimal.NewFromInt(int64(i + 1)))); !o.LeavesQuantity.Equal(want) {
			t.Errorf("after fill %d: leaves %s, want %s", i+1, o.LeavesQuantity, want)
		}
		if !o.LastFillAt.Equal(o.Fills[i].Time) || o.LastFillAt.IsZero() {
			t.Errorf("after fill %d: last fill at %s, the fill's time %s", i+1, o.LastFillAt, o.Fills[i].Time)
		}
	}
	o, _ := e.b.GetOrder(ctx(t), ack.OrderID)
	fees := decimal.Zero
	for _, f := range o.Fills {
		fees = fees.Add(f.Fee)
	}
	// Maker fee 0.4% of 0.25 × (50000 + 49999.99 + 49999.98), summed exactly.
	if want := d("149.99997"); !fees.Equal(o.Fees) || !o.Fees.Equal(want) {
		t.Errorf("fees %s, sum of fill fees %s, want %s", o.Fees, fees, want)
	}
	if err := e.b.CancelOrder(ctx(t), ack.OrderID); err != nil {
		t.Fatal(err)
	}
	o, _ = e.b.GetOrder(ctx(t), ack.OrderID)
	// A cancelled partial leaves nothing working.
	if o.Status != broker.StatusCanceled || !o.FilledQuantity.Equal(d("0.75")) || !o.Remaining().IsZero() || !o.LeavesQuantity.IsZero() {
		t.Errorf("cancelled partial: %s filled %s leaves %s", o.Status, o.FilledQuantity, o.LeavesQuantity)
	}
	for raw, want := range map[string]broker.Status{
		"PENDING": broker.StatusNew, "QUEUED": broker.StatusNew, "CANCEL_QUEUED": broker.StatusPendingCancel,
		"EDIT_QUEUED": broker.StatusPendingReplace, "EXPIRED": broker.StatusExpired, "FAILED": broker.StatusRejected,
		"UNKNOWN_ORDER_STATUS": broker.StatusUnknown, "SOMETHING_NEW": broker.StatusUnknown,
	} {
		ack, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000"))
		if err != nil {
			t.Fatal(err)
		}
		if err := e.srv.SetStatus(ack.OrderID, raw); err != nil {
			t.Fatal(err)
		}
		o, err := e.b.GetOrder(ctx(t), ack.OrderID)
		if err != nil || o.Status != want || o.RawStatus != raw {
			t.Errorf("%s: %s (%s) %v, want %s", raw, o.Status, o.RawStatus, err, want)
		}
	}
}

func TestExpiryAndGTD(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, true, nil)
	req := limitBuy("0.01", "50000")
	ack, err := e.b.PlaceOrderWith(ctx(t), req, coinbase.PlaceOptions{EndTime: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	o, err := e.b.GetOrder(ctx(t), ack.OrderID)
	if err != nil || o.Status != broker.StatusExpired || o.TimeInForce != broker.Day {
		t.Fatalf("after the end time: %s %s %v", o.Status, o.TimeInForce, err)
	}
	if err := e.b.CancelOrder(ctx(t), ack.OrderID); !errors.Is(err, errors.ErrOrderNotCancelable) {
		t.Errorf("cancel of an expired order: %v", err)
	}
}

func TestQuoteSizedBuyFillsInBase(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	ack, err := e.b.PlaceMarketBuyQuote(ctx(t), broker.NewClientOrderID(), "BTC-USD", d("6.364"))
	if err != nil {
		t.Fatal(err)
	}
	rec := e.srv.Orders()[0]
	if !rec.QuoteSize.Equal(d("6.36")) {
		t.Errorf("quote size sent %s, want 6.36 (rounded down to the cent)", rec.QuoteSize)
	}
	o, err := e.b.GetOrder(ctx(t), ack.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	sum := decimal.Zero
	for _, f := range o.Fills {
		sum = sum.Add(f.Quantity)
	}
	if o.Status != broker.StatusFilled || !sum.Equal(o.FilledQuantity) || o.FilledQuantity.GreaterThan(d("0.001")) {
		t.Errorf("quote-sized order: %s filled %s, fills sum %s", o.Status, o.FilledQuantity, sum)
	}
	if !o.Fees.Add(rec.FilledValue).Equal(d("6.36")) {
		t.Errorf("fees %s + value %s != 6.36", o.Fees, rec.FilledValue)
	}
}

func TestThousandFillsPaginated(t *testing.T) {
	for _, trailing := range []bool{false, true} {
		t.Run(fmt.Sprintf("trailing empty page %v", trailing), func(t *testing.T) {
			e := newEnv(t, coinbasetest.Config{FillsTrailingEmptyPage: trailing}, false, func(c *coinbase.Config) {
				c.FillsPageSize = 37
				c.RequestsPerSecond = 1000
			})
			ack, err := e.b.PlaceOrder(ctx(t), limitBuy("10", "50000"))
			if err != nil {
				t.Fatal(err)
			}
			for range 1000 {
				if err := e.srv.Fill(ack.OrderID, d("0.001"), d("50000")); err != nil {
					t.Fatal(err)
				}
			}
			execs, err := e.b.Fills(ctx(t), coinbase.FillFilter{OrderIDs: []string{ack.OrderID}})
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, x := range execs {
				if seen[x.ExecID] {
					t.Fatalf("fill %s read twice", x.ExecID)
				}
				seen[x.ExecID] = true
			}
			pages := 0
			for _, r := range e.srv.Requests() {
				if r.Path == coinbasetest.APIPrefix+"/orders/historical/fills" {
					pages++
				}
			}
			if len(seen) != 1000 || pages < 28 {
				t.Errorf("read %d distinct fills in %d pages, want 1000 in at least 28", len(seen), pages)
			}
			o, err := e.b.GetOrder(ctx(t), ack.OrderID)
			if err != nil || len(o.Fills) != 1000 || !o.FilledQuantity.Equal(d("1")) {
				t.Errorf("GetOrder: %d fills, filled %s, %v", len(o.Fills), o.FilledQuantity, err)
			}
		})
	}
}

func TestReplaceKeepsIDs(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	req := limitBuy("0.01", "50000")
	ack, err := e.b.PlaceOrder(ctx(t), req)
	if err != nil {
		t.Fatal(err)
	}
	edit := limitBuy("0.02", "49000.005")
	preview, err := e.b.PreviewEdit(ctx(t), ack.OrderID, edit)
	if err != nil || len(preview.Failures) != 0 || !preview.BaseSize.Equal(d("0.02")) {
		t.Fatalf("PreviewEdit: %+v %v", preview, err)
	}
	if got := e.srv.Orders()[0]; got.Edits != 0 {
		t.Fatal("a preview changed the order")
	}
	re, err := e.b.ReplaceOrder(ctx(t), ack.OrderID, edit)
	if err != nil || re.OrderID != ack.OrderID || re.ClientOrderID != req.ClientOrderID {
		t.Fatalf("ReplaceOrder: %+v %v", re, err)
	}
	o, err := e.b.GetOrder(ctx(t), ack.OrderID)
	if err != nil || !o.LimitPrice.Equal(d("49000")) || !o.Quantity.Equal(d("0.02")) || o.ClientOrderID != req.ClientOrderID {
		t.Errorf("after edit: %+v %v", o, err)
	}
	wrong := edit
	wrong.Side = broker.Sell
	if _, err := e.b.ReplaceOrder(ctx(t), ack.OrderID, wrong); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("edit changing the side: %v", err)
	}
	if err := e.srv.Fill(ack.OrderID, d("0.02"), d("49000")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.ReplaceOrder(ctx(t), ack.OrderID, limitBuy("0.03", "48000")); !errors.Is(err, errors.ErrOrderNotCancelable) {
		t.Errorf("edit of a filled order: %v", err)
	}
}

func TestAccountPositionsAndQuotes(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.SetBalance("USD", d("1000"))
	e.srv.SetBalance("ETH", d("2"))
	if _, err := e.b.PlaceOrder(ctx(t), limitBuy("0.01", "50000")); err != nil {
		t.Fatal(err)
	}
	acct, err := e.b.Account(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	hold := d("0.01").Mul(d("50000")).Mul(d("1.006"))
	if !acct.Cash.Equal(d("1000")) || !acct.BuyingPower.Equal(d("1000").Sub(hold)) || !acct.Equity.Equal(d("1000").Add(d("2").Mul(d("3301.10")))) {
		t.Errorf("account %+v", acct)
	}
	pos, err := e.b.Positions(ctx(t))
	if err != nil || len(pos) != 1 || pos[0].Instrument.Symbol != "ETH-USD" || !pos[0].Quantity.Equal(d("2")) {
		t.Errorf("positions %+v %v", pos, err)
	}
	quotes, err := e.b.Quotes(ctx(t), "BTC-USD", "NOPE-USD", "BTC-USD", "SOL-USD")
	var syms []string
	for _, q := range quotes {
		syms = append(syms, q.Symbol)
	}
	if err != nil || !slices.Equal(syms, []string{"BTC-USD", "SOL-USD"}) || !quotes[0].Bid.Equal(d("101716.47")) {
		t.Errorf("quotes %v %v", quotes, err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	key, _ := coinbasetest.NewES256Key("organizations/o/apiKeys/k")
	pub, _ := key.PublicPEM()
	tests := []struct {
		name string
		cfg  coinbase.Config
		want string
	}{
		{"no credentials", coinbase.Config{}, "key name is empty"},
		{"public key as secret", coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: pub}}, "PUBLIC KEY"},
		{"portfolio with a key", coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret}, RetailPortfolioID: "p"}, "OAuth only"},
		{"bad base URL", coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret}, BaseURL: "ftp://x"}, "BaseURL"},
		{"huge page", coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret}, OrdersPageSize: 5000}, "page sizes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := coinbase.New(tc.cfg)
			if !errors.Is(err, errors.ErrConfiguration) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrConfiguration mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	if h := e.b.Health(ctx(t)); h.Authenticated || h.Reachable || h.Broker != "coinbase" {
		t.Errorf("before any request: %+v", h)
	}
	if _, err := e.b.Positions(ctx(t)); err != nil {
		t.Fatal(err)
	}
	h := e.b.Health(ctx(t))
	if !h.Authenticated || !h.Reachable || h.LastError != nil || !h.TokenExpiry.Equal(start.Add(120*time.Second)) ||
		h.RateLimitRemaining["private"] != 29 {
		t.Errorf("after a request: %+v", h)
	}
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultUnauthorized, Times: 2})
	_, err := e.b.Positions(ctx(t))
	h = e.b.Health(ctx(t))
	if h.Authenticated || !errors.Is(h.LastError, errors.ErrUnauthenticated) || h.LastError.Error() != err.Error() {
		t.Errorf("after a refused token: %+v", h)
	}
}

// TestServerRateLimitIsRetried: the emulator allows 5 requests per second;
// its HTML 429s are retried after a backoff (on the fake clock) and every
// call succeeds.
func TestServerRateLimitIsRetried(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{PrivateRateLimit: 5}, false, func(c *coinbase.Config) {
		// Backoff of about 1 s, 2 s, ...: the emulator's one-second window
		// is sure to have moved by the second retry.
		c.Retry = retry.Policy{InitialInterval: time.Second, RandomizationFactor: 0.01}
	})
	for i := range 12 {
		if _, err := e.b.Positions(ctx(t)); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	limited := 0
	for _, r := range e.srv.Requests() {
		if r.Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Error("the emulator never rate-limited: the test proves nothing")
	}
}

// TestOutcomeUnknownWhileTheServerIsDown: every create attempt meets a 5xx
// that may or may not have been processed; the adapter cannot know, so it
// says so (ErrOutcomeUnknown, after a lookup that found nothing) and never
// reports "not placed". Once the server is back, the same request yields one
// order.
func TestOutcomeUnknownWhileTheServerIsDown(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorHTML, Status: http.StatusBadGateway,
		Method: "POST", Path: coinbasetest.APIPrefix + "/orders", Times: 100})
	req := limitBuy("0.01", "50000")
	_, err := e.b.PlaceOrder(ctx(t), req)
	var oe *errors.OrderError
	if !errors.Is(err, errors.ErrOutcomeUnknown) || !errors.As(err, &oe) || oe.ClientOrderID != req.ClientOrderID {
		t.Fatalf("error %v (kind %s), want ErrOutcomeUnknown naming the client order id", err, errors.KindOf(err))
	}
	if errors.Retryable(err) {
		t.Error("an unknown outcome must not be retryable")
	}
	e.srv.ClearFaults() // the outage ends
	ack, err := e.b.PlaceOrder(ctx(t), req)
	if err != nil || len(ordersFor(e.srv, req.ClientOrderID)) != 1 || ack.OrderID == "" {
		t.Fatalf("after the outage: %+v %v", ack, err)
	}
}

func TestReplaceMovesAStopLimit(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("server ignores stop_price %v", ignore), func(t *testing.T) {
			e := newEnv(t, coinbasetest.Config{IgnoreEditStopPrice: ignore}, false, nil)
			e.srv.SetBalance("BTC", d("1"))
			stop := broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(), Instrument: btc(), Side: broker.Sell,
				Type: broker.StopLimit, Quantity: d("0.5"), StopPrice: d("90000"), LimitPrice: d("89100"), TimeInForce: broker.GTC}
			ack, err := e.b.PlaceOrder(ctx(t), stop)
			if err != nil {
				t.Fatal(err)
			}
			trailed := stop
			trailed.StopPrice, trailed.LimitPrice = d("95000"), d("94050")
			_, err = e.b.ReplaceOrder(ctx(t), ack.OrderID, trailed)
			got := e.srv.Orders()[0]
			if ignore {
				if !errors.Is(err, errors.ErrOrderRejected) || !got.StopPrice.Equal(d("90000")) {
					t.Fatalf("a stop that did not move: %v, stop at %s", err, got.StopPrice)
				}
				return
			}
			if err != nil || !got.StopPrice.Equal(d("95000")) || !got.LimitPrice.Equal(d("94050")) || got.OrderID != ack.OrderID {
				t.Fatalf("trail: %v; emulator holds stop %s limit %s", err, got.StopPrice, got.LimitPrice)
			}
		})
	}
}

// TestReadsRetryTransientFaults: a read meets a 503 HTML page, a JSON 500
// and a dropped connection, and still succeeds (reads are idempotent); a
// truncated 200 body is a typed malformed-response error, never a panic.
func TestReadsRetryTransientFaults(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	path := coinbasetest.APIPrefix + "/accounts"
	for _, k := range []coinbasetest.FaultKind{coinbasetest.FaultServerErrorHTML, coinbasetest.FaultServerErrorJSON, coinbasetest.FaultDropAfterAccept} {
		e.srv.InjectFault(coinbasetest.Fault{Kind: k, Method: "GET", Path: path})
		if _, err := e.b.Positions(ctx(t)); err != nil {
			t.Errorf("fault %d: %v", k, err)
		}
	}
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultTruncatedJSONAfterAccept, Method: "GET", Path: path})
	if _, err := e.b.Positions(ctx(t)); !errors.Is(err, errors.ErrMalformedResponse) {
		t.Errorf("truncated answer: %v, want ErrMalformedResponse", err)
	}
}

// TestSyncClockFixesAFastLocalClock: the adapter's clock runs 5 s ahead of
// the emulator's, so its tokens' nbf is in the server's future and every
// request is refused (401); after SyncClock they pass.
func TestSyncClockFixesAFastLocalClock(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, func(c *coinbase.Config) {
		c.Clock = aheadClock{Clock: c.Clock, by: 5 * time.Second}
	})
	if _, err := e.b.Positions(ctx(t)); !errors.Is(err, errors.ErrUnauthenticated) {
		t.Fatalf("with a fast clock: %v, want ErrUnauthenticated", err)
	}
	if fails := e.srv.AuthFailures(); len(fails) == 0 || !strings.Contains(fails[0], "future") {
		t.Fatalf("refusals %q, want nbf in the future", fails)
	}
	offset, err := e.b.SyncClock(ctx(t))
	if err != nil || offset != -5*time.Second {
		t.Fatalf("SyncClock = %v, %v; want -5s", offset, err)
	}
	if _, err := e.b.Positions(ctx(t)); err != nil {
		t.Fatalf("after SyncClock: %v", err)
	}
}

// TestOrderNotYetVisible: right after a create, Coinbase can answer 404 for
// the new order for a moment. A resent create whose read-back is 404 keeps
// its Ack; GetOrder says not found until the order shows.
func TestOrderNotYetVisible(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{VisibilityDelay: 2 * time.Second}, true, func(c *coinbase.Config) {
		c.Retry.Disabled = true // the resend is the adapter's own, not httpx's
	})
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultDropAfterAccept, Method: "POST", Path: coinbasetest.APIPrefix + "/orders"})
	req := limitBuy("0.01", "50000")
	ack, err := e.b.PlaceOrder(ctx(t), req)
	if err != nil || len(ordersFor(e.srv, req.ClientOrderID)) != 1 || ack.OrderID != ordersFor(e.srv, req.ClientOrderID)[0].OrderID {
		t.Fatalf("PlaceOrder: %+v %v", ack, err)
	}
	if _, err := e.b.GetOrder(ctx(t), ack.OrderID); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Fatalf("inside the window: %v, want ErrOrderNotFound", err)
	}
	e.clock.Advance(3 * time.Second)
	if o, err := e.b.GetOrder(ctx(t), ack.OrderID); err != nil || o.ClientOrderID != req.ClientOrderID {
		t.Fatalf("after the window: %+v %v", o, err)
	}
}

// aheadClock reads its clock shifted by a fixed amount: a host whose clock
// runs fast.
type aheadClock struct {
	clock.Clock
	by time.Duration
}

func (c aheadClock) Now() time.Time { return c.Clock.Now().Add(c.by) }
