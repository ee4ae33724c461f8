package schwabtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// wsClient is a bare streamer client written from the spec, not the adapter.
type wsClient struct {
	t    *testing.T
	s    *Server
	ws   *websocket.Conn
	next int
}

func dialStream(t *testing.T, s *Server) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, s.StreamURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &wsClient{t: t, s: s, ws: ws}
}

func (c *wsClient) sendRaw(v string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(v)); err != nil {
		c.t.Fatal(err)
	}
}

// send sends one request with the emulator's ids and returns its id.
func (c *wsClient) send(service, command string, params map[string]string) string {
	c.t.Helper()
	c.next++
	id := fmt.Sprint(c.next)
	b, _ := json.Marshal(map[string]any{"requests": []any{map[string]any{"service": service, "command": command,
		"requestid": id, "SchwabClientCustomerId": c.s.StreamCustomerID(), "SchwabClientCorrelId": c.s.StreamCorrelID(),
		"parameters": params}}})
	c.sendRaw(string(b))
	return id
}

// frame reads the next frame that is not a heartbeat.
func (c *wsClient) frame() map[string]any {
	c.t.Helper()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, b, err := c.ws.Read(ctx)
		cancel()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("frame %s: %v", b, err)
		}
		if n, ok := m["notify"].([]any); ok && len(n) == 1 && n[0].(map[string]any)["heartbeat"] != nil {
			continue
		}
		return m
	}
}

// code reads the next frame and returns its response or notify code.
func (c *wsClient) code() (float64, string) {
	c.t.Helper()
	m := c.frame()
	for _, k := range []string{"response", "notify"} {
		if l, ok := m[k].([]any); ok {
			content := l[0].(map[string]any)["content"].(map[string]any)
			return content["code"].(float64), fmt.Sprint(l[0].(map[string]any)["requestid"])
		}
	}
	c.t.Fatalf("not a response: %v", m)
	return 0, ""
}

func (c *wsClient) expectClosed() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, _, err := c.ws.Read(ctx); err != nil {
			if ctx.Err() != nil {
				c.t.Fatal("the emulator did not close the connection")
			}
			return
		}
	}
}

func (c *wsClient) login(token string) float64 {
	c.t.Helper()
	c.send("ADMIN", "LOGIN", map[string]string{"Authorization": token, "SchwabClientChannel": "N9",
		"SchwabClientFunctionId": "APIAPP"})
	code, _ := c.code()
	return code
}

// items reads the next data frame's content items.
func (c *wsClient) items(service string) []map[string]any {
	c.t.Helper()
	m := c.frame()
	data, ok := m["data"].([]any)
	if !ok {
		c.t.Fatalf("not data: %v", m)
	}
	d := data[0].(map[string]any)
	if d["service"] != service {
		c.t.Fatalf("data of %v; want %s", d["service"], service)
	}
	var out []map[string]any
	for _, it := range d["content"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func TestUserPreferenceShapes(t *testing.T) {
	for _, array := range []bool{false, true} {
		s, _, c := newTestServer(t, Config{Stream: StreamConfig{PreferenceArray: array}})
		resp, body := c.do(http.MethodGet, "/trader/v1/userPreference", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if array {
			body = []byte(strings.TrimSuffix(strings.TrimPrefix(string(body), "["), "]"))
		}
		var pref struct {
			StreamerInfo []map[string]string `json:"streamerInfo"`
		}
		if err := json.Unmarshal(body, &pref); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"streamerSocketUrl": s.StreamURL(), "schwabClientCustomerId": s.StreamCustomerID(),
			"schwabClientCorrelId": s.StreamCorrelID(), "schwabClientChannel": "N9", "schwabClientFunctionId": "APIAPP"}
		if diff := cmp.Diff(want, pref.StreamerInfo[0]); diff != "" || !strings.HasPrefix(s.StreamURL(), "ws://127.0.0.1:") {
			t.Errorf("array %v (-want +got):\n%s", array, diff)
		}
		c.token = ""
		if resp, _ := c.do(http.MethodGet, "/trader/v1/userPreference", nil); resp.StatusCode != 401 {
			t.Errorf("without a token: %d", resp.StatusCode)
		}
	}
}

// LOGIN and the command rules of streaming.md §1.4–1.5.
func TestStreamerCommands(t *testing.T) {
	s, clock, c := newTestServer(t, Config{Stream: StreamConfig{SymbolLimit: 2}})
	ws := dialStream(t, s)
	ws.send("LEVELONE_EQUITIES", "SUBS", map[string]string{"keys": "AAPL", "fields": "0,1"})
	if code, _ := ws.code(); code != 20 {
		t.Errorf("SUBS before LOGIN: code %v; want 20", code)
	}
	ws.sendRaw(`{"service":"ADMIN"}`)
	if code, _ := ws.code(); code != 21 {
		t.Errorf("a bare request: code %v; want 21", code)
	}
	if code := ws.login(c.token); code != 0 {
		t.Fatalf("LOGIN: code %v", code)
	}
	cases := []struct {
		service, command, keys string
		want                   float64
	}{
		{"ACCT_ACTIVITY", "ADD", "Account Activity", 22},
		{"TIMESALE_EQUITY", "SUBS", "AAPL", 11},
		{"LEVELONE_EQUITIES", "SUBS", "AAPL,MSFT,SPY", 19},
		{"LEVELONE_EQUITIES", "SUBS", "AAPL,MSFT", 0},
		{"LEVELONE_EQUITIES", "ADD", "SPY", 19},
		{"LEVELONE_EQUITIES", "UNSUBS", "MSFT", 0},
		{"LEVELONE_EQUITIES", "ADD", "SPY", 0},
		{"ACCT_ACTIVITY", "SUBS", "Account Activity", 0},
	}
	for _, tc := range cases {
		id := ws.send(tc.service, tc.command, map[string]string{"keys": tc.keys, "fields": "0,1,2,3"})
		for {
			m := ws.frame()
			if _, isData := m["data"]; isData {
				continue // quotes of the successful subscriptions
			}
			r := m["response"].([]any)[0].(map[string]any)
			code := r["content"].(map[string]any)["code"].(float64)
			if code != tc.want || r["requestid"] != id {
				t.Errorf("%s %s %s: code %v id %v; want %v id %s", tc.service, tc.command, tc.keys, code, r["requestid"], tc.want, id)
			}
			break
		}
	}
	clock.Advance(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, hb, err := ws.ws.Read(ctx)
	if err != nil || !strings.HasPrefix(string(hb), `{"notify":[{"heartbeat":"`) {
		t.Errorf("heartbeat %s %v", hb, err)
	}
	ws.send("ADMIN", "LOGOUT", nil)
	if code, _ := ws.code(); code != 0 {
		t.Errorf("LOGOUT code %v", code)
	}
	ws.expectClosed()
}

func TestStreamerLoginRules(t *testing.T) {
	t.Run("stale token", func(t *testing.T) {
		s, clock, c := newTestServer(t, Config{})
		clock.Advance(31 * time.Minute)
		ws := dialStream(t, s)
		if code := ws.login(c.token); code != 3 {
			t.Errorf("expired token: code %v", code)
		}
		ws.expectClosed()
	})
	t.Run("newer login drops the older", func(t *testing.T) {
		s, _, c := newTestServer(t, Config{})
		old := dialStream(t, s)
		old.login(c.token)
		newer := dialStream(t, s)
		if code := newer.login(c.token); code != 0 {
			t.Errorf("newer: %v", code)
		}
		if code, _ := old.code(); code != 12 {
			t.Errorf("older: code %v; want 12", code)
		}
		old.expectClosed()
	})
	t.Run("kicked by a login elsewhere", func(t *testing.T) {
		s, _, c := newTestServer(t, Config{})
		ws := dialStream(t, s)
		ws.login(c.token)
		s.KickStreams()
		if code, _ := ws.code(); code != 12 {
			t.Errorf("code %v; want 12", code)
		}
		ws.expectClosed()
	})
	t.Run("keep the older", func(t *testing.T) {
		s, _, c := newTestServer(t, Config{Stream: StreamConfig{KeepOlderLogin: true}})
		dialStream(t, s).login(c.token)
		newer := dialStream(t, s)
		if code := newer.login(c.token); code != 12 {
			t.Errorf("newer: code %v; want 12", code)
		}
		newer.expectClosed()
	})
	t.Run("idle without subscription", func(t *testing.T) {
		s, clock, c := newTestServer(t, Config{Stream: StreamConfig{HeartbeatInterval: -1}})
		ws := dialStream(t, s)
		ws.login(c.token)
		if err := clock.WaitForWaiters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(30 * time.Second)
		if code, _ := ws.code(); code != 30 {
			t.Errorf("code %v; want 30", code)
		}
		ws.expectClosed()
	})
}

// innerOf decodes field 3 (JSON in a string) of an ACCT_ACTIVITY item.
func innerOf(t *testing.T, item map[string]any) map[string]any {
	t.Helper()
	s, ok := item["3"].(string)
	if !ok {
		t.Fatalf("field 3 is not a string: %v", item["3"])
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// path walks m along keys.
func path(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

// A REST placement and fill produce the ACCT_ACTIVITY messages of
// streaming.md §5, with the fixture's shapes.
func TestStreamerActivityFromBook(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	ws := dialStream(t, s)
	ws.login(c.token)
	ws.send("ACCT_ACTIVITY", "SUBS", map[string]string{"keys": "Account Activity", "fields": "0,1,2,3"})
	ws.code()
	resp, _ := c.do(http.MethodPost, "/trader/v1/accounts/"+c.hash+"/orders", []byte(limitOrderJSON))
	if resp.StatusCode != 201 {
		t.Fatalf("place: %d", resp.StatusCode)
	}
	id := resp.Header.Get("Location")[strings.LastIndex(resp.Header.Get("Location"), "/")+1:]
	var types []string
	var seqs []float64
	for range 5 {
		it := ws.items("ACCT_ACTIVITY")[0]
		types = append(types, it["2"].(string))
		seqs = append(seqs, it["seq"].(float64))
		if it["1"] != "12345678" || it["key"] != "Account Activity" || innerOf(t, it)["SchwabOrderID"] != id {
			t.Errorf("item %v", it)
		}
	}
	want := []string{"OrderCreated", "OrderAccepted", "ExecutionRequested", "ExecutionRequestCreated", "ExecutionRequestCompleted"}
	if diff := cmp.Diff(want, types); diff != "" || !slices.Equal(seqs, []float64{1, 2, 3, 4, 5}) {
		t.Errorf("types (-want +got):\n%s\nseqs %v", diff, seqs)
	}
	if err := s.Fill(id, decimal.RequireFromString("3"), decimal.RequireFromString("25.10")); err != nil {
		t.Fatal(err)
	}
	fill := innerOf(t, ws.items("ACCT_ACTIVITY")[0])
	// Every path the captured fill has, that a reader uses, the emulator's has.
	var fixture map[string]any
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "stream", "acct_activity_order_fill_completed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &fixture); err != nil {
		t.Fatal(err)
	}
	fixItem := path(fixture, "data").([]any)[0].(map[string]any)["content"].([]any)[0].(map[string]any)
	fixInner := innerOf(t, fixItem)
	p := []string{"BaseEvent", "OrderFillCompletedEventOrderLegQuantityInfo"}
	for _, leaf := range [][]string{{"ExecutionInfo", "ExecutionId"}, {"ExecutionInfo", "ExecutionQuantity", "lo"},
		{"ExecutionInfo", "ExecutionPrice", "signScale"}, {"ExecutionInfo", "ExecutionTimeStamp", "DateTimeString"},
		{"QuantityInfo", "CumulativeQuantity", "lo"}, {"QuantityInfo", "LeavesQuantity", "signScale"},
		{"OrderInfoForTransactionPosting", "Symbol"}, {"ExecutionInfo", "ActualChargedFeesCommissionAndTax", "SECFees"}} {
		full := append(append([]string(nil), p...), leaf...)
		if path(fixInner, full...) == nil {
			t.Fatalf("the fixture has no %v: the check is wrong", full)
		}
		if path(fill, full...) == nil {
			t.Errorf("the emulator's fill lacks %v", full)
		}
	}
	q := path(fill, append(p, "ExecutionInfo", "ExecutionQuantity")...).(map[string]any)
	if q["lo"] != "3000000" || q["signScale"] != float64(12) {
		t.Errorf("quantity %v; want lo 3000000 signScale 12", q)
	}
	cum := path(fill, append(p, "QuantityInfo", "LeavesQuantity")...).(map[string]any)
	if cum["lo"] != "7000000" {
		t.Errorf("leaves %v; want 7", cum)
	}
}

const limitOrderJSON = `{"session":"NORMAL","duration":"DAY","orderType":"LIMIT","price":"25.15",
"orderStrategyType":"SINGLE","orderLegCollection":[{"instruction":"BUY","quantity":10,
"instrument":{"symbol":"INTC","assetType":"EQUITY"}}]}`

// LEVELONE: the first item carries every requested field, a change only
// the changed ones.
func TestStreamerLevelOneChange(t *testing.T) {
	s, _, c := newTestServer(t, Config{})
	s.SetQuote("AAPL", QuoteValue{Bid: decimal.RequireFromString("10.00"), Ask: decimal.RequireFromString("10.02"),
		Last: decimal.RequireFromString("10.01"), Time: start})
	ws := dialStream(t, s)
	ws.login(c.token)
	ws.send("LEVELONE_EQUITIES", "SUBS", map[string]string{"keys": "AAPL", "fields": "0,1,2,3,34"})
	ws.code()
	first := ws.items("LEVELONE_EQUITIES")[0]
	want := map[string]any{"key": "AAPL", "delayed": false, "assetMainType": "EQUITY", "assetSubType": "COE",
		"1": 10.0, "2": 10.02, "3": 10.01, "34": float64(start.UnixMilli())}
	if diff := cmp.Diff(want, first); diff != "" {
		t.Errorf("first item (-want +got):\n%s", diff)
	}
	s.SetQuote("AAPL", QuoteValue{Bid: decimal.RequireFromString("10.00"), Ask: decimal.RequireFromString("10.05"),
		Last: decimal.RequireFromString("10.01"), Time: start})
	next := ws.items("LEVELONE_EQUITIES")[0]
	want = map[string]any{"key": "AAPL", "delayed": false, "assetMainType": "EQUITY", "assetSubType": "COE", "2": 10.05}
	if diff := cmp.Diff(want, next); diff != "" {
		t.Errorf("change (-want +got):\n%s", diff)
	}
}
