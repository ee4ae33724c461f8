// Command schwab-login logs in to Charles Schwab with OAuth2, keeps the
// tokens in an encrypted file, and prints the account's positions and a few
// quotes.
//
// Against a real account (an app registered at developer.schwab.com):
//
//	export SCHWAB_APP_KEY=... SCHWAB_APP_SECRET=...
//	export ARBION_TOKEN_KEY=$(openssl rand -hex 32)   # keep it secret, not next to the file
//	go run ./examples/schwab-login -account 12345678 -symbols AAPL,MSFT
//
// It prints the authorization URL; log in in the browser, then paste the
// URL the browser was sent to (Schwab requires an https callback, which
// this command does not serve). The token is saved to -store and reused on
// the next run until the login expires (7 days).
//
// Without an account, -emulator runs the same flow against an in-process
// schwabtest emulator:
//
//	go run ./examples/schwab-login -emulator
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/arbiontrader/arbion/auth"
	arbionerrors "github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "schwab-login:", err)
		os.Exit(1)
	}
}

type options struct {
	emulator    bool
	account     string
	symbols     []string
	store       string
	redirect    string
	forceLogin  bool
	appKey      string
	appSecret   string
	tokenKeyHex string
}

func parse(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("schwab-login", flag.ContinueOnError)
	fs.BoolVar(&o.emulator, "emulator", false, "run against an in-process schwabtest emulator (no account needed)")
	fs.StringVar(&o.account, "account", "", "account number (default: the emulator's)")
	symbols := fs.String("symbols", "AAPL,MSFT,SPY", "comma-separated symbols to quote")
	fs.StringVar(&o.store, "store", "schwab-tokens.enc", "encrypted token file")
	fs.StringVar(&o.redirect, "redirect", "https://127.0.0.1:8182/callback", "the callback URL registered for the app, byte for byte")
	fs.BoolVar(&o.forceLogin, "login", false, "log in even if the store holds a token")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.symbols = strings.Split(*symbols, ",")
	o.appKey, o.appSecret = os.Getenv("SCHWAB_APP_KEY"), os.Getenv("SCHWAB_APP_SECRET")
	o.tokenKeyHex = os.Getenv("ARBION_TOKEN_KEY")
	return o, nil
}

// run is the whole program; in is where a pasted redirect URL is read.
func run(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	env, err := setup(o, out)
	if err != nil {
		return err
	}
	defer env.close()

	store, err := auth.NewFileStore(env.storePath, env.key)
	if err != nil {
		return err
	}
	oc := schwab.OAuth2Config(env.appKey, env.appSecret, env.redirect, env.baseURL)
	_, loadErr := store.Load(ctx, "schwab")
	if o.forceLogin || errors.Is(loadErr, arbionerrors.ErrUnauthenticated) {
		if err := login(ctx, env, oc, store, in, out); err != nil {
			return err
		}
	} else if loadErr != nil {
		return loadErr
	}

	src, err := auth.NewSource(auth.SourceConfig{Broker: schwab.Name, OAuth2: oc, Store: store, StoreKey: "schwab",
		HTTPClient: env.httpClient, RefreshLifetime: schwab.RefreshLifetime})
	if err != nil {
		return err
	}
	b, err := schwab.New(schwab.Config{AccountNumber: env.account, Tokens: src, BaseURL: env.baseURL, HTTPClient: env.httpClient})
	if err != nil {
		return err
	}
	return report(ctx, b, o.symbols, out)
}

// login runs the browser step (simulated by the emulator) and saves the
// token, encrypted, to the store.
func login(ctx context.Context, env *environment, oc *oauth2.Config, store auth.TokenStore, in io.Reader, out io.Writer) error {
	lc := schwab.LoginConfig(oc, store, "schwab")
	lc.HTTPClient = env.httpClient
	flow, err := auth.NewFlow(lc)
	if err != nil {
		return err
	}
	var redirected string
	if env.emu != nil {
		fmt.Fprintln(out, "Logging in to the emulator (the browser step is simulated)...")
		if redirected, err = env.emu.ApproveLogin(flow.AuthURL()); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(out, "Open this URL, log in and pick the account, then paste the URL the browser lands on:")
		fmt.Fprintln(out, flow.AuthURL())
		fmt.Fprint(out, "> ")
		line, err := bufio.NewReader(in).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("no redirect URL pasted: %w", err)
		}
		redirected = strings.TrimSpace(line)
	}
	tok, err := flow.Complete(ctx, redirected)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Logged in; tokens saved encrypted. Log in again before %s.\n", tok.RefreshExpiry.Format("2006-01-02 15:04 MST"))
	return nil
}

func report(ctx context.Context, b *schwab.Broker, symbols []string, out io.Writer) error {
	positions, err := b.Positions(ctx)
	if err != nil {
		return err
	}
	quotes, err := b.Quotes(ctx, symbols...)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POSITION\tQUANTITY\tAVG COST")
	for _, p := range positions {
		fmt.Fprintf(w, "%s\t%s\t%s\n", p.Instrument.Symbol, p.Quantity, p.AvgCost.StringFixed(2))
	}
	fmt.Fprintln(w, "\nQUOTE\tBID\tASK\tLAST")
	for _, q := range quotes {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", q.Symbol, q.Bid.StringFixed(2), q.Ask.StringFixed(2), q.Last.StringFixed(2))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	h := b.Health(ctx)
	fmt.Fprintf(out, "\nauthenticated: %t; login expires %s\n", h.Authenticated, h.LoginExpiry.Format("2006-01-02 15:04 MST"))
	return nil
}

// environment is where the program talks to: the real Schwab or an
// in-process emulator with its own throwaway credentials and store.
type environment struct {
	emu                        *schwabtest.Server
	baseURL, account, redirect string
	appKey, appSecret          string
	storePath                  string
	key                        []byte
	httpClient                 *http.Client
	cleanup                    func()
}

func (e *environment) close() {
	if e.cleanup != nil {
		e.cleanup()
	}
}

func setup(o options, out io.Writer) (*environment, error) {
	if !o.emulator {
		key, err := hex.DecodeString(o.tokenKeyHex)
		switch {
		case o.appKey == "" || o.appSecret == "":
			return nil, errors.New("set SCHWAB_APP_KEY and SCHWAB_APP_SECRET (or use -emulator)")
		case err != nil || len(key) != auth.KeySize:
			return nil, errors.New("set ARBION_TOKEN_KEY to 64 hex characters (32 bytes); tokens are never stored unencrypted")
		case o.account == "":
			return nil, errors.New("-account is required")
		}
		return &environment{baseURL: schwab.DefaultBaseURL, account: o.account, redirect: o.redirect,
			appKey: o.appKey, appSecret: o.appSecret, storePath: o.store, key: key}, nil
	}
	emu := schwabtest.New(schwabtest.Config{})
	seedEmulator(emu)
	dir, err := os.MkdirTemp("", "schwab-login-")
	if err != nil {
		emu.Close()
		return nil, err
	}
	key := make([]byte, auth.KeySize)
	_, _ = rand.Read(key)
	fmt.Fprintln(out, "Emulator mode: a throwaway token file and key are used.")
	return &environment{emu: emu, baseURL: emu.URL(), account: "12345678", redirect: emu.RedirectURI(),
		appKey: emu.AppKey(), appSecret: emu.AppSecret(), storePath: filepath.Join(dir, "tokens.enc"), key: key,
		httpClient: emu.Client(), cleanup: func() { emu.Close(); os.RemoveAll(dir) }}, nil
}

func seedEmulator(emu *schwabtest.Server) {
	d := decimal.RequireFromString
	emu.SetPosition("12345678", "AAPL", "EQUITY", d("38"), d("227.81"))
	emu.SetPosition("12345678", "SPY", "COLLECTIVE_INVESTMENT", d("2"), d("571.22"))
	emu.SetQuote("AAPL", schwabtest.QuoteValue{Bid: d("229.98"), Ask: d("230.02"), Last: d("230.00")})
	emu.SetQuote("MSFT", schwabtest.QuoteValue{Bid: d("415.10"), Ask: d("415.16"), Last: d("415.12")})
	emu.SetQuote("SPY", schwabtest.QuoteValue{Bid: d("569.40"), Ask: d("569.43"), Last: d("569.41")})
}
