package schwab

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

// A burst of 500 placements stays within 120 order requests in every
// rolling minute at the emulator (whose own limit would answer 429), on the
// fake clock.
func TestBurstStaysWithinOrderLimit(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	for i := range 500 {
		if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "10.00")); err != nil {
			t.Fatalf("placement %d: %v", i, err)
		}
	}
	times := r.emu.OrderRequestTimes(testAccount)
	if len(times) != 500 || len(r.emu.Orders()) != 500 {
		t.Fatalf("emulator saw %d order requests, holds %d orders; want 500", len(times), len(r.emu.Orders()))
	}
	for i := 120; i < len(times); i++ {
		// The window is (t-1m, t]: request i and request i-120 must be a
		// full minute apart, or 121 would share a minute.
		if gap := times[i].Sub(times[i-120]); gap < time.Minute {
			t.Fatalf("requests %d and %d are %s apart: 121 order requests in one minute", i-120, i, gap)
		}
	}
	if span := times[len(times)-1].Sub(times[0]); span > 5*time.Minute {
		t.Errorf("500 orders took %s of fake time; the limiter is too slow", span)
	}
}

func TestUnknownStatusReported(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	var seen []broker.Observation
	r := newRig(t, schwabtest.Config{}, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&buf, nil))
		c.Observer = broker.ObserverFunc(func(_ context.Context, o broker.Observation) {
			mu.Lock()
			defer mu.Unlock()
			if o.Op == broker.OpGetOrder {
				seen = append(seen, o)
			}
		})
	})
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "10.00"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.emu.SetStatus(ack.OrderID, "HELD_FOR_SOMETHING_NEW"); err != nil {
		t.Fatal(err)
	}
	o, err := r.b.GetOrder(ctx, ack.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != broker.StatusUnknown || o.RawStatus != "HELD_FOR_SOMETHING_NEW" || o.Status.Terminal() {
		t.Errorf("status %s raw %q", o.Status, o.RawStatus)
	}
	open, err := r.b.OpenOrders(ctx)
	if err != nil || len(open) != 1 || open[0].OrderID != ack.OrderID {
		t.Errorf("an order in an unknown status must stay open: %v %v", open, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Broker != "schwab" || seen[0].Method != http.MethodGet ||
		seen[0].Status != http.StatusOK || seen[0].Attempts != 1 || !strings.HasSuffix(seen[0].Path, "/orders/"+ack.OrderID) {
		t.Errorf("observer saw %+v, want one GET of the order", seen)
	}
	if !strings.Contains(buf.String(), "HELD_FOR_SOMETHING_NEW") {
		t.Errorf("not logged: %s", buf.String())
	}
}

func TestHealth(t *testing.T) {
	var buf bytes.Buffer
	r := newRig(t, schwabtest.Config{}, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(&buf, nil)) })
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	if h := r.b.Health(ctx); h.Reachable || h.Authenticated {
		t.Errorf("before any request: %+v", h)
	}
	if _, err := r.b.Account(ctx); err != nil {
		t.Fatal(err)
	}
	h := r.b.Health(ctx)
	loginExpiry := testStart.Add(RefreshLifetime)
	if !h.Reachable || !h.Authenticated || !h.LoginExpiry.Equal(loginExpiry) || !h.TokenExpiry.After(r.clock.Now()) ||
		h.LastError != nil || h.Broker != Name {
		t.Errorf("health = %+v", h)
	}
	if _, ok := h.RateLimitRemaining["orders"]; !ok {
		t.Errorf("no order headroom: %v", h.RateLimitRemaining)
	}
	if _, err := r.b.GetOrder(ctx, "987654321012"); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
	if h := r.b.Health(ctx); !errors.Is(h.LastError, errors.ErrOrderNotFound) || h.LastErrorAt.IsZero() {
		t.Errorf("last error = %v at %s", h.LastError, h.LastErrorAt)
	}
	if r.b.LoginExpiresWithin(DefaultLoginWarning) || strings.Contains(buf.String(), "expires soon") {
		t.Error("login reported expiring a week early")
	}
	r.clock.Set(loginExpiry.Add(-3 * time.Hour))
	if _, err := r.b.Account(ctx); err != nil {
		t.Fatal(err)
	}
	if !r.b.LoginExpiresWithin(DefaultLoginWarning) || !strings.Contains(buf.String(), "expires soon") {
		t.Errorf("login expiring in 3h not surfaced; log: %s", buf.String())
	}
}

func TestLocationParsing(t *testing.T) {
	const hash = "ABC123"
	tests := []struct {
		loc    string
		wantID string
		ok     bool
	}{
		{"https://api.schwabapi.com/trader/v1/accounts/ABC123/orders/1004055538153", "1004055538153", true},
		{"/trader/v1/accounts/ABC123/orders/42", "42", true},
		{"http://127.0.0.1:1234/trader/v1/accounts/ABC123/orders/42/", "42", true},
		{"", "", false},
		{"https://api.schwabapi.com/trader/v1/accounts/OTHER/orders/42", "", false},
		{"https://api.schwabapi.com/trader/v1/accounts/ABC123/orders/abc", "", false},
		{"https://api.schwabapi.com/trader/v1/accounts/ABC123/transactions/42", "", false},
		{"%zz", "", false},
	}
	for _, tt := range tests {
		id, ok := orderIDFromLocation(tt.loc, hash)
		if id != tt.wantID || ok != tt.ok {
			t.Errorf("orderIDFromLocation(%q) = %q, %v; want %q, %v", tt.loc, id, ok, tt.wantID, tt.ok)
		}
	}
}

func TestEncodeRefusals(t *testing.T) {
	base := limitBuy("AAPL", 10, "10.00")
	tests := []struct {
		name string
		mod  func(*broker.OrderRequest)
		kind errors.Kind
	}{
		{"fractional quantity", func(r *broker.OrderRequest) { r.Quantity = decimal.RequireFromString("1.5") }, errors.ErrInvalidOrder},
		{"sub-cent price above $1", func(r *broker.OrderRequest) { r.LimitPrice = decimal.RequireFromString("10.001") }, errors.ErrInvalidOrder},
		{"crypto", func(r *broker.OrderRequest) { r.Instrument.AssetClass = broker.Crypto }, errors.ErrNotSupported},
		{"negative quantity", func(r *broker.OrderRequest) { r.Quantity = decimal.NewFromInt(-1) }, errors.ErrInvalidOrder},
	}
	for _, tt := range tests {
		req := base
		tt.mod(&req)
		if _, err := encodeRequest(req); !errors.Is(err, tt.kind) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.kind)
		}
	}
	// Below $1 four places are allowed; the body carries strings.
	req := base
	req.LimitPrice = decimal.RequireFromString("0.1234")
	body, err := encodeRequest(req)
	if err != nil || !strings.Contains(string(body), `"price":"0.1234"`) || !strings.Contains(string(body), `"quantity":10`) {
		t.Errorf("sub-dollar body %s, %v", body, err)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tok := func(context.Context) (string, error) { return "t", nil }
	for name, cfg := range map[string]Config{
		"no account":      {AccessToken: tok},
		"no token":        {AccountNumber: "1"},
		"order limit 500": {AccountNumber: "1", AccessToken: tok, OrderRequestsPerMinute: 500},
		"bad base url":    {AccountNumber: "1", AccessToken: tok, BaseURL: "ftp://x"},
	} {
		if _, err := New(cfg); !errors.Is(err, errors.ErrConfiguration) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSecondPlacementWithOtherFieldsRefused(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	req := limitBuy("AAPL", 10, "10.00")
	if _, err := r.b.PlaceOrder(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	req.LimitPrice = decimal.RequireFromString("11.00")
	if _, err := r.b.PlaceOrder(context.Background(), req); !errors.Is(err, errors.ErrDuplicateOrder) {
		t.Errorf("same client id, other price: %v", err)
	}
	if n := len(r.emu.Orders()); n != 1 {
		t.Errorf("emulator holds %d orders", n)
	}
}

// Schwab compresses answers even unasked; a host transport that does not
// inflate them (DisableCompression) must still work, errors included.
func TestGzipUnasked(t *testing.T) {
	r := newRig(t, schwabtest.Config{GzipUnasked: true}, func(c *Config) {
		tr := c.HTTPClient.Transport.(*http.Transport).Clone()
		tr.DisableCompression = true
		c.HTTPClient = &http.Client{Transport: tr}
		c.AccountHash = schwabtest.HashFor(testAccount) // no accountNumbers lookup
	})
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "10.00"))
	if err != nil {
		t.Fatal(err)
	}
	if o, err := r.b.GetOrder(ctx, ack.OrderID); err != nil || o.OrderID != ack.OrderID {
		t.Errorf("GetOrder over gzip: %+v %v", o, err)
	}
	if _, err := r.b.GetOrder(ctx, "987654321012"); !errors.Is(err, errors.ErrOrderNotFound) {
		t.Errorf("gzip 404: %v", err)
	}
	if r.emu.Count(schwabtest.RouteAccountNumbers) != 0 {
		t.Error("the configured hash was looked up anyway")
	}
}

func TestReplaceReusingClientOrderID(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	req := limitBuy("AAPL", 10, "10.00")
	old, err := r.b.PlaceOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.LimitPrice = decimal.RequireFromString("9.50")
	first, err := r.b.ReplaceOrder(ctx, old.OrderID, req)
	if err != nil || first.OrderID == old.OrderID {
		t.Fatalf("replace: %+v %v", first, err)
	}
	again, err := r.b.ReplaceOrder(ctx, old.OrderID, req)
	if err != nil || again.OrderID != first.OrderID || len(r.emu.Orders()) != 2 {
		t.Errorf("repeated replace: %+v %v, %d orders", again, err, len(r.emu.Orders()))
	}
	r.emu.Settle()
	if o, err := r.b.GetOrder(ctx, old.OrderID); err != nil || o.Status != broker.StatusReplaced || o.ReplacedBy != first.OrderID {
		t.Errorf("old order: %s replaced by %q, %v", o.Status, o.ReplacedBy, err)
	}
}

// What the adapter puts on the wire, as the emulator recorded it.
func TestWireRequests(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "10.50")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.b.OpenOrders(ctx); err != nil {
		t.Fatal(err)
	}
	var sawPlace, sawList bool
	for _, rec := range r.emu.Requests() {
		if !strings.HasPrefix(rec.Header.Get("Authorization"), "Bearer I0.") {
			t.Errorf("%s %s without a bearer token", rec.Method, rec.Path)
		}
		if rec.Header.Get("Idempotency-Key") != "" || rec.Header.Get("X-Idempotency-Key") != "" {
			t.Errorf("%s %s carries an idempotency key", rec.Method, rec.Path)
		}
		switch rec.Route {
		case schwabtest.RoutePlace:
			sawPlace = true
			body := string(rec.Body)
			if !strings.HasPrefix(rec.Header.Get("Content-Type"), "application/json") ||
				!strings.Contains(body, `"price":"10.50"`) || strings.Contains(body, "requestedDestination") ||
				!strings.Contains(body, `"quantity":10`) {
				t.Errorf("place request: %s %s", rec.Header.Get("Content-Type"), body)
			}
		case schwabtest.RouteList:
			sawList = true
			q, _ := url.ParseQuery(rec.Query)
			for _, p := range []string{"fromEnteredTime", "toEnteredTime"} {
				if _, err := time.Parse("2006-01-02T15:04:05.000Z", q.Get(p)); err != nil || !strings.HasSuffix(q.Get(p), "Z") {
					t.Errorf("%s = %q, want yyyy-MM-ddTHH:mm:ss.SSSZ", p, q.Get(p))
				}
			}
		}
	}
	if !sawPlace || !sawList {
		t.Errorf("requests seen: place %t, list %t", sawPlace, sawList)
	}
}

func TestRejectedAndExpiredOrders(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	rej, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "10.00"))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.emu.Reject(rej.OrderID, "Your buying power is insufficient"); err != nil {
		t.Fatal(err)
	}
	o, err := r.b.GetOrder(ctx, rej.OrderID)
	if err != nil || o.Status != broker.StatusRejected || o.RejectReason != "Your buying power is insufficient" {
		t.Errorf("rejected: %s %q %v", o.Status, o.RejectReason, err)
	}
	exp, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "10.00"))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.emu.Fill(exp.OrderID, decimal.NewFromInt(4), decimal.RequireFromString("10.00"))
	_ = r.emu.Expire(exp.OrderID)
	o, err = r.b.GetOrder(ctx, exp.OrderID)
	if err != nil || o.Status != broker.StatusExpired || !o.FilledQuantity.Equal(decimal.NewFromInt(4)) ||
		!o.Remaining().IsZero() || !o.LeavesQuantity.IsZero() || len(o.Fills) != 1 {
		t.Errorf("expired with a partial fill: %+v %v", o, err)
	}
	if err := r.b.CancelOrder(ctx, exp.OrderID); !errors.Is(err, errors.ErrOrderNotCancelable) {
		t.Errorf("cancel of an expired order: %v", err)
	}
	// Canceled behind our back: the CANCELED pseudo-execution is not a fill.
	gone, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "10.00"))
	if err != nil {
		t.Fatal(err)
	}
	_ = r.emu.CancelBehindBack(gone.OrderID)
	if o, err := r.b.GetOrder(ctx, gone.OrderID); err != nil || o.Status != broker.StatusCanceled || len(o.Fills) != 0 ||
		!o.FilledQuantity.IsZero() {
		t.Errorf("canceled behind our back: %+v %v", o, err)
	}
}
