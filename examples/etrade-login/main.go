// Command etrade-login logs in to E*TRADE with the OAuth 1.0a PIN flow,
// stores the tokens in an encrypted file, and prints the account's
// portfolio and quotes.
//
// Against E*TRADE:
//
//	export ETRADE_CONSUMER_KEY=... ETRADE_CONSUMER_SECRET=...
//	export ARBION_TOKEN_KEY=$(head -c32 /dev/urandom | base64)
//	etrade-login -account <accountIdKey> [-sandbox] -symbols AAPL,MSFT
//
// It prints the authorize URL; open it, approve, and type the verification
// code shown by E*TRADE. The token lives until midnight US Eastern; a later
// run the same day reuses it (renewing it when idle) without a new login.
//
// With -emulator it runs against an in-process etradetest server instead;
// the emulator approves the login and supplies the code (or, with -pin-stdin,
// prints it and reads it back from stdin like a user would).
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/shopspring/decimal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "etrade-login:", err)
		os.Exit(1)
	}
}

type options struct {
	emulator, sandbox, pinFromStdin, forceLogin bool
	account, symbols, tokenFile                 string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	var o options
	fs := flag.NewFlagSet("etrade-login", flag.ContinueOnError)
	fs.BoolVar(&o.emulator, "emulator", false, "run against an in-process E*TRADE emulator")
	fs.BoolVar(&o.pinFromStdin, "pin-stdin", false, "with -emulator: read the verification code from stdin")
	fs.BoolVar(&o.sandbox, "sandbox", false, "use E*TRADE's sandbox for account and market calls")
	fs.BoolVar(&o.forceLogin, "login", false, "log in even if a stored token is still valid")
	fs.StringVar(&o.account, "account", "", "accountIdKey of the account (from the accounts list)")
	fs.StringVar(&o.symbols, "symbols", "AAPL,MSFT", "comma-separated symbols to quote")
	fs.StringVar(&o.tokenFile, "token-file", "", "encrypted token file (default: ~/.arbion/etrade-tokens, or a temporary file with -emulator)")
	if err := fs.Parse(args); err != nil {
		return err
	}
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
	return report(ctx, b, strings.Split(o.symbols, ","), stdout)
}

// setup is the adapter's config plus, in emulator mode, the server.
type setup struct {
	etrade.Config
	srv *etradetest.Server
}

func configure(o *options, stdout io.Writer) (setup, func(), error) {
	cleanup := func() {}
	var s setup
	key, err := tokenKey(o.emulator)
	if err != nil {
		return s, cleanup, err
	}
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
		if o.tokenFile == "" {
			o.tokenFile = filepath.Join(dir, "tokens")
		}
		s.srv = srv
		s.Config = etrade.Config{ConsumerKey: srv.ConsumerKey(), ConsumerSecret: srv.ConsumerSecret(),
			AccountIDKey: srv.AccountIDKey(), APIURL: srv.URL(), OAuthURL: srv.URL(),
			AuthorizeURL: srv.URL() + "/e/t/etws/authorize", HTTPClient: srv.Client()}
		fmt.Fprintln(stdout, "using the in-process E*TRADE emulator")
	} else {
		s.Config = etrade.Config{ConsumerKey: os.Getenv("ETRADE_CONSUMER_KEY"), ConsumerSecret: os.Getenv("ETRADE_CONSUMER_SECRET"),
			AccountIDKey: o.account, Sandbox: o.sandbox}
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

// tokenKey reads the 32-byte file key from ARBION_TOKEN_KEY (base64); the
// emulator mode makes a throwaway one when it is unset.
func tokenKey(emulator bool) ([]byte, error) {
	v := os.Getenv("ARBION_TOKEN_KEY")
	if v == "" && emulator {
		key := make([]byte, auth.KeySize)
		_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24+)
		return key, nil
	}
	if v == "" {
		return nil, fmt.Errorf("set ARBION_TOKEN_KEY to a base64 32-byte key: tokens are only stored encrypted: %w", errors.ErrEncryptionKeyMissing)
	}
	key, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("ARBION_TOKEN_KEY is not base64: %w", errors.ErrConfiguration)
	}
	return key, nil
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
	fmt.Fprintln(stdout, "Open this page, approve the application, and enter the verification code it shows:")
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
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
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
	fmt.Fprintln(stdout, "portfolio:")
	if len(positions) == 0 {
		fmt.Fprintln(stdout, "  (no positions)")
	}
	for _, p := range positions {
		fmt.Fprintf(stdout, "  %-8s %10s @ %s\n", p.Instrument.Symbol, p.Quantity, p.AvgCost)
	}
	quotes, err := b.Quotes(ctx, symbols...)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "quotes:")
	for _, q := range quotes {
		fmt.Fprintf(stdout, "  %-8s bid %s ask %s last %s\n", q.Symbol, q.Bid, q.Ask, q.Last)
	}
	return nil
}
