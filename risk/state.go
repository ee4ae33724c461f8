package risk

import (
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
	Seq    uint64 // 1 for the first change, then increasing by one
	From   State
	To     State
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
func (e *Engine) SetState(s State, reason string) error {
	if !s.Valid() {
		return fmt.Errorf("risk: set state: undefined %s: %w", s, errors.ErrConfiguration)
	}
	e.mu.Lock()
	changed := e.setStateLocked(s, reason)
	e.mu.Unlock()
	if changed {
		e.deliver()
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
func (e *Engine) deliver() {
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
