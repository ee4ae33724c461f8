package stoploss

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// EventKind is something the supervisor did or found.
type EventKind uint8

// The events.
const (
	// EventStopPlaced: a protective stop was placed for a new or grown position.
	EventStopPlaced EventKind = iota + 1
	// EventStopRestored: a protective stop cancelled, expired or rejected
	// outside the supervisor's control was placed again.
	EventStopRestored
	// EventStopResized: the stop was resized to the position's quantity.
	EventStopResized
	// EventStopTrailed: a trailing stop was ratcheted in the position's favour.
	EventStopTrailed
	// EventStopCancelled: the position is flat; its stop was cancelled.
	EventStopCancelled
	// EventStoppedOut: the resting protective stop filled and closed the position.
	EventStoppedOut
	// EventBreachClose: the price was at or through the stop with the
	// position open; an emergency market close was sent.
	EventBreachClose
	// EventTakeProfitClose: the take-profit was reached; a market close was sent.
	EventTakeProfitClose
	// EventExitClose: the bot asked to exit ([Supervisor.Exit]); a market
	// close was sent.
	EventExitClose
	// EventPositionClosed: the position became flat (its record is removed).
	EventPositionClosed
	// EventPositionAdopted: a position the supervisor did not know was found
	// at the broker and is now protected.
	EventPositionAdopted
	// EventStaleQuote: no fresh quote for a protected symbol.
	EventStaleQuote
	// EventFailed: an action failed; Err says which and why.
	EventFailed
	// EventEscalated: a problem lasted EscalateAfter sweeps; the trading
	// switch was set and the host alerted.
	EventEscalated
	numEventKinds
)

var eventKindNames = [...]string{"", "stop placed", "stop restored", "stop resized", "stop trailed",
	"stop cancelled", "stopped out", "breach close", "take-profit close", "exit close", "position closed",
	"position adopted", "stale quote", "failed", "escalated"}

// String returns the event's name, e.g. "stop trailed".
func (k EventKind) String() string {
	if k == 0 || k >= numEventKinds {
		return fmt.Sprintf("EventKind(%d)", uint8(k))
	}
	return eventKindNames[k]
}

// Event is one thing the supervisor did or found for a symbol.
type Event struct {
	Kind          EventKind       // what happened
	Symbol        string          // the position's symbol
	Quantity      decimal.Decimal // the signed position quantity
	StopPrice     decimal.Decimal // the stop involved, if any
	Price         decimal.Decimal // the price seen, if any
	ClientOrderID string          // the order sent or involved, if any
	// Err is set for EventFailed, EventEscalated and EventBreachClose: a
	// *errors.StopLossError (or an error wrapping one).
	Err error
}

// Report is what one sweep (or one batch of tracker updates) checked and did.
type Report struct {
	Account string    // Config.Account of the supervisor
	Start   time.Time // when the sweep began, on the supervisor's clock
	// Duration is how long the sweep took on the supervisor's clock.
	Duration time.Duration
	// Skipped is set when another supervisor held the account's lock: this
	// one did nothing.
	Skipped bool
	// Verified is set when the sweep verified orders and positions at the broker.
	Verified bool
	// Checked counts the positions whose quote was examined.
	Checked int
	// QuoteCalls counts the Quotes requests made.
	QuoteCalls int
	// Events are what the sweep did or found, in order.
	Events []Event
}

// Count returns how many events of kind k the report holds.
func (r Report) Count(k EventKind) int {
	n := 0
	for _, e := range r.Events {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// Failures returns the EventFailed events.
func (r Report) Failures() []Event {
	var out []Event
	for _, e := range r.Events {
		if e.Kind == EventFailed {
			out = append(out, e)
		}
	}
	return out
}

// Heartbeat is the supervisor's health, for a host to alarm when sweeps stop
// or positions go unprotected.
type Heartbeat struct {
	// LastSweepStart and LastSweepEnd bound the last sweep on the
	// supervisor's clock; zero before the first.
	LastSweepStart time.Time
	LastSweepEnd   time.Time
	// LastError is the last sweep's first failure, nil when it had none.
	LastError error
	// Protected counts the positions whose stop is resting at the broker
	// (native) or whose quote was fresh (synthetic) at the last sweep.
	Protected int
	// Unprotected counts the other positions.
	Unprotected int
	Sweeps      int // sweeps run by this supervisor (skipped ones included)
	// Skipped is set when the last sweep was skipped because another
	// supervisor held the account's lock (the counts are from before).
	Skipped bool
}

// Totals counts what the supervisor did since it was created.
type Totals struct {
	StopsPlaced         int // EventStopPlaced
	StopsRestored       int // EventStopRestored
	StopsResized        int // EventStopResized
	TrailingAdjustments int // EventStopTrailed
	StoppedOut          int // EventStoppedOut: a resting stop closed the position
	BreachCloses        int // EventBreachClose: emergency closes sent
	TakeProfits         int // EventTakeProfitClose
	Exits               int // EventExitClose
	Failures            int // EventFailed
	Escalations         int // EventEscalated
}

// Add returns the field-by-field sum of t and u, to total several
// supervisors (accounts) or several runs.
func (t Totals) Add(u Totals) Totals {
	return Totals{
		StopsPlaced: t.StopsPlaced + u.StopsPlaced, StopsRestored: t.StopsRestored + u.StopsRestored,
		StopsResized: t.StopsResized + u.StopsResized, TrailingAdjustments: t.TrailingAdjustments + u.TrailingAdjustments,
		StoppedOut: t.StoppedOut + u.StoppedOut, BreachCloses: t.BreachCloses + u.BreachCloses,
		TakeProfits: t.TakeProfits + u.TakeProfits, Exits: t.Exits + u.Exits,
		Failures: t.Failures + u.Failures, Escalations: t.Escalations + u.Escalations,
	}
}

// StopOuts returns the positions closed by their stop: resting stops that
// filled plus emergency closes.
func (t Totals) StopOuts() int { return t.StoppedOut + t.BreachCloses }

func (t *Totals) add(k EventKind) {
	switch k {
	case EventStopPlaced:
		t.StopsPlaced++
	case EventStopRestored:
		t.StopsRestored++
	case EventStopResized:
		t.StopsResized++
	case EventStopTrailed:
		t.TrailingAdjustments++
	case EventStoppedOut:
		t.StoppedOut++
	case EventBreachClose:
		t.BreachCloses++
	case EventTakeProfitClose:
		t.TakeProfits++
	case EventExitClose:
		t.Exits++
	case EventFailed:
		t.Failures++
	case EventEscalated:
		t.Escalations++
	}
}

// Overdue reports whether no sweep has ended within the duration before
// now: the alarm a host raises when sweeps stop (a hung scheduler, a
// supervisor that lost its lock for good). A supervisor that never swept is
// overdue.
func (h Heartbeat) Overdue(now time.Time, within time.Duration) bool {
	return h.LastSweepEnd.IsZero() || now.Sub(h.LastSweepEnd) > within
}
