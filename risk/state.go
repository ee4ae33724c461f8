package risk

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/arbiontrader/arbion/errors"
)

// State is the engine's trading state.
type State uint8

// Trading states. Active is the zero value and the state a new engine starts in.
const (
	// Active: every order the rules allow may be sent.
	Active State = iota
	// ReduceOnly: only orders that shrink an existing position (long or
	// short) without flipping it are allowed.
	ReduceOnly
	// Halted: the kill switch; no new order is allowed.
	Halted
)

// String returns "active", "reduce_only" or "halted".
func (s State) String() string {
	switch s {
	case Active:
		return "active"
	case ReduceOnly:
		return "reduce_only"
	case Halted:
		return "halted"
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool { return s <= Halted }

// StateChange is an event: the engine's trading state changed.
type StateChange struct {
	Seq    uint64    // 1 for the first change, then increasing by one
	From   State     // the state before the change
	To     State     // the state after it
	Reason string    // the host's reason, or the refusal that tripped the change
	Time   time.Time // the engine's clock at the change
}

// State returns the current trading state and the reason it was set.
func (e *Engine) State() (State, string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.state, e.reason
}

// SetState sets the trading state (the host's kill switch and its reset).
// Setting the current state again changes nothing and emits no event. An
// undefined state is refused with an error matching errors.ErrConfiguration.
//
// With a Config.StateStore the change is saved before it takes effect, so
// that every replica and the next process see it. A failed save is
// returned (errors.ErrStorage) and leaves the state as it was, except that
// a halt takes effect all the same: fail closed.
func (e *Engine) SetState(ctx context.Context, s State, reason string) error {
	if !s.Valid() {
		return fmt.Errorf("risk: set state: undefined %s: %w", s, errors.ErrConfiguration)
	}
	var saveErr error
	if e.states != nil {
		if err := e.states.SaveTradingState(ctx, e.stateKey, s, reason); err != nil {
			saveErr = &errors.RiskError{Rule: "trading state", Reason: "saving " + s.String() +
				" failed", Kind: errors.ErrStorage, Err: err}
			if s != Halted {
				return saveErr
			}
		}
	}
	e.mu.Lock()
	changed := e.setStateLocked(s, reason)
	e.mu.Unlock()
	if changed {
		e.deliver(ctx)
	}
	return saveErr
}

// notLoadedReason is the reason of the halt an engine with a StateStore
// starts in.
const notLoadedReason = "the stored trading state has not been read yet"

// LoadState reads the account's trading state from Config.StateStore and
// takes it: an engine with a store starts halted until this succeeded.
// Nothing stored (the account's first start) is Active. Call it at start
// and then periodically, so that a halt set by another replica (or the
// CLI) reaches this one. A failed read changes nothing and is returned; an
// engine without a store returns nil.
func (e *Engine) LoadState(ctx context.Context) error {
	if e.states == nil {
		return nil
	}
	s, reason, found, err := e.states.LoadTradingState(ctx, e.stateKey)
	if err != nil {
		return &errors.RiskError{Rule: "trading state", Reason: "reading the stored state failed",
			Kind: errors.ErrStorage, Err: err}
	}
	if !found {
		s, reason = Active, ""
	}
	if !s.Valid() {
		s, reason = Halted, "the stored trading state is undefined"
	}
	e.mu.Lock()
	changed := e.setStateLocked(s, reason)
	e.mu.Unlock()
	if changed {
		e.deliver(ctx)
	}
	return nil
}

// Subscribe registers fn to receive every later state change and returns a
// function that unregisters it (safe to call more than once).
//
// Delivery: events reach each subscriber one at a time, in the order of the
// changes (Seq increasing, none skipped), on the goroutine of a caller that
// changed the state (SetState, or a check that tripped the kill switch), with
// no engine lock held, so fn may call any Engine method, SetState included
// (its event is delivered after the current one). Because one goroutine
// delivers while others keep changing the state, SetState may return before
// its event was delivered; and fn may receive one more event after the
// unsubscribe function returns. fn should be quick: it delays the caller that
// delivers. The engine starts no goroutine.
func (e *Engine) Subscribe(fn func(StateChange)) (unsubscribe func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := e.nextSub
	e.nextSub++
	e.subs = append(e.subs, subscriber{id: id, fn: fn})
	return func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.subs = slices.DeleteFunc(e.subs, func(s subscriber) bool { return s.id == id })
	}
}

// setStateLocked changes the state and queues the event; it reports whether
// anything changed (then the caller must call deliver after unlocking).
func (e *Engine) setStateLocked(s State, reason string) bool {
	if s == e.state {
		return false
	}
	e.seq++
	e.queue = append(e.queue, StateChange{Seq: e.seq, From: e.state, To: s, Reason: reason, Time: e.now()})
	e.log.Info("risk: trading state changed", "from", e.state.String(), "to", s.String(), "reason", reason)
	e.state, e.reason = s, reason
	return true
}

// deliver hands queued events to subscribers. One caller at a time delivers
// (the others leave their events to it), so subscribers see changes in order
// without a lock held and without a goroutine.
func (e *Engine) deliver(ctx context.Context) {
	e.mu.Lock()
	if e.delivering {
		e.mu.Unlock()
		return
	}
	e.delivering = true
	e.mu.Unlock()
	finished := false
	defer func() {
		if !finished { // a subscriber panicked: let the next change deliver
			e.mu.Lock()
			e.delivering = false
			e.mu.Unlock()
		}
	}()
	for {
		events, subs := e.takeEvents()
		if len(events) == 0 {
			finished = true
			return
		}
		for _, ev := range events {
			for _, s := range subs {
				s.fn(ev)
			}
		}
	}
}

// saveTrip saves a halt the engine tripped itself (a breach of a rule that
// halts), best effort: the halt holds in this engine whatever the store
// says, and a failed save is logged.
func (e *Engine) saveTrip(ctx context.Context) {
	if e.states == nil {
		return
	}
	s, reason := e.State()
	if err := e.states.SaveTradingState(context.WithoutCancel(ctx), e.stateKey, s, reason); err != nil {
		e.log.Error("risk: saving the tripped halt failed", "reason", reason, "err", err)
	}
}

// takeEvents empties the queue with a copy of the subscribers; when the
// queue is empty it ends the delivery.
func (e *Engine) takeEvents() ([]StateChange, []subscriber) {
	e.mu.Lock()
	defer e.mu.Unlock()
	events := e.queue
	e.queue = nil
	if len(events) == 0 {
		e.delivering = false
		return nil, nil
	}
	return events, slices.Clone(e.subs)
}

type subscriber struct {
	id uint64
	fn func(StateChange)
}
