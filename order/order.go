package order

import (
	"context"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/shopspring/decimal"
)

// AvgPricePlaces is the number of decimal places the average fill price is
// rounded to when the quantity-weighted mean does not terminate (1/3, say).
// The exact sum it is computed from is kept in [Order.Notional].
const AvgPricePlaces = 16

// PreTradeChecker is consulted by Submit and Replace before anything is sent.
// The risk package satisfies it WITHOUT importing order, so it is expressed
// only in broker types and func types.
type PreTradeChecker interface {
	// PreTrade checks req. On success it returns settle, which the tracker
	// calls exactly once when the broker has answered: settle(true) if the
	// order was sent (accepted, or outcome unknown: fail closed, treat it as
	// sent), settle(false) if it was refused or never sent.
	PreTrade(ctx context.Context, req broker.OrderRequest) (settle func(sent bool), err error)
	// PreTradeProtective checks an order marked protective (a stop, a
	// take-profit, an emergency close), with settle as for PreTrade. It
	// must allow, even while trading is halted, an order that reduces the
	// position the broker reports (the other side, never larger), and
	// treat any other as an ordinary order.
	PreTradeProtective(ctx context.Context, req broker.OrderRequest) (settle func(sent bool), err error)
}

// Request is an order to submit through the [Tracker].
type Request struct {
	// OrderRequest is what is sent to the broker. ClientOrderID is generated
	// with broker.NewClientOrderID when empty.
	broker.OrderRequest
	// StopLossPrice is an optional target for the stop-loss supervisor; the
	// tracker only records it.
	StopLossPrice decimal.Decimal
	// TakeProfitPrice is an optional target for the stop-loss supervisor; the
	// tracker only records it.
	TakeProfitPrice decimal.Decimal
	// Protective marks an order meant only to reduce or close a position (a
	// protective stop, a take-profit, an emergency close sent by the
	// stop-loss supervisor). It is checked with the checker's
	// PreTradeProtective, which lets it through a halt only when it reduces
	// the position the broker reports.
	Protective bool
}

// Order is the tracker's record of one order: what was asked, what the broker
// said, and every fill. It is a value: the tracker and the store hand out
// copies, and changing one changes nothing stored.
type Order struct {
	LocalID       string             // arbion's id for the record, never sent to a broker
	ClientOrderID string             // the id sent to the broker with the request
	BrokerOrderID string             // the broker's id; empty until the broker acknowledged
	Account       string             // Config.Account of the tracker that created it
	Instrument    broker.Instrument  // what is traded
	Side          broker.Side        // buy, sell, ...
	Type          broker.OrderType   // market, limit, ...
	Quantity      decimal.Decimal    // ordered quantity, > 0
	LimitPrice    decimal.Decimal    // Limit and StopLimit; zero otherwise
	StopPrice     decimal.Decimal    // Stop and StopLimit; zero otherwise
	TrailAmount   decimal.Decimal    // TrailingStop by price distance
	TrailPercent  decimal.Decimal    // TrailingStop by percentage
	TimeInForce   broker.TimeInForce // day, gtc, ...
	ExtendedHours bool               // may trade outside regular hours

	Status    broker.Status // normalized status; never StatusUnknown on a stored record
	RawStatus string        // the broker's own last reported status word
	// PendingFrom is the status the order had when a cancel or replace was
	// requested; a refusal restores it (partially filled if fills arrived
	// meanwhile). Zero when nothing is pending.
	PendingFrom broker.Status

	FilledQuantity decimal.Decimal // sum of Fills' quantities
	// AvgFillPrice is Notional / FilledQuantity, exact where the quotient
	// terminates, else rounded to AvgPricePlaces places; zero with no fill.
	AvgFillPrice decimal.Decimal
	Notional     decimal.Decimal // sum of quantity × price over Fills, exact
	Fees         decimal.Decimal // sum of Fills' fees
	Fills        []broker.Fill   // every applied fill, in order applied; ExecIDs unique

	StopLossPrice   decimal.Decimal // target for the stop-loss supervisor, zero if none
	TakeProfitPrice decimal.Decimal // target for the stop-loss supervisor, zero if none
	Protective      bool            // see Request.Protective: checked with PreTradeProtective

	Replaces   string // LocalID of the order this one replaces, if any
	ReplacedBy string // LocalID of the order that replaces this one, if any

	RejectReason string // why the broker, the checker or the tracker refused it

	// OutcomeUnknown is set while the placement's answer is unknown (lost after
	// sending, or the process stopped while sending). Reconcile settles it.
	OutcomeUnknown bool
	// UnknownLookups counts the lookups Reconcile made for an unknown outcome.
	UnknownLookups int
	// FirstUnknownAt is when the outcome first became unknown.
	FirstUnknownAt time.Time

	// NeedsAttention is set when the tracker met something it must not
	// resolve alone (an overfill, a fill on a rejected order, a broker status
	// that contradicts the record); AttentionReason says what. The tracker
	// never clears it: a host that resolved the anomaly may, with Store.Update.
	NeedsAttention  bool
	AttentionReason string

	CreatedAt time.Time // when the tracker created the record, on its clock
	UpdatedAt time.Time // when the record last changed, on the tracker's clock
	// Version is the optimistic concurrency counter: 1 after Create, +1 per
	// Update. A record must be saved with the version it was read with.
	Version int64
}

// Remaining returns the quantity still working at the broker: zero once the
// order is terminal (a cancelled order that filled 30 of 100 leaves
// nothing), else the quantity less what filled (never negative).
func (o Order) Remaining() decimal.Decimal {
	if o.Status.Terminal() {
		return decimal.Zero
	}
	r := o.Quantity.Sub(o.FilledQuantity)
	if r.IsNegative() {
		return decimal.Zero
	}
	return r
}

// Terminal reports whether the order can no longer work at the broker (it
// may still receive a late fill).
func (o Order) Terminal() bool { return o.Status.Terminal() }

// Request returns the broker request the order was (or will be) sent with.
func (o Order) Request() broker.OrderRequest {
	return broker.OrderRequest{
		ClientOrderID: o.ClientOrderID,
		Instrument:    o.Instrument,
		Side:          o.Side,
		Type:          o.Type,
		Quantity:      o.Quantity,
		LimitPrice:    o.LimitPrice,
		StopPrice:     o.StopPrice,
		TrailAmount:   o.TrailAmount,
		TrailPercent:  o.TrailPercent,
		TimeInForce:   o.TimeInForce,
		ExtendedHours: o.ExtendedHours,
	}
}

// Clone returns a deep copy of o (its Fills are not shared).
func (o Order) Clone() Order {
	if o.Fills != nil {
		o.Fills = append([]broker.Fill(nil), o.Fills...)
	}
	return o
}

// Update is what subscribers receive: one when an order is created, one per
// applied fill and one per status change not caused by a fill, in order per
// order. Order.Version is the version stored by the change (several updates
// from one stored change share it).
type Update struct {
	Order      Order         // the record after the change
	PrevStatus broker.Status // the status before the change; StatusUnknown at creation
	Fill       *broker.Fill  // non-nil when this update applied a new fill
	// Superseded are the provisional fills this update removed from the
	// record: the confirmed fills that replace them are in Fill (of this
	// and the following updates). FilledQuantity, Notional, AvgFillPrice and
	// Fees of Order are already corrected; nothing is counted twice.
	Superseded []broker.Fill
}

// ProvisionalPrefix starts the execution id of a provisional fill: one the
// tracker derived from the broker's cumulative totals (a snapshot without
// the fills listed, a Coinbase user-channel update), which has no
// execution id of the broker's. It is counted at once and replaced by the
// confirmed fills when a later snapshot lists them, or when a streamed
// fill arrives that the cumulative totals had already counted.
const ProvisionalPrefix = "cum:"

// SameExecutionWindow is how far apart the times of two fills with equal
// quantity and price, one seen by stream and one by REST under different
// ids, may be for them to be taken as the same execution.
const SameExecutionWindow = time.Second

// IsProvisional reports whether f is a provisional fill (see
// [ProvisionalPrefix]).
func IsProvisional(f broker.Fill) bool { return strings.HasPrefix(f.ExecID, ProvisionalPrefix) }

// ProvisionalQuantity returns the filled quantity counted by provisional
// fills, not yet confirmed by the broker's execution ids.
func (o Order) ProvisionalQuantity() decimal.Decimal {
	q := decimal.Zero
	for _, f := range o.Fills {
		if IsProvisional(f) {
			q = q.Add(f.Quantity)
		}
	}
	return q
}
