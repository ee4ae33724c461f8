package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Sentinel secrets: none may appear in any output.
const (
	schwabSecret   = "sentinel-schwab-app-secret-7e1f"
	etradeSecret   = "sentinel-etrade-secret-93ab0000"
	coinbaseSecret = "sentinel-coinbase-client-secret-5d2c"
)

// world is one test's broker emulator and the CLI's environment pointed at
// it, with its own data and config directories.
type world struct {
	t      testing.TB
	broker string
	env    map[string]string
	schwab *schwabtest.Server
	cb     *coinbasetest.Server
	et     *etradetest.Server
	secret []string // every secret the world knows; see assertNoSecret
	// tamper, when set, changes what the user pastes back at login.
	tamper func(string) string
}

func newWorld(t testing.TB, broker string) *world {
	t.Helper()
	key := make([]byte, auth.KeySize)
	_, _ = rand.Read(key)
	dir := t.TempDir()
	w := &world{t: t, broker: broker, env: map[string]string{
		"ARBION_BROKER": broker, "ARBION_DATA_DIR": filepath.Join(dir, "data"), "ARBION_CONFIG_DIR": filepath.Join(dir, "config"),
		"ARBION_TOKEN_KEY": base64.StdEncoding.EncodeToString(key), "HOME": dir, "ARBION_EMULATOR_RATE": "1",
	}}
	w.secret = append(w.secret, w.env["ARBION_TOKEN_KEY"])
	switch broker {
	case schwabName:
		w.schwab = schwabtest.New(schwabtest.Config{AppSecret: schwabSecret})
		t.Cleanup(w.schwab.Close)
		seedSchwab(w.schwab)
		w.env["ARBION_BASE_URL"], w.env["ARBION_ACCOUNT"] = w.schwab.URL(), "12345678"
		w.env["ARBION_SCHWAB_APP_KEY"], w.env["ARBION_SCHWAB_APP_SECRET"] = w.schwab.AppKey(), schwabSecret
		w.secret = append(w.secret, schwabSecret)
	case coinbaseName:
		w.cb = coinbasetest.NewServer(coinbasetest.Config{})
		t.Cleanup(w.cb.Close)
		keyFile := filepath.Join(dir, "cdp_api_key.json")
		if _, _, err := seedCoinbase(w.cb, keyFile); err != nil {
			t.Fatal(err)
		}
		w.cb.AddOAuthClient(coinbasetest.OAuthClient{ID: "cli-test", Secret: coinbaseSecret, RedirectURI: defaultCoinbaseRedirect, Trade: true})
		data, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		var k cdpKey
		if err := json.Unmarshal(data, &k); err != nil {
			t.Fatal(err)
		}
		w.env["ARBION_BASE_URL"], w.env["ARBION_COINBASE_KEY_FILE"] = w.cb.URL(), keyFile
		w.env["ARBION_COINBASE_CLIENT_ID"], w.env["ARBION_COINBASE_CLIENT_SECRET"] = "cli-test", coinbaseSecret
		w.secret = append(w.secret, coinbaseSecret, pemBody(k.PrivateKey))
	case etradeName:
		var err error
		w.et, err = etradetest.New(etradetest.Config{MarketOpen: true, ConsumerSecret: etradeSecret})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.et.Close)
		w.env["ARBION_BASE_URL"], w.env["ARBION_ACCOUNT"] = w.et.URL(), w.et.AccountIDKey()
		w.env["ARBION_ETRADE_CONSUMER_KEY"], w.env["ARBION_ETRADE_CONSUMER_SECRET"] = w.et.ConsumerKey(), etradeSecret
		w.secret = append(w.secret, etradeSecret)
	}
	return w
}

// pemBody is the base64 line of a PEM key that must never be printed.
func pemBody(pem string) string {
	for _, l := range strings.Split(pem, "\n") {
		if len(l) > 40 && !strings.HasPrefix(l, "-----") {
			return l
		}
	}
	return pem
}

type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs the CLI once with stdin, checks that no secret leaked, and
// returns what it printed.
func (w *world) run(stdin string, args ...string) result {
	w.t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, w.getenv)
	r := result{code, out.String(), errOut.String()}
	w.assertNoSecret(r.stdout + r.stderr)
	return r
}

func (w *world) getenv(k string) string { return w.env[k] }

// must runs the CLI and fails the test unless it exits 0.
func (w *world) must(args ...string) result {
	w.t.Helper()
	r := w.run("", args...)
	if r.code != exitOK {
		w.t.Fatalf("arbion %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// assertNoSecret fails if any secret the world knows, or any token in the
// token file, appears in s.
func (w *world) assertNoSecret(s string) {
	w.t.Helper()
	secrets := append([]string(nil), w.secret...)
	key, err := auth.ParseKey(w.secret[0]) // the world's own key, whatever a test set since
	if err != nil {
		w.t.Fatal(err)
	}
	store, err := auth.NewFileStore(filepath.Join(w.env["ARBION_DATA_DIR"], "tokens.enc"), key)
	if err == nil {
		for _, k := range []string{schwabStoreKey("12345678"), coinbaseOAuthKey, coinbaseCDPKey, "etrade/" + w.env["ARBION_ACCOUNT"]} {
			if tok, err := store.Load(context.Background(), k); err == nil {
				secrets = append(secrets, tok.AccessToken, tok.RefreshToken, tok.Secret)
			}
		}
	}
	for _, sec := range secrets {
		if len(sec) >= 8 && strings.Contains(s, sec) {
			w.t.Errorf("a secret (%.4s...) appears in the output:\n%s", sec, s)
		}
	}
}

// tryLogin runs `arbion login BROKER` as a user would: it reads the URL the CLI
// prints, plays the browser against the emulator, and types the answer.
func (w *world) tryLogin(extra ...string) result {
	w.t.Helper()
	inR, inW := io.Pipe()
	urls := make(chan string, 1)
	out := &lineWatch{match: regexp.MustCompile(`^http://\S+$`), found: urls}
	var errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), append([]string{"login", w.broker}, extra...), inR, out, &errOut, w.getenv)
		inR.Close()
	}()
	select {
	case u := <-urls:
		answer := w.browse(u)
		if w.tamper != nil {
			answer = w.tamper(answer)
		}
		if _, err := io.WriteString(inW, answer+"\n"); err != nil {
			w.t.Fatalf("typing the answer: %v", err)
		}
	case code := <-done:
		done <- code
	}
	code := <-done
	inW.Close()
	r := result{code, out.String(), errOut.String()}
	w.assertNoSecret(r.stdout + r.stderr)
	return r
}

// login logs in and fails the test unless it succeeds.
func (w *world) login(extra ...string) result {
	w.t.Helper()
	r := w.tryLogin(extra...)
	if r.code != exitOK {
		w.t.Fatalf("login: %v", r)
	}
	return r
}

// browse plays the user's browser on the authorization URL and returns
// what the user pastes back: the redirect URL, or E*TRADE's code.
func (w *world) browse(authURL string) string {
	w.t.Helper()
	switch w.broker {
	case schwabName:
		if w.schwab != nil {
			loc, err := w.schwab.ApproveLogin(authURL)
			if err != nil {
				w.t.Fatal(err)
			}
			return loc
		}
		fallthrough // an emulator served by `arbion emulator`: its page redirects at once
	case coinbaseName:
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(authURL)
		if err != nil {
			w.t.Fatal(err)
		}
		resp.Body.Close()
		client.CloseIdleConnections()
		return resp.Header.Get("Location")
	default:
		u, err := url.Parse(authURL)
		if err != nil {
			w.t.Fatal(err)
		}
		code, err := w.et.Approve(u.Query().Get("token"))
		if err != nil {
			w.t.Fatal(err)
		}
		return code
	}
}

// lineWatch is a writer that sends the first line matching match to found.
type lineWatch struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	match *regexp.Regexp
	found chan string
	sent  bool
}

func (l *lineWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if !l.sent {
		sc := bufio.NewScanner(bytes.NewReader(l.buf.Bytes()))
		for sc.Scan() {
			if l.match.MatchString(sc.Text()) {
				l.found <- sc.Text()
				l.sent = true
				break
			}
		}
	}
	return len(p), nil
}

func (l *lineWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// ready logs the world in (Coinbase needs no login: its CDP key file is set).
func (w *world) ready() *world {
	if w.broker != coinbaseName {
		w.login()
	}
	return w
}

// ordersSent counts the orders the emulator received.
func (w *world) ordersSent() int {
	switch w.broker {
	case schwabName:
		return len(w.schwab.Orders())
	case coinbaseName:
		return len(w.cb.Orders())
	default:
		return len(w.et.Orders())
	}
}

var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)`), "<time>"},
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uuid>"},
}

// golden compares got, its times and uuids masked, with testdata/name.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	for _, v := range volatile {
		got = v.re.ReplaceAllString(got, v.with)
	}
	goldenExact(t, name, got)
}

// goldenExact compares got, unmasked, with testdata/name.golden.
func goldenExact(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (go test -update rewrites it)\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}
