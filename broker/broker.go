// Package broker defines the contract every arbion brokerage adapter meets:
// the [Broker] interface and its value types (instrument, order request,
// order snapshot, fill, position, quote, account, capabilities).
//
// Money and quantities are decimal.Decimal throughout. Every error a Broker
// returns is classifiable with errors.Is against a kind from
// github.com/arbiontrader/arbion/errors (ErrOrderNotFound,
// ErrOrderNotCancelable, ErrInvalidOrder, ErrOutcomeUnknown, ...), and broker
// failures are reachable as *errors.BrokerError with errors.As.
//
// The package also holds decorators that wrap any Broker (a quote cache, an
// observer hook) and the optional interfaces an adapter may implement
// ([OrderFinder], [HealthReporter]).
package broker

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Broker is one trading account at one brokerage. Implementations are safe
// for concurrent use.
//
// A method that changes state at the broker (PlaceOrder, CancelOrder,
// ReplaceOrder) whose answer was lost after the request was sent returns an
// error matching errors.ErrOutcomeUnknown; the caller must resolve it by a
// lookup ([OrderFinder] or GetOrder), never by sending the request again.
type Broker interface {
	// Name is the broker's short lower-case name: "schwab", "paper", ...
	Name() string
	// Capabilities says what this broker supports.
	Capabilities() Capabilities
	// PlaceOrder sends a new order. Placing a request whose ClientOrderID the
	// broker already holds yields the existing order, never a second one, on
	// brokers whose Capabilities report IdempotentClientOrderID; the others
	// refuse it with errors.ErrDuplicateOrder or resolve it by lookup.
	PlaceOrder(ctx context.Context, req OrderRequest) (Ack, error)
	// CancelOrder asks the broker to cancel a working order. Cancelling an
	// order that is already filled or closed returns an error matching
	// errors.ErrOrderNotCancelable; an unknown id, errors.ErrOrderNotFound.
	// A nil error means the request was accepted, not that the order is
	// cancelled: GetOrder tells when it is.
	CancelOrder(ctx context.Context, orderID string) error
	// ReplaceOrder replaces a working order with req. The Ack carries the new
	// order's id (the same id on brokers that edit in place); the old order
	// becomes StatusReplaced once the broker confirms.
	ReplaceOrder(ctx context.Context, orderID string, req OrderRequest) (Ack, error)
	// GetOrder returns the order's current snapshot.
	GetOrder(ctx context.Context, orderID string) (Order, error)
	// OpenOrders returns every order that is not terminal.
	OpenOrders(ctx context.Context) ([]Order, error)
	// Positions returns every open position.
	Positions(ctx context.Context) ([]Position, error)
	// Account returns the account's balances.
	Account(ctx context.Context) (Account, error)
	// Quotes returns quotes for the symbols, in batches of at most
	// Capabilities().QuoteBatchSize symbols per request. A symbol the broker
	// does not know is left out of the result (the caller compares); an
	// empty list of symbols returns no quotes and no error.
	Quotes(ctx context.Context, symbols ...string) ([]Quote, error)
}

// OrderFinder is implemented by brokers that can look up the order a lost
// placement may have created. The order tracker uses it to settle a
// placement whose outcome was unknown; it never adopts an order itself.
//
// FindOrder never validates q.Request (a request refused today may have been
// placed yesterday under older rules) and never remembers or claims what it
// found: it reports the candidates, orders at the broker that fit the
// request (by client order id where the broker keeps one, by fields
// otherwise) and were entered within [q.From, q.To], and whether the search
// was complete. Deciding which candidate is the order, if any, is the
// caller's: see [FindResult].
type OrderFinder interface {
	FindOrder(ctx context.Context, q FindQuery) (FindResult, error)
}

// FindQuery asks for the orders a lost placement may have created.
type FindQuery struct {
	// Account is the host's key of the account the placement was made for
	// (the tracker's Config.Account), for the adapter's logs and errors. An
	// adapter serves one account and does not compare it with its own.
	Account string
	// Request is what was sent, ClientOrderID included.
	Request OrderRequest
	// From and To bound when the broker may have entered the order: the
	// record's creation time (persisted before sending) minus the clock
	// skew allowed, and that time plus the request timeout plus the skew.
	From, To time.Time
}

// FindResult is the answer to a [FindQuery].
type FindResult struct {
	// Candidates are the orders that fit the request within the window,
	// oldest first. Where the broker keeps client order ids, at most one.
	Candidates []Order
	// Complete reports that the search covered the whole window with
	// nothing cut short (every page read, no depth cap reached), or was an
	// authoritative lookup by client order id. Only a complete search with
	// no candidate is evidence that the order was never placed; brokers are
	// eventually consistent, so even that must be seen more than once.
	Complete bool
}

// OrderLister is implemented by brokers that can list order history.
//
// Orders pages to the end of what the query selects. A listing that cannot
// be shown to be complete (a page failed, a page or depth limit cut it
// short) is an error matching errors.ErrIncompleteListing, never a short
// answer: a caller reading a short list as the whole would, for example,
// place a second protective stop.
type OrderLister interface {
	Orders(ctx context.Context, q OrderQuery) ([]Order, error)
}

// OrderChecker is implemented by brokers that know combinations they would
// refuse (Schwab answers 400 to IMMEDIATE_OR_CANCEL on an equity, for
// example). CheckOrder returns an error matching errors.ErrNotSupported,
// naming the field, for a request the broker is known to refuse, and nil
// otherwise; it never calls the broker. PlaceOrder and ReplaceOrder refuse
// the same requests before sending; callers such as the stop-loss
// supervisor ask first to choose an order that will be accepted.
type OrderChecker interface {
	CheckOrder(req OrderRequest) error
}

// Previewer is implemented by brokers that estimate an order before it is
// sent: commission and fees, the total cost or proceeds, and the warnings
// or refusals the broker would attach. Nothing is placed.
//
// When to preview: before an order whose cost is not obvious (a market
// order, an option, an account near its buying power), or to show a person
// what will happen (the CLI's place asks after a preview). A bot in a loop
// need not: PlaceOrder refuses what the broker refuses. A broker that
// requires a preview before placing (E*TRADE) previews inside PlaceOrder;
// a PlaceOrder with the ClientOrderID and the fields of a recent preview
// reuses that preview (its id and its warnings) instead of asking again.
type Previewer interface {
	PreviewOrder(ctx context.Context, req OrderRequest) (Preview, error)
}

// Preview is a broker's estimate of an order before it is sent.
type Preview struct {
	// PreviewID is the broker's id for the preview, where it has one
	// (E*TRADE); empty otherwise.
	PreviewID string `json:"preview_id,omitempty"`
	// Commission and Fees are the estimated charges, in the account's
	// currency; zero when the broker estimates none.
	Commission decimal.Decimal `json:"commission"`
	Fees       decimal.Decimal `json:"fees"`
	// Total is the estimated cash the order moves, charges included: what a
	// buy costs, or what a sell brings in, as a positive amount.
	Total decimal.Decimal `json:"total"`
	// Warnings are messages the broker attaches without refusing.
	Warnings []string `json:"warnings,omitempty"`
	// Rejects are the reasons the broker would refuse the order; placing it
	// would fail while any is present (Schwab answers a preview 200 even
	// then).
	Rejects []string `json:"rejects,omitempty"`
}

// OrderFilter selects orders by state in an [OrderQuery].
type OrderFilter uint8

// The filters.
const (
	FilterAll      OrderFilter = iota // every order
	FilterOpen                        // not terminal
	FilterFilled                      // filled (entirely)
	FilterCanceled                    // canceled, expired or replaced
)

// Match reports whether o passes the filter.
func (f OrderFilter) Match(o Order) bool {
	switch f {
	case FilterOpen:
		return !o.Status.Terminal()
	case FilterFilled:
		return o.Status == StatusFilled
	case FilterCanceled:
		return o.Status == StatusCanceled || o.Status == StatusExpired || o.Status == StatusReplaced
	}
	return true
}

// OrderQuery selects order history.
type OrderQuery struct {
	Filter OrderFilter
	// From and To bound the time the orders were entered at the broker
	// (To exclusive); a zero To means now. Each broker caps how far back
	// it keeps history (Schwab: one year); a From beyond that is an error
	// matching errors.ErrInvalidOrder.
	From, To time.Time
	// Symbol keeps one symbol's orders; empty keeps all.
	Symbol string
}

// Find returns the capability T of b: b itself when it implements T,
// else the first broker down the chain of wrappers (each a [Wrapper])
// that does. Decorators use it so that wrapping a broker never hides, nor
// fakes, an optional interface.
func Find[T any](b Broker) (T, bool) {
	for b != nil {
		if c, ok := b.(T); ok {
			return c, true
		}
		w, ok := b.(Wrapper)
		if !ok {
			break
		}
		b = w.Unwrap()
	}
	var zero T
	return zero, false
}

// Wrapper is implemented by decorators of a Broker (the quote cache, the
// observer): Unwrap returns the broker they wrap, so that [Find] can reach
// its optional capabilities.
type Wrapper interface {
	Unwrap() Broker
}

// HealthReporter is implemented by adapters that can tell a host about their
// connection, so that it can serve liveness and readiness from it.
type HealthReporter interface {
	Health(ctx context.Context) Health
}

// Health is a snapshot of an adapter's connection to its broker.
type Health struct {
	Broker        string
	Reachable     bool      // the last request got an HTTP answer
	Authenticated bool      // credentials are present and were last accepted
	TokenExpiry   time.Time // when the access token expires; zero if unknown or none
	// LoginExpiry is when the user must log in again (Schwab's 7-day refresh
	// token, E*TRADE's midnight US Eastern); zero if unknown or none.
	LoginExpiry time.Time
	LastError   error     // the last failed request's error, nil if none
	LastErrorAt time.Time // when LastError happened
	// RateLimitRemaining is how many requests the client-side limiter would
	// let through right now, per bucket name ("orders", "reads", ...).
	RateLimitRemaining map[string]int
}

// Instrument identifies what is traded.
type Instrument struct {
	Symbol     string     `json:"symbol"`      // "AAPL", "BTC-USD", OCC option symbol
	AssetClass AssetClass `json:"asset_class"` // equity, option or crypto
}

// String returns the symbol.
func (i Instrument) String() string { return i.Symbol }

// OrderRequest is an order to send. ClientOrderID identifies the intent: the
// same id sent twice must yield one order at the broker.
type OrderRequest struct {
	ClientOrderID string          `json:"client_order_id"`
	Instrument    Instrument      `json:"instrument"`
	Side          Side            `json:"side"`
	Type          OrderType       `json:"type"`
	Quantity      decimal.Decimal `json:"quantity"`              // in units of the instrument; > 0
	LimitPrice    decimal.Decimal `json:"limit_price,omitzero"`  // Limit and StopLimit
	StopPrice     decimal.Decimal `json:"stop_price,omitzero"`   // Stop and StopLimit
	TrailAmount   decimal.Decimal `json:"trail_amount,omitzero"` // TrailingStop: a price distance, or
	TrailPercent  decimal.Decimal `json:"trail_percent,omitzero"`
	TimeInForce   TimeInForce     `json:"time_in_force"`
	ExtendedHours bool            `json:"extended_hours,omitempty"` // may trade outside regular hours
}

// Ack is the broker's acknowledgement of a placed or replacing order.
type Ack struct {
	OrderID       string    `json:"order_id"` // the broker's id for the (new) order
	ClientOrderID string    `json:"client_order_id"`
	Status        Status    `json:"status"`     // as far as the broker told
	RawStatus     string    `json:"raw_status"` // the broker's own word, if it gave one
	AcceptedAt    time.Time `json:"accepted_at"`
	// Warnings are messages the broker attached without refusing the order
	// (E*TRADE preview warnings, for example).
	Warnings []string `json:"warnings,omitempty"`
}

// Fill is one execution of (part of) an order.
type Fill struct {
	ExecID   string          `json:"exec_id"` // unique per order at the broker; dedup key
	Quantity decimal.Decimal `json:"quantity"`
	Price    decimal.Decimal `json:"price"`
	Fee      decimal.Decimal `json:"fee"`
	Time     time.Time       `json:"time"`
}

// Order is a snapshot of one order as the broker reports it.
type Order struct {
	OrderID       string          `json:"order_id"`
	ClientOrderID string          `json:"client_order_id,omitempty"` // empty where the broker does not echo it
	Instrument    Instrument      `json:"instrument"`
	Side          Side            `json:"side"`
	Type          OrderType       `json:"type"`
	TimeInForce   TimeInForce     `json:"time_in_force"`
	Quantity      decimal.Decimal `json:"quantity"`
	LimitPrice    decimal.Decimal `json:"limit_price,omitzero"`
	StopPrice     decimal.Decimal `json:"stop_price,omitzero"`
	Status        Status          `json:"status"`
	RawStatus     string          `json:"raw_status"` // the broker's own status, always kept
	// FilledQuantity is the cumulative filled quantity. Where the broker
	// reports fills, it equals the sum of Fills' quantities.
	FilledQuantity decimal.Decimal `json:"filled_quantity"`
	// AvgFillPrice is the quantity-weighted mean price of the fills; zero
	// when nothing is filled.
	AvgFillPrice decimal.Decimal `json:"avg_fill_price"`
	Fees         decimal.Decimal `json:"fees"`
	Fills        []Fill          `json:"fills,omitempty"`
	RejectReason string          `json:"reject_reason,omitempty"`
	// LeavesQuantity is the quantity still working at the broker: zero on
	// every terminal order (a cancelled order that filled 30 of 100 leaves
	// nothing). Adapters take the broker's own figure where it sends one
	// and derive it otherwise; see [Order.Remaining].
	LeavesQuantity decimal.Decimal `json:"leaves_quantity"`
	// LastFillAt is when the last execution happened, as the broker reports
	// it; zero when nothing filled or the broker does not say.
	LastFillAt time.Time `json:"last_fill_at,omitzero"`
	// ReplacedBy is the id of the order that replaced this one, if known.
	ReplacedBy string    `json:"replaced_by,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Remaining returns the quantity still working: zero when the order is
// terminal, else its LeavesQuantity when the broker reported one, else the
// quantity less what filled (never negative).
func (o Order) Remaining() decimal.Decimal {
	if o.Status.Terminal() {
		return decimal.Zero
	}
	if o.LeavesQuantity.IsPositive() {
		return o.LeavesQuantity
	}
	r := o.Quantity.Sub(o.FilledQuantity)
	if r.IsNegative() {
		return decimal.Zero
	}
	return r
}

// Position is a holding in one instrument. Quantity is signed: negative for
// a short.
type Position struct {
	Instrument Instrument      `json:"instrument"`
	Quantity   decimal.Decimal `json:"quantity"`
	AvgCost    decimal.Decimal `json:"avg_cost"` // average price paid per unit
}

// Quote is the market for one symbol at a moment.
type Quote struct {
	Symbol string          `json:"symbol"`
	Bid    decimal.Decimal `json:"bid"`
	Ask    decimal.Decimal `json:"ask"`
	Last   decimal.Decimal `json:"last"`
	Time   time.Time       `json:"time"` // when the broker says the quote was taken
}

// Account is the account's balances in its currency.
type Account struct {
	ID          string          `json:"id"` // the broker's account identifier (never a secret)
	Currency    string          `json:"currency"`
	Cash        decimal.Decimal `json:"cash"`
	BuyingPower decimal.Decimal `json:"buying_power"`
	Equity      decimal.Decimal `json:"equity"` // cash plus positions at market value
}

// Capabilities says what a broker supports, so that higher layers choose a
// strategy that works there (the stop-loss supervisor uses a native stop or
// watches the price itself).
type Capabilities struct {
	NativeStop   bool // resting stop (stop-market) orders
	StopLimit    bool // stop-limit orders
	TrailingStop bool // trailing-stop orders
	GTC          bool // good-till-cancelled time in force
	Replace      bool // ReplaceOrder is supported
	Bracket      bool // bracket / OCO orders
	Fractional   bool // fractional quantities
	// IdempotentClientOrderID: placing a ClientOrderID the broker already
	// holds returns the existing order instead of creating a second one.
	IdempotentClientOrderID bool
	// ClientOrderID is the broker's rule for client order ids; ids from
	// NewClientOrderID meet every broker's.
	ClientOrderID ClientOrderIDRule
	// QuoteBatchSize is the most symbols one quote request may carry.
	QuoteBatchSize int
	// AssetClasses lists the asset classes the broker trades.
	AssetClasses []AssetClass
	// OrderStream: the broker pushes order events (the adapter implements
	// [OrderStreamer] natively, not by polling).
	OrderStream bool
	// QuoteStream: the broker pushes quotes ([QuoteStreamer], natively).
	QuoteStream bool
	// BarIntervals lists the bar lengths [BarSource] serves; empty when the
	// broker has no price history.
	BarIntervals []Interval
}

// SortOldestFirst sorts orders as FindResult.Candidates and OrderLister
// listings are ordered: by CreatedAt, then by OrderID for orders entered at
// the same instant (a stable, total order).
func SortOldestFirst(orders []Order) {
	slices.SortStableFunc(orders, func(a, b Order) int {
		if n := a.CreatedAt.Compare(b.CreatedAt); n != 0 {
			return n
		}
		return strings.Compare(a.OrderID, b.OrderID)
	})
}
