package coinbasetest_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// newStreamClient is newClient on a clock the test chooses.
func newStreamClient(t *testing.T, cfg coinbasetest.Config, clk clock.Clock) *client {
	t.Helper()
	cfg.Clock = clk
	srv := coinbasetest.NewServer(cfg)
	t.Cleanup(srv.Close)
	key, err := coinbasetest.NewES256Key("organizations/t/apiKeys/stream-test")
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

// wsToken signs a WebSocket JWT with the given window and, if uri is not
// empty, a uri claim (which the WebSocket must refuse).
func (c *client) wsToken(nbf, exp int64, uri string) string {
	b64 := base64.RawURLEncoding.EncodeToString
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	h, _ := json.Marshal(map[string]any{"alg": "ES256", "kid": c.key.Name, "nonce": fmt.Sprintf("%x", nonce), "typ": "JWT"})
	claims := map[string]any{"sub": c.key.Name, "iss": "cdp", "nbf": nbf, "exp": exp}
	if uri != "" {
		claims["uri"] = uri
	}
	cl, _ := json.Marshal(claims)
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

// wsClient is a raw WebSocket connection to one endpoint.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func (c *client) dial(url string) *wsClient {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	conn.SetReadLimit(10 << 20)
	c.t.Cleanup(func() { _ = conn.CloseNow() })
	return &wsClient{t: c.t, c: conn}
}

func (w *wsClient) send(v any) {
	w.t.Helper()
	raw, _ := json.Marshal(v)
	if err := w.c.Write(context.Background(), websocket.MessageText, raw); err != nil {
		w.t.Fatal(err)
	}
}

// read returns the next frame decoded, or nil and the error once the
// connection is closed.
func (w *wsClient) read() (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, raw, err := w.c.Read(ctx)
	if err != nil {
		return nil, err
	}
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		w.t.Fatalf("non-JSON frame %q", raw)
	}
	return v, nil
}

func (w *wsClient) must() map[string]any {
	w.t.Helper()
	v, err := w.read()
	if err != nil {
		w.t.Fatal(err)
	}
	return v
}

func subscribe(channel, jwt string, products ...string) map[string]any {
	m := map[string]any{"type": "subscribe", "channel": channel, "jwt": jwt}
	if len(products) > 0 {
		m["product_ids"] = products
	}
	return m
}

func TestStreamRefusesBadJWTs(t *testing.T) {
	now := start.Unix()
	for _, tc := range []struct {
		name   string
		cfg    coinbasetest.Config
		token  func(c *client) string
		reason string // "" = accepted
	}{
		{"fresh", coinbasetest.Config{}, func(c *client) string { return c.wsToken(now, now+120, "") }, ""},
		{"expired", coinbasetest.Config{}, func(c *client) string { return c.wsToken(now-180, now-60, "") }, "token expired at"},
		{"not yet valid", coinbasetest.Config{}, func(c *client) string { return c.wsToken(now+60, now+180, "") }, "is in the future"},
		{"uri claim", coinbasetest.Config{}, func(c *client) string { return c.wsToken(now, now+120, "GET api.coinbase.com/") }, "must not carry a uri"},
		{"uri claim ignored", coinbasetest.Config{Stream: coinbasetest.StreamConfig{IgnoreURIClaim: true}},
			func(c *client) string { return c.wsToken(now, now+120, "GET api.coinbase.com/") }, ""},
		{"none", coinbasetest.Config{}, func(*client) string { return "" }, "not three non-empty segments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newStreamClient(t, tc.cfg, clocktest.New(start))
			ws := c.dial(c.srv.UserStreamURL())
			ws.send(subscribe("user", tc.token(c)))
			first := ws.must()
			if tc.reason == "" {
				if first["channel"] != "user" {
					t.Fatalf("accepted token: first frame %v", first)
				}
				return
			}
			if first["type"] != "error" || first["message"] != "authentication failure" || !bytes.Contains([]byte(fmt.Sprint(first["reason"])), []byte(tc.reason)) {
				t.Fatalf("refusal frame %v, want reason %q", first, tc.reason)
			}
			if _, err := ws.read(); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
				t.Fatalf("after a refusal the connection must close: %v", err)
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		c := newStreamClient(t, coinbasetest.Config{}, clocktest.New(start))
		tok := c.wsToken(now, now+120, "")
		ws := c.dial(c.srv.MarketStreamURL())
		ws.send(subscribe("heartbeats", tok))
		if f := ws.must(); f["channel"] != "subscriptions" {
			t.Fatalf("first use: %v", f)
		}
		ws.send(subscribe("user", tok))
		if f := ws.must(); f["type"] != "error" {
			t.Fatalf("reuse: %v", f)
		}
	})
}

func TestStreamRefusesMalformedSubscribes(t *testing.T) {
	c := newStreamClient(t, coinbasetest.Config{}, clocktest.New(start))
	ws := c.dial(c.srv.MarketStreamURL())
	for _, m := range []map[string]any{
		{"type": "subscribe", "channels": []string{"ticker", "heartbeats"}, "product_ids": []string{"BTC-USD"}},
		{"type": "subscribe", "product_ids": []string{"BTC-USD"}},
		{"type": "subscribe", "channel": "tickers_everything"},
		{"type": "hello", "channel": "ticker"},
	} {
		ws.send(m)
		if f := ws.must(); f["type"] != "error" {
			t.Errorf("%v answered %v", m, f)
		}
	}
	ws.send(subscribe("ticker", "", "BTC-USD")) // still open: errors of shape are not fatal
	if f := ws.must(); f["channel"] != "ticker" {
		t.Errorf("after the errors: %v", f)
	}
}

// placeOpen places n resting limit buys over REST.
func placeOpen(c *client, n int) []string {
	c.t.Helper()
	ids := make([]string, 0, n)
	for i := range n {
		status, v := c.do("POST", "/orders", nil, map[string]any{
			"client_order_id": fmt.Sprintf("stream-%d", i), "product_id": "BTC-USD", "side": "BUY",
			"order_configuration": map[string]any{"limit_limit_gtc": map[string]any{"base_size": "0.001", "limit_price": "50000"}},
		})
		if status != 200 {
			c.t.Fatalf("create: %d %v", status, v)
		}
		ids = append(ids, v.(map[string]any)["success_response"].(map[string]any)["order_id"].(string))
	}
	return ids
}

func TestStreamUserSnapshotBatches(t *testing.T) {
	fix := fixture(t, "stream/user_snapshot_message.json").(map[string]any)
	for _, tc := range []struct {
		open int
		want []int
	}{{0, []int{0}}, {49, []int{49}}, {50, []int{50, 0}}, {109, []int{50, 50, 9}}} {
		t.Run(fmt.Sprint(tc.open), func(t *testing.T) {
			c := newStreamClient(t, coinbasetest.Config{}, clocktest.New(start))
			placeOpen(c, tc.open)
			ws := c.dial(c.srv.UserStreamURL())
			ws.send(subscribe("user", c.wsToken(start.Unix(), start.Unix()+120, "")))
			var got []int
			for i := range tc.want {
				f := ws.must()
				if f["sequence_num"] != json.Number(fmt.Sprint(i)) {
					t.Errorf("batch %d: sequence_num %v", i, f["sequence_num"])
				}
				if diffs := shapeDiff("", fix, f); len(f["events"].([]any)[0].(map[string]any)["orders"].([]any)) > 0 && len(diffs) > 0 {
					t.Errorf("batch %d differs from the docs' snapshot: %q", i, diffs)
				}
				got = append(got, len(f["events"].([]any)[0].(map[string]any)["orders"].([]any)))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("batch sizes (-want +got):\n%s", diff)
			}
			if f := ws.must(); f["channel"] != "subscriptions" {
				t.Errorf("after the snapshot: %v", f)
			}
		})
	}
}

func TestStreamUserUpdatesFollowTheBook(t *testing.T) {
	c := newStreamClient(t, coinbasetest.Config{}, clocktest.New(start))
	ws := c.dial(c.srv.UserStreamURL())
	ws.send(subscribe("user", c.wsToken(start.Unix(), start.Unix()+120, "")))
	ws.must() // empty snapshot
	ws.must() // subscriptions
	id := placeOpen(c, 1)[0]
	if err := c.srv.Fill(id, decimal.RequireFromString("0.0004"), decimal.RequireFromString("50000")); err != nil {
		t.Fatal(err)
	}
	update := fixture(t, "stream/user_update_partial_fill_SCHEMA.json")
	order := func(f map[string]any) map[string]any {
		ev := f["events"].([]any)[0].(map[string]any)
		if ev["type"] != "update" {
			t.Fatalf("event %v", ev)
		}
		return ev["orders"].([]any)[0].(map[string]any)
	}
	placed, filled := ws.must(), ws.must()
	if diffs := shapeDiff("", update, filled); len(diffs) > 0 {
		t.Errorf("update differs from the schema's: %q", diffs)
	}
	if placed["sequence_num"] != json.Number("2") || filled["sequence_num"] != json.Number("3") {
		t.Errorf("sequence numbers %v, %v", placed["sequence_num"], filled["sequence_num"])
	}
	p, f := order(placed), order(filled)
	if p["order_id"] != id || p["status"] != "OPEN" || p["cumulative_quantity"] != "0" || p["leaves_quantity"] != "0.001" {
		t.Errorf("placed %v", p)
	}
	if f["status"] != "OPEN" || f["cumulative_quantity"] != "0.0004" || f["leaves_quantity"] != "0.0006" ||
		f["filled_value"] != "20" || f["number_of_fills"] != "1" || f["avg_price"] != "50000" {
		t.Errorf("filled %v", f)
	}
	// REST agrees with the cumulative totals and names the execution.
	_, v := c.do("GET", "/orders/historical/fills", map[string][]string{"order_ids": {id}}, nil)
	fills := v.(map[string]any)["fills"].([]any)
	if len(fills) != 1 || fills[0].(map[string]any)["size"] != "0.0004" || fills[0].(map[string]any)["trade_id"] == "" {
		t.Errorf("fills %v", fills)
	}
}

func TestStreamTickerAndHeartbeats(t *testing.T) {
	for _, asString := range []bool{false, true} {
		t.Run(fmt.Sprint("counter as string ", asString), func(t *testing.T) {
			clk := clocktest.New(start)
			c := newStreamClient(t, coinbasetest.Config{Stream: coinbasetest.StreamConfig{HeartbeatCounterAsString: asString}}, clk)
			ws := c.dial(c.srv.MarketStreamURL())
			ws.send(subscribe("ticker", "", "BTC-USD"))
			snap := ws.must()
			if diffs := shapeDiff("", fixture(t, "stream/ticker_message.json"), snap); len(diffs) > 0 {
				t.Errorf("ticker differs from the docs': %q", diffs)
			}
			ws.must() // subscriptions
			if err := c.srv.SetQuote("BTC-USD", decimal.RequireFromString("100"), decimal.RequireFromString("101"), decimal.RequireFromString("100.5")); err != nil {
				t.Fatal(err)
			}
			tk := ws.must()["events"].([]any)[0].(map[string]any)["tickers"].([]any)[0].(map[string]any)
			if tk["best_bid"] != "100" || tk["best_ask"] != "101" || tk["price"] != "100.5" {
				t.Errorf("ticker after SetQuote: %v", tk)
			}
			ws.send(subscribe("heartbeats", ""))
			ws.must() // subscriptions
			var counters []any
			for range 2 {
				clk.Advance(time.Second) // the writer re-arms its beat before it writes the last one

				hb := ws.must()
				if hb["channel"] != "heartbeats" {
					t.Fatalf("frame %v", hb)
				}
				counters = append(counters, hb["events"].([]any)[0].(map[string]any)["heartbeat_counter"])
			}
			want := []any{json.Number("0"), json.Number("1")}
			if asString {
				want = []any{"0", "1"}
			}
			if diff := cmp.Diff(want, counters); diff != "" {
				t.Errorf("counters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStreamClosesWithoutSubscribe(t *testing.T) {
	clk := clocktest.New(start)
	c := newStreamClient(t, coinbasetest.Config{}, clk)
	ws := c.dial(c.srv.MarketStreamURL())
	ws.send(map[string]any{"type": "hello"}) // answered once the connection's timers run
	if f := ws.must(); f["type"] != "error" {
		t.Fatalf("hello answered %v", f)
	}
	clk.Advance(5 * time.Second)
	if _, err := ws.read(); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Fatalf("no subscribe in 5 s: %v", err)
	}
}

func TestStreamConnectRateLimit(t *testing.T) {
	clk := clocktest.New(start)
	c := newStreamClient(t, coinbasetest.Config{}, clk)
	dial := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		conn, resp, err := websocket.Dial(ctx, c.srv.MarketStreamURL(), nil)
		if err == nil {
			_ = conn.CloseNow()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	var got []int
	for range 9 {
		got = append(got, dial())
	}
	clk.Advance(time.Second)
	got = append(got, dial())
	want := []int{101, 101, 101, 101, 101, 101, 101, 101, 429, 101}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upgrade answers (-want +got):\n%s", diff)
	}
}

func TestStreamIdleCloseWithoutHeartbeats(t *testing.T) {
	clk := clocktest.New(start)
	c := newStreamClient(t, coinbasetest.Config{}, clk)
	ws := c.dial(c.srv.MarketStreamURL())
	ws.send(subscribe("ticker", "", "BTC-USD"))
	ws.must() // snapshot
	ws.must() // subscriptions
	wait, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for range 60 { // one writer tick a second, each awaited before the clock moves on
		if err := clk.WaitForWaiters(wait, 1); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	if _, err := ws.read(); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Fatalf("a quiet connection without heartbeats after 60 s: %v", err)
	}
}
