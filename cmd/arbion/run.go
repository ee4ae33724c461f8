package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/arbiontrader/arbion/errors"
)

// Exit codes, stable for scripts (see helpText).
const (
	exitOK             = 0
	exitError          = 1
	exitUsage          = 2
	exitOutcomeUnknown = 3
)

// cli is one invocation: where it reads and writes and its environment.
type cli struct {
	ctx    context.Context
	stdin  *bufio.Reader
	stdout io.Writer
	stderr io.Writer
	env    func(string) string
	broker string // the broker the command talks to, once resolved, for hints
}

// command is one subcommand.
type command struct {
	name    string
	args    string // the positional arguments, for usage lines
	summary string
	run     func(c *cli, args []string) error
}

func commands() []command {
	return []command{
		{"login", "schwab|coinbase|etrade", "log in and save the tokens encrypted", (*cli).login},
		{"logout", "schwab|coinbase|etrade", "revoke the login where the broker can, and delete the stored token", (*cli).logout},
		{"accounts", "", "the configured account", (*cli).accounts},
		{"balances", "", "cash, buying power and equity (Coinbase: per currency too)", (*cli).balances},
		{"positions", "", "open positions", (*cli).positions},
		{"orders", "", "open orders, or history with --since/--status; settles lost answers first", (*cli).orders},
		{"order", "ID", "one order (broker id or arbion local id)", (*cli).order},
		{"quote", "SYM...", "quotes", (*cli).quote},
		{"bars", "SYM", "price history (--interval --from --to) where the broker has it", (*cli).bars},
		{"preview", "SIDE QTY SYM", "what an order would cost; nothing is placed", (*cli).preview},
		{"place", "SIDE QTY SYM", "place an order through the tracker (asks unless --yes)", (*cli).place},
		{"cancel", "ID", "cancel an order (asks unless --yes)", (*cli).cancel},
		{"replace", "ID", "replace a working order placed with arbion (asks unless --yes)", (*cli).replace},
		{"stream", "orders|quotes [SYM...]", "tail a stream until Ctrl-C, where the broker streams", (*cli).stream},
		{"health", "", "the adapter's health for the configured account", (*cli).health},
		{"backtest", "--csv FILE", "replay bars through paper, the tracker, risk and stops; report and picture", (*cli).backtestCmd},
		{"emulator", "schwab|coinbase|etrade", "serve a broker emulator on loopback until Ctrl-C", (*cli).emulator},
	}
}

// run is the whole program: main only wires the process to it, so that tests
// call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env func(string) string) int {
	c := &cli{ctx: ctx, stdin: bufio.NewReader(stdin), stdout: stdout, stderr: stderr, env: env}
	if len(args) == 0 {
		fmt.Fprint(stderr, helpText())
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, helpText())
		return exitOK
	}
	for _, cmd := range commands() {
		if cmd.name == name {
			return c.finish(cmd, cmd.run(c, rest))
		}
	}
	fmt.Fprintf(stderr, "arbion: unknown command %q\nRun 'arbion help' for the list of commands.\n", name)
	return exitUsage
}

// finish turns a command's error into a message that says what to do next,
// and an exit code.
func (c *cli) finish(cmd command, err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "arbion %s: %s\nusage: %s; 'arbion %s -h' lists the flags.\n",
			cmd.name, ue.msg, usageLine(cmd), cmd.name)
		return exitUsage
	case errors.Is(err, errors.ErrOutcomeUnknown):
		fmt.Fprintf(c.stderr, "arbion %s: OUTCOME UNKNOWN: %v\n%s\n", cmd.name, err, hint(err))
		return exitOutcomeUnknown
	}
	fmt.Fprintf(c.stderr, "arbion %s: %v\n", cmd.name, err)
	if h := strings.ReplaceAll(hint(err), "<broker>", first(c.broker, "<broker>")); h != "" {
		fmt.Fprintln(c.stderr, h)
	}
	return exitError
}

// hint says what to do next about an error, by its kind.
func hint(err error) string {
	switch {
	case errors.Is(err, errors.ErrOutcomeUnknown):
		return "The request was sent and its answer lost. Do NOT send it again: run 'arbion orders' in a moment; it looks the order up and settles it."
	case errors.Is(err, errors.ErrEncryptionKeyMissing):
		return "Tokens are only stored encrypted. Create a key once and keep it secret, away from the token file:\n" +
			"  head -c 32 /dev/urandom | base64 > ~/.config/arbion/token.key && chmod 600 ~/.config/arbion/token.key\n" +
			"then set ARBION_TOKEN_KEY_FILE to that file (or ARBION_TOKEN_KEY to its content)."
	case errors.Is(err, errors.ErrDecrypt):
		return "The token file does not open with this key: use the key it was written with, or delete it and log in again."
	case errors.Is(err, errors.ErrTokenExpired), errors.Is(err, errors.ErrUnauthenticated):
		return "Log in (again): arbion login <broker>."
	case errors.Is(err, errors.ErrNotSupported):
		return "This broker (or its adapter) does not offer it; nothing was sent."
	case errors.Is(err, errors.ErrRateLimited):
		return "The broker's rate limit was hit; wait a moment and try again."
	case errors.Is(err, errors.ErrOrderNotFound):
		return "Check the id with 'arbion orders' (open) or 'arbion orders --since DATE' (history)."
	case errors.Is(err, errors.ErrOrderNotCancelable):
		return "The order is no longer working (filled, cancelled or expired): 'arbion order ID' shows it."
	case errors.Is(err, errors.ErrInsufficientFunds):
		return "Not enough cash, buying power or shares: 'arbion balances' and 'arbion positions' show what there is."
	case errors.Is(err, errors.ErrMarketClosed):
		return "The market is closed: use --tif gtc, or --extended where the broker trades extended hours."
	case errors.Is(err, errors.ErrBrokerUnavailable), errors.Is(err, errors.ErrNetwork), errors.Is(err, errors.ErrTimeout):
		return "The broker could not be reached or is down; nothing was changed. Try again in a moment."
	case errors.Is(err, errors.ErrUnsettledTwin):
		return "An identical order is still unsettled: run 'arbion orders' to settle it before placing it again."
	}
	return ""
}

// usageError is a mistake on the command line: exit code 2, nothing sent.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

func helpText() string {
	var b strings.Builder
	b.WriteString(`arbion: the command line of the arbion trading SDK.

usage: arbion COMMAND [ARGS] [flags]    ('arbion COMMAND -h' lists a command's flags)

commands:
`)
	for _, cmd := range commands() {
		fmt.Fprintf(&b, "  %-9s %-24s %s\n", cmd.name, cmd.args, cmd.summary)
	}
	b.WriteString(`
flags common to the account commands:
  --broker NAME     schwab, coinbase or etrade
  --account ID      Schwab account number, E*TRADE accountIdKey, Coinbase OAuth portfolio id
  --base-url URL    the broker's API host (an emulator's URL)
  --json            JSON for scripts instead of tables

settings come from flags, then the environment, then the config file
$ARBION_CONFIG_DIR/config.json (default: the user config directory + /arbion):
  ARBION_BROKER, ARBION_ACCOUNT, ARBION_BASE_URL, ARBION_REDIRECT_URL,
  ARBION_DATA_DIR (tokens.enc and orders.db; default ~/.local/share/arbion),
  ARBION_ETRADE_SANDBOX=1, ARBION_EMULATOR_RATE=1 (lift the client-side rate limits;
  only for a loopback base URL, i.e. an emulator),
  ARBION_COINBASE_MARKET_STREAM_URL, ARBION_COINBASE_USER_STREAM_URL (the WebSocket
  endpoints; default Coinbase's; "arbion emulator coinbase" prints its own).
  config.json holds settings only (a field it does not know, such as a secret, is refused):
  {"broker":"schwab","data_dir":"...",
   "schwab":{"account":"12345678","base_url":"...","redirect_url":"..."},
   "coinbase":{"key_file":"/path/to/cdp_api_key.json","account":"portfolio uuid (OAuth)"},
   "etrade":{"account":"accountIdKey","sandbox":true}}

secrets come only from the environment or files, never from flags or the config file:
  ARBION_TOKEN_KEY or ARBION_TOKEN_KEY_FILE   the token file's key: base64 of 32 bytes,
                                               create it with: head -c 32 /dev/urandom | base64
  ARBION_SCHWAB_APP_KEY, ARBION_SCHWAB_APP_SECRET
  ARBION_COINBASE_KEY_FILE                     a CDP API key JSON file (name, privateKey)
  ARBION_COINBASE_CLIENT_ID, ARBION_COINBASE_CLIENT_SECRET   an OAuth2 app (login with PKCE)
  ARBION_ETRADE_CONSUMER_KEY, ARBION_ETRADE_CONSUMER_SECRET

exit codes:
  0  ok
  1  error (the message says what to do next)
  2  usage: bad command line; nothing was sent
  3  outcome unknown: an order request was sent and its answer lost; do not resend,
     run 'arbion orders' to settle it
`)
	return b.String()
}

func usageLine(cmd command) string {
	return strings.Join(strings.Fields("arbion "+cmd.name+" "+cmd.args+" [flags]"), " ")
}
