package order

import (
	"context"
	"sync"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// brokerRefuses asks the broker's OrderChecker, when it has one, whether it
// would refuse req; a refusal is returned before anything is stored.
func (t *Tracker) brokerRefuses(op string, req broker.OrderRequest) error {
	if t.checkOrder == nil {
		return nil
	}
	if err := t.checkOrder.CheckOrder(req); err != nil {
		return &errors.OrderError{Op: op, ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Kind: errors.KindOf(err), Reason: t.broker.Name() + " would refuse it; nothing stored or sent", Err: err}
	}
	return nil
}

// beginWrite admits one broker write: refused while draining or without
// the account's leadership. On success the caller must call
// t.sending.Done when the write and its record are settled.
func (t *Tracker) beginWrite(op string, req broker.OrderRequest) error {
	t.drainMu.Lock()
	defer t.drainMu.Unlock()
	if t.draining {
		return &errors.OrderError{Op: op, ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Kind: errors.ErrShuttingDown, Reason: "the tracker is draining; nothing sent"}
	}
	if err := t.leaderErr(); err != nil {
		return &errors.OrderError{Op: op, ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Kind: errors.ErrNotLeader, Reason: "this process does not lead the account; nothing sent", Err: err}
	}
	t.sending.Add(1)
	return nil
}

// leaderErr is nil when this process may trade the account.
func (t *Tracker) leaderErr() error {
	if t.leader == nil {
		return nil
	}
	if err := t.leader.Err(); err != nil {
		if !errors.Is(err, errors.ErrNotLeader) {
			return errors.Join(errors.ErrNotLeader, err)
		}
		return err
	}
	return nil
}

// sendContext is the context of one broker write: detached from the
// caller's cancellation (its values kept), bounded by SendTimeout.
func (t *Tracker) sendContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), t.sendTimeout)
}

// Drain prepares the tracker for shutdown: it takes no new broker write
// (Submit, Cancel and Replace fail with errors.ErrShuttingDown from now on)
// and waits until every write in flight has had its answer saved. Each
// write is bounded by Config.SendTimeout, so Drain returns within about
// that time; it returns ctx's error if ctx ends first. Reads, Apply and
// Reconcile keep working. Drain is safe to call more than once.
func (t *Tracker) Drain(ctx context.Context) error {
	t.drainMu.Lock()
	t.draining = true
	t.drainMu.Unlock()
	done := make(chan struct{})
	go func() {
		t.sending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// twinKey is what identifies an order at a broker that keeps no client
// order id: two unresolved placements with the same key could not be told
// apart by a lookup.
type twinKey struct {
	symbol, side, typ, tif, qty, limit, stop, trailAmt, trailPct string
	extended                                                     bool
}

func keyOf(r broker.OrderRequest) twinKey {
	return twinKey{r.Instrument.Symbol, r.Side.String(), r.Type.String(), r.TimeInForce.String(),
		r.Quantity.String(), r.LimitPrice.String(), r.StopPrice.String(), r.TrailAmount.String(),
		r.TrailPercent.String(), r.ExtendedHours}
}

// unresolvedSet holds the account's placements not yet acknowledged (no
// broker id, not terminal), by twin key. It is loaded from the store on
// first use, so that it covers the unknowns a previous process left.
type unresolvedSet struct {
	mu     sync.Mutex
	loaded bool
	byKey  map[twinKey]map[string]struct{}
}

// refuseTwin refuses req while a placement with the same identifying
// fields is unresolved for the account, so that one process never creates
// two orders a lookup could not tell apart, with an error matching
// errors.ErrUnsettledTwin; nothing is stored or sent. Protective orders are
// refused too (a second stop beside one whose outcome is unknown could
// oversell); the stop-loss supervisor counts it as a failed placement and
// tries again on its next sweep. Brokers that keep client order ids tell
// twins apart, so nothing is refused there.
func (t *Tracker) refuseTwin(ctx context.Context, req Request) error {
	if t.broker.Capabilities().IdempotentClientOrderID {
		return nil // the broker tells orders apart by client order id
	}
	if err := t.loadUnresolved(ctx); err != nil {
		return &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Kind: errors.ErrStorage, Reason: "cannot read the unresolved placements; nothing sent", Err: err}
	}
	twin := t.unresolvedTwin(keyOf(req.OrderRequest))
	if twin == "" {
		return nil
	}
	return &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
		Kind: errors.ErrUnsettledTwin, Reason: "an identical order (" + twin +
			") is not yet settled; nothing sent, try again once Reconcile settled it"}
}

func (t *Tracker) loadUnresolved(ctx context.Context) error {
	u := &t.unresolved
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.loaded {
		return nil
	}
	open, err := t.store.Open(ctx, t.account)
	if err != nil {
		return err
	}
	u.byKey = make(map[twinKey]map[string]struct{})
	for _, o := range open {
		if o.BrokerOrderID == "" {
			u.addLocked(o)
		}
	}
	u.loaded = true
	return nil
}

func (u *unresolvedSet) addLocked(o Order) {
	k := keyOf(o.Request())
	ids := u.byKey[k]
	if ids == nil {
		ids = make(map[string]struct{})
		u.byKey[k] = ids
	}
	ids[o.LocalID] = struct{}{}
}

// unresolvedTwin returns the local id of an unresolved placement with key
// k, or "".
func (t *Tracker) unresolvedTwin(k twinKey) string {
	u := &t.unresolved
	u.mu.Lock()
	defer u.mu.Unlock()
	for id := range u.byKey[k] {
		return id
	}
	return ""
}

// addUnresolved records a placement about to be sent.
func (t *Tracker) addUnresolved(o Order) {
	u := &t.unresolved
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.loaded {
		u.addLocked(o)
	}
}

// settled forgets a placement once it has a broker id or is terminal.
// Called after every saved change, so it must be cheap when nothing is
// unresolved.
func (t *Tracker) settled(o *Order) {
	if o.BrokerOrderID == "" && !o.Status.Terminal() {
		return
	}
	u := &t.unresolved
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.byKey) == 0 {
		return
	}
	k := keyOf(o.Request())
	if ids, ok := u.byKey[k]; ok {
		delete(ids, o.LocalID)
		if len(ids) == 0 {
			delete(u.byKey, k)
		}
	}
}
