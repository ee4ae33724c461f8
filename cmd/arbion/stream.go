package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// stream tails an order or quote stream until the context ends (Ctrl-C).
// One line per event, flushed at once; --json prints one JSON object a line.
func (c *cli) stream(args []string) error {
	s, a, pos, err := c.accountCmd("stream", args, nil)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] != "orders" && pos[0] != "quotes") {
		return usagef("arbion stream orders | arbion stream quotes SYM...")
	}
	if pos[0] == "quotes" && len(pos) == 1 {
		return usagef("name at least one symbol: arbion stream quotes AAPL")
	}
	enc := json.NewEncoder(c.stdout)
	if pos[0] == "orders" {
		st, ok := broker.Find[broker.OrderStreamer](a.Broker)
		if !ok {
			return fmt.Errorf("%s streams no order events in this adapter ('arbion orders' reads them): %w", s.broker, errors.ErrNotSupported)
		}
		os, err := st.StreamOrders(c.ctx)
		if err != nil {
			return err
		}
		return tail(c.ctx, os.Events(), os.Err, func(ev broker.OrderEvent) error {
			if s.json {
				return enc.Encode(ev)
			}
			return line(c.stdout, "%s\t%s\t%s\t%s\t%s\t%s\n", stamp(ev.Time), ev.Kind, ev.OrderID, ev.Fill.Quantity, ev.Fill.Price, ev.RawStatus)
		})
	}
	st, ok := broker.Find[broker.QuoteStreamer](a.Broker)
	if !ok {
		return fmt.Errorf("%s streams no quotes in this adapter ('arbion quote' reads them): %w", s.broker, errors.ErrNotSupported)
	}
	qs, err := st.StreamQuotes(c.ctx, pos[1:]...)
	if err != nil {
		return err
	}
	return tail(c.ctx, qs.Quotes(), qs.Err, func(q broker.StreamQuote) error {
		if s.json {
			return enc.Encode(q)
		}
		return line(c.stdout, "%s\t%s\tbid %s x %s\task %s x %s\tlast %s\n", stamp(q.Time), q.Symbol, q.Bid, q.BidSize, q.Ask, q.AskSize, q.Last)
	})
}

// tail prints what ch delivers until it closes or ctx ends; a stream that
// ends on its own with an error returns it.
func tail[T any](ctx context.Context, ch <-chan T, streamErr func() error, print func(T) error) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case v, ok := <-ch:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				if err := streamErr(); err != nil {
					return fmt.Errorf("stream ended: %w", err)
				}
				return nil
			}
			if err := print(v); err != nil {
				return err
			}
		}
	}
}

// line writes one aligned line at once (a stream cannot wait for a table's
// end to align its columns).
func line(w io.Writer, format string, a ...any) error {
	tw := tabwriter.NewWriter(w, 14, 4, 2, ' ', 0)
	fmt.Fprintf(tw, format, a...)
	return tw.Flush()
}

// health prints the adapter's own health after one read: the runner's
// checks are not on main yet.
func (c *cli) health(args []string) error {
	s, a, pos, err := c.accountCmd("health", args, nil)
	if err != nil {
		return err
	}
	if err := noArgs(pos); err != nil {
		return err
	}
	hr, ok := broker.Find[broker.HealthReporter](a.Broker)
	if !ok {
		return fmt.Errorf("%s reports no health: %w", s.broker, errors.ErrNotSupported)
	}
	_, probeErr := a.Account(c.ctx)
	h := hr.Health(c.ctx)
	out := struct {
		Broker             string         `json:"broker"`
		Reachable          bool           `json:"reachable"`
		Authenticated      bool           `json:"authenticated"`
		TokenExpiry        time.Time      `json:"token_expiry,omitzero"`
		LoginExpiry        time.Time      `json:"login_expiry,omitzero"`
		LastError          string         `json:"last_error,omitempty"`
		LastErrorAt        time.Time      `json:"last_error_at,omitzero"`
		RateLimitRemaining map[string]int `json:"rate_limit_remaining,omitempty"`
	}{h.Broker, h.Reachable, h.Authenticated, h.TokenExpiry, h.LoginExpiry, "", h.LastErrorAt, h.RateLimitRemaining}
	if h.LastError != nil {
		out.LastError = h.LastError.Error()
	}
	if err := c.emit(s, out, func(w io.Writer) {
		fmt.Fprintf(w, "broker:\t%s\nreachable:\t%t\nauthenticated:\t%t\ntoken expiry:\t%s\nlogin expiry:\t%s\n",
			out.Broker, out.Reachable, out.Authenticated, stamp(out.TokenExpiry), stamp(out.LoginExpiry))
		if out.LastError != "" {
			fmt.Fprintf(w, "last error:\t%s (%s)\n", out.LastError, stamp(out.LastErrorAt))
		}
		for _, k := range sortedKeys(out.RateLimitRemaining) {
			fmt.Fprintf(w, "rate limit %s:\t%d left\n", k, out.RateLimitRemaining[k])
		}
	}); err != nil {
		return err
	}
	if probeErr != nil {
		return fmt.Errorf("unhealthy: %w", probeErr)
	}
	return nil
}
