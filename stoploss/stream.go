package stoploss

import (
	"context"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// DefaultStreamMaxAge is how long a quote stream may stay silent (no data,
// no heartbeat) before its quotes count as no data.
const DefaultStreamMaxAge = 15 * time.Second

// quoteFeed is the quote stream the supervisor follows, with the last
// quote of each symbol and the levels that make a tick act.
type quoteFeed struct {
	watchMu    sync.Mutex // one watch at a time, so that a symbol is subscribed once
	mu         sync.Mutex
	stream     broker.QuoteStream // nil when none is followed
	last       map[string]streamed
	levels     map[string]level
	subscribed map[string]bool
}

// streamed is a quote as received, with the stream's reconnect count then:
// a quote from before a reconnect may have been overtaken by one lost in
// the gap, so it counts as no data.
type streamed struct {
	q     broker.Quote
	epoch int
}

// level is what a tick is compared with: the stop and the take-profit of
// a protected position.
type level struct {
	stop, takeProfit decimal.Decimal
	long             bool
}

// FollowQuotes consumes qs until it ends (or ctx does) and returns its Err
// (ctx's error when ctx ended first). While it runs:
//
//   - the symbols of the protected positions are subscribed, and
//     unsubscribed as positions close;
//   - a tick at or through a position's stop (synthetic or not), or at its
//     take-profit, closes the position at once, without waiting for the
//     next sweep;
//   - a sweep makes no Quotes call for a symbol whose streamed quote is
//     fresh: the stream is live, heard from within Config.StreamMaxAge, and
//     the quote arrived since its last reconnect. A quote that is not fresh
//     counts as no data: the sweep polls Quotes for it.
//
// One stream is followed at a time; when FollowQuotes returns, sweeps poll
// every symbol again, as they do when no stream was ever given.
func (s *Supervisor) FollowQuotes(ctx context.Context, qs broker.QuoteStream) error {
	f := &s.feed
	f.mu.Lock()
	if f.stream != nil {
		f.mu.Unlock()
		return configError("a quote stream is already followed")
	}
	f.stream, f.last, f.subscribed = qs, make(map[string]streamed), make(map[string]bool)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.stream, f.last, f.subscribed = nil, nil, nil
		f.mu.Unlock()
	}()
	if recs, err := s.cfg.Store.List(ctx, s.cfg.Account); err == nil {
		s.watch(ctx, recs)
	} else {
		s.cfg.Logger.Warn("stoploss: store list failed", "account", s.cfg.Account, "error", err)
	}
	quotes := qs.Quotes()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case q, ok := <-quotes:
			if !ok {
				return qs.Err()
			}
			if s.tick(q.Quote, qs.Status().Reconnects) {
				if _, err := s.HandleTick(ctx, q.Symbol); err != nil {
					s.cfg.Logger.Warn("stoploss: tick failed", "account", s.cfg.Account, "symbol", q.Symbol, "error", err)
				}
			}
		}
	}
}

// tick records q and reports whether it reaches its position's stop or
// take-profit.
func (s *Supervisor) tick(q broker.Quote, epoch int) bool {
	f := &s.feed
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		return false
	}
	f.last[q.Symbol] = streamed{q: q, epoch: epoch}
	lv, ok := f.levels[q.Symbol]
	if !ok {
		return false
	}
	price := observedPrice(q, lv.long)
	return price.IsPositive() && (breached(price, lv.stop, lv.long) || reached(price, lv.takeProfit, lv.long))
}

// HandleTick checks one symbol's position against its freshest quote, as a
// sweep does, and closes it when the quote breaches the stop or reaches the
// take-profit. FollowQuotes calls it on such a tick.
func (s *Supervisor) HandleTick(ctx context.Context, symbol string) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	rep := Report{Account: s.cfg.Account, Start: now}
	release, ok, err := s.acquire(ctx)
	if err != nil || !ok {
		rep.Skipped = true
		return s.finish(rep, err), err
	}
	defer release()
	s.applyUpdates(ctx, &rep)
	rec, found, err := s.cfg.Store.Get(ctx, s.cfg.Account, symbol)
	if err != nil || !found || rec.Quantity.IsZero() {
		return s.finish(rep, err), err
	}
	quotes, fresh := s.streamedQuotes([]Protection{rec}, now)
	if len(fresh) == 0 {
		return s.finish(rep, nil), nil // the stream went stale meanwhile: the sweep decides
	}
	c, _, _ := s.check(ctx, &rep, &rec, quotes, now)
	if c != nil {
		s.closeAll(ctx, &rep, []closeIntent{*c})
	}
	s.refreshLevels(ctx)
	return s.finish(rep, nil), nil
}

// streamedQuotes returns the fresh streamed quotes of recs' symbols, and
// those symbols. A fresh quote is stamped with the stream's last message
// time when that is later: a live stream that sent nothing newer says the
// quote still holds.
func (s *Supervisor) streamedQuotes(recs []Protection, now time.Time) (map[string]broker.Quote, map[string]bool) {
	f := &s.feed
	f.mu.Lock()
	qs := f.stream
	f.mu.Unlock()
	if qs == nil {
		return make(map[string]broker.Quote, len(recs)), nil // sized once: the sweep fills it
	}
	st := qs.Status()
	out := make(map[string]broker.Quote, len(recs))
	fresh := make(map[string]bool, len(recs))
	if !st.Fresh(now, s.cfg.StreamMaxAge) {
		return out, fresh
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range recs {
		sq, ok := f.last[r.Symbol]
		if !ok || sq.epoch != st.Reconnects {
			continue
		}
		q := sq.q
		if st.LastMessage.After(q.Time) {
			q.Time = st.LastMessage
		}
		out[r.Symbol], fresh[r.Symbol] = q, true
	}
	return out, fresh
}

// watch subscribes the symbols of the protected positions in recs and
// unsubscribes the others, and sets the levels ticks are compared with.
func (s *Supervisor) watch(ctx context.Context, recs []Protection) {
	f := &s.feed
	f.watchMu.Lock()
	defer f.watchMu.Unlock()
	f.mu.Lock()
	qs := f.stream
	levels := make(map[string]level, len(recs))
	var add, drop []string
	want := make(map[string]bool, len(recs))
	for _, r := range recs {
		if r.Quantity.IsZero() {
			continue
		}
		want[r.Symbol] = true
		levels[r.Symbol] = level{stop: r.StopPrice, takeProfit: r.TakeProfitPrice, long: r.Long()}
		if qs != nil && !f.subscribed[r.Symbol] {
			add = append(add, r.Symbol)
		}
	}
	for sym := range f.subscribed {
		if !want[sym] {
			drop = append(drop, sym)
		}
	}
	f.levels = levels
	f.mu.Unlock()
	if qs == nil {
		return
	}
	if len(add) > 0 {
		if err := qs.Subscribe(ctx, add...); err != nil {
			s.cfg.Logger.Warn("stoploss: subscribe failed", "account", s.cfg.Account, "symbols", add, "error", err)
			add = nil
		}
	}
	if len(drop) > 0 {
		if err := qs.Unsubscribe(ctx, drop...); err != nil {
			s.cfg.Logger.Warn("stoploss: unsubscribe failed", "account", s.cfg.Account, "symbols", drop, "error", err)
			drop = nil
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stream != qs {
		return
	}
	for _, sym := range add {
		f.subscribed[sym] = true
	}
	for _, sym := range drop {
		delete(f.subscribed, sym)
		delete(f.last, sym)
	}
}

// refreshLevels re-reads the records after a change and watches them.
func (s *Supervisor) refreshLevels(ctx context.Context) {
	recs, err := s.cfg.Store.List(ctx, s.cfg.Account)
	if err != nil {
		s.cfg.Logger.Warn("stoploss: store list failed", "account", s.cfg.Account, "error", err)
		return
	}
	s.watch(ctx, recs)
}
