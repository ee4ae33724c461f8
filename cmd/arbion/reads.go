package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// emit prints v as JSON (--json) or as the table that table writes.
func (c *cli) emit(s settings, v any, table func(w io.Writer)) error {
	if s.json {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := newTable(c.stdout)
	table(w)
	return w.Flush()
}

// newTable is the one table layout: columns two spaces apart.
func newTable(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) }

// accountCmd parses the common flags plus those extra registers, and
// connects.
func (c *cli) accountCmd(name string, args []string, extra func(fs *flag.FlagSet)) (settings, *account, []string, error) {
	fs := c.newFlags(name)
	var o common
	o.register(fs)
	if extra != nil {
		extra(fs)
	}
	pos, err := c.parse(fs, args)
	if err != nil {
		return settings{}, nil, nil, err
	}
	s, err := c.resolve(o, "")
	if err != nil {
		return s, nil, nil, err
	}
	a, err := c.connect(s)
	return s, a, pos, err
}

func noArgs(pos []string) error {
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	return nil
}

func (c *cli) accounts(args []string) error {
	s, a, pos, err := c.accountCmd("accounts", args, nil)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	acct, err := a.Account(c.ctx)
	if err != nil {
		return err
	}
	type row struct {
		Broker   string `json:"broker"`
		Account  string `json:"account"`
		Currency string `json:"currency"`
	}
	rows := []row{{Broker: s.broker, Account: acct.ID, Currency: acct.Currency}}
	return c.emit(s, rows, func(w io.Writer) {
		fmt.Fprintln(w, "BROKER\tACCOUNT\tCURRENCY")
		for _, r := range rows {
			fmt.Fprintf(w, "%s\t%s\t%s\n", r.Broker, r.Account, r.Currency)
		}
	})
}

// balancer is the Coinbase adapter's per-currency balances.
type balancer interface {
	Balances(ctx context.Context) ([]coinbase.Balance, error)
}

func (c *cli) balances(args []string) error {
	s, a, pos, err := c.accountCmd("balances", args, nil)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	acct, err := a.Account(c.ctx)
	if err != nil {
		return err
	}
	out := struct {
		Account    broker.Account     `json:"account"`
		Currencies []coinbase.Balance `json:"currencies,omitempty"`
	}{Account: acct}
	if bl, ok := broker.Find[balancer](a.Broker); ok {
		if out.Currencies, err = bl.Balances(c.ctx); err != nil {
			return err
		}
	}
	return c.emit(s, out, func(w io.Writer) {
		fmt.Fprintln(w, "ACCOUNT\tCURRENCY\tCASH\tBUYING POWER\tEQUITY")
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", acct.ID, acct.Currency, acct.Cash.StringFixed(2), acct.BuyingPower.StringFixed(2), acct.Equity.StringFixed(2))
		if len(out.Currencies) > 0 {
			fmt.Fprintln(w, "\nCURRENCY\tAVAILABLE\tHOLD\tTOTAL")
			for _, b := range out.Currencies {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", b.Currency, b.Available, b.Hold, b.Total())
			}
		}
	})
}

func (c *cli) positions(args []string) error {
	s, a, pos, err := c.accountCmd("positions", args, nil)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	ps, err := a.Positions(c.ctx)
	if err != nil {
		return err
	}
	if ps == nil {
		ps = []broker.Position{}
	}
	return c.emit(s, ps, func(w io.Writer) {
		fmt.Fprintln(w, "SYMBOL\tASSET\tQUANTITY\tAVG COST")
		for _, p := range ps {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", p.Instrument.Symbol, p.Instrument.AssetClass, p.Quantity, money(p.AvgCost))
		}
	})
}

func (c *cli) quote(args []string) error {
	s, a, pos, err := c.accountCmd("quote", args, nil)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("name at least one symbol: arbion quote AAPL MSFT")
	}
	qs, err := a.Quotes(c.ctx, pos...)
	if err != nil {
		return err
	}
	if qs == nil {
		qs = []broker.Quote{}
	}
	var missing []string
	for _, sym := range pos {
		if !hasQuote(qs, sym) {
			missing = append(missing, sym)
		}
	}
	if err := c.emit(s, qs, func(w io.Writer) {
		fmt.Fprintln(w, "SYMBOL\tBID\tASK\tLAST\tTIME")
		for _, q := range qs {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", q.Symbol, money(q.Bid), money(q.Ask), money(q.Last), stamp(q.Time))
		}
	}); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("no quote for %s: check the symbol", strings.Join(missing, ", "))
	}
	return nil
}

func hasQuote(qs []broker.Quote, sym string) bool {
	for _, q := range qs {
		if strings.EqualFold(q.Symbol, sym) {
			return true
		}
	}
	return false
}

// stamp prints a time in UTC to the second, or "-" when unknown.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func (c *cli) bars(args []string) error {
	var interval, from, to string
	var extended bool
	s, a, pos, err := c.accountCmd("bars", args, func(fs *flag.FlagSet) {
		fs.StringVar(&interval, "interval", "1d", "bar length: 1m 5m 10m 15m 30m 1h 2h 4h 6h 1d 1w 1mo")
		fs.StringVar(&from, "from", "", "first bar start, RFC 3339 or YYYY-MM-DD (default: 30 bars back)")
		fs.StringVar(&to, "to", "", "end (exclusive), RFC 3339 or YYYY-MM-DD (default: now)")
		fs.BoolVar(&extended, "extended", false, "include extended-hours bars")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one symbol: arbion bars AAPL --interval 1d")
	}
	iv := broker.Interval(interval)
	d, ok := iv.Duration()
	if !ok {
		return usagef("unknown interval %q", interval)
	}
	q := broker.BarQuery{Symbol: pos[0], Interval: iv, ExtendedHours: extended, To: time.Now().UTC()}
	if to != "" {
		if q.To, err = parseTime(to); err != nil {
			return err
		}
	}
	q.From = q.To.Add(-30 * d)
	if from != "" {
		if q.From, err = parseTime(from); err != nil {
			return err
		}
	}
	if !q.From.Before(q.To) {
		return usagef("--from must be before --to")
	}
	src, ok := broker.Find[broker.BarSource](a.Broker)
	if !ok {
		return fmt.Errorf("%s has no price history in this adapter: %w", s.broker, errors.ErrNotSupported)
	}
	bars, err := src.Bars(c.ctx, q)
	if err != nil {
		return err
	}
	if bars == nil {
		bars = []broker.Bar{}
	}
	return c.emit(s, bars, func(w io.Writer) {
		fmt.Fprintln(w, "START\tOPEN\tHIGH\tLOW\tCLOSE\tVOLUME")
		for _, b := range bars {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(b.Start), money(b.Open), money(b.High), money(b.Low), money(b.Close), b.Volume)
		}
	})
}

func parseTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usagef("bad time %q: use RFC 3339 (2026-01-02T15:04:05Z) or YYYY-MM-DD", v)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// money prints a price with at least cents ("230.00", "132.3047").
func money(d decimal.Decimal) string {
	if d.Exponent() >= -2 {
		return d.StringFixed(2)
	}
	return d.String()
}
