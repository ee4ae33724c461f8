package broker

import (
	"context"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// OrderEventKind is what an order-stream event says happened.
type OrderEventKind uint8

// The kinds of [OrderEvent]. A stream is an accelerator, the REST state is
// the truth: a consumer applies what an event says and, on
// [OrderEventGap], reconciles by REST.
const (
	// OrderEventAccepted: the broker accepted the order (it is working).
	OrderEventAccepted OrderEventKind = iota + 1
	// OrderEventFill: one execution, in OrderEvent.Fill.
	OrderEventFill
	// OrderEventCancelRequested: a cancel is travelling; fills may still come.
	OrderEventCancelRequested
	// OrderEventCanceled: the broker confirmed the cancel.
	OrderEventCanceled
	// OrderEventReplaced: the order was replaced by OrderEvent.NewOrderID.
	OrderEventReplaced
	// OrderEventRejected: the broker refused the order (OrderEvent.Reason).
	OrderEventRejected
	// OrderEventExpired: the time in force ran out.
	OrderEventExpired
	// OrderEventSnapshot: the broker's whole view of the order, in
	// OrderEvent.Snapshot, to be compared with the record (cumulative
	// fields), as a REST poll is.
	OrderEventSnapshot
	// OrderEventGap: events may have been lost (a reconnect, a sequence
	// jump, a missed heartbeat). The consumer must reconcile open orders and
	// fills since Since by REST. No order fields are set.
	OrderEventGap
)

var orderEventKindNames = [...]string{"", "accepted", "fill", "cancel requested", "canceled",
	"replaced", "rejected", "expired", "snapshot", "gap"}

// String returns the kind's name, e.g. "cancel requested".
func (k OrderEventKind) String() string {
	if int(k) >= len(orderEventKindNames) || k == 0 {
		return "order event(" + strconv.Itoa(int(k)) + ")"
	}
	return orderEventKindNames[k]
}

// OrderEvent is one change of one order, pushed by the broker (or derived
// by a polling source).
type OrderEvent struct {
	// Kind says what happened.
	Kind OrderEventKind
	// OrderID is the broker's id of the order; empty only on a gap.
	OrderID string
	// ClientOrderID is the client order id where the broker echoes it.
	ClientOrderID string
	// Fill is the execution of an OrderEventFill, keyed by the broker's
	// execution id.
	Fill Fill
	// Snapshot is the order as the broker reports it, for an
	// OrderEventSnapshot. On the other kinds it holds what the message
	// carries; on an OrderEventFill, Snapshot.FilledQuantity, when positive,
	// is the order's cumulative filled quantity after this fill, so that a
	// consumer that has already counted that much (by REST) counts it once.
	Snapshot Order
	// Provisional marks a snapshot derived from cumulative totals without
	// execution ids (Coinbase's user channel): the fill it implies is
	// counted at once and replaced by the confirmed fills when a later
	// snapshot lists them (the adapter fetches them by REST).
	Provisional bool
	// NewOrderID is the replacing order's id for an OrderEventReplaced.
	NewOrderID string
	// Reason is the broker's words for a reject.
	Reason string
	// RawStatus is the broker's own status or message type, kept as sent.
	RawStatus string
	// Time is when the broker says the change happened; zero if it does
	// not say.
	Time time.Time
	// Since, on an OrderEventGap, is the time of the last event received
	// before the gap (zero if none): the reconcile window starts there, less
	// a margin.
	Since time.Time
}

// OrderStreamer is implemented by brokers that push order events (Schwab's
// ACCT_ACTIVITY, Coinbase's user channel, paper), or by a polling source
// that derives them.
type OrderStreamer interface {
	// StreamOrders starts the account's order-event stream. It returns once
	// the stream is subscribed (or failed to be); events then arrive on the
	// stream's channel until ctx ends. The adapter reconnects by itself and
	// reports each interruption as an OrderEventGap.
	StreamOrders(ctx context.Context) (OrderStream, error)
}

// OrderStream is a running order-event stream.
type OrderStream interface {
	// Events delivers events in the order received. It is closed when the
	// stream ends: after ctx ends, or on a failure the adapter cannot
	// recover from (then Err says why).
	Events() <-chan OrderEvent
	// Err is nil while the stream runs and after a clean end (ctx ended);
	// otherwise why it stopped. It is final once Events is closed.
	Err() error
	// Status reports the stream's health.
	Status() StreamStatus
}

// QuoteStreamer is implemented by brokers that push quotes (Schwab's
// LEVELONE_EQUITIES, Coinbase's ticker channel, paper), or by a polling
// source.
type QuoteStreamer interface {
	// StreamQuotes starts a quote stream for symbols (possibly none yet).
	// It returns once the stream is subscribed; quotes then arrive until ctx
	// ends.
	StreamQuotes(ctx context.Context, symbols ...string) (QuoteStream, error)
}

// QuoteStream is a running quote stream over a changing set of symbols.
type QuoteStream interface {
	// Quotes delivers quotes as they come; closed when the stream ends.
	Quotes() <-chan StreamQuote
	// Subscribe adds symbols to the stream (a no-op for those already in).
	Subscribe(ctx context.Context, symbols ...string) error
	// Unsubscribe removes symbols from the stream.
	Unsubscribe(ctx context.Context, symbols ...string) error
	// Err is nil while the stream runs and after a clean end; otherwise why
	// it stopped. It is final once Quotes is closed.
	Err() error
	// Status reports the stream's health.
	Status() StreamStatus
}

// StreamQuote is one quote update. Schwab and Coinbase send only the fields
// that changed: the adapter merges them into the last full quote, so every
// StreamQuote is complete.
type StreamQuote struct {
	Quote
	// BidSize and AskSize are the sizes at the best bid and ask, in shares
	// or base units; zero when the broker does not send them.
	BidSize, AskSize decimal.Decimal
	// LastSize is the size of the last trade; zero when not sent.
	LastSize decimal.Decimal
}

// StreamStatus is a stream's health, for readiness checks and for the
// consumers that must treat a stale stream as no data.
type StreamStatus struct {
	// Live is true while the stream is connected and subscribed, and false
	// from a disconnect until the resubscription (and, for order streams,
	// the snapshot) is complete.
	Live bool
	// LastMessage is when the last message (data or heartbeat) arrived;
	// zero before the first.
	LastMessage time.Time
	// Reconnects counts the reconnections since the stream started.
	Reconnects int
	// LastError is the last connection error, nil if none.
	LastError error
}

// Fresh reports whether the stream is live and heard from within maxAge of
// now: a consumer treats a stream that is not fresh as no data.
func (s StreamStatus) Fresh(now time.Time, maxAge time.Duration) bool {
	return s.Live && !s.LastMessage.IsZero() && now.Sub(s.LastMessage) <= maxAge
}
