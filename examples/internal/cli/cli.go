// Package cli is the command-line shape arbion's example programs share,
// so that they behave alike: -h prints the usage, with the environment
// variables the program reads, to stdout and exits 0; a stray positional
// argument or a bad flag value is refused with a message naming it and
// exit status 2; a failure prints "name: error" to stderr and exits 1; an
// interrupt (SIGINT or SIGTERM) stops the program cleanly with status 130.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// Exit statuses.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130 // 128 + SIGINT, as shells report it
)

// Env is an environment variable a program reads, for its usage text.
type Env struct {
	Name string
	Help string
}

// TokenKeyEnv documents ARBION_TOKEN_KEY for programs that store tokens.
func TokenKeyEnv() Env {
	return Env{auth.KeyEnv, "key of the encrypted token file: base64 of 32 bytes, from `openssl rand -base64 32` (or -token-key-file)"}
}

// Program describes a command for its usage text.
type Program struct {
	Name    string // the command's name, as in "coinbase-bot"
	Summary string // one sentence: what it does
	Env     []Env  // the environment variables it reads
}

// FlagSet returns an empty flag set for p that reports nothing itself:
// [Program.Parse] and [Program.Exit] do.
func (p Program) FlagSet() *flag.FlagSet {
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// UsageError is a command line the program refuses: a stray argument, a
// flag value out of range, a missing required flag.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// Parse parses args into fs. It returns flag.ErrHelp for -h or -help, and a
// *UsageError for an undefined flag, a value the flag refuses (the message
// names it) or any positional argument: the programs take flags only, and a
// positional argument would silently end flag parsing.
func (p Program) Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &UsageError{Msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected argument %q (%s takes flags only)", fs.Arg(0), p.Name)
	}
	return nil
}

// PrintUsage writes p's usage: the summary, fs's flags and the environment.
func (p Program) PrintUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s [flags]\n\n%s\n\nFlags:\n", p.Name, p.Summary)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
	if len(p.Env) > 0 {
		fmt.Fprintln(w, "\nEnvironment:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, e := range p.Env {
			fmt.Fprintf(tw, "  %s\t%s\n", e.Name, e.Help)
		}
		tw.Flush()
	}
}

// Exit reports err in the one style and returns the exit status: 0 for nil;
// the usage on stdout and 0 for flag.ErrHelp; the message and a hint on
// stderr and 2 for a *UsageError; "interrupted" and 130 once ctx is
// canceled (the signal); else "name: err" on stderr and 1.
func (p Program) Exit(ctx context.Context, err error, fs *flag.FlagSet, stdout, stderr io.Writer) int {
	var ue *UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		p.PrintUsage(stdout, fs)
		return ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s: %s\nRun '%s -h' for usage.\n", p.Name, ue.Msg, p.Name)
		return ExitUsage
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		fmt.Fprintf(stderr, "%s: interrupted\n", p.Name)
		return ExitInterrupted
	default:
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return ExitFailure
	}
}

// SignalContext returns a context canceled by the first SIGINT or SIGTERM,
// and the function that releases it. Once the context is canceled the
// signals are no longer caught, so a second one ends a program that is
// slow to stop, as it would without this.
func SignalContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	return ctx, stop
}

// TokenKey reads the token file key: from the file at path when path is
// set, else from ARBION_TOKEN_KEY. Both hold the one format, standard
// base64 of 32 bytes; the error says how to create a key.
func TokenKey(path string) ([]byte, error) {
	if path != "" {
		return auth.KeyFromFile(path)
	}
	return auth.KeyFromEnv("")
}

// ReadLine reads one line from in (at most: what it buffers beyond the
// line is dropped, so call it once per reader), without its line ending, or returns
// ctx's error as soon as ctx ends: a program waiting for a pasted line
// still stops on an interrupt. The read itself cannot be abandoned; on an
// interrupt its goroutine ends when in does (stdin at process exit).
func ReadLine(ctx context.Context, in io.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(in).ReadString('\n')
		if err == io.EOF && line != "" {
			err = nil
		}
		done <- result{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case r := <-done:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Symbols splits a comma-separated symbol flag's value, refusing an empty
// or padded entry with a usage error that names the flag and the value.
func Symbols(flagName, v string) ([]string, error) {
	list := strings.Split(v, ",")
	for _, s := range list {
		if strings.TrimSpace(s) == "" || strings.TrimSpace(s) != s {
			return nil, Usagef("-%s %q: want symbols separated by commas, such as AAPL,MSFT", flagName, v)
		}
	}
	return list, nil
}

// PrintPortfolio writes positions and quotes as two tables, the one layout
// of every example that reports an account. Prices show at least two
// places and every place the broker sent; quantities as sent.
func PrintPortfolio(w io.Writer, positions []broker.Position, quotes []broker.Quote) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POSITION\tQUANTITY\tAVG COST")
	if len(positions) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	for _, p := range positions {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Instrument.Symbol, p.Quantity, price(p.AvgCost))
	}
	fmt.Fprintln(tw, "\nQUOTE\tBID\tASK\tLAST")
	for _, q := range quotes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", q.Symbol, price(q.Bid), price(q.Ask), price(q.Last))
	}
	return tw.Flush()
}

func price(d decimal.Decimal) string { return d.StringFixed(max(2, -d.Exponent())) }
