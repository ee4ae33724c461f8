// Command schwab-login logs in to Charles Schwab with OAuth2, keeps the
// tokens in an encrypted file, and prints the account's positions and a few
// quotes.
//
// Against a real account (an app registered at developer.schwab.com):
//
//	export SCHWAB_APP_KEY=... SCHWAB_APP_SECRET=...
//	export ARBION_TOKEN_KEY=$(openssl rand -base64 32)   # keep it secret, not next to the file
//	go run ./examples/schwab-login -account 12345678 -symbols AAPL,MSFT
//
// It prints the authorization URL; log in in the browser, then paste the
// URL the browser was sent to (Schwab requires an https callback, which
// this command does not serve). The token is saved to -token-file and
// reused on the next run until the login expires (7 days). The key may
// instead be read from a file (a mounted secret) with -token-key-file.
//
// Without an account, -emulator runs the same flow against an in-process
// schwabtest emulator, with a throwaway key and token file:
//
//	go run ./examples/schwab-login -emulator
//
// `schwab-login -h` lists the flags and the environment; an interrupt
// (Ctrl-C, SIGTERM) stops it, also while it waits for the pasted URL.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/arbiontrader/arbion/auth"
	arbionerrors "github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/examples/internal/cli"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
	"golang.org/x/oauth2"
)

// program describes the command for its usage text and messages.
func program() cli.Program {
	return cli.Program{
		Name:    "schwab-login",
		Summary: "Logs in to Charles Schwab (OAuth2), keeps the tokens in an encrypted file, and prints positions and quotes.",
		Env: []cli.Env{
			{Name: "SCHWAB_APP_KEY", Help: "the app's key from developer.schwab.com (not read with -emulator)"},
			{Name: "SCHWAB_APP_SECRET", Help: "the app's secret (not read with -emulator)"},
			cli.TokenKeyEnv(),
		},
	}
}

func main() {
	ctx, stop := cli.SignalContext()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type options struct {
	emulator     bool
	account      string
	symbols      []string
	tokenFile    string
	tokenKeyFile string
	redirect     string
	forceLogin   bool
}

func parse(p cli.Program, fs *flag.FlagSet, args []string) (options, error) {
	var o options
	fs.BoolVar(&o.emulator, "emulator", false, "run against an in-process schwabtest emulator (no account needed)")
	fs.StringVar(&o.account, "account", "", "account number (required without -emulator)")
	symbols := fs.String("symbols", "AAPL,MSFT,SPY", "comma-separated symbols to quote")
	fs.StringVar(&o.tokenFile, "token-file", "schwab-tokens.enc", "encrypted token file (not with -emulator)")
	fs.StringVar(&o.tokenKeyFile, "token-key-file", "", "read the token key from this file instead of "+auth.KeyEnv+" (not with -emulator)")
	fs.StringVar(&o.redirect, "redirect", "https://127.0.0.1:8182/callback", "the https callback URL registered for the app, byte for byte")
	fs.BoolVar(&o.forceLogin, "login", false, "log in even if the token file holds a token")
	if err := p.Parse(fs, args); err != nil {
		return o, err
	}
	var err error
	if o.symbols, err = cli.Symbols("symbols", *symbols); err != nil {
		return o, err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch u, uerr := url.Parse(o.redirect); {
	case uerr != nil || u.Scheme != "https" || u.Host == "":
		return o, cli.Usagef("-redirect %q: want the https URL registered for the app", o.redirect)
	case o.emulator && (set["token-file"] || set["token-key-file"]):
		return o, cli.Usagef("-token-file and -token-key-file have no use with -emulator (its key and tokens are throwaway)")
	case o.emulator && set["account"]:
		return o, cli.Usagef("-account has no use with -emulator (it has one account)")
	case !o.emulator && o.account == "":
		return o, cli.Usagef("-account is required (or use -emulator)")
	case !o.emulator && o.tokenFile == "":
		return o, cli.Usagef("-token-file \"\": a file is required")
	}
	return o, nil
}

// run is the whole program: it parses args, logs in if needed, reports,
// and returns the exit status; stdin is where a pasted redirect URL is read.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	p := program()
	fs := p.FlagSet()
	o, err := parse(p, fs, args)
	if err == nil {
		err = runMain(ctx, o, stdin, stdout)
	}
	return p.Exit(ctx, err, fs, stdout, stderr)
}

func runMain(ctx context.Context, o options, stdin io.Reader, stdout io.Writer) error {
	env, err := setup(o, stdout)
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
		if err := login(ctx, env, oc, store, stdin, stdout); err != nil {
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
	return report(ctx, b, o.symbols, stdout)
}

// login runs the browser step (simulated by the emulator) and saves the
// token, encrypted, to the store.
func login(ctx context.Context, env *environment, oc *oauth2.Config, store auth.TokenStore, stdin io.Reader, stdout io.Writer) error {
	lc := schwab.LoginConfig(oc, store, "schwab")
	lc.HTTPClient = env.httpClient
	flow, err := auth.NewFlow(lc)
	if err != nil {
		return err
	}
	var redirected string
	if env.emu != nil {
		fmt.Fprintln(stdout, "logging in to the emulator (the browser step is simulated)")
		if redirected, err = env.emu.ApproveLogin(flow.AuthURL()); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(stdout, "open this URL, log in and pick the account, then paste the URL the browser lands on:")
		fmt.Fprintln(stdout, "  "+flow.AuthURL())
		fmt.Fprint(stdout, "redirect URL: ")
		line, err := cli.ReadLine(ctx, stdin)
		if err != nil {
			return fmt.Errorf("reading the redirect URL: %w", err)
		}
		redirected = strings.TrimSpace(line)
	}
	tok, err := flow.Complete(ctx, redirected)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "logged in; the tokens are stored encrypted; log in again before %s\n", tok.RefreshExpiry.Format("2006-01-02 15:04 MST"))
	return nil
}

func report(ctx context.Context, b *schwab.Broker, symbols []string, stdout io.Writer) error {
	positions, err := b.Positions(ctx)
	if err != nil {
		return err
	}
	quotes, err := b.Quotes(ctx, symbols...)
	if err != nil {
		return err
	}
	if err := cli.PrintPortfolio(stdout, positions, quotes); err != nil {
		return err
	}
	h := b.Health(ctx)
	fmt.Fprintf(stdout, "\nauthenticated: %t; login expires %s\n", h.Authenticated, h.LoginExpiry.Format("2006-01-02 15:04 MST"))
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

func setup(o options, stdout io.Writer) (*environment, error) {
	if !o.emulator {
		appKey, appSecret := os.Getenv("SCHWAB_APP_KEY"), os.Getenv("SCHWAB_APP_SECRET")
		if appKey == "" || appSecret == "" {
			return nil, errors.New("set SCHWAB_APP_KEY and SCHWAB_APP_SECRET (or use -emulator)")
		}
		key, err := cli.TokenKey(o.tokenKeyFile)
		if err != nil {
			return nil, err
		}
		return &environment{baseURL: schwab.DefaultBaseURL, account: o.account, redirect: o.redirect,
			appKey: appKey, appSecret: appSecret, storePath: o.tokenFile, key: key}, nil
	}
	emu := schwabtest.New(schwabtest.Config{})
	seedEmulator(emu)
	dir, err := os.MkdirTemp("", "schwab-login-")
	if err != nil {
		emu.Close()
		return nil, err
	}
	key := make([]byte, auth.KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
	fmt.Fprintln(stdout, "using the in-process Schwab emulator, with a throwaway key and token file")
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
