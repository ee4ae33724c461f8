// Command etrade-login logs in to E*TRADE with the OAuth 1.0a PIN flow,
// stores the tokens in an encrypted file, and prints the account's
// portfolio and quotes.
//
// Against E*TRADE:
//
//	export ETRADE_CONSUMER_KEY=... ETRADE_CONSUMER_SECRET=...
//	export ARBION_TOKEN_KEY=$(openssl rand -base64 32)   # keep it secret, not next to the file
//	go run ./examples/etrade-login -account <accountIdKey> [-sandbox] -symbols AAPL,MSFT
//
// It prints the authorize URL; open it, approve, and type the verification
// code shown by E*TRADE. The token lives until midnight US Eastern; a later
// run the same day reuses it (renewing it when idle) without a new login.
// The key may instead be read from a file (a mounted secret) with
// -token-key-file.
//
// With -emulator it runs against an in-process etradetest server instead,
// with a throwaway key and token file; the emulator approves the login and
// supplies the code (or, with -pin-stdin, shows it and reads it back from
// stdin like a user would).
//
// `etrade-login -h` lists the flags and the environment; an interrupt
// (Ctrl-C, SIGTERM) stops it, also while it waits for the code.
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/arbiontrader/arbion/examples/internal/cli"
	"github.com/shopspring/decimal"
)

// program describes the command for its usage text and messages.
func program() cli.Program {
	return cli.Program{
		Name:    "etrade-login",
		Summary: "Logs in to E*TRADE (OAuth 1.0a PIN flow), keeps the tokens in an encrypted file, and prints the portfolio and quotes.",
		Env: []cli.Env{
			{Name: "ETRADE_CONSUMER_KEY", Help: "the application's consumer key from E*TRADE (not read with -emulator)"},
			{Name: "ETRADE_CONSUMER_SECRET", Help: "its consumer secret (not read with -emulator)"},
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
	emulator, sandbox, pinFromStdin, forceLogin bool
	account, tokenFile, tokenKeyFile            string
	symbols                                     []string
}

func parse(p cli.Program, fs *flag.FlagSet, args []string) (options, error) {
	var o options
	fs.BoolVar(&o.emulator, "emulator", false, "run against an in-process E*TRADE emulator")
	fs.BoolVar(&o.pinFromStdin, "pin-stdin", false, "with -emulator: read the verification code from stdin")
	fs.BoolVar(&o.sandbox, "sandbox", false, "use E*TRADE's sandbox for account and market calls")
	fs.BoolVar(&o.forceLogin, "login", false, "log in even if a stored token is still valid")
	fs.StringVar(&o.account, "account", "", "accountIdKey of the account, from the accounts list (required without -emulator)")
	symbols := fs.String("symbols", "AAPL,MSFT", "comma-separated symbols to quote")
	fs.StringVar(&o.tokenFile, "token-file", "", "encrypted token file (default ~/.arbion/etrade-tokens; not with -emulator)")
	fs.StringVar(&o.tokenKeyFile, "token-key-file", "", "read the token key from this file instead of "+auth.KeyEnv+" (not with -emulator)")
	if err := p.Parse(fs, args); err != nil {
		return o, err
	}
	var err error
	if o.symbols, err = cli.Symbols("symbols", *symbols); err != nil {
		return o, err
	}
	switch {
	case o.emulator && (o.tokenFile != "" || o.tokenKeyFile != ""):
		return o, cli.Usagef("-token-file and -token-key-file have no use with -emulator (its key and tokens are throwaway)")
	case o.emulator && (o.account != "" || o.sandbox):
		return o, cli.Usagef("-account and -sandbox have no use with -emulator (it has one account)")
	case !o.emulator && o.pinFromStdin:
		return o, cli.Usagef("-pin-stdin is for -emulator (against E*TRADE the code is always read from stdin)")
	case !o.emulator && o.account == "":
		return o, cli.Usagef("-account is required (or use -emulator)")
	}
	return o, nil
}

// run is the whole program: it parses args, logs in if needed, reports,
// and returns the exit status; stdin is where the verification code is read.
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
	cfg, cleanup, err := configure(&o, stdout)
	if err != nil {
		return err
	}
	defer cleanup()
	b, err := etrade.New(cfg.Config)
	if err != nil {
		return err
	}
	if err := ensureLogin(ctx, b, cfg, o, stdin, stdout); err != nil {
		return err
	}
	return report(ctx, b, o.symbols, stdout)
}

// setup is the adapter's config plus, in emulator mode, the server.
type setup struct {
	etrade.Config
	srv *etradetest.Server
}

func configure(o *options, stdout io.Writer) (setup, func(), error) {
	cleanup := func() {}
	var (
		s   setup
		key []byte
	)
	if o.emulator {
		srv, err := etradetest.New(etradetest.Config{MarketOpen: true})
		if err != nil {
			return s, cleanup, err
		}
		dir, err := os.MkdirTemp("", "etrade-login")
		if err != nil {
			srv.Close()
			return s, cleanup, err
		}
		cleanup = func() { srv.Close(); os.RemoveAll(dir) }
		o.tokenFile = filepath.Join(dir, "tokens")
		key = make([]byte, auth.KeySize)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
		s.srv = srv
		s.Config = etrade.Config{ConsumerKey: srv.ConsumerKey(), ConsumerSecret: srv.ConsumerSecret(),
			AccountIDKey: srv.AccountIDKey(), APIURL: srv.URL(), OAuthURL: srv.URL(),
			AuthorizeURL: srv.URL() + "/e/t/etws/authorize", HTTPClient: srv.Client()}
		fmt.Fprintln(stdout, "using the in-process E*TRADE emulator, with a throwaway key and token file")
	} else {
		s.Config = etrade.Config{ConsumerKey: os.Getenv("ETRADE_CONSUMER_KEY"), ConsumerSecret: os.Getenv("ETRADE_CONSUMER_SECRET"),
			AccountIDKey: o.account, Sandbox: o.sandbox}
		if s.ConsumerKey == "" || s.ConsumerSecret == "" {
			return s, cleanup, fmt.Errorf("set ETRADE_CONSUMER_KEY and ETRADE_CONSUMER_SECRET (or use -emulator)")
		}
		var err error
		if key, err = cli.TokenKey(o.tokenKeyFile); err != nil {
			return s, cleanup, err
		}
		if o.tokenFile == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return s, cleanup, err
			}
			if err := os.MkdirAll(filepath.Join(home, ".arbion"), 0o700); err != nil {
				return s, cleanup, err
			}
			o.tokenFile = filepath.Join(home, ".arbion", "etrade-tokens")
		}
	}
	store, err := auth.NewFileStore(o.tokenFile, key)
	if err != nil {
		cleanup()
		return s, func() {}, err
	}
	s.Store = store
	return s, cleanup, nil
}

// ensureLogin reuses a stored token when it still works, else runs the PIN
// flow.
func ensureLogin(ctx context.Context, b *etrade.Broker, s setup, o options, stdin io.Reader, stdout io.Writer) error {
	if !o.forceLogin {
		err := b.Renew(ctx)
		if err == nil {
			fmt.Fprintln(stdout, "reusing the stored token")
			return nil
		}
		if !errors.Is(err, errors.ErrUnauthenticated) && !errors.Is(err, errors.ErrTokenExpired) {
			return err
		}
	}
	rt, authURL, err := b.StartLogin(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "open this page, approve the application, and enter the verification code it shows:")
	fmt.Fprintln(stdout, "  "+authURL)
	var code string
	switch {
	case s.srv != nil && !o.pinFromStdin:
		if code, err = s.srv.Approve(rt.Token); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "verification code (from the emulator):", code)
	default:
		if s.srv != nil {
			c, err := s.srv.Approve(rt.Token)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, "(the emulator's page shows the code", c+")")
		}
		fmt.Fprint(stdout, "verification code: ")
		line, err := cli.ReadLine(ctx, stdin)
		if err != nil {
			return fmt.Errorf("reading the verification code: %w", err)
		}
		code = strings.TrimSpace(line)
	}
	if err := b.CompleteLogin(ctx, rt, code); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "logged in; the token is stored encrypted and expires at", b.Health(ctx).LoginExpiry.Format("2006-01-02 15:04 MST"))
	if s.srv != nil {
		return seedEmulator(ctx, b, s.srv)
	}
	return nil
}

// seedEmulator buys some shares in the emulator so the portfolio has a line.
func seedEmulator(ctx context.Context, b *etrade.Broker, srv *etradetest.Server) error {
	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(), Instrument: broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Limit, TimeInForce: broker.Day,
		Quantity: decimal.NewFromInt(10), LimitPrice: decimal.RequireFromString("132.31"),
	})
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(ack.OrderID, 10, 64)
	if err != nil {
		return err
	}
	return srv.Fill(id, decimal.NewFromInt(10), decimal.RequireFromString("132.30"))
}

func report(ctx context.Context, b *etrade.Broker, symbols []string, stdout io.Writer) error {
	positions, err := b.Positions(ctx)
	if err != nil {
		return err
	}
	quotes, err := b.Quotes(ctx, symbols...)
	if err != nil {
		return err
	}
	return cli.PrintPortfolio(stdout, positions, quotes)
}
