package schwab

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// DefaultListMaxResults is the maxResults the adapter sends with an order
// list: Schwab's own default (spec §6.7).
const DefaultListMaxResults = 3000

const (
	// listSplitDepth bounds how many times a window is halved because
	// Schwab cut its answer at maxResults: 2^24 pieces of a year are about
	// two seconds each, below which halving cannot separate orders that
	// Schwab stamps in whole seconds anyway.
	listSplitDepth = 24
	// maxListWindow is the widest window the per-account list accepts.
	maxListWindow = 365 * 24 * time.Hour
)

// listing is the result of listing a window: the orders (children
// flattened, each id once) and whether every piece of the window was read
// in full.
type listing struct {
	orders   []broker.Order
	complete bool
}

// listWindow lists the orders entered in [from, to] (both inclusive, as
// Schwab's bounds are). Schwab has no paging and cuts an answer at
// maxResults, so an answer that long may be short: the window is halved
// and each half listed, down to listSplitDepth. A failed request is an
// error, never a short listing; a cut the depth could not undo leaves
// complete false.
func (b *Broker) listWindow(ctx context.Context, from, to time.Time) (listing, error) {
	from, to = from.UTC().Truncate(time.Millisecond), to.UTC().Truncate(time.Millisecond)
	l := listing{complete: true}
	seen := map[string]bool{}
	if err := b.listPiece(ctx, from, to, 0, &l, seen); err != nil {
		return listing{}, err
	}
	slices.SortStableFunc(l.orders, func(a, c broker.Order) int {
		if n := a.CreatedAt.Compare(c.CreatedAt); n != 0 {
			return n
		}
		return compareIDs(a.OrderID, c.OrderID)
	})
	return l, nil
}

func (b *Broker) listPiece(ctx context.Context, from, to time.Time, depth int, l *listing, seen map[string]bool) error {
	list, err := b.listOnce(ctx, from, to)
	if err != nil {
		return err
	}
	keep := func() { // the pieces may overlap at their edges: each order once
		for i := range list {
			for _, o := range b.flatten(ctx, &list[i], nil) {
				if !seen[o.OrderID] {
					seen[o.OrderID] = true
					l.orders = append(l.orders, o)
				}
			}
		}
	}
	if len(list) < b.cfg.ListMaxResults {
		keep()
		return nil
	}
	mid := from.Add(to.Sub(from) / 2).Truncate(time.Millisecond)
	if depth >= listSplitDepth || !mid.After(from) || !to.After(mid) {
		// Cannot narrow further: keep what was read, but it may be short.
		l.complete = false
		keep()
		return nil
	}
	if err := b.listPiece(ctx, from, mid, depth+1, l, seen); err != nil {
		return err
	}
	return b.listPiece(ctx, mid.Add(time.Millisecond), to, depth+1, l, seen)
}

// listOnce makes one list request; a cut-off body is read once more (GET
// is safe to repeat).
func (b *Broker) listOnce(ctx context.Context, from, to time.Time) ([]wireOrder, error) {
	q := url.Values{
		"fromEnteredTime": {from.Format(queryTimeLayout)},
		"toEnteredTime":   {to.Format(queryTimeLayout)},
		"maxResults":      {strconv.Itoa(b.cfg.ListMaxResults)},
	}
	var last error
	for range 2 {
		resp, err := b.read(ctx, "list orders", "/orders", q)
		if err != nil {
			return nil, err
		}
		list, err := decodeOrderList(resp.Body)
		if err == nil {
			return list, nil
		}
		last = malformed("list orders", err)
	}
	return nil, last
}

// compareIDs orders numeric ids by value (Schwab's ids grow with time).
func compareIDs(a, c string) int {
	if n := len(a) - len(c); n != 0 {
		return n
	}
	return strings.Compare(a, c)
}

// incomplete wraps a listing failure so that it matches
// errors.ErrIncompleteListing as well as its cause's kind.
func incomplete(op, msg string, cause error) error {
	return &errors.BrokerError{Broker: Name, Op: op, Kind: errors.ErrIncompleteListing, Message: msg, Err: cause}
}

// Orders lists the orders q selects, oldest first, children of OCO and
// TRIGGER orders included. The window is at most one year back (Schwab's
// limit; an older From is errors.ErrInvalidOrder); a zero From means one
// year back. A listing that failed or could not be shown complete is an
// error matching errors.ErrIncompleteListing, never a short list.
func (b *Broker) Orders(ctx context.Context, q broker.OrderQuery) ([]broker.Order, error) {
	now := b.clock.Now()
	to := q.To
	if to.IsZero() {
		to = now.Add(listAhead)
	}
	from := q.From
	if from.IsZero() {
		from = now.Add(-listLookback)
	}
	if now.Sub(from) > listLookback || to.Sub(from) > maxListWindow {
		return nil, &errors.OrderError{Op: "orders", Reason: "Schwab lists at most one year of orders; From " +
			from.UTC().Format(time.RFC3339) + " is older", Kind: errors.ErrInvalidOrder}
	}
	if !to.After(from) {
		return nil, nil
	}
	// To is exclusive; Schwab's toEnteredTime is inclusive.
	l, err := b.listWindow(ctx, from, to.Add(-time.Millisecond))
	if err != nil {
		return nil, incomplete(broker.OpOrders, "the order list failed", err)
	}
	if !l.complete {
		return nil, incomplete(broker.OpOrders, "more orders were entered in one moment than Schwab lists at once", nil)
	}
	out := l.orders[:0]
	for _, o := range l.orders {
		if q.Filter.Match(o) && (q.Symbol == "" || o.Instrument.Symbol == q.Symbol) &&
			o.CreatedAt.Before(to) && !o.CreatedAt.Before(from.Truncate(time.Second)) {
			out = append(out, o)
		}
	}
	return out, nil
}

// OpenOrders returns the orders that are not terminal among those entered
// in the last 364 days (the list's limit is one year), children of
// OCO/TRIGGER orders included. A listing that could not be read in full is
// an error matching errors.ErrIncompleteListing.
func (b *Broker) OpenOrders(ctx context.Context) ([]broker.Order, error) {
	return b.Orders(ctx, broker.OrderQuery{Filter: broker.FilterOpen})
}

// FindOrder reports the orders at Schwab that fit q.Request (symbol, side,
// type, time in force, quantity, limit and stop price) entered within
// [q.From, q.To], oldest first. Schwab keeps no client order id, so every
// fitting order is a candidate; deciding which one, if any, is the
// request's is the caller's. The lookup never validates the request and
// never claims what it found. A send of the same ClientOrderID in flight
// in this process is waited for first, so that its order is listed.
func (b *Broker) FindOrder(ctx context.Context, q broker.FindQuery) (broker.FindResult, error) {
	if err := b.awaitSend(ctx, q.Request.ClientOrderID); err != nil {
		return broker.FindResult{}, err
	}
	if q.To.Before(q.From) {
		return broker.FindResult{Complete: true}, nil
	}
	// Schwab stamps entry times in whole seconds: widen the window by the
	// match skew on both sides rather than miss the order at its edge.
	l, err := b.listWindow(ctx, q.From.Add(-b.cfg.MatchSkew), q.To.Add(b.cfg.MatchSkew))
	if err != nil {
		return broker.FindResult{}, err
	}
	res := broker.FindResult{Complete: l.complete}
	for _, o := range l.orders {
		if fits(o, q.Request) {
			res.Candidates = append(res.Candidates, o)
		}
	}
	return res, nil
}

// awaitSend waits for a send of clientOrderID in flight in this process.
func (b *Broker) awaitSend(ctx context.Context, clientOrderID string) error {
	b.ordersMu.Lock()
	in := b.byClient[clientOrderID]
	b.ordersMu.Unlock()
	if in == nil {
		return nil
	}
	select {
	case <-in.done:
		return nil
	case <-ctx.Done():
		return ctxErr(broker.OpFindOrder, ctx.Err())
	}
}

// fits reports whether o has the identifying fields of req.
func fits(o broker.Order, req broker.OrderRequest) bool {
	return o.Instrument.Symbol == req.Instrument.Symbol && o.Side == req.Side && o.Type == req.Type &&
		o.TimeInForce == req.TimeInForce && o.Quantity.Equal(req.Quantity) &&
		o.LimitPrice.Equal(req.LimitPrice) && o.StopPrice.Equal(req.StopPrice)
}
