// Command arbion is the command line of the arbion SDK: log in to a broker
// once and keep the tokens encrypted, look at an account, preview, place,
// replace and cancel orders by hand (every order through the order tracker
// and a persisted store, so a lost answer is settled and never resent), tail
// streams, and serve a broker emulator for your own tests.
//
// A session against the Schwab emulator:
//
//	$ go install github.com/arbiontrader/arbion/cmd/arbion@latest
//	$ arbion emulator schwab --addr 127.0.0.1:8765 &
//	base URL:      http://127.0.0.1:8765
//	app key:       test-app-key
//	...
//	$ export ARBION_TOKEN_KEY=$(head -c 32 /dev/urandom | base64)
//	$ export ARBION_BASE_URL=http://127.0.0.1:8765 ARBION_ACCOUNT=12345678
//	$ export ARBION_SCHWAB_APP_KEY=test-app-key ARBION_SCHWAB_APP_SECRET=test-app-secret
//	$ arbion login schwab
//	Open this URL in a browser, log in, then paste the URL the browser lands on:
//	http://127.0.0.1:8765/v1/oauth/authorize?...
//	> https://127.0.0.1:8182/callback?code=...&state=...
//	logged in to schwab; tokens saved encrypted in ~/.local/share/arbion/tokens.enc
//	$ arbion positions --broker schwab
//	SYMBOL  ASSET   QUANTITY  AVG COST
//	AAPL    equity  38        227.81
//	$ arbion place buy 10 AAPL --limit 187.25 --broker schwab --yes
//	placed: local L... broker order 1001, status new
//
// Run `arbion help` for every command, the environment variables and the exit
// codes.
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
