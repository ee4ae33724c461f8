package etradetest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/arbiontrader/arbion/internal/oauth1"
	"github.com/google/go-cmp/cmp"
)

// client signs requests to the emulator with an issued access token.
type client struct {
	t      *testing.T
	srv    *etradetest.Server
	signer *oauth1.Signer
	creds  oauth1.Credentials
}

func newClient(t *testing.T, cfg etradetest.Config) *client {
	t.Helper()
	srv, err := etradetest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tok, sec := srv.IssueAccessToken()
	return &client{t: t, srv: srv, signer: &oauth1.Signer{ConsumerKey: srv.ConsumerKey(), ConsumerSecret: srv.ConsumerSecret(), Clock: cfg.Clock},
		creds: oauth1.Credentials{Token: tok, TokenSecret: sec}}
}

// do sends a signed request and returns status, content type and body.
func (c *client) do(method, path string, body any) (int, string, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			b, _ = json.Marshal(body)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.srv.URL()+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	h, err := c.signer.Authorization(method, req.URL, nil, c.creds)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", h)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), out
}

const acct = "/v1/accounts/" + etradetest.DefaultAccountIDKey

func order(price string) []any {
	return []any{map[string]any{"allOrNone": "false", "priceType": "LIMIT", "orderTerm": "GOOD_FOR_DAY",
		"marketSession": "REGULAR", "stopPrice": "", "limitPrice": price,
		"Instrument": []any{map[string]any{"Product": map[string]any{"securityType": "EQ", "symbol": "AAPL"},
			"orderAction": "BUY", "quantityType": "QUANTITY", "quantity": "1"}}}}
}

func (c *client) preview(cid, price string) int64 {
	c.t.Helper()
	st, _, body := c.do("POST", acct+"/orders/preview.json", map[string]any{"PreviewOrderRequest": map[string]any{
		"orderType": "EQ", "clientOrderId": cid, "Order": order(price)}})
	if st != 200 {
		c.t.Fatalf("preview: %d %s", st, body)
	}
	var r struct {
		PreviewOrderResponse struct {
			PreviewIds []struct {
				PreviewID int64 `json:"previewId"`
			}
		}
	}
	if err := json.Unmarshal(body, &r); err != nil || len(r.PreviewOrderResponse.PreviewIds) != 1 {
		c.t.Fatalf("preview answer %s: %v", body, err)
	}
	return r.PreviewOrderResponse.PreviewIds[0].PreviewID
}

func (c *client) place(cid, price string, previewKey string, previewID int64) (int, []byte) {
	c.t.Helper()
	st, _, body := c.do("POST", acct+"/orders/place.json", map[string]any{"PlaceOrderRequest": map[string]any{
		"orderType": "EQ", "clientOrderId": cid, previewKey: []any{map[string]any{"previewId": previewID}}, "Order": order(price)}})
	return st, body
}

func errorCode(t *testing.T, body []byte) int {
	t.Helper()
	var e struct{ Error struct{ Code int } }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	return e.Error.Code
}

// TestPlaceRules: a place must carry PreviewIds (exactly spelled) of an
// unused, fresh preview of the same account, clientOrderId and Order; the
// clientOrderId is unique per account.
func TestPlaceRules(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))
	c := newClient(t, etradetest.Config{Clock: clock})
	tests := []struct {
		name  string
		setup func() (cid, price, key string, id int64)
		code  int // 0 = placed
	}{
		{"ok", func() (string, string, string, int64) { return "A1", "100", "PreviewIds", c.preview("A1", "100") }, 0},
		{"lower-case previewIds", func() (string, string, string, int64) { return "A2", "100", "previewIds", c.preview("A2", "100") }, 101},
		{"other price", func() (string, string, string, int64) { return "A3", "101", "PreviewIds", c.preview("A3", "100") }, 101},
		{"other client id", func() (string, string, string, int64) { return "A4x", "100", "PreviewIds", c.preview("A4", "100") }, 101},
		{"numbers as numbers match strings", func() (string, string, string, int64) {
			return "A5", "100.00", "PreviewIds", c.preview("A5", "100")
		}, 0},
		{"stale preview", func() (string, string, string, int64) {
			id := c.preview("A6", "100")
			clock.Advance(181 * time.Second)
			return "A6", "100", "PreviewIds", id
		}, 101},
		{"unknown preview id", func() (string, string, string, int64) { return "A7", "100", "PreviewIds", 42 }, 101},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cid, price, key, id := tt.setup()
			st, body := c.place(cid, price, key, id)
			switch {
			case tt.code == 0 && st != 200:
				t.Errorf("place: %d %s, want 200", st, body)
			case tt.code != 0 && (st != 400 || errorCode(t, body) != tt.code):
				t.Errorf("place: %d %s, want 400 code %d", st, body, tt.code)
			}
		})
	}
	// A used preview cannot place twice; a placed clientOrderId cannot be previewed again.
	id := c.preview("B1", "100")
	if st, body := c.place("B1", "100", "PreviewIds", id); st != 200 {
		t.Fatalf("place B1: %d %s", st, body)
	}
	if st, body := c.place("B1", "100", "PreviewIds", id); st != 400 {
		t.Errorf("second place of one preview: %d %s", st, body)
	}
	if st, _, body := c.do("POST", acct+"/orders/preview.json", map[string]any{"PreviewOrderRequest": map[string]any{
		"orderType": "EQ", "clientOrderId": "B1", "Order": order("100")}}); st != 400 {
		t.Errorf("preview of a used clientOrderId: %d %s", st, body)
	}
	var placed int
	for _, o := range c.srv.Orders() {
		if o.ClientOrderID == "B1" {
			placed++
		}
	}
	if placed != 1 {
		t.Errorf("%d orders for B1", placed)
	}
}

// TestListPaging: newest first, marker = placedTime of the page's last
// order, no marker on the last page, 204 when nothing matches.
func TestListPaging(t *testing.T) {
	c := newClient(t, etradetest.Config{})
	if st, _, _ := c.do("GET", acct+"/orders.json", nil); st != http.StatusNoContent {
		t.Fatalf("empty list: %d, want 204", st)
	}
	for i := range 5 {
		cid := fmt.Sprintf("L%d", i)
		if st, body := c.place(cid, "100", "PreviewIds", c.preview(cid, "100")); st != 200 {
			t.Fatalf("place: %d %s", st, body)
		}
	}
	type page struct {
		OrdersResponse struct {
			Marker string
			Next   string
			Order  []struct {
				OrderID     int64 `json:"orderId"`
				OrderDetail []struct {
					PlacedTime int64 `json:"placedTime"`
				}
			}
		}
	}
	var ids []int64
	marker := ""
	for pages := 0; ; pages++ {
		q := url.Values{"count": {"2"}}
		if marker != "" {
			q.Set("marker", marker)
		}
		st, _, body := c.do("GET", acct+"/orders.json?"+q.Encode(), nil)
		if st != 200 {
			t.Fatalf("list: %d %s", st, body)
		}
		var p page
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		r := p.OrdersResponse
		for _, o := range r.Order {
			ids = append(ids, o.OrderID)
		}
		if r.Marker == "" {
			if pages != 2 {
				t.Errorf("%d pages, want 3", pages+1)
			}
			break
		}
		if last := r.Order[len(r.Order)-1].OrderDetail[0].PlacedTime; r.Marker != fmt.Sprint(last) || strings.Contains(r.Next, ".json") {
			t.Errorf("marker %q next %q, want the last placedTime %d and a next URL without .json", r.Marker, r.Next, last)
		}
		marker = r.Marker
	}
	if diff := cmp.Diff([]int64{404, 403, 402, 401, 400}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
}

func TestAPIShapesAndRefusals(t *testing.T) {
	c := newClient(t, etradetest.Config{})
	tests := []struct {
		name, method, path string
		status             int
		code               int
		contains           string
	}{
		{"accounts", "GET", "/v1/accounts/list.json", 200, 0, `"accountIdKey":"-h06qS59IOXHUSjq3xhGVE"`},
		{"accounts xml without .json", "GET", "/v1/accounts/list", 200, 0, "<AccountListResponse>"},
		{"balance needs instType", "GET", acct + "/balance.json", 400, 7002, ""},
		{"balance", "GET", acct + "/balance.json?instType=BROKERAGE", 200, 0, `"totalAccountValue":100000`},
		{"accountId as key", "GET", "/v1/accounts/" + etradetest.DefaultAccountID + "/balance.json?instType=BROKERAGE", 400, 102, ""},
		{"quote unknown symbol", "GET", "/v1/market/quote/AAPL,NOPE.json", 200, 0, `"Messages"`},
		{"quote too many", "GET", "/v1/market/quote/" + strings.Repeat("AAPL,", 25) + "MSFT.json", 400, 1019, ""},
		{"unknown order", "GET", acct + "/orders/9.json", 400, 5002, ""},
		{"wrong method", "DELETE", "/v1/accounts/list.json", 405, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _, body := c.do(tt.method, tt.path, nil)
			if st != tt.status || (tt.code != 0 && errorCode(t, body) != tt.code) || !strings.Contains(string(body), tt.contains) {
				t.Errorf("%d %s", st, body)
			}
		})
	}
}

func TestCancelAndChange(t *testing.T) {
	c := newClient(t, etradetest.Config{})
	if st, body := c.place("C1", "100", "PreviewIds", c.preview("C1", "100")); st != 200 {
		t.Fatalf("place: %d %s", st, body)
	}
	st, _, body := c.do("PUT", acct+"/orders/cancel.json", map[string]any{"CancelOrderRequest": map[string]any{"orderId": 400}})
	if st != 200 || !strings.Contains(string(body), `"Messages":{"Message":[{"code":5011`) {
		t.Fatalf("cancel: %d %s", st, body)
	}
	if o := c.srv.Orders()[0]; o.Status != "CANCEL_REQUESTED" {
		t.Errorf("status %s, want CANCEL_REQUESTED until Settle", o.Status)
	}
	c.srv.Settle()
	if o := c.srv.Orders()[0]; o.Status != "CANCELLED" {
		t.Errorf("status %s after Settle", o.Status)
	}
	// A filled order: too late (5001).
	if st, body := c.place("C2", "100", "PreviewIds", c.preview("C2", "100")); st != 200 {
		t.Fatalf("place: %d %s", st, body)
	}
	if err := c.srv.Fill(401, decimalOf("1"), decimalOf("99.5")); err != nil {
		t.Fatal(err)
	}
	st, _, body = c.do("PUT", acct+"/orders/cancel.json", map[string]any{"CancelOrderRequest": map[string]any{"orderId": "401"}})
	if st != 400 || errorCode(t, body) != 5001 {
		t.Errorf("cancel of a filled order: %d %s", st, body)
	}
	// Change: preview and place under the old id; a new id replaces the old.
	if st, body := c.place("C3", "100", "PreviewIds", c.preview("C3", "100")); st != 200 {
		t.Fatalf("place: %d %s", st, body)
	}
	st, _, body = c.do("PUT", acct+"/orders/402/change/preview.json", map[string]any{"PreviewOrderRequest": map[string]any{
		"orderType": "EQ", "clientOrderId": "C3b", "Order": order("98")}})
	if st != 200 {
		t.Fatalf("change preview: %d %s", st, body)
	}
	var pv struct {
		PreviewOrderResponse struct{ PreviewIds []struct{ PreviewID int64 } }
	}
	_ = json.Unmarshal(body, &pv)
	st, _, body = c.do("PUT", acct+"/orders/402/change/place.json", map[string]any{"PlaceOrderRequest": map[string]any{
		"orderType": "EQ", "clientOrderId": "C3b", "PreviewIds": []any{map[string]any{"previewId": pv.PreviewOrderResponse.PreviewIds[0].PreviewID}},
		"Order": order("98")}})
	if st != 200 || !strings.Contains(string(body), `"OrderIds":[{"orderId":403}]`) {
		t.Fatalf("change place: %d %s", st, body)
	}
	orders := c.srv.Orders()
	if orders[2].Status != "CANCELLED" || orders[2].ReplacedByOrderID != 403 || orders[3].ReplacesOrderID != 402 {
		t.Errorf("after change: %+v / %+v", orders[2], orders[3])
	}
}

func TestRateLimitPage(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))
	c := newClient(t, etradetest.Config{Clock: clock, EnforceRateLimits: true})
	var statuses []int
	for range 3 {
		st, ctype, body := c.do("GET", "/v1/accounts/list.json", nil)
		statuses = append(statuses, st)
		if st == 400 && (!strings.HasPrefix(ctype, "text/html") || !strings.Contains(string(body), "Number of requests exceeded the rate limit set")) {
			t.Errorf("rate-limit answer %q %s", ctype, body)
		}
	}
	clock.Advance(time.Second)
	st, _, _ := c.do("GET", "/v1/accounts/list.json", nil)
	statuses = append(statuses, st)
	if diff := cmp.Diff([]int{200, 200, 400, 200}, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestTimestampAndIdle(t *testing.T) {
	serverClock := clocktest.New(time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC))
	c := newClient(t, etradetest.Config{Clock: serverClock})
	skewed := time.Date(2026, 11, 27, 15, 6, 0, 0, time.UTC)
	c.signer.Clock = clocktest.New(skewed)
	st, _, body := c.do("GET", "/v1/accounts/list.json", nil)
	if st != 401 || !strings.Contains(string(body), "oauth_problem=timestamp_refused,oauth_acceptable_timestamps=") {
		t.Errorf("skewed clock: %d %s", st, body)
	}
	c.signer.Clock = serverClock
	serverClock.Advance(2 * time.Hour)
	if st, _, body := c.do("GET", "/v1/accounts/list.json", nil); st != 401 || !strings.Contains(string(body), "token_expired") {
		t.Errorf("idle token: %d %s", st, body)
	}
	if st, _, body := c.do("GET", "/oauth/renew_access_token", nil); st != 200 || string(body) != "Access Token has been renewed" {
		t.Errorf("renew: %d %s", st, body)
	}
	if st, _, body := c.do("GET", "/v1/accounts/list.json", nil); st != 200 {
		t.Errorf("after renew: %d %s", st, body)
	}
}

// TestXMLBodies: E*TRADE's own sample previews and places with XML bodies.
func TestXMLBodies(t *testing.T) {
	c := newClient(t, etradetest.Config{})
	send := func(path, body string) (int, []byte) {
		req, _ := http.NewRequest("POST", c.srv.URL()+path, strings.NewReader(body))
		h, _ := c.signer.Authorization("POST", req.URL, nil, c.creds)
		req.Header.Set("Authorization", h)
		req.Header.Set("Content-Type", "application/xml")
		resp, err := c.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	order := `<Order><allOrNone>false</allOrNone><priceType>LIMIT</priceType><orderTerm>GOOD_FOR_DAY</orderTerm>` +
		`<marketSession>REGULAR</marketSession><stopPrice></stopPrice><limitPrice>169</limitPrice><Instrument>` +
		`<Product><securityType>EQ</securityType><symbol>AAPL</symbol></Product><orderAction>BUY</orderAction>` +
		`<quantityType>QUANTITY</quantityType><quantity>1</quantity></Instrument></Order>`
	st, body := send(acct+"/orders/preview.json", `<PreviewOrderRequest><orderType>EQ</orderType><clientOrderId>X1</clientOrderId>`+order+`</PreviewOrderRequest>`)
	if st != 200 {
		t.Fatalf("XML preview: %d %s", st, body)
	}
	var pv struct {
		PreviewOrderResponse struct{ PreviewIds []struct{ PreviewID int64 } }
	}
	_ = json.Unmarshal(body, &pv)
	id := pv.PreviewOrderResponse.PreviewIds[0].PreviewID
	st, body = send(acct+"/orders/place.json", fmt.Sprintf(`<PlaceOrderRequest><orderType>EQ</orderType><clientOrderId>X1</clientOrderId><PreviewIds><previewId>%d</previewId></PreviewIds>%s</PlaceOrderRequest>`, id, order))
	if st != 200 || !strings.Contains(string(body), `"OrderIds"`) {
		t.Fatalf("XML place: %d %s", st, body)
	}
}

// TestPreviewRefusesNonLimitTerms: sent raw, IOC/FOK and the extended
// session are refused on anything but a LIMIT order, and accepted on one.
func TestPreviewRefusesNonLimitTerms(t *testing.T) {
	c := newClient(t, etradetest.Config{})
	tests := []struct {
		name                                  string
		priceType, term, session, limit, stop string
		want                                  int
	}{
		{"market IOC", "MARKET", "IMMEDIATE_OR_CANCEL", "REGULAR", "", "", 400},
		{"stop FOK", "STOP", "FILL_OR_KILL", "REGULAR", "", "90", 400},
		{"extended stop", "STOP", "GOOD_FOR_DAY", "EXTENDED", "", "90", 400},
		{"limit IOC", "LIMIT", "IMMEDIATE_OR_CANCEL", "REGULAR", "100", "", 200},
		{"extended limit", "LIMIT", "GOOD_FOR_DAY", "EXTENDED", "100", "", 200},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := order(tc.limit)[0].(map[string]any)
			o["priceType"], o["orderTerm"], o["marketSession"], o["stopPrice"] = tc.priceType, tc.term, tc.session, tc.stop
			st, _, body := c.do("POST", acct+"/orders/preview.json", map[string]any{"PreviewOrderRequest": map[string]any{
				"orderType": "EQ", "clientOrderId": fmt.Sprintf("T%d", i), "Order": []any{o}}})
			if st != tc.want {
				t.Errorf("preview: %d %s, want %d", st, body, tc.want)
			}
		})
	}
}
