package order

import (
	"strconv"

	"github.com/arbiontrader/arbion/broker"
)

// EventKind is what happened to an order. The transition table is defined
// over the statuses and these kinds.
type EventKind uint8

// The events of docs/ORDER_STATES.md. EventStatusReport is a broker snapshot; the
// tracker turns it into the other events by comparing cumulative fields with
// the record.
const (
	EventAck              EventKind = iota + 1 // the broker acknowledged the order
	EventReject                                // the broker refused the order
	EventFill                                  // an execution (Event.Fill)
	EventCancelRequested                       // a cancel was sent
	EventCancelConfirmed                       // the broker confirmed the cancel
	EventCancelRefused                         // the broker refused the cancel
	EventReplaceRequested                      // a replace was sent
	EventReplaceConfirmed                      // the broker confirmed the replace
	EventReplaceRefused                        // the broker refused the replace
	EventExpired                               // the time in force ran out
	EventStatusReport                          // a broker snapshot (Event.Snapshot)
)

// EventKinds lists the events of the transition table, status report
// excluded (it is translated into these), in declaration order.
func EventKinds() []EventKind {
	return []EventKind{EventAck, EventReject, EventFill, EventCancelRequested,
		EventCancelConfirmed, EventCancelRefused, EventReplaceRequested,
		EventReplaceConfirmed, EventReplaceRefused, EventExpired}
}

var eventKindNames = [...]string{"", "ack", "reject", "fill", "cancel requested",
	"cancel confirmed", "cancel refused", "replace requested", "replace confirmed",
	"replace refused", "expired", "status report"}

// String returns the event's name, e.g. "cancel confirmed".
func (k EventKind) String() string {
	if k == 0 || int(k) >= len(eventKindNames) {
		return "event(" + strconv.Itoa(int(k)) + ")"
	}
	return eventKindNames[k]
}

// Event is something that happened to one order, from any source: the
// tracker's own calls, a poll, a host's webhook, a stream.
//
// The order is found by LocalID when set, else by BrokerOrderID, else by
// ClientOrderID.
type Event struct {
	Kind          EventKind // what happened
	LocalID       string    // the tracker's id of the order, if the source has it
	BrokerOrderID string    // the broker's id of the order (recorded if the record has none)
	ClientOrderID string    // the client order id, the last resort to find the order

	// Fill is the execution of an EventFill. Its ExecID must be set: it is
	// the deduplication key.
	Fill broker.Fill
	// Snapshot is the broker's view of the order for an EventStatusReport.
	Snapshot broker.Order
	// NewBrokerOrderID is the replacing order's broker id for an
	// EventReplaceConfirmed, when known.
	NewBrokerOrderID string
	// Reason is the broker's words for a reject or a refusal.
	Reason string
	// RawStatus is the broker's own status word, kept on the record if set.
	RawStatus string
}
