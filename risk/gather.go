package risk

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// gathered is what the sources answered for one check.
type gathered struct {
	needs     Needs
	gen       uint64 // the engine's sentSeq when the gather started
	positions []broker.Position
	open      []broker.Order          // working orders, when Config.OpenOrders is set
	quotes    map[string]broker.Quote // by symbol key: only quotes checked present and fresh
	account   broker.Account
	pnl       PnL
}

// gather asks the sources for what needs names, without holding the lock.
// Every failure is a *errors.RiskError of kind ErrRiskDataUnavailable naming
// what is missing; all of them are reported.
func (e *Engine) gather(ctx context.Context, req broker.OrderRequest, now time.Time, snap gatherSnapshot) (gathered, error) {
	needs := snap.needs
	g := gathered{needs: needs, gen: snap.gen}
	var errs []error
	if err := ctx.Err(); err != nil {
		return g, dataError("context", req.Instrument.Symbol, "context done before the check", err)
	}
	if needs&NeedPositions != 0 {
		ps, err := e.positions.Positions(ctx)
		if err != nil {
			errs = append(errs, dataError("positions", "", "position lookup failed", err))
		}
		g.positions = ps
		if e.openOrders != nil {
			open, err := e.openOrders.OpenOrders(ctx)
			if err != nil {
				errs = append(errs, dataError("open orders", "", "open order lookup failed", err))
			}
			g.open = open
		}
	}
	if needs&NeedQuote != 0 {
		symbols := []string{req.Instrument.Symbol}
		if needs&NeedMarks != 0 {
			symbols = markSymbols(symbols, g.positions, g.open, snap.pendingSymbols)
		}
		quotes, qerrs := e.quotes(ctx, symbols)
		g.quotes = quotes
		errs = append(errs, qerrs...)
	}
	if needs&NeedAccount != 0 {
		a, err := e.account.Account(ctx)
		if err != nil {
			errs = append(errs, dataError("account", "", "account lookup failed", err))
		}
		g.account = a
	}
	if needs&NeedPnL != 0 {
		day := dayStart(now, e.loc)
		p, err := e.pnl.DailyPnL(ctx, day)
		if err != nil {
			errs = append(errs, dataError("daily pnl", "", "P&L since "+day.Format(time.RFC3339)+" unavailable", err))
		}
		g.pnl = p
	}
	return g, errors.Join(errs...)
}

// quotes fetches quotes for symbols and keeps the ones present, priced and
// no older than the engine's MaxQuoteAge when they arrive (a slow answer is
// not held against the quote); each other symbol is an error.
func (e *Engine) quotes(ctx context.Context, symbols []string) (map[string]broker.Quote, []error) {
	streamed, isStream := e.market.(StreamedMarketData)
	if isStream {
		if st := streamed.Status(); !st.Fresh(e.now(), e.maxQuoteAge) {
			stale := dataError("quote", strings.Join(symbols, ","), "the quote stream is not live or went silent", st.LastError)
			stale.Limit = e.maxQuoteAge.String()
			if !st.LastMessage.IsZero() {
				stale.Actual = e.now().Sub(st.LastMessage).String()
			}
			return nil, []error{stale}
		}
	}
	all, err := e.market.Quotes(ctx, symbols...)
	if err != nil {
		return nil, []error{dataError("quote", strings.Join(symbols, ","), "quote lookup failed", err)}
	}
	now := e.now()
	var errs []error
	good := indexQuotes(all) // the bad ones are taken out below
	for _, s := range symbols {
		k := symbolKey(s)
		q, ok := good[k]
		if !ok {
			errs = append(errs, dataError("quote", s, "no quote", nil))
			continue
		}
		if _, priced := markPrice(q); !priced {
			delete(good, k)
			errs = append(errs, dataError("quote", s, "quote has no bid, ask or last price", nil))
			continue
		}
		// A quote from the future (clock skew) is as suspect as an old one.
		if age := now.Sub(q.Time); !isStream && (age > e.maxQuoteAge || -age > e.maxQuoteAge) {
			stale := dataError("quote", s, "quote is stale (taken "+q.Time.Format(time.RFC3339Nano)+")", nil)
			stale.Limit, stale.Actual = e.maxQuoteAge.String(), age.String()
			delete(good, k)
			errs = append(errs, stale)
		}
	}
	return good, errs
}

// markSymbols adds to symbols every held or reserved symbol, once each.
func markSymbols(symbols []string, positions []broker.Position, open []broker.Order, pending []string) []string {
	seen := make(map[string]bool, len(symbols)+len(positions)+len(open)+len(pending))
	for _, s := range symbols {
		seen[symbolKey(s)] = true
	}
	add := func(s string) {
		if k := symbolKey(s); !seen[k] {
			seen[k] = true
			symbols = append(symbols, s)
		}
	}
	for _, p := range positions {
		if !p.Quantity.IsZero() {
			add(p.Instrument.Symbol)
		}
	}
	for _, o := range open {
		add(o.Instrument.Symbol)
	}
	for _, s := range pending {
		add(s)
	}
	return symbols
}

// symbolKey is a symbol as the engine compares them: case does not matter.
// Symbols are ASCII, and ToUpper returns an upper-case one unchanged,
// without allocating.
func symbolKey(s string) string { return strings.ToUpper(s) }

// indexQuotes maps quotes by symbol key; the first quote of a symbol wins.
func indexQuotes(quotes []broker.Quote) map[string]broker.Quote {
	m := make(map[string]broker.Quote, len(quotes))
	for _, q := range quotes {
		k := symbolKey(q.Symbol)
		if _, dup := m[k]; !dup {
			m[k] = q
		}
	}
	return m
}

func dataError(what, symbol, reason string, cause error) *errors.RiskError {
	return &errors.RiskError{Rule: what, Symbol: symbol, Reason: reason, Kind: errors.ErrRiskDataUnavailable, Err: cause}
}

// intentLocked combines what the sources answered with the reservations
// and order counts, under the lock so that the check that follows and the
// reservation it makes see one consistent state.
func (e *Engine) intentLocked(req broker.OrderRequest, now time.Time, g gathered) Intent {
	day := e.rollDayLocked(now)
	symbol := req.Instrument.Symbol
	in := Intent{Request: req, Time: now, DayStart: day, Account: g.account, PnL: g.pnl,
		Position: Holding{Symbol: symbol}}
	quotes := g.quotes
	if q, ok := quotes[symbolKey(symbol)]; ok {
		in.Quote = q
		in.Position.Mark, _ = markPrice(q)
	}
	in.Others = make([]Holding, 0, len(g.positions)+len(g.open)+len(e.pending))
	in.others = make(map[string]int, cap(in.Others))
	for _, p := range g.positions {
		if !p.Quantity.IsZero() {
			h := in.holding(p.Instrument.Symbol)
			if h.Quantity.IsZero() {
				h.Quantity = p.Quantity // the usual case: one position per symbol, no sum to make
			} else {
				h.Quantity = h.Quantity.Add(p.Quantity)
			}
		}
	}
	for _, r := range e.pending {
		in.addPending(r.symbol, r.buy, r.qty, r.price)
		if r.day.Equal(day) {
			in.OrdersToday++
		}
	}
	for _, r := range e.recent {
		if r.sentSeq > g.gen { // sent after the sources were asked
			in.addPending(r.symbol, r.buy, r.qty, r.price)
		}
	}
	reserved := e.reservedIDsLocked(g.gen, len(g.open))
	for _, o := range g.open {
		if o.Status.Terminal() || (o.ClientOrderID != "" && reserved[o.ClientOrderID]) {
			continue // a reservation already counts it
		}
		price := o.LimitPrice
		if price.IsZero() {
			price = o.StopPrice
		}
		in.addPending(o.Instrument.Symbol, o.Side.IsBuy(), o.Remaining(), price)
	}
	if g.needs&NeedMarks != 0 {
		for i := range in.Others {
			if q, ok := quotes[symbolKey(in.Others[i].Symbol)]; ok {
				in.Others[i].Mark, _ = markPrice(q)
			}
		}
	}
	in.OrdersToday += e.sentToday
	in.OrderTimes = e.orderTimesLocked(now)
	return in
}

// reservedIDsLocked returns the client order ids that count as reserved
// for a gather started at gen (nil when there are no open orders to match
// against them).
func (e *Engine) reservedIDsLocked(gen uint64, open int) map[string]bool {
	if open == 0 {
		return nil
	}
	ids := make(map[string]bool, len(e.pending)+len(e.recent))
	for _, r := range e.pending {
		if r.clientOrderID != "" {
			ids[r.clientOrderID] = true
		}
	}
	for _, r := range e.recent {
		if r.sentSeq > gen && r.clientOrderID != "" {
			ids[r.clientOrderID] = true
		}
	}
	return ids
}

// addPending adds an order that may still fill to its symbol's holding.
// price values a holding no quote prices (zero if unknown).
func (in *Intent) addPending(symbol string, buy bool, qty, price decimal.Decimal) {
	if !qty.IsPositive() {
		return
	}
	h := in.holding(symbol)
	if buy {
		h.PendingBuy = h.PendingBuy.Add(qty)
	} else {
		h.PendingSell = h.PendingSell.Add(qty)
	}
	if h.Mark.IsZero() {
		h.Mark = price // until a quote prices it
	}
}

// holding returns the intent's holding for symbol, adding it to Others when
// new.
func (in *Intent) holding(symbol string) *Holding {
	if strings.EqualFold(symbol, in.Position.Symbol) {
		return &in.Position
	}
	k := symbolKey(symbol)
	if i, ok := in.others[k]; ok {
		return &in.Others[i]
	}
	if in.others == nil {
		in.others = make(map[string]int)
	}
	in.others[k] = len(in.Others)
	in.Others = append(in.Others, Holding{Symbol: symbol})
	return &in.Others[len(in.Others)-1]
}

// orderTimesLocked drops order times older than the horizon and returns a
// copy of the rest with the reservations' times, ascending.
func (e *Engine) orderTimesLocked(now time.Time) []time.Time {
	if e.horizon <= 0 {
		return nil
	}
	cutoff := now.Add(-e.horizon)
	i := 0
	for i < len(e.sentTimes) && !e.sentTimes[i].After(cutoff) {
		i++
	}
	e.sentTimes = e.sentTimes[i:]
	if len(e.sentTimes)+len(e.pending) == 0 {
		return nil
	}
	out := make([]time.Time, 0, len(e.sentTimes)+len(e.pending))
	out = append(out, e.sentTimes...)
	for _, r := range e.pending {
		if r.at.After(cutoff) {
			out = append(out, r.at)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}
