// Command arbion is the command line of the arbion SDK: log in to a broker
// once and keep the tokens encrypted, look at an account, preview, place,
// replace and cancel orders by hand (every order through the order tracker
// and a persisted SQLite store, so a lost answer is settled by a later run
// and never resent), tail streams, backtest a CSV of bars, and serve a broker
// emulator for your own tests.
//
// A session against the Schwab emulator (the browser step: open the printed
// URL, then paste the address the browser lands on):
//
//	$ go install github.com/arbiontrader/arbion/cmd/arbion@latest
//	$ arbion emulator schwab --addr 127.0.0.1:8765 &
//	schwab emulator (test credentials only; state is lost when it stops)
//	base URL:      http://127.0.0.1:8765
//	app key:       test-app-key
//	app secret:    test-app-secret
//	account:       12345678
//	...
//	$ export ARBION_TOKEN_KEY=$(head -c 32 /dev/urandom | base64)
//	$ export ARBION_BROKER=schwab ARBION_BASE_URL=http://127.0.0.1:8765 ARBION_ACCOUNT=12345678
//	$ export ARBION_SCHWAB_APP_KEY=test-app-key ARBION_SCHWAB_APP_SECRET=test-app-secret
//	$ arbion login schwab
//	Open this URL in a browser, log in, then paste the URL the browser lands on
//	(the page may fail to load: its address is what counts):
//	http://127.0.0.1:8765/v1/oauth/authorize?client_id=test-app-key&redirect_uri=...&state=...
//	> https://127.0.0.1:8182/callback?code=...&session=...&state=...
//	logged in to schwab; tokens saved encrypted in ~/.local/share/arbion/tokens.enc
//	log in again before 2026-12-09T16:49:50Z (Schwab ends a login after 7 days)
//	$ arbion positions
//	SYMBOL  ASSET   QUANTITY  AVG COST
//	AAPL    equity  38        227.81
//	SPY     equity  2         571.22
//	$ arbion place buy 10 AAPL --limit 187.25 --yes
//	order:       buy 10 AAPL limit 187.25, day
//	commission:  0.00
//	fees:        0.00
//	total:       1872.50
//	placed:  local KogSEpyPsorD6IVOoEJq, broker order 1004055538153, status new
//	$ arbion cancel 1004055538153
//	cancel order 1004055538153 (buy 10 AAPL limit 187.25, day)? [y/N] y
//	cancel:  local KogSEpyPsorD6IVOoEJq, broker order 1004055538153, status pending_cancel
//
// Exit codes: 0 ok, 1 error (the message says what to do next), 2 usage
// (nothing sent), 3 outcome unknown (an order request was sent and its answer
// lost: do not resend; `arbion orders` settles it). `arbion help` lists every
// command, setting and environment variable.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
