package schwabtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var start = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

// client talks to the emulator with plain net/http, as a second reader of
// the spec would.
type client struct {
	t     *testing.T
	s     *Server
	token string
	hash  string
}

func newTestServer(t *testing.T, cfg Config) (*Server, *clocktest.Fake, *client) {
	t.Helper()
	clock := clocktest.New(start)
	cfg.Clock = clock
	s := New(cfg)
	t.Cleanup(s.Close)
	c := &client{t: t, s: s, token: s.IssueTokens().AccessToken, hash: s.Hash("12345678")}
	return s, clock, c
}

func (c *client) do(method, path string, body []byte) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.s.URL()+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.s.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, b
}

func (c *client) place(body []byte) string {
	c.t.Helper()
	resp, b := c.do("POST", "/trader/v1/accounts/"+c.hash+"/orders", body)
	if resp.StatusCode != 201 || len(b) != 0 {
		c.t.Fatalf("place: %d %s", resp.StatusCode, b)
	}
	loc := resp.Header.Get("Location")
	prefix := c.s.URL() + "/trader/v1/accounts/" + c.hash + "/orders/"
	if !strings.HasPrefix(loc, prefix) {
		c.t.Fatalf("Location %q", loc)
	}
	return strings.TrimPrefix(loc, prefix)
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, b []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return slices.Sorted(maps.Keys(m))
}

func field(t *testing.T, b []byte, path ...any) json.RawMessage {
	t.Helper()
	cur := json.RawMessage(b)
	for _, p := range path {
		switch k := p.(type) {
		case string:
			var m map[string]json.RawMessage
			if err := json.Unmarshal(cur, &m); err != nil {
				t.Fatalf("%v at %v", err, path)
			}
			cur = m[k]
		case int:
			var a []json.RawMessage
			if err := json.Unmarshal(cur, &a); err != nil || k >= len(a) {
				t.Fatalf("index %d at %v: %v", k, path, err)
			}
			cur = a[k]
		}
	}
	return cur
}

const marketBuyGME = `{"orderType":"MARKET","session":"NORMAL","duration":"DAY","orderStrategyType":"SINGLE",
 "orderLegCollection":[{"instruction":"BUY","quantity":1,"instrument":{"symbol":"GME","assetType":"EQUITY"}}]}`

// The emulator's orders have the keys of the real filled and canceled orders.
func TestOrderShapesMatchFixtures(t *testing.T) {
	s, clock, c := newTestServer(t, Config{})
	id := c.place([]byte(marketBuyGME))
	clock.Advance(time.Second)
	if err := s.Fill(id, decimal.NewFromInt(1), decimal.RequireFromString("22.7299")); err != nil {
		t.Fatal(err)
	}
	resp, got := c.do("GET", "/trader/v1/accounts/"+c.hash+"/orders/"+id, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json;charset=UTF-8" ||
		resp.Header.Get("Schwab-Client-Correlid") == "" {
		t.Fatalf("get: %d %v", resp.StatusCode, resp.Header)
	}
	want := readFixture(t, "order_filled_market_equity.json")
	for _, path := range [][]any{{}, {"orderLegCollection", 0}, {"orderLegCollection", 0, "instrument"},
		{"orderActivityCollection", 0}, {"orderActivityCollection", 0, "executionLegs", 0}} {
		if diff := cmp.Diff(keys(t, field(t, want, path...)), keys(t, field(t, got, path...))); diff != "" {
			t.Errorf("keys at %v (-fixture +emulator):\n%s", path, diff)
		}
	}
	checks := map[string]string{"status": `"FILLED"`, "filledQuantity": "1.0", "remainingQuantity": "0.0",
		"enteredTime": `"2026-03-02T15:00:00+0000"`, "closeTime": `"2026-03-02T15:00:01+0000"`, "accountNumber": "12345678"}
	for k, v := range checks {
		if g := string(field(t, got, k)); g != v {
			t.Errorf("%s = %s, want %s", k, g, v)
		}
	}
	if p := string(field(t, got, "orderActivityCollection", 0, "executionLegs", 0, "price")); p != "22.7299" {
		t.Errorf("fill price = %s", p)
	}

	// Canceled behind the client's back: the CANCELED pseudo-execution.
	limit := bytes.Replace(readFixture(t, "order_request_limit_buy_equity.json"), []byte(`"quantity": 4`), []byte(`"quantity": 1`), 1)
	id = c.place(limit)
	if err := s.CancelBehindBack(id); err != nil {
		t.Fatal(err)
	}
	_, got = c.do("GET", "/trader/v1/accounts/"+c.hash+"/orders/"+id, nil)
	want = readFixture(t, "order_canceled_limit_equity.json")
	for _, path := range [][]any{{}, {"orderActivityCollection", 0}, {"orderActivityCollection", 0, "executionLegs", 0}} {
		if diff := cmp.Diff(keys(t, field(t, want, path...)), keys(t, field(t, got, path...))); diff != "" {
			t.Errorf("canceled keys at %v (-fixture +emulator):\n%s", path, diff)
		}
	}
	for k, v := range map[string]string{"status": `"CANCELED"`, "remainingQuantity": "0.0", "price": "10.0"} {
		if g := string(field(t, got, k)); g != v {
			t.Errorf("%s = %s, want %s", k, g, v)
		}
	}
	act := field(t, got, "orderActivityCollection", 0)
	if string(field(t, act, "executionType")) != `"CANCELED"` || string(field(t, act, "executionLegs", 0, "price")) != "0.0" {
		t.Errorf("cancel activity = %s", act)
	}
}

func TestAccountsAndQuotesShapes(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	s.SetPosition("12345678", "SPY", "COLLECTIVE_INVESTMENT", decimal.NewFromInt(2), decimal.RequireFromString("571.215"))
	resp, got := c.do("GET", "/trader/v1/accounts/accountNumbers", nil)
	if resp.StatusCode != 200 || string(got) != `[{"accountNumber":"12345678","hashValue":"`+c.hash+`"}]` || len(c.hash) != 64 {
		t.Fatalf("accountNumbers: %d %s", resp.StatusCode, got)
	}
	_, got = c.do("GET", "/trader/v1/accounts/"+c.hash+"?fields=positions", nil)
	want := readFixture(t, "account_with_positions.json")
	if diff := cmp.Diff(keys(t, want), keys(t, got)); diff != "" {
		t.Errorf("account keys (-fixture +emulator):\n%s", diff)
	}
	if g := string(field(t, got, "securitiesAccount", "accountNumber")); g != `"12345678"` {
		t.Errorf("accountNumber = %s, want a string", g)
	}
	pos := field(t, got, "securitiesAccount", "positions", 0)
	realPos := field(t, readFixture(t, "positions_real_mixed_assets.json"), 0)
	if diff := cmp.Diff(keys(t, realPos), keys(t, pos)); diff != "" {
		t.Errorf("position keys (-real +emulator):\n%s", diff)
	}
	_, got = c.do("GET", "/trader/v1/accounts/"+c.hash, nil)
	if len(field(t, got, "securitiesAccount", "positions")) != 0 {
		t.Error("positions present without fields=positions")
	}
	if resp, got := c.do("GET", "/trader/v1/accounts/12345678", nil); resp.StatusCode != 400 || string(got) != `{"message":"Invalid account number"}` {
		t.Errorf("plain number in path: %d %s", resp.StatusCode, got)
	}

	s.SetQuote("AAPL", QuoteValue{Bid: decimal.RequireFromString("168.4"), Ask: decimal.RequireFromString("168.41"), Last: decimal.RequireFromString("168.405")})
	s.SetQuote("$SPX", QuoteValue{AssetMainType: "INDEX", Last: decimal.RequireFromString("4396.2")})
	_, got = c.do("GET", "/marketdata/v1/quotes?symbols=AAPL%2C%24SPX%2CZZZZ&fields=quote", nil)
	fx := readFixture(t, "quotes_multi_symbol.json")
	for _, sym := range []string{"AAPL", "$SPX"} {
		for _, path := range [][]any{{sym}, {sym, "quote"}} {
			fk, ek := keys(t, field(t, fx, path...)), keys(t, field(t, got, path...))
			for _, k := range ek {
				if !slices.Contains(fk, k) {
					t.Errorf("quote %v has key %q the official example lacks", path, k)
				}
			}
		}
	}
	if string(field(t, got, "errors", "invalidSymbols")) != `["ZZZZ"]` || field(t, got, "$SPX", "quote", "bidPrice") != nil {
		t.Errorf("quotes = %s", got)
	}
	if resp, got := c.do("GET", "/marketdata/v1/quotes?symbols=", nil); resp.StatusCode != 400 || !strings.Contains(string(got), "min of 1") {
		t.Errorf("empty symbols: %d %s", resp.StatusCode, got)
	}
}

func TestRequestFixturesAccepted(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	for _, name := range []string{"order_request_limit_buy_equity.json", "order_request_trailing_stop.json"} {
		id := c.place(readFixture(t, name))
		rec, ok := s.Order(id)
		if !ok || rec.Status != "WORKING" || rec.Strategy != "SINGLE" {
			t.Errorf("%s: %+v", name, rec)
		}
	}
	// OCO: a container and two working children; a fill cancels the sibling.
	oco := c.place(readFixture(t, "order_request_oco_limit_and_stop_limit.json"))
	kids := children(s, oco)
	if len(kids) != 2 || kids[0].Status != "WORKING" || !kids[0].Price.Equal(decimal.RequireFromString("45.97")) ||
		!kids[1].StopPrice.Equal(decimal.RequireFromString("37.03")) {
		t.Fatalf("OCO children = %+v", kids)
	}
	if err := s.Fill(kids[0].ID, decimal.NewFromInt(2), decimal.RequireFromString("45.97")); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Order(kids[1].ID); r.Status != "CANCELED" {
		t.Errorf("OCO sibling after fill = %s", r.Status)
	}
	// Bracket: the exits wait for the entry.
	entry := c.place(readFixture(t, "order_request_trigger_oco_bracket.json"))
	container := children(s, entry)[0]
	exits := children(s, container.ID)
	if len(exits) != 2 || exits[0].Status != "AWAITING_PARENT_ORDER" || exits[1].OrderType != "STOP" {
		t.Fatalf("bracket exits = %+v", exits)
	}
	if err := s.Fill(entry, decimal.NewFromInt(5), decimal.RequireFromString("14.97")); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Order(exits[1].ID); r.Status != "WORKING" {
		t.Errorf("stop exit after entry fill = %s", r.Status)
	}
	// A requestedDestination is refused.
	bad := bytes.Replace(readFixture(t, "order_request_limit_buy_equity.json"), []byte(`"session"`), []byte(`"requestedDestination":"AUTO","session"`), 1)
	if resp, got := c.do("POST", "/trader/v1/accounts/"+c.hash+"/orders", bad); resp.StatusCode != 400 || !strings.Contains(string(got), "requestedDestination") {
		t.Errorf("requestedDestination: %d %s", resp.StatusCode, got)
	}
}

func children(s *Server, parentID string) []OrderRecord {
	var out []OrderRecord
	for _, o := range s.Orders() {
		if o.ParentID == parentID {
			out = append(out, o)
		}
	}
	return out
}

func TestListOrdersLimits(t *testing.T) {
	s, clock, c := newTestServer(t, Config{})
	first := c.place([]byte(marketBuyGME))
	clock.Advance(20 * time.Minute)
	second := c.place([]byte(marketBuyGME))
	if err := s.Fill(second, decimal.NewFromInt(1), decimal.NewFromInt(20)); err != nil {
		t.Fatal(err)
	}
	list := func(q string) (int, []string) {
		resp, b := c.do("GET", "/trader/v1/accounts/"+c.hash+"/orders?"+q, nil)
		if resp.StatusCode != 200 {
			return resp.StatusCode, []string{string(b)}
		}
		var orders []struct {
			OrderID json.Number `json:"orderId"`
		}
		if err := json.Unmarshal(b, &orders); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, o := range orders {
			ids = append(ids, o.OrderID.String())
		}
		return 200, ids
	}
	tests := []struct {
		query  string
		status int
		want   []string
	}{
		{"fromEnteredTime=2026-03-02T00:00:00.000Z&toEnteredTime=2026-03-03T00:00:00.000Z", 200, []string{second, first}},
		{"fromEnteredTime=2026-03-02T00:00:00Z&toEnteredTime=2026-03-03T00:00:00Z&status=FILLED", 200, []string{second}},
		{"fromEnteredTime=2026-03-02T15:10:00.000Z&toEnteredTime=2026-03-03T00:00:00.000Z", 200, []string{second}},
		{"fromEnteredTime=2026-03-02T00:00:00.000Z&toEnteredTime=2026-03-03T00:00:00.000Z&maxResults=1", 200, []string{second}},
		{"fromEnteredTime=2024-10-08T16:30:31.469502%2B00Z&toEnteredTime=2026-03-03T00:00:00.000Z", 400,
			[]string{`{"message":"'2024-10-08T16:30:31.469502+00Z' is not a valid value for fromEnteredTime"}`}},
		{"toEnteredTime=2026-03-03T00:00:00.000Z", 400, []string{`{"message":"fromEnteredTime is required"}`}},
		{"fromEnteredTime=2025-01-01T00:00:00.000Z&toEnteredTime=2026-03-03T00:00:00.000Z", 400,
			[]string{`{"message":"maximum date range is 1 year"}`}},
		{"fromEnteredTime=2026-03-02T00:00:00.000Z&toEnteredTime=2026-03-03T00:00:00.000Z&status=PARTIAL", 400,
			[]string{`{"message":"'PARTIAL' is not a valid value for status"}`}},
	}
	for _, tt := range tests {
		status, got := list(tt.query)
		if status != tt.status || !slices.Equal(got, tt.want) {
			t.Errorf("list %s = %d %v, want %d %v", tt.query, status, got, tt.status, tt.want)
		}
	}
	resp, b := c.do("GET", "/trader/v1/orders?fromEnteredTime=2025-12-01T00:00:00.000Z&toEnteredTime=2026-03-03T00:00:00.000Z", nil)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "60 days") {
		t.Errorf("all-accounts window: %d %s", resp.StatusCode, b)
	}
}

func TestCancelAndReplaceLifecycle(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	limit := readFixture(t, "order_request_limit_buy_equity.json")
	id := c.place(limit)
	path := "/trader/v1/accounts/" + c.hash + "/orders/" + id
	if resp, b := c.do("DELETE", path, nil); resp.StatusCode != 200 || len(b) != 0 {
		t.Fatalf("cancel: %d %s", resp.StatusCode, b)
	}
	if r, _ := s.Order(id); r.Status != "PENDING_CANCEL" {
		t.Errorf("after cancel: %s", r.Status)
	}
	s.Settle()
	if resp, b := c.do("DELETE", path, nil); resp.StatusCode != 400 || !strings.Contains(string(b), "cannot be canceled") {
		t.Errorf("cancel of a canceled order: %d %s", resp.StatusCode, b)
	}
	if resp, _ := c.do("DELETE", "/trader/v1/accounts/"+c.hash+"/orders/987654321012", nil); resp.StatusCode != 404 {
		t.Errorf("cancel of an unknown order: %d", resp.StatusCode)
	}

	old := c.place(limit)
	if err := s.Fill(old, decimal.NewFromInt(1), decimal.NewFromInt(10)); err != nil {
		t.Fatal(err)
	}
	resp, _ := c.do("PUT", "/trader/v1/accounts/"+c.hash+"/orders/"+old, bytes.Replace(limit, []byte(`"10.00"`), []byte(`"9.99"`), 1))
	newID := strings.TrimPrefix(resp.Header.Get("Location"), s.URL()+"/trader/v1/accounts/"+c.hash+"/orders/")
	if resp.StatusCode != 201 || newID == "" || newID == old {
		t.Fatalf("replace: %d %q", resp.StatusCode, newID)
	}
	s.Settle()
	o, _ := s.Order(old)
	n, _ := s.Order(newID)
	if o.Status != "REPLACED" || o.ReplacedBy != newID || !o.Filled.Equal(decimal.NewFromInt(1)) || n.Status != "WORKING" ||
		!n.Price.Equal(decimal.RequireFromString("9.99")) || n.Replaces != old {
		t.Errorf("after replace: old %+v new %+v", o, n)
	}
}

func TestOrderRateLimit(t *testing.T) {
	s, clock, c := newTestServer(t, Config{RetryAfter: 7 * time.Second})
	for i := range 120 {
		c.place([]byte(marketBuyGME))
		if i%10 == 0 {
			clock.Advance(time.Second)
		}
	}
	resp, _ := c.do("POST", "/trader/v1/accounts/"+c.hash+"/orders", []byte(marketBuyGME))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "7" {
		t.Fatalf("121st order request in a minute: %d", resp.StatusCode)
	}
	// GET orders are not throttled.
	if resp, _ := c.do("GET", "/trader/v1/accounts/"+c.hash+"/orders/"+s.Orders()[0].ID, nil); resp.StatusCode != 200 {
		t.Errorf("get during throttle: %d", resp.StatusCode)
	}
	clock.Advance(time.Minute) // the oldest requests leave the window
	c.place([]byte(marketBuyGME))
	if n := len(s.OrderRequestTimes("12345678")); n != 121 {
		t.Errorf("%d order requests recorded, want 121 accepted", n)
	}
}

func pkcePair() (verifier, challenge string) {
	verifier = strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestOAuth(t *testing.T) {
	s, clock, c := newTestServer(t, Config{})
	verifier, challenge := pkcePair()
	authorize := func(state string) url.Values {
		q := url.Values{"client_id": {s.AppKey()}, "redirect_uri": {s.RedirectURI()}, "response_type": {"code"},
			"state": {state}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		loc, err := s.ApproveLogin(s.AuthorizeURL() + "?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(loc, s.RedirectURI()+"?") || !strings.Contains(loc, "%40") {
			t.Fatalf("callback %q", loc)
		}
		u, _ := url.Parse(loc)
		return u.Query()
	}
	token := func(form url.Values, secret string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", s.TokenURL(), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.AppKey(), secret)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	codeForm := func(cb url.Values, v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")},
			"redirect_uri": {s.RedirectURI()}, "code_verifier": {v}}
	}

	cb := authorize("st4te")
	if cb.Get("state") != "st4te" || cb.Get("session") == "" {
		t.Errorf("callback query %v", cb)
	}
	if st, m := token(codeForm(cb, strings.Repeat("w", 50)), s.AppSecret()); st != 400 || m["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v", st, m)
	}
	if st, _ := token(codeForm(cb, verifier), s.AppSecret()); st != 400 {
		t.Errorf("code reused after a failed exchange: %d", st)
	}
	cb = authorize("s2")
	if st, m := token(codeForm(cb, verifier), "wrong-secret"); st != 401 || m["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", st, m)
	}
	cb = authorize("s3")
	clock.Advance(31 * time.Second)
	if st, _ := token(codeForm(cb, verifier), s.AppSecret()); st != 400 {
		t.Errorf("expired code: %d", st)
	}
	cb = authorize("s4")
	st, tok := token(codeForm(cb, verifier), s.AppSecret())
	wantKeys := []string{"access_token", "expires_in", "id_token", "refresh_token", "scope", "token_type"}
	if st != 200 || !slices.Equal(slices.Sorted(maps.Keys(tok)), wantKeys) || tok["expires_in"] != 1800.0 {
		t.Fatalf("token: %d %v", st, slices.Sorted(maps.Keys(tok)))
	}
	c.token = tok["access_token"].(string)
	if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != 200 {
		t.Errorf("fresh token refused: %d", resp.StatusCode)
	}
	clock.Advance(30 * time.Minute)
	resp, body := c.do("GET", "/trader/v1/accounts/accountNumbers", nil)
	fx := readFixture(t, "error_401_errors_array.json")
	if resp.StatusCode != 401 || !slices.Equal(keys(t, field(t, body, "errors", 0)), keys(t, field(t, fx, "errors", 0))) ||
		string(field(t, body, "errors", 0, "status")) != "401" {
		t.Errorf("expired access token: %d %s", resp.StatusCode, body)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}
	if st, m := token(refresh, s.AppSecret()); st != 200 || m["refresh_token"] != tok["refresh_token"] {
		t.Errorf("refresh: %d", st)
	}
	clock.Advance(7 * 24 * time.Hour) // refreshing never extended the login
	st, m := token(refresh, s.AppSecret())
	if st != 400 || m["error"] != "unsupported_token_type" || !strings.Contains(m["error_description"].(string), "refresh_token_authentication_error") {
		t.Errorf("refresh after 7 days: %d %v", st, m)
	}
	if total, refused := s.TokenRequests("refresh_token"); total != 2 || refused != 1 {
		t.Errorf("refresh requests %d refused %d", total, refused)
	}
}

func TestFaults(t *testing.T) {
	s, clock, c := newTestServer(t, Config{})
	placePath := "/trader/v1/accounts/" + c.hash + "/orders"
	count := func() int { return len(s.Orders()) }

	s.InjectFault(RoutePlace, Fault{Kind: FaultNoLocation})
	resp, _ := c.do("POST", placePath, []byte(marketBuyGME))
	if resp.StatusCode != 201 || resp.Header.Get("Location") != "" || count() != 1 {
		t.Errorf("no-location: %d %q, %d orders", resp.StatusCode, resp.Header.Get("Location"), count())
	}
	s.InjectFault(RoutePlace, Fault{Kind: FaultServerError, Status: 503})
	if resp, _ := c.do("POST", placePath, []byte(marketBuyGME)); resp.StatusCode != 503 || count() != 1 {
		t.Errorf("server-error: %d, %d orders", resp.StatusCode, count())
	}
	s.InjectFault(RoutePlace, Fault{Kind: FaultServerErrorAfter})
	if resp, _ := c.do("POST", placePath, []byte(marketBuyGME)); resp.StatusCode != 500 || count() != 2 {
		t.Errorf("server-error-after: %d, %d orders", resp.StatusCode, count())
	}
	s.InjectFault(RoutePlace, Fault{Kind: FaultHTMLError})
	if resp, b := c.do("POST", placePath, []byte(marketBuyGME)); resp.StatusCode != 500 || !strings.Contains(string(b), "Whitelabel") || count() != 2 {
		t.Errorf("html: %d, %d orders", resp.StatusCode, count())
	}
	s.InjectFault(RouteGet, Fault{Kind: FaultTruncatedJSON})
	if _, b := c.do("GET", placePath+"/"+s.Orders()[0].ID, nil); json.Valid(b) {
		t.Errorf("truncated JSON is valid: %s", b)
	}
	s.InjectFault(RoutePlace, Fault{Kind: FaultDropAfterAccept})
	req, _ := http.NewRequest("POST", s.URL()+placePath, strings.NewReader(marketBuyGME))
	req.Header.Set("Authorization", "Bearer "+c.token)
	if resp, err := s.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("drop-after-accept answered %d", resp.StatusCode)
	}
	if count() != 3 {
		t.Errorf("drop-after-accept: %d orders, want the order created", count())
	}

	// Latency on the emulator's clock: the handler waits until the test
	// moves the clock, and the order exists only then.
	s.InjectFault(RoutePlace, Fault{Kind: FaultLatency, Delay: 10 * time.Second})
	done := make(chan int)
	go func() {
		resp, _ := c.do("POST", placePath, []byte(marketBuyGME))
		done <- resp.StatusCode
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := clock.WaitForWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if count() != 3 {
		t.Errorf("order created before the latency passed")
	}
	clock.Advance(10 * time.Second)
	if st := <-done; st != 201 || count() != 4 {
		t.Errorf("after latency: %d, %d orders", st, count())
	}
}

func TestDailyOrderLimit(t *testing.T) {
	s, clock, c := newTestServer(t, Config{DailyOrderLimit: 2})
	c.place([]byte(marketBuyGME))
	c.place([]byte(marketBuyGME))
	clock.Advance(2 * time.Minute)
	if resp, _ := c.do("POST", "/trader/v1/accounts/"+c.hash+"/orders", []byte(marketBuyGME)); resp.StatusCode != 429 {
		t.Errorf("3rd order of the day: %d", resp.StatusCode)
	}
	clock.Set(start.Truncate(24 * time.Hour).Add(24*time.Hour + time.Minute))
	c.token = s.IssueTokens().AccessToken
	c.place([]byte(marketBuyGME))
}

func TestLocationFaults(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	first := c.place([]byte(marketBuyGME))
	s.InjectFault(RoutePlace, Fault{Kind: FaultPathOnlyLocation}, Fault{Kind: FaultWrongLocation})
	path := "/trader/v1/accounts/" + c.hash + "/orders"
	resp, _ := c.do("POST", path, []byte(marketBuyGME))
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, path+"/") {
		t.Errorf("path-only Location = %q", loc)
	}
	resp, _ = c.do("POST", path, []byte(marketBuyGME))
	if loc := resp.Header.Get("Location"); !strings.HasSuffix(loc, "/"+first) || len(s.Orders()) != 3 {
		t.Errorf("wrong Location = %q (first order %s), %d orders", loc, first, len(s.Orders()))
	}
}

func TestOrderValidation(t *testing.T) {
	_, _, c := newTestServer(t, Config{})
	base := `{"orderType":"LIMIT","session":"NORMAL","duration":"DAY","orderStrategyType":"SINGLE","price":"10.00",
	 "orderLegCollection":[{"instruction":"BUY","quantity":4,"instrument":{"symbol":"INTC","assetType":"EQUITY"}}]}`
	tests := []struct {
		name, from, to, want string
	}{
		{"bad session", `"NORMAL"`, `"LUNCH"`, "session"},
		{"bad duration", `"DAY"`, `"FOREVER"`, "duration"},
		{"bad order type", `"LIMIT"`, `"MAGIC"`, "orderType"},
		{"limit without price", `"price":"10.00",`, ``, "price is required"},
		{"market with price", `"LIMIT"`, `"MARKET"`, "price is not allowed"},
		{"stop without stop price", `"LIMIT"`, `"STOP_LIMIT"`, "stopPrice is required"},
		{"option instruction on equity", `"BUY"`, `"BUY_TO_OPEN"`, "EQUITY leg"},
		{"equity instruction on option", `"EQUITY"`, `"OPTION"`, "OPTION leg"},
		{"fractional", `"quantity":4`, `"quantity":1.5`, "fractional"},
		{"zero quantity", `"quantity":4`, `"quantity":0`, "quantity must be positive"},
		{"bad strategy", `"SINGLE"`, `"SOLO"`, "orderStrategyType"},
		{"response field", `"session"`, `"status":"WORKING","session"`, "response fields"},
		{"not json", `{`, `[`, "validation error"},
		{"price as number accepted", `"10.00"`, `10.0`, ""},
	}
	for _, tt := range tests {
		body := strings.Replace(base, tt.from, tt.to, 1)
		resp, b := c.do("POST", "/trader/v1/accounts/"+c.hash+"/orders", []byte(body))
		switch {
		case tt.want == "" && resp.StatusCode != 201:
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, b)
		case tt.want != "" && (resp.StatusCode != 400 || !strings.Contains(string(b), tt.want)):
			t.Errorf("%s: %d %s, want 400 mentioning %q", tt.name, resp.StatusCode, b, tt.want)
		}
	}
}

func TestDrivenLifecycle(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	limit := readFixture(t, "order_request_limit_buy_equity.json")
	get := func(id string) []byte {
		_, b := c.do("GET", "/trader/v1/accounts/"+c.hash+"/orders/"+id, nil)
		return b
	}
	rejected := c.place(limit)
	if err := s.Reject(rejected, "Your buying power is insufficient"); err != nil {
		t.Fatal(err)
	}
	if b := get(rejected); string(field(t, b, "status")) != `"REJECTED"` ||
		string(field(t, b, "statusDescription")) != `"Your buying power is insufficient"` || field(t, b, "closeTime") == nil {
		t.Errorf("rejected: %s", b)
	}
	if err := s.Reject(rejected, "again"); err == nil {
		t.Error("a final order was rejected twice")
	}
	expired := c.place(limit)
	if err := s.Fill(expired, decimal.NewFromInt(1), decimal.NewFromInt(10)); err != nil {
		t.Fatal(err)
	}
	if err := s.Expire(expired); err != nil {
		t.Fatal(err)
	}
	if b := get(expired); string(field(t, b, "status")) != `"EXPIRED"` || string(field(t, b, "filledQuantity")) != "1.0" ||
		string(field(t, b, "remainingQuantity")) != "0.0" {
		t.Errorf("expired: %s", b)
	}
	if err := s.Fill(expired, decimal.NewFromInt(1), decimal.NewFromInt(10)); err == nil {
		t.Error("an expired order filled")
	}
	odd := c.place(limit)
	if err := s.SetStatus(odd, "UNKNOWN"); err != nil {
		t.Fatal(err)
	}
	if b := get(odd); string(field(t, b, "status")) != `"UNKNOWN"` {
		t.Errorf("set status: %s", b)
	}
	if err := s.Fill(odd, decimal.NewFromInt(5), decimal.NewFromInt(10)); err == nil {
		t.Error("an overfill was accepted")
	}
	js, err := s.OrderJSON(odd)
	if err != nil || !json.Valid(js) || !bytes.Equal(js, get(odd)) {
		t.Errorf("OrderJSON differs from GET: %s", js)
	}
}

func TestAuthChecksAndAppLimit(t *testing.T) {
	s, _, c := newTestServer(t, Config{AppRateLimit: 3})
	token := c.token
	c.token = ""
	if resp, b := c.do("GET", "/marketdata/v1/quotes?symbols=AAPL", nil); resp.StatusCode != 400 ||
		string(field(t, b, "errors", 0, "source", "header")) != `"Authorization"` {
		t.Errorf("market data without a token: %d %s", resp.StatusCode, b)
	}
	if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != 401 {
		t.Errorf("trader without a token: %d", resp.StatusCode)
	}
	c.token = token
	s.RevokeAccessTokens()
	if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != 401 {
		t.Errorf("revoked token: %d", resp.StatusCode)
	}
	c.token = s.IssueTokens().AccessToken
	for i := range 3 {
		if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != 200 {
			t.Fatalf("call %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != 429 {
		t.Errorf("4th call with an app limit of 3: %d", resp.StatusCode)
	}
	if n := s.Count(RouteAccountNumbers); n != 6 {
		t.Errorf("recorded %d accountNumbers requests, want 6", n)
	}
}

func TestFaultFunc(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	calls := 0
	s.SetFaultFunc(RouteAccountNumbers, func(*http.Request) *Fault {
		calls++
		if calls%2 == 1 {
			return &Fault{Kind: FaultServerError, Status: 502}
		}
		return nil
	})
	for i, want := range []int{502, 200, 502} {
		if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != want {
			t.Errorf("call %d: %d, want %d", i, resp.StatusCode, want)
		}
	}
	s.SetFaultFunc(RouteAccountNumbers, nil)
	if resp, _ := c.do("GET", "/trader/v1/accounts/accountNumbers", nil); resp.StatusCode != 200 {
		t.Errorf("after removing the func: %d", resp.StatusCode)
	}
}

func TestOrderCombinationsSchwabRefuses(t *testing.T) {
	_, _, c := newTestServer(t, Config{})
	body := func(orderType, session, duration, prices, assetType, instruction string) string {
		return `{"orderType":"` + orderType + `","session":"` + session + `","duration":"` + duration +
			`","orderStrategyType":"SINGLE",` + prices + `"orderLegCollection":[{"instruction":"` + instruction +
			`","quantity":4,"instrument":{"symbol":"INTC","assetType":"` + assetType + `"}}]}`
	}
	tests := []struct {
		name, body, want string // want "" means accepted
	}{
		{"IOC equity", body("LIMIT", "NORMAL", "IMMEDIATE_OR_CANCEL", `"price":"10.00",`, "EQUITY", "BUY"), "IMMEDIATE_OR_CANCEL"},
		{"FOK equity", body("LIMIT", "NORMAL", "FILL_OR_KILL", `"price":"10.00",`, "EQUITY", "BUY"), ""},
		{"GTC equity", body("LIMIT", "NORMAL", "GOOD_TILL_CANCEL", `"price":"10.00",`, "EQUITY", "BUY"), ""},
		{"seamless equity limit", body("LIMIT", "SEAMLESS", "DAY", `"price":"10.00",`, "EQUITY", "BUY"), ""},
		{"seamless equity stop", body("STOP", "SEAMLESS", "DAY", `"stopPrice":"9.00",`, "EQUITY", "SELL"), "session SEAMLESS"},
		{"seamless equity market", body("MARKET", "SEAMLESS", "DAY", ``, "EQUITY", "BUY"), "session SEAMLESS"},
		{"seamless option limit", body("LIMIT", "SEAMLESS", "DAY", `"price":"1.00",`, "OPTION", "BUY_TO_OPEN"), "session SEAMLESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := c.do("POST", "/trader/v1/accounts/"+c.hash+"/orders", []byte(tt.body))
			switch {
			case tt.want == "" && resp.StatusCode != 201:
				t.Errorf("%d %s, want 201", resp.StatusCode, b)
			case tt.want != "":
				var e struct {
					Message string   `json:"message"`
					Errors  []string `json:"errors"`
				}
				if resp.StatusCode != 400 || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Message, tt.want) || len(e.Errors) != 1 {
					t.Errorf("%d %s, want 400 {message, errors} mentioning %q", resp.StatusCode, b, tt.want)
				}
			}
		})
	}
}
