// Package pnl computes an account's profit and loss for the trading day from
// its fills and the latest quotes, so that risk.MaxDailyLoss works on every
// broker (paper included), whether or not the broker reports a daily P&L.
//
// A [Source] keeps, per symbol, the signed position and its cost basis. At
// the start of each trading day (midnight in the configured time zone) the
// basis of every open position is reset to its last known mark: the day's
// unrealized P&L is then the move since the day started, and the realized
// P&L is what the day's closing fills made against that basis, less the
// day's fees. Money is decimal throughout.
package pnl

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/risk"
	"github.com/shopspring/decimal"
)

// DefaultLocation is the zone whose midnight starts the trading day when
// Config.Location is nil: US equities' (crypto hosts set time.UTC).
const DefaultLocation = "America/New_York"

// basisPlaces is how many decimal places an average cost is rounded to when
// a partial close divides a basis that does not terminate.
const basisPlaces = 16

// Quoter is where marks come from; every broker.Broker satisfies it.
type Quoter interface {
	Quotes(ctx context.Context, symbols ...string) ([]broker.Quote, error)
}

// Config configures a [Source].
type Config struct {
	// Quotes marks the open positions when the P&L is asked for. Required.
	Quotes Quoter
	// Location is the zone whose midnight starts the trading day;
	// America/New_York when nil.
	Location *time.Location
	// Clock tells which day it is when a quote carries no time; the real
	// clock when nil.
	Clock clock.Clock
}

// Source is a risk.PnLSource fed with fills (Record, or Observe with the
// tracker's updates). It is safe for concurrent use.
type Source struct {
	quotes Quoter
	loc    *time.Location
	clk    clock.Clock

	mu    sync.Mutex
	day   time.Time // start of the day the books are kept for; zero before the first event
	books map[string]*book
}

// book is one symbol's position since the day started.
type book struct {
	qty      decimal.Decimal // signed: negative is short
	basis    decimal.Decimal // signed cost of qty: qty × average cost
	mark     decimal.Decimal // last price seen; zero if none
	realized decimal.Decimal // today's, net of today's fees
}

// New validates cfg and returns a source with no position.
func New(cfg Config) (*Source, error) {
	if cfg.Quotes == nil {
		return nil, &errors.RiskError{Rule: "daily pnl", Kind: errors.ErrConfiguration, Reason: "pnl: Quotes is required"}
	}
	loc := cfg.Location
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation(DefaultLocation); err != nil {
			return nil, &errors.RiskError{Rule: "daily pnl", Kind: errors.ErrConfiguration,
				Reason: "pnl: no time zone data for " + DefaultLocation + " (import time/tzdata)", Err: err}
		}
	}
	return &Source{quotes: cfg.Quotes, loc: loc, clk: clock.Or(cfg.Clock), books: make(map[string]*book)}, nil
}

// Location returns the zone whose midnight starts the trading day.
func (s *Source) Location() *time.Location { return s.loc }

// DayStart returns the start of the trading day t falls in.
func (s *Source) DayStart(t time.Time) time.Time {
	y, m, d := t.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
}

// Seed starts the books from the broker's positions, each at its average
// cost, as a runner does when it starts: fills from before the start are
// not known, so the day's realized P&L counts from then. It replaces every
// position the source held.
func (s *Source) Seed(positions []broker.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.books = make(map[string]*book, len(positions))
	for _, p := range positions {
		if p.Quantity.IsZero() {
			continue
		}
		s.books[p.Instrument.Symbol] = &book{qty: p.Quantity, basis: p.Quantity.Mul(p.AvgCost), mark: p.AvgCost}
	}
}

// Observe records the fill an order update carries, if any; pass it to
// order.Tracker.Subscribe.
func (s *Source) Observe(u order.Update) {
	if u.Fill != nil {
		s.Record(u.Order.Instrument.Symbol, u.Order.Side, *u.Fill)
	}
}

// Record applies one fill of symbol on side. A fill dated in a later day
// than the books starts that day first; one without a time counts now.
func (s *Source) Record(symbol string, side broker.Side, f broker.Fill) {
	at := f.Time
	if at.IsZero() {
		at = s.clk.Now()
	}
	d := f.Quantity
	if !side.IsBuy() {
		d = d.Neg()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollLocked(s.DayStart(at))
	b := s.bookLocked(symbol)
	b.apply(d, f.Price)
	b.realized = b.realized.Sub(f.Fee)
	b.mark = f.Price
}

// Mark records the latest price of symbol (from a quote stream, say).
func (s *Source) Mark(symbol string, price decimal.Decimal, at time.Time) {
	if !price.IsPositive() {
		return
	}
	if at.IsZero() {
		at = s.clk.Now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollLocked(s.DayStart(at))
	s.bookLocked(symbol).mark = price
}

// DailyPnL implements risk.PnLSource: the realized and unrealized P&L of
// the day that started at dayStart, the open positions marked with fresh
// quotes. It fails closed: a held symbol without a usable quote, a quote
// error, or a day already past is an error matching
// errors.ErrRiskDataUnavailable.
func (s *Source) DailyPnL(ctx context.Context, dayStart time.Time) (risk.PnL, error) {
	held := s.held()
	if len(held) > 0 {
		qs, err := s.quotes.Quotes(ctx, held...)
		if err != nil {
			return risk.PnL{}, unavailable("quotes for the open positions", err)
		}
		marks := make(map[string]broker.Quote, len(qs))
		for _, q := range qs {
			marks[q.Symbol] = q
		}
		for _, sym := range held {
			q, ok := marks[sym]
			p := markOf(q)
			if !ok || !p.IsPositive() {
				return risk.PnL{}, unavailable("no price for the open position in "+sym, nil)
			}
			// A quote taken before dayStart still marks yesterday's close.
			s.Mark(sym, p, q.Time)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	day := s.DayStart(dayStart)
	if !s.day.IsZero() && day.Before(s.day) {
		return risk.PnL{}, unavailable(fmt.Sprintf("the day starting %s is past", day.Format(time.DateOnly)), nil)
	}
	s.rollLocked(day)
	var out risk.PnL
	for _, b := range s.books {
		out.Realized = out.Realized.Add(b.realized)
		if !b.qty.IsZero() {
			out.Unrealized = out.Unrealized.Add(b.qty.Mul(b.mark).Sub(b.basis))
		}
	}
	return out, nil
}

// held returns the symbols with an open position, sorted.
func (s *Source) held() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for sym, b := range s.books {
		if !b.qty.IsZero() {
			out = append(out, sym)
		}
	}
	sort.Strings(out)
	return out
}

func (s *Source) bookLocked(symbol string) *book {
	b, ok := s.books[symbol]
	if !ok {
		b = &book{}
		s.books[symbol] = b
	}
	return b
}

// rollLocked starts the day at day if it is later than the books': the
// realized P&L goes back to zero and each open position's basis becomes its
// last mark (the average cost when it was never marked).
func (s *Source) rollLocked(day time.Time) {
	if !day.After(s.day) {
		return
	}
	first := s.day.IsZero()
	s.day = day
	if first {
		return
	}
	for sym, b := range s.books {
		if b.qty.IsZero() {
			delete(s.books, sym)
			continue
		}
		b.realized = decimal.Zero
		if b.mark.IsPositive() {
			b.basis = b.qty.Mul(b.mark)
		}
	}
}

// apply moves the position by d (signed) at price p, realizing what d
// closes against the average cost.
func (b *book) apply(d, p decimal.Decimal) {
	if b.qty.IsZero() || b.qty.Sign() == d.Sign() {
		b.qty = b.qty.Add(d)
		b.basis = b.basis.Add(d.Mul(p))
		return
	}
	// closed is the part of the position d removes, with the position's sign.
	closed := decimal.Min(d.Abs(), b.qty.Abs())
	if b.qty.IsNegative() {
		closed = closed.Neg()
	}
	var closedBasis decimal.Decimal
	if closed.Equal(b.qty) {
		closedBasis = b.basis
	} else {
		closedBasis = b.basis.Mul(closed).DivRound(b.qty, basisPlaces)
	}
	b.realized = b.realized.Add(closed.Mul(p).Sub(closedBasis))
	b.qty = b.qty.Sub(closed)
	b.basis = b.basis.Sub(closedBasis)
	if rest := d.Add(closed); !rest.IsZero() { // d flips the position
		b.qty = rest
		b.basis = rest.Mul(p)
	}
	if b.qty.IsZero() {
		b.basis = decimal.Zero
	}
}

// markOf is the quote's last price, else its mid, else zero.
func markOf(q broker.Quote) decimal.Decimal {
	switch {
	case q.Last.IsPositive():
		return q.Last
	case q.Bid.IsPositive() && q.Ask.IsPositive():
		return q.Bid.Add(q.Ask).Div(decimal.NewFromInt(2))
	}
	return decimal.Zero
}

func unavailable(reason string, err error) error {
	return &errors.RiskError{Rule: "daily pnl", Kind: errors.ErrRiskDataUnavailable, Reason: "pnl: " + reason, Err: err}
}
