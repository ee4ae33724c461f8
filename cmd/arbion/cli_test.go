package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/backtest"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var brokers = []string{schwabName, coinbaseName, etradeName}

func TestHelpAndUsage(t *testing.T) {
	w := newWorld(t, schwabName)
	tests := []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{[]string{"help"}, exitOK, "3  outcome unknown"},
		{[]string{"--help"}, exitOK, "head -c 32 /dev/urandom | base64"},
		{nil, exitUsage, "commands:"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"quote", "-h"}, exitOK, "-json"},
		{[]string{"quote", "--nope", "AAPL"}, exitUsage, "flag provided but not defined: -nope"},
		{[]string{"login"}, exitUsage, "name one broker"},
		{[]string{"login", "nyse"}, exitUsage, `unknown broker "nyse"`},
		{[]string{"positions", "--broker", "nyse"}, exitUsage, `unknown broker "nyse"`},
		{[]string{"emulator", "schwab", "--addr", "0.0.0.0:0"}, exitUsage, "not a loopback address"},
		{[]string{"bars", "AAPL", "--interval", "7m"}, exitUsage, `unknown interval "7m"`},
	}
	for _, tt := range tests {
		r := w.run("", tt.args...)
		if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
			t.Errorf("arbion %v: exit %d, want %d with %q:\n%v", tt.args, r.code, tt.code, tt.want, r)
		}
	}
}

// TestLogin runs each broker's browser login end to end against its
// emulator, then a read with the stored token; the token file holds no token
// in the clear.
func TestLogin(t *testing.T) {
	for _, name := range brokers {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name)
			if name == coinbaseName {
				delete(w.env, "ARBION_COINBASE_KEY_FILE") // the OAuth flow, with PKCE
				w.env["ARBION_ACCOUNT"] = w.cb.Portfolio()
			}
			r := w.login()
			if !strings.Contains(r.stdout, "logged in to "+name) {
				t.Errorf("login said:\n%v", r)
			}
			wantInURL := map[string][]string{schwabName: {"state="}, coinbaseName: {"state=", "code_challenge_method=S256"}, etradeName: {"token="}}[name]
			for _, want := range wantInURL {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("the authorization URL lacks %q:\n%s", want, r.stdout)
				}
			}
			w.must("positions")
			raw, err := os.ReadFile(filepath.Join(w.env["ARBION_DATA_DIR"], "tokens.enc"))
			if err != nil {
				t.Fatal(err)
			}
			w.assertNoSecret(string(raw)) // tokens are encrypted at rest
			lo := w.must("logout", name)
			if !strings.Contains(lo.stdout, "deleted") {
				t.Errorf("logout said:\n%v", lo)
			}
			if r := w.run("", "positions"); r.code != exitError || !strings.Contains(r.stderr, "arbion login "+name) {
				t.Errorf("after logout: %v", r)
			}
		})
	}
}

// TestLoginStateChecked: a redirect whose state is not the login's (CSRF)
// or an E*TRADE code that is wrong is refused, and no token is saved.
func TestLoginStateChecked(t *testing.T) {
	for _, name := range brokers {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name)
			if name == coinbaseName {
				delete(w.env, "ARBION_COINBASE_KEY_FILE")
				w.env["ARBION_ACCOUNT"] = w.cb.Portfolio()
			}
			w.tamper = func(s string) string {
				if name == etradeName {
					return "WRONG99"
				}
				u, err := url.Parse(s)
				if err != nil {
					t.Fatal(err)
				}
				q := u.Query()
				q.Set("state", "forged-state-value")
				u.RawQuery = q.Encode()
				return u.String()
			}
			if r := w.tryLogin(); r.code != exitError {
				t.Errorf("a forged answer was accepted: %v", r)
			}
			if r := w.run("", "positions"); r.code != exitError || !strings.Contains(r.stderr, "arbion login "+name) {
				t.Errorf("after the refused login: %v", r)
			}
		})
	}
}

func TestLoginCoinbaseKeyFile(t *testing.T) {
	w := newWorld(t, coinbaseName)
	keyFile := w.env["ARBION_COINBASE_KEY_FILE"]
	delete(w.env, "ARBION_COINBASE_KEY_FILE")
	r := w.must("login", "coinbase", "--key-file", keyFile)
	if !strings.Contains(r.stdout, "saved encrypted") {
		t.Errorf("login said:\n%v", r)
	}
	w.must("balances") // from the stored key, without the file

	// A key file needs no token file, hence no token key.
	w.env["ARBION_COINBASE_KEY_FILE"] = keyFile
	delete(w.env, "ARBION_TOKEN_KEY")
	w.must("positions")
}

// TestReadsGolden prints every read command's table for each broker.
func TestReadsGolden(t *testing.T) {
	symbols := map[string][]string{schwabName: {"AAPL", "MSFT"}, coinbaseName: {"BTC-USD", "ETH-USD"}, etradeName: {"AAPL", "MSFT"}}
	for _, name := range brokers {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name).ready()
			var out strings.Builder
			for _, args := range [][]string{{"accounts"}, {"balances"}, {"positions"}, append([]string{"quote"}, symbols[name]...), {"orders"}} {
				out.WriteString("$ arbion " + strings.Join(args, " ") + "\n" + w.must(args...).stdout)
			}
			qty := map[string]string{schwabName: "1", coinbaseName: "0.01", etradeName: "1"}[name]
			w.must("place", "buy", qty, symbols[name][0], "--limit", "100", "--tif", "gtc", "--yes")
			out.WriteString("$ arbion orders\n" + w.must("orders").stdout)
			golden(t, "reads_"+name, out.String())
		})
	}
}

// TestJSON parses --json back into the SDK's types.
func TestJSON(t *testing.T) {
	w := newWorld(t, schwabName).ready()
	var ps []broker.Position
	if err := json.Unmarshal([]byte(w.must("positions", "--json").stdout), &ps); err != nil {
		t.Fatal(err)
	}
	d := decimal.RequireFromString
	want := []broker.Position{
		{Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity}, Quantity: d("38"), AvgCost: d("227.81")},
		{Instrument: broker.Instrument{Symbol: "SPY", AssetClass: broker.Equity}, Quantity: d("2"), AvgCost: d("571.22")},
	}
	if diff := cmp.Diff(want, ps, cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("positions --json (-want +got):\n%s", diff)
	}
	var qs []broker.Quote
	if err := json.Unmarshal([]byte(w.must("quote", "AAPL", "--json").stdout), &qs); err != nil {
		t.Fatal(err)
	}
	if len(qs) != 1 || qs[0].Symbol != "AAPL" || !qs[0].Bid.Equal(d("229.98")) {
		t.Errorf("quote --json = %+v", qs)
	}
	var bal struct {
		Account broker.Account `json:"account"`
	}
	mustJSON(t, w.must("balances", "--json").stdout, &bal)
	if bal.Account.ID != "12345678" || !bal.Account.Cash.Equal(d("1000000")) {
		t.Errorf("balances --json = %+v", bal)
	}
	var accts []struct{ Broker, Account, Currency string }
	mustJSON(t, w.must("accounts", "--json").stdout, &accts)
	if len(accts) != 1 || accts[0].Broker != "schwab" || accts[0].Account != "12345678" || accts[0].Currency != "USD" {
		t.Errorf("accounts --json = %+v", accts)
	}
	var h struct {
		Broker        string `json:"broker"`
		Authenticated bool   `json:"authenticated"`
	}
	mustJSON(t, w.must("health", "--json").stdout, &h)
	if h.Broker != "schwab" || !h.Authenticated {
		t.Errorf("health --json = %+v", h)
	}
	placed := lastJSON[recordView](t, w.must("place", "buy", "3", "AAPL", "--limit", "200", "--yes", "--json").stdout)
	if placed.Symbol != "AAPL" || placed.BrokerOrderID == "" || !placed.Quantity.Equal(d("3")) {
		t.Errorf("place --json = %+v", placed)
	}
}

// TestOrderLifecycle places, reads, replaces and cancels an order at each
// broker through the CLI; the emulator sees each request once.
func TestOrderLifecycle(t *testing.T) {
	args := map[string][]string{schwabName: {"buy", "10", "AAPL", "--limit", "187.25"},
		coinbaseName: {"buy", "0.001", "BTC-USD", "--limit", "90000", "--tif", "gtc"}, etradeName: {"buy", "5", "AAPL", "--limit", "130"}}
	newLimit := map[string]string{schwabName: "187.5", coinbaseName: "90001", etradeName: "131"}
	for _, name := range brokers {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name).ready()
			pv := w.must(append([]string{"place", "--dry-run"}, args[name]...)...)
			if !strings.Contains(pv.stdout, "dry run: nothing was placed") || w.ordersSent() != 0 {
				t.Fatalf("dry run sent an order (%d):\n%v", w.ordersSent(), pv)
			}
			if r := w.run("n\n", append([]string{"place"}, args[name]...)...); r.code != exitError || w.ordersSent() != 0 {
				t.Fatalf("declined place: %v (sent %d)", r, w.ordersSent())
			}
			r := w.run("y\n", append([]string{"place", "--json"}, args[name]...)...)
			if r.code != exitOK {
				t.Fatalf("place: %v", r)
			}
			rec := lastJSON[recordView](t, r.stdout)
			if rec.BrokerOrderID == "" || rec.OutcomeUnknown || w.ordersSent() != 1 {
				t.Fatalf("place: %+v, %d orders at the broker", rec, w.ordersSent())
			}
			var open []broker.Order
			mustJSON(t, w.must("orders", "--json").stdout, &open)
			if len(open) != 1 || open[0].OrderID != rec.BrokerOrderID || open[0].Status.Terminal() {
				t.Fatalf("orders: %+v", open)
			}
			var one broker.Order
			mustJSON(t, w.must("order", rec.LocalID, "--json").stdout, &one) // by local id
			if one.OrderID != rec.BrokerOrderID {
				t.Errorf("order %s: %+v", rec.LocalID, one)
			}
			rep := lastJSON[recordView](t, w.must("replace", rec.BrokerOrderID, "--limit", newLimit[name], "--yes", "--json").stdout)
			if rep.BrokerOrderID == "" {
				t.Fatalf("replace: %+v", rep)
			}
			var hist []broker.Order
			mustJSON(t, w.must("orders", "--since", time.Now().AddDate(0, 0, -1).Format(time.DateOnly), "--json").stdout, &hist)
			if len(hist) == 0 {
				t.Errorf("history is empty")
			}
			cn := w.run("y\n", "cancel", rep.BrokerOrderID)
			if cn.code != exitOK || !strings.Contains(cn.stdout, "cancel") {
				t.Fatalf("cancel: %v", cn)
			}
			if again := w.run("", "cancel", rep.BrokerOrderID, "--yes"); again.code == exitOK && strings.Contains(again.stdout, "canceled") {
				t.Logf("second cancel: %v", again)
			}
		})
	}
}

func lastJSON[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
	}
	return v
}

func mustJSON(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
}

// TestBadInput: each mistake gets a clear message and its exit code, and
// nothing reaches the broker.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		setup func(w *world)
		args  []string
		code  int
		want  string
	}{
		{"unknown broker", nil, []string{"place", "buy", "1", "AAPL", "--broker", "robinhood", "--yes"}, exitUsage, `unknown broker "robinhood"`},
		{"bad quantity", nil, []string{"place", "buy", "-3", "AAPL", "--yes"}, exitUsage, `bad quantity "-3"`},
		{"zero quantity", nil, []string{"place", "buy", "0", "AAPL", "--yes"}, exitUsage, `bad quantity "0"`},
		{"quantity not a number", nil, []string{"place", "buy", "ten", "AAPL", "--yes"}, exitUsage, `bad quantity "ten"`},
		{"bad side", nil, []string{"place", "hold", "1", "AAPL", "--yes"}, exitUsage, `bad side "hold"`},
		{"bad price", nil, []string{"place", "buy", "1", "AAPL", "--limit", "1,5", "--yes"}, exitUsage, `bad limit price "1,5"`},
		{"missing key", func(w *world) { delete(w.env, "ARBION_TOKEN_KEY") }, []string{"place", "buy", "1", "AAPL", "--yes"}, exitError, "head -c 32 /dev/urandom | base64"},
		{"hex key", func(w *world) { w.env["ARBION_TOKEN_KEY"] = strings.Repeat("ab", 32) }, []string{"positions"}, exitError, "hex"},
		{"wrong key", func(w *world) {
			w.env["ARBION_TOKEN_KEY"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
		}, []string{"place", "buy", "1", "AAPL", "--yes"}, exitError, "does not open with this key"},
		{"expired token", func(w *world) { expireSchwabLogin(w) }, []string{"place", "buy", "1", "AAPL", "--limit", "100", "--yes"}, exitError, "arbion login schwab"},
		{"no account", func(w *world) { delete(w.env, "ARBION_ACCOUNT") }, []string{"positions"}, exitUsage, "which account?"},
		{"no app secret", func(w *world) { delete(w.env, "ARBION_SCHWAB_APP_SECRET") }, []string{"positions"}, exitError, "ARBION_SCHWAB_APP_SECRET"},
		{"secret in config file", func(w *world) {
			writeConfig(w, `{"broker":"schwab","schwab":{"app_secret":"x"}}`)
		}, []string{"positions"}, exitError, "secrets go in the environment"},
		{"refused locally", nil, []string{"place", "buy", "1", "AAPL", "--tif", "ioc", "--limit", "100", "--yes"}, exitError, "not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, schwabName)
			w.ready()
			if tt.setup != nil {
				tt.setup(w)
			}
			r := w.run("", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q in stderr:\n%v", r.code, tt.code, tt.want, r)
			}
			if n := w.ordersSent(); n != 0 {
				t.Errorf("%d orders reached the broker", n)
			}
		})
	}
}

// expireSchwabLogin rewrites the stored token as a login whose 7 days are
// over.
func expireSchwabLogin(w *world) {
	key, _ := auth.ParseKey(w.env["ARBION_TOKEN_KEY"])
	store, err := auth.NewFileStore(filepath.Join(w.env["ARBION_DATA_DIR"], "tokens.enc"), key)
	if err != nil {
		w.t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := store.Load(ctx, schwabStoreKey("12345678"))
	if err != nil {
		w.t.Fatal(err)
	}
	tok.Expiry = tok.Expiry.AddDate(0, 0, -8)
	tok.RefreshExpiry = tok.RefreshExpiry.AddDate(0, 0, -8)
	if err := store.Save(ctx, schwabStoreKey("12345678"), tok); err != nil {
		w.t.Fatal(err)
	}
}

func writeConfig(w *world, content string) {
	dir := w.env["ARBION_CONFIG_DIR"]
	if err := os.MkdirAll(dir, 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// TestConfigPrecedence: a flag beats the environment, which beats the file.
func TestConfigPrecedence(t *testing.T) {
	w := newWorld(t, schwabName).ready()
	delete(w.env, "ARBION_BROKER")
	delete(w.env, "ARBION_ACCOUNT")
	writeConfig(w, `{"broker":"schwab","schwab":{"account":"12345678"}}`)
	if r := w.must("accounts"); !strings.Contains(r.stdout, "12345678") {
		t.Errorf("from the file: %v", r)
	}
	w.env["ARBION_ACCOUNT"] = "99999999"
	if r := w.run("", "accounts"); r.code != exitError {
		t.Errorf("the environment's account did not win over the file's: %v", r)
	}
	if r := w.must("accounts", "--account", "12345678"); !strings.Contains(r.stdout, "12345678") {
		t.Errorf("the flag did not win: %v", r)
	}
}

// TestLostAnswer: the answer to a placement is lost and the lookups cannot
// settle it (the broker's order list is down): the CLI says so with its own
// exit code; `arbion orders` says it is still unsettled while the list is
// down, and settles it once it is back, without sending the order again.
func TestLostAnswer(t *testing.T) {
	tests := []struct {
		broker string
		args   []string
		// lose makes placements lose their answers and the order list fail
		// until the returned function is called.
		lose func(w *world) (restore func())
		// places counts the placement requests the broker received.
		places func(w *world) int
	}{
		{schwabName, []string{"buy", "7", "AAPL", "--limit", "180"},
			func(w *world) func() {
				var down atomic.Bool
				down.Store(true)
				w.schwab.SetFaultFunc(schwabtest.RouteList, func(*http.Request) *schwabtest.Fault {
					if down.Load() {
						// a refusal, not an outage: not retried, so the test need not wait out a backoff
						return &schwabtest.Fault{Kind: schwabtest.FaultServerError, Status: 400}
					}
					return nil
				})
				w.schwab.InjectFault(schwabtest.RoutePlace, schwabtest.Fault{Kind: schwabtest.FaultDropAfterAccept})
				return func() { down.Store(false) }
			},
			func(w *world) int { return w.schwab.Count(schwabtest.RoutePlace) }},
		// Coinbase is not a row: its adapter settles a lost create itself
		// (the create is repeated with the same client_order_id, which
		// Coinbase deduplicates), so the CLI never sees the unknown outcome.
	}
	for _, tt := range tests {
		t.Run(tt.broker, func(t *testing.T) {
			w := newWorld(t, tt.broker).ready()
			restore := tt.lose(w)
			r := w.run("", append([]string{"place", "--yes"}, tt.args...)...)
			if r.code != exitOutcomeUnknown || !strings.Contains(r.stderr, "Do NOT send it again") {
				t.Fatalf("lost answer: %v", r)
			}
			if n := w.ordersSent(); n != 1 {
				t.Fatalf("%d orders at the broker, want 1", n)
			}
			sent := tt.places(w)
			if again := w.run("", "orders"); again.code != exitOutcomeUnknown || !strings.Contains(again.stderr, "unsettled") {
				t.Errorf("orders while the broker cannot list: %v", again)
			}
			restore()
			settled := w.must("orders")
			if !strings.Contains(settled.stderr, "settled 1 order") || !strings.Contains(settled.stdout, tt.args[2]) {
				t.Errorf("second orders run: %v", settled)
			}
			if n := w.ordersSent(); n != 1 {
				t.Errorf("%d orders at the broker after settling, want 1", n)
			}
			if n := tt.places(w); n != sent {
				t.Errorf("%d placement requests after settling, %d before: the order was resent", n, sent)
			}
			if r := w.must("orders"); strings.Contains(r.stderr, "unsettled") {
				t.Errorf("a third run still finds it unsettled: %v", r)
			}
		})
	}
}

// TestEmulatorCommand serves each emulator; a cancelled context stops it
// right after it printed its URL.
func TestEmulatorCommand(t *testing.T) {
	for _, name := range brokers {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var out, errOut bytes.Buffer
			code := run(ctx, []string{"emulator", name, "--addr", "127.0.0.1:0", "--key-out", filepath.Join(t.TempDir(), "k.json")},
				strings.NewReader(""), &out, &errOut, func(string) string { return "" })
			if code != exitOK || !regexp.MustCompile(`base URL:\s+http://127\.0\.0\.1:\d+`).MatchString(out.String()) {
				t.Errorf("exit %d:\n%s%s", code, out.String(), errOut.String())
			}
		})
	}
}

// TestEmulatorServes points the CLI at `arbion emulator` through the URL
// and credentials it printed: Coinbase with its key file; Schwab with a
// login through the served authorize page and an order, whose Location
// header names the served address.
func TestEmulatorServes(t *testing.T) {
	for _, name := range []string{coinbaseName, schwabName} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			keyFile := filepath.Join(t.TempDir(), "cdp.json")
			found := make(chan string, 1)
			out := &lineWatch{match: regexp.MustCompile(`^base URL:\s+http://\S+$`), found: found}
			done := make(chan int, 1)
			go func() {
				done <- run(ctx, []string{"emulator", name, "--key-out", keyFile}, strings.NewReader(""), out, &bytes.Buffer{}, func(string) string { return "" })
			}()
			var base string
			select {
			case l := <-found:
				base = strings.Fields(l)[2]
			case code := <-done:
				t.Fatalf("emulator exited %d:\n%s", code, out.String())
			}
			w := newWorld(t, name)
			w.env["ARBION_BASE_URL"] = base
			if name == coinbaseName {
				w.env["ARBION_COINBASE_KEY_FILE"] = keyFile
				if r := w.must("quote", "BTC-USD"); !strings.Contains(r.stdout, "BTC-USD") {
					t.Errorf("quote through the served emulator: %v", r)
				}
			} else {
				w.env["ARBION_SCHWAB_APP_SECRET"] = "test-app-secret"
				w.schwab = nil
				w.login()
				rec := lastJSON[recordView](t, w.must("place", "buy", "1", "AAPL", "--limit", "100", "--yes", "--json").stdout)
				if rec.BrokerOrderID == "" || rec.Status != broker.StatusNew {
					t.Errorf("place through the served emulator: %+v", rec)
				}
			}
			cancel()
			if code := <-done; code != exitOK {
				t.Errorf("emulator exit %d", code)
			}
		})
	}
}

func TestHealth(t *testing.T) {
	w := newWorld(t, etradeName).ready()
	r := w.must("health")
	if !strings.Contains(r.stdout, "authenticated:") || !strings.Contains(r.stdout, "true") {
		t.Errorf("health: %v", r)
	}
}

// TestBars reads daily bars from the brokers that have history (golden
// tables, --json parsed back) and refuses clearly where there is none.
func TestBars(t *testing.T) {
	symbol := map[string]string{schwabName: "AAPL", coinbaseName: "BTC-USD", etradeName: "AAPL"}
	for _, name := range brokers {
		t.Run(name, func(t *testing.T) {
			w := newWorld(t, name).ready()
			args := []string{"bars", symbol[name], "--interval", "1d", "--from", "2026-01-05", "--to", "2026-01-10"}
			if name == etradeName {
				r := w.run("", args...)
				if r.code != exitError || !strings.Contains(r.stderr, "no price history") {
					t.Errorf("bars: %v", r)
				}
				return
			}
			goldenExact(t, "bars_"+name, w.must(args...).stdout) // the emulators' bars are a function of the query
			var bs []broker.Bar
			mustJSON(t, w.must(append(args, "--json")...).stdout, &bs)
			if len(bs) == 0 {
				t.Fatal("no bars")
			}
			for _, b := range bs {
				if b.Symbol != symbol[name] || b.Interval != broker.OneDay || b.Start.Before(time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("bar %+v outside the query", b)
				}
			}
		})
	}
}

// TestBacktest replays a small generated series: the report is printed,
// parsed back with --json, and the picture written.
func TestBacktest(t *testing.T) {
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("time,open,high,low,close,volume\n")
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 80 {
		// a zigzag of 20 bars, so that the averages cross both ways
		k := int64(i % 20)
		p := decimal.NewFromInt(100 + 2*min(k, 20-k))
		csv.WriteString(start.AddDate(0, 0, i).Format(time.RFC3339) + "," + p.String() + "," + p.Add(decimal.NewFromInt(1)).String() + "," +
			p.Sub(decimal.NewFromInt(1)).String() + "," + p.String() + ",100000\n")
	}
	path := filepath.Join(dir, "bars.csv")
	if err := os.WriteFile(path, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, schwabName)
	png := filepath.Join(dir, "equity.png")
	r := w.must("backtest", "--csv", path, "--symbol", "ZIG", "--fast", "3", "--slow", "8", "--png", png)
	if !strings.Contains(r.stdout, "buy and hold") || !strings.Contains(r.stdout, "trades") {
		t.Errorf("report:\n%v", r)
	}
	pic, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(pic, []byte("\x89PNG")) {
		t.Errorf("picture: %v, %d bytes", err, len(pic))
	}
	var rep backtest.Report
	mustJSON(t, w.must("backtest", "--csv", path, "--symbol", "ZIG", "--fast", "3", "--slow", "8", "--png", "", "--json").stdout, &rep)
	if rep.Bars != 80 || rep.Symbol != "ZIG" || len(rep.Trades) == 0 {
		t.Errorf("report: %d bars of %s, %d trades", rep.Bars, rep.Symbol, len(rep.Trades))
	}
	if bad := w.run("", "backtest", "--csv", filepath.Join(dir, "missing.csv")); bad.code != exitError {
		t.Errorf("missing file: %v", bad)
	}
	if bad := w.run("", "backtest"); bad.code != exitUsage {
		t.Errorf("no --csv: %v", bad)
	}
}

// TestUntracked: an order placed elsewhere (here: through another data
// directory, so another order store) is cancelled directly, and replace
// refuses it.
func TestUntracked(t *testing.T) {
	w := newWorld(t, etradeName).ready()
	rec := lastJSON[recordView](t, w.must("place", "buy", "2", "AAPL", "--limit", "120", "--yes", "--json").stdout)
	w.env["ARBION_DATA_DIR"] = filepath.Join(t.TempDir(), "elsewhere")
	w.env["ARBION_TOKEN_KEY"] = w.secret[0]
	w.login()
	if r := w.run("", "replace", rec.BrokerOrderID, "--limit", "121", "--yes"); r.code != exitError || !strings.Contains(r.stderr, "not placed with arbion") {
		t.Errorf("replace of an untracked order: %v", r)
	}
	r := w.must("cancel", rec.BrokerOrderID, "--yes")
	if !strings.Contains(r.stdout, "not tracked") {
		t.Errorf("cancel: %v", r)
	}
	if n := w.ordersSent(); n != 1 {
		t.Errorf("%d orders at the broker, want 1", n)
	}
}

// lineWriter signals seen once a write holds want; safe for one writer.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	once sync.Once
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	if strings.Contains(l.buf.String(), l.want) {
		l.once.Do(func() { close(l.seen) })
	}
	return n, err
}

func (l *lineWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestStreamQuotesTailsUntilCancelled: "arbion stream quotes" prints the
// emulator's streamed quote and exits 0 when its context ends.
func TestStreamQuotesTailsUntilCancelled(t *testing.T) {
	w := newWorld(t, schwabName).ready()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &lineWriter{want: "AAPL", seen: make(chan struct{})}
	var errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"stream", "quotes", "AAPL"}, strings.NewReader(""), out, &errOut, w.getenv)
	}()
	select {
	case <-out.seen:
	case code := <-done:
		t.Fatalf("stream exited %d before any quote:\n%s\n%s", code, out.String(), errOut.String())
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after Ctrl-C, want 0:\n%s", code, errOut.String())
	}
	w.assertNoSecret(out.String() + errOut.String())
}
