package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

// emulatorCoinbaseClient is the OAuth app the Coinbase emulator registers.
const (
	emulatorCoinbaseClientID     = "arbion-emulator-client"
	emulatorCoinbaseClientSecret = "arbion-emulator-client-secret"
)

// emulator serves one broker's emulator on the address asked for, prints how
// to reach it, and runs until the context ends (Ctrl-C).
//
// The emulators listen on a port of their own choosing (httptest); a
// reverse proxy on --addr forwards to it, keeping the Host header (Coinbase
// JWTs and E*TRADE signatures cover the host) and rewriting the Location
// headers that name the inner address.
func (c *cli) emulator(args []string) error {
	fs := c.newFlags("emulator")
	addr := fs.String("addr", "127.0.0.1:0", "address to listen on (loopback; port 0 picks a free one)")
	keyOut := fs.String("key-out", "", "coinbase: where to write the emulator's CDP key file (default: a temporary file removed at exit)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one broker: arbion emulator schwab|coinbase|etrade")
	}
	if err := checkBrokerName(pos[0]); err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("bad --addr %q: HOST:PORT", *addr)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return usagef("--addr %q is not a loopback address: the emulator accepts test credentials and must not be exposed", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	outer := "http://" + ln.Addr().String()

	var inner string
	var info [][2]string
	var closeEmu func()
	switch pos[0] {
	case schwabName:
		emu := schwabtest.New(schwabtest.Config{})
		seedSchwab(emu)
		inner, closeEmu = emu.URL(), emu.Close
		info = [][2]string{{"app key", emu.AppKey()}, {"app secret", emu.AppSecret()}, {"account", "12345678"},
			{"redirect URL", emu.RedirectURI()},
			{"environment", "ARBION_BROKER=schwab ARBION_BASE_URL=" + outer + " ARBION_ACCOUNT=12345678 ARBION_SCHWAB_APP_KEY=" +
				emu.AppKey() + " ARBION_SCHWAB_APP_SECRET=" + emu.AppSecret()}}
	case coinbaseName:
		emu := coinbasetest.NewServer(coinbasetest.Config{})
		inner = emu.URL()
		path, cleanup, err := seedCoinbase(emu, *keyOut)
		if err != nil {
			emu.Close()
			ln.Close()
			return err
		}
		closeEmu = func() { emu.Close(); cleanup() }
		info = [][2]string{{"CDP key file", path}, {"portfolio", emu.Portfolio()},
			{"OAuth client id", emulatorCoinbaseClientID}, {"OAuth client secret", emulatorCoinbaseClientSecret},
			{"OAuth redirect URL", defaultCoinbaseRedirect},
			{"environment", "ARBION_BROKER=coinbase ARBION_BASE_URL=" + outer + " ARBION_COINBASE_KEY_FILE=" + path +
				" ARBION_COINBASE_MARKET_STREAM_URL=" + wsURL(outer, coinbasetest.MarketStreamPath) +
				" ARBION_COINBASE_USER_STREAM_URL=" + wsURL(outer, coinbasetest.UserStreamPath)}}
	default:
		emu, err := etradetest.New(etradetest.Config{MarketOpen: true})
		if err != nil {
			ln.Close()
			return err
		}
		inner, closeEmu = emu.URL(), emu.Close
		info = [][2]string{{"consumer key", emu.ConsumerKey()}, {"consumer secret", emu.ConsumerSecret()},
			{"account (accountIdKey)", emu.AccountIDKey()},
			{"environment", "ARBION_BROKER=etrade ARBION_BASE_URL=" + outer + " ARBION_ACCOUNT=" + emu.AccountIDKey() +
				" ARBION_ETRADE_CONSUMER_KEY=" + emu.ConsumerKey() + " ARBION_ETRADE_CONSUMER_SECRET=" + emu.ConsumerSecret()}}
	}
	defer closeEmu()

	target, err := url.Parse(inner)
	if err != nil {
		ln.Close()
		return err
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(r *http.Response) error {
			if loc := r.Header.Get("Location"); strings.HasPrefix(loc, inner) {
				r.Header.Set("Location", outer+strings.TrimPrefix(loc, inner))
			}
			return nil
		},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(c.stdout, "%s emulator (test credentials only; state is lost when it stops)\n", pos[0])
	w := newTable(c.stdout)
	fmt.Fprintf(w, "base URL:\t%s\n", outer)
	for _, kv := range info {
		fmt.Fprintf(w, "%s:\t%s\n", kv[0], kv[1])
	}
	w.Flush()
	fmt.Fprintln(c.stdout, "Point your code (or this CLI) at the base URL; Ctrl-C stops the emulator.")

	select {
	case <-c.ctx.Done():
	case err := <-served:
		return fmt.Errorf("emulator server: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	<-served
	return nil
}

func seedSchwab(emu *schwabtest.Server) {
	d := decimal.RequireFromString
	emu.SetPosition("12345678", "AAPL", "EQUITY", d("38"), d("227.81"))
	emu.SetPosition("12345678", "SPY", "COLLECTIVE_INVESTMENT", d("2"), d("571.22"))
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: d("229.98"), Ask: d("230.02"), Last: d("230.00")})
	emu.SetQuote("MSFT", schwabtest.QuoteValue{Bid: d("415.10"), Ask: d("415.16"), Last: d("415.12")})
	emu.SetQuote("SPY", schwabtest.QuoteValue{Bid: d("569.40"), Ask: d("569.43"), Last: d("569.41")})
}

// seedCoinbase registers a fresh CDP key and an OAuth app and writes the key
// file where asked (or to a temporary file), mode 0600.
func seedCoinbase(emu *coinbasetest.Server, keyOut string) (string, func(), error) {
	key, err := coinbasetest.NewES256Key("organizations/arbion-emulator/apiKeys/emulator")
	if err != nil {
		return "", nil, err
	}
	emu.RegisterKey(key)
	emu.AddOAuthClient(coinbasetest.OAuthClient{ID: emulatorCoinbaseClientID, Secret: emulatorCoinbaseClientSecret,
		RedirectURI: defaultCoinbaseRedirect, Trade: true})
	emu.SetBalance("USD", decimal.NewFromInt(100000))
	emu.SetBalance("BTC", decimal.RequireFromString("0.5"))
	cleanup := func() {}
	if keyOut == "" {
		dir, err := os.MkdirTemp("", "arbion-emulator-")
		if err != nil {
			return "", nil, err
		}
		keyOut, cleanup = filepath.Join(dir, "cdp_api_key.json"), func() { os.RemoveAll(dir) }
	}
	data, err := json.MarshalIndent(cdpKey{Name: key.Name, PrivateKey: key.Secret}, "", "  ")
	if err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(keyOut, data, 0o600); err != nil {
		cleanup()
		return "", nil, err
	}
	return keyOut, cleanup, nil
}

// wsURL is the WebSocket URL of path on the http(s) server at base.
func wsURL(base, path string) string { return "ws" + strings.TrimPrefix(base, "http") + path }
