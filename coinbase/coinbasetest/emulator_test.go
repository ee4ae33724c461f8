package coinbasetest_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/shopspring/decimal"
)

var start = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// client signs requests on its own (a third reading of the JWT rules, kept
// minimal), so the emulator's tests depend on neither the adapter nor its
// signer.
type client struct {
	t   *testing.T
	srv *coinbasetest.Server
	key coinbasetest.TestKey
	ec  *ecdsa.PrivateKey
}

func newClient(t *testing.T, cfg coinbasetest.Config) *client {
	t.Helper()
	cfg.Clock = clocktest.New(start)
	srv := coinbasetest.NewServer(cfg)
	t.Cleanup(srv.Close)
	key, err := coinbasetest.NewES256Key("organizations/t/apiKeys/emulator-test")
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterKey(key)
	block, _ := pem.Decode([]byte(key.Secret))
	ec, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, srv: srv, key: key, ec: ec}
}

func (c *client) token(method, path string) string {
	b64 := base64.RawURLEncoding.EncodeToString
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": c.key.Name, "nonce": fmt.Sprintf("%x", nonce), "typ": "JWT"})
	u, _ := url.Parse(c.srv.URL())
	cl, _ := json.Marshal(map[string]any{"sub": c.key.Name, "iss": "cdp", "nbf": start.Unix(), "exp": start.Unix() + 120,
		"uri": method + " " + u.Host + path})
	input := b64(h) + "." + b64(cl)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, c.ec, digest[:])
	if err != nil {
		c.t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// do sends a request and decodes the JSON answer into a generic value.
func (c *client) do(method, path string, q url.Values, body any) (int, any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	full := c.srv.URL() + coinbasetest.APIPrefix + path
	if len(q) > 0 {
		full += "?" + q.Encode()
	}
	req, _ := http.NewRequest(method, full, rd)
	req.Header.Set("Authorization", "Bearer "+c.token(method, coinbasetest.APIPrefix+path))
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		c.t.Fatalf("%s %s: %d non-JSON answer %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, v
}

func fixture(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// shapeDiff lists the keys of want (recursively through objects and the
// first element of lists) that got lacks, and the members whose JSON type
// differs (string vs number vs bool), so the emulator answers in the real
// shapes.
func shapeDiff(path string, want, got any) []string {
	var out []string
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path + ": not an object"}
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok {
				out = append(out, path+"."+k+": missing")
				continue
			}
			if w[k] == nil || gv == nil {
				continue // null in one of them: type not comparable
			}
			out = append(out, shapeDiff(path+"."+k, w[k], gv)...)
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return []string{path + ": not a list"}
		}
		if len(w) > 0 && len(g) > 0 {
			out = append(out, shapeDiff(path+"[0]", w[0], g[0])...)
		}
	default:
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", got) {
			out = append(out, fmt.Sprintf("%s: %T, want %T", path, got, want))
		}
	}
	return out
}

func TestResponsesHaveTheFixtureShapes(t *testing.T) {
	c := newClient(t, coinbasetest.Config{})
	c.srv.SetBalance("SOL", decimal.RequireFromString("10"))
	post := func(body any) any { _, v := c.do("POST", "/orders", nil, body); return v }
	limit := func(id, size string) map[string]any {
		return map[string]any{"client_order_id": id, "product_id": "SOL-USD", "side": "BUY",
			"order_configuration": map[string]any{"limit_limit_gtc": map[string]any{"base_size": size, "limit_price": "100", "post_only": true}}}
	}
	created := post(limit("3a7b42c6-cc12-4932-98ba-33fd8ddb60a0", "0.1")).(map[string]any)
	orderID := created["success_response"].(map[string]any)["order_id"].(string)
	c.srv.SetBalance("USD", decimal.Zero)
	refused := post(limit("another-id", "0.3"))
	if err := c.srv.Fill(orderID, decimal.RequireFromString("0.05"), decimal.RequireFromString("100")); err != nil {
		t.Fatal(err)
	}
	_, order := c.do("GET", "/orders/historical/"+orderID, nil, nil)
	c.srv.SetBalance("USD", decimal.RequireFromString("100"))
	post(map[string]any{"client_order_id": "quote-sized", "product_id": "BTC-USD", "side": "BUY",
		"order_configuration": map[string]any{"market_market_ioc": map[string]any{"quote_size": "6.36"}}})
	_, orders := c.do("GET", "/orders/historical/batch", url.Values{"limit": {"1"}}, nil)
	_, fills := c.do("GET", "/orders/historical/fills", nil, nil)
	_, product := c.do("GET", "/products/BTC-USD", nil, nil)
	_, book := c.do("GET", "/best_bid_ask", url.Values{"product_ids": {"BTC-USD"}}, nil)
	_, accounts := c.do("GET", "/accounts", url.Values{"limit": {"1"}}, nil)
	_, cancelled := c.do("POST", "/orders/batch_cancel", nil, map[string]any{"order_ids": []string{orderID}})
	_, again := c.do("POST", "/orders/batch_cancel", nil, map[string]any{"order_ids": []string{orderID}})
	status404, missing := c.do("GET", "/orders/historical/7f0d1c3e-0000-4000-8000-000000000000", nil, nil)
	status400, badProduct := c.do("GET", "/products/NOPE-USD", nil, nil)

	errs := fixture(t, "error_responses.json").(map[string]any)["observed_error_responses"].([]any)
	body := func(i int) any { return errs[i].(map[string]any)["body"] }
	checks := []struct {
		name string
		want any
		got  any
	}{
		{"create success", fixture(t, "create_order_success.json"), created},
		{"create insufficient fund", fixture(t, "create_order_failure_insufficient_fund.json"), refused},
		{"get order", fixture(t, "get_order_filled_limit.json"), order},
		{"get order (legacy fixture)", fixture(t, "get_order_open_limit.json"), order},
		{"list orders", fixture(t, "list_orders_filled_market_quote_sized.json"), orders},
		{"list fills", fixture(t, "list_fills_page.json"), fills},
		{"product", fixture(t, "product_btc_usd.json"), product},
		{"best bid ask", fixture(t, "best_bid_ask.json"), book},
		{"accounts", fixture(t, "accounts_list.json"), accounts},
		{"batch cancel success", fixture(t, "batch_cancel_success.json"), cancelled},
		{"batch cancel failure", fixture(t, "batch_cancel_failure.json"), again},
		{"404 body", body(3), missing},
		{"400 body", body(0), badProduct},
	}
	for _, ck := range checks {
		if diff := shapeDiff("$", ck.want, ck.got); len(diff) > 0 {
			t.Errorf("%s differs from the fixture:\n%s", ck.name, strings.Join(diff, "\n"))
		}
	}
	if status404 != 404 || status400 != 400 {
		t.Errorf("statuses %d %d, want 404 400", status404, status400)
	}
	// Business values, not only shapes.
	sr := created["success_response"].(map[string]any)
	er := refused.(map[string]any)["error_response"].(map[string]any)
	if sr["product_id"] != "SOL-USDC" || er["error"] != "INSUFFICIENT_FUND" || er["preview_failure_reason"] != "PREVIEW_INSUFFICIENT_FUND" ||
		er["message"] != "Insufficient balance in source account" {
		t.Errorf("create answers: %v / %v", sr, er)
	}
	res := again.(map[string]any)["results"].([]any)[0].(map[string]any)
	if res["success"] != false || res["failure_reason"] != "UNKNOWN_CANCEL_ORDER" {
		t.Errorf("second cancel: %v", res)
	}
}

func TestIdempotentClientOrderID(t *testing.T) {
	c := newClient(t, coinbasetest.Config{})
	body := map[string]any{"client_order_id": "same-id", "product_id": "BTC-USD", "side": "BUY",
		"order_configuration": map[string]any{"limit_limit_gtc": map[string]any{"base_size": "0.01", "limit_price": "50000", "post_only": false}}}
	_, first := c.do("POST", "/orders", nil, body)
	usd, _ := c.srv.Balance("USD")
	body["side"] = "SELL" // echoed, yet nothing new is created (ISS-49)
	_, second := c.do("POST", "/orders", nil, body)
	id := func(v any) any { return v.(map[string]any)["success_response"].(map[string]any)["order_id"] }
	usdAfter, _ := c.srv.Balance("USD")
	if id(first) != id(second) || len(c.srv.Orders()) != 1 || !usd.Equal(usdAfter) {
		t.Fatalf("second create: %v vs %v, %d orders", id(first), id(second), len(c.srv.Orders()))
	}
	if got := second.(map[string]any)["success_response"].(map[string]any)["side"]; got != "SELL" {
		t.Errorf("echo side %v, want the new request's SELL", got)
	}
}

func TestPaginationAndStatusFilter(t *testing.T) {
	c := newClient(t, coinbasetest.Config{})
	for i := range 7 {
		c.do("POST", "/orders", nil, map[string]any{"client_order_id": fmt.Sprint("id-", i), "product_id": "BTC-USD", "side": "BUY",
			"order_configuration": map[string]any{"limit_limit_gtc": map[string]any{"base_size": "0.01", "limit_price": "50000"}}})
	}
	var ids []string
	q := url.Values{"order_status": {"OPEN"}, "limit": {"3"}}
	for pages := 1; ; pages++ {
		_, v := c.do("GET", "/orders/historical/batch", q, nil)
		page := v.(map[string]any)
		for _, o := range page["orders"].([]any) {
			ids = append(ids, o.(map[string]any)["order_id"].(string))
		}
		if page["has_next"] == false {
			if page["cursor"] != "" || pages != 3 {
				t.Errorf("last page %d cursor %q", pages, page["cursor"])
			}
			break
		}
		q.Set("cursor", page["cursor"].(string))
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != 7 {
		t.Errorf("read %d distinct orders, want 7", len(ids))
	}
	status, _ := c.do("GET", "/orders/historical/batch", url.Values{"order_status": {"OPEN", "FILLED"}}, nil)
	if status != 400 {
		t.Errorf("OPEN combined with FILLED: %d, want 400", status)
	}
}

// TestEditRefusedRaw: the emulator refuses, sent raw, the edits Coinbase
// documents as refused (a limit order that is not GTC, a quote-sized one)
// and accepts a stop-limit edit.
func TestEditRefusedRaw(t *testing.T) {
	c := newClient(t, coinbasetest.Config{})
	c.srv.SetBalance("USD", decimal.NewFromInt(100000))
	c.srv.SetBalance("BTC", decimal.NewFromInt(1))
	tests := []struct {
		name   string
		side   string
		config map[string]any
		edit   map[string]string
		want   any // edit_failure_reason, nil: success
	}{
		{"limit GTD", "BUY", map[string]any{"limit_limit_gtd": map[string]any{"base_size": "0.01", "limit_price": "40000",
			"end_time": "2026-03-03T14:30:00Z", "post_only": false}}, map[string]string{"price": "39000", "size": "0.01"},
			"ONLY_LIMIT_ORDER_EDITS_SUPPORTED"},
		{"stop-limit GTC", "SELL", map[string]any{"stop_limit_stop_limit_gtc": map[string]any{"base_size": "0.01",
			"limit_price": "39000", "stop_price": "40000", "stop_direction": "STOP_DIRECTION_STOP_DOWN"}},
			map[string]string{"price": "40000", "size": "0.01", "stop_price": "41000"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, v := c.do("POST", "/orders", nil, map[string]any{"client_order_id": fmt.Sprint(time.Now().UnixNano()),
				"product_id": "BTC-USD", "side": tc.side, "order_configuration": tc.config})
			created, _ := v.(map[string]any)["success_response"].(map[string]any)
			if status != 200 || created == nil {
				t.Fatalf("create: %d %v", status, v)
			}
			tc.edit["order_id"] = created["order_id"].(string)
			status, v = c.do("POST", "/orders/edit", nil, tc.edit)
			out := v.(map[string]any)
			var reason any
			if errs, _ := out["errors"].([]any); len(errs) > 0 {
				reason = errs[0].(map[string]any)["edit_failure_reason"]
			}
			if status != 200 || reason != tc.want || (out["success"] == true) != (tc.want == nil) {
				t.Errorf("edit: %d %v, want reason %v", status, out, tc.want)
			}
		})
	}
}
