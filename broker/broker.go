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

// FindQuery asks for the orders a lost placement may have created. The
// zero value is no query: Request is required and From must be before To.
type FindQuery struct {
	// Account is the host's key of the account the placement was made for
	// (the tracker's Config.Account), for the adapter's logs and errors. An
	// adapter serves one account and does not compare it with its own.
	Account string
	// Request is what was sent, ClientOrderID included, exactly as sent.
	Request OrderRequest
	// From and To bound when the broker may have entered the order, both
	// inclusive, in any time zone: the record's creation time (persisted
	// before sending) minus the clock skew allowed, and that time plus the
	// request timeout plus the skew. Both are required.
	From, To time.Time
}

// FindResult is the answer to a [FindQuery].
type FindResult struct {
	// Candidates are the orders that fit the request within the window,
	// oldest first ([SortOldestFirst]). Where the broker keeps client order
	// ids, at most one. Empty (nil) when none fits.
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
	// (E*TRADE, which places against it); empty otherwise.
	PreviewID string `json:"preview_id,omitempty"`
	// Commission and Fees are the estimated charges, in the account's
	// currency, as positive amounts; zero when the broker estimates none
	// or does not say.
	Commission decimal.Decimal `json:"commission"`
	Fees       decimal.Decimal `json:"fees"`
	// Total is the estimated cash the order moves, charges included, in the
	// account's currency: what a buy costs, or what a sell brings in, as a
	// positive amount; zero when the broker gives no estimate.
	Total decimal.Decimal `json:"total"`
	// Warnings are messages the broker attaches without refusing, in its
	// own words; nil when there are none.
	Warnings []string `json:"warnings,omitempty"`
	// Rejects are the reasons the broker would refuse the order, in its own
	// words; placing it would fail while any is present (Schwab answers a
	// preview 200 even then). nil when the broker would accept it.
	Rejects []string `json:"rejects,omitempty"`
}

// OrderFilter selects orders by state in an [OrderQuery]. The zero value,
// FilterAll, selects every order.
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

// OrderQuery selects order history. The zero value asks for every order
// the broker keeps, of every symbol, up to now.
type OrderQuery struct {
	// Filter selects by state; the zero value, FilterAll, keeps every
	// state.
	Filter OrderFilter
	// From and To bound the time the orders were entered at the broker:
	// From <= entered < To, in any time zone. A zero From means as far back
	// as the broker keeps history, a zero To means now. Each broker caps
	// how far back it keeps history (Schwab: one year); a From beyond that
	// is an error matching errors.ErrInvalidOrder.
	From, To time.Time
	// Symbol keeps one symbol's orders (as in Instrument.Symbol); empty
	// keeps all.
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
	// Broker is the adapter's Name ("schwab", ...).
	Broker string
	// Reachable: the last request got an HTTP answer (any status); false
	// after a transport failure, and before any answer.
	Reachable bool
	// Authenticated: credentials are present and the broker last accepted
	// them.
	Authenticated bool
	// TokenExpiry is when the access token expires; zero if unknown or none.
	TokenExpiry time.Time
	// LoginExpiry is when the user must log in again (Schwab's 7-day refresh
	// token, E*TRADE's midnight US Eastern); zero if unknown or none.
	LoginExpiry time.Time
	// LastError is the last failed request's error (secrets redacted), nil
	// if none has failed.
	LastError error
	// LastErrorAt is when LastError happened; zero with no error.
	LastErrorAt time.Time
	// RateLimitRemaining is how many requests the client-side limiter would
	// let through right now, per bucket name ("orders", "reads", ...); nil
	// when the adapter has no client-side limit.
	RateLimitRemaining map[string]int
}

// Instrument identifies what is traded. The zero value identifies nothing
// and is refused in a request.
type Instrument struct {
	// Symbol is the broker's symbol: a ticker ("AAPL"), a Coinbase product
	// id ("BTC-USD"), or an OCC option symbol. Required.
	Symbol string `json:"symbol"`
	// AssetClass is equity, option or crypto; the zero value is unset, which
	// a request refuses and an adapter reports when the broker does not say.
	AssetClass AssetClass `json:"asset_class"`
}

// String returns the symbol.
func (i Instrument) String() string { return i.Symbol }

// OrderRequest is an order to send. ClientOrderID identifies the intent: the
// same id sent twice must yield one order at the broker. [OrderRequest.Validate]
// refuses a request whose fields do not fit its Type; a price the Type does
// not use must be zero, so that no caller believes a price was sent that
// was ignored.
type OrderRequest struct {
	// ClientOrderID is the caller's id of the intent, fixed once and reused
	// by every attempt ([NewClientOrderID] makes one every broker takes).
	// Required.
	ClientOrderID string `json:"client_order_id"`
	// Instrument is what to trade. Required.
	Instrument Instrument `json:"instrument"`
	// Side is buy, sell, sell short or buy to cover; the zero value is
	// unset and refused.
	Side Side `json:"side"`
	// Type is market, limit, stop, stop-limit or trailing stop; the zero
	// value is unset and refused.
	Type OrderType `json:"type"`
	// Quantity is the size, in units of the instrument (shares, contracts,
	// or the base currency of a crypto pair); it must be positive.
	Quantity decimal.Decimal `json:"quantity"`
	// LimitPrice is the worst price accepted, in the quote currency per
	// unit: required (positive) for Limit and StopLimit, zero otherwise.
	LimitPrice decimal.Decimal `json:"limit_price,omitzero"`
	// StopPrice is the trigger price, in the quote currency per unit:
	// required (positive) for Stop and StopLimit, zero otherwise.
	StopPrice decimal.Decimal `json:"stop_price,omitzero"`
	// TrailAmount is a TrailingStop's distance from the best price since
	// entry, in the quote currency per unit. A TrailingStop sets exactly
	// one of TrailAmount and TrailPercent; other types leave both zero.
	TrailAmount decimal.Decimal `json:"trail_amount,omitzero"`
	// TrailPercent is a TrailingStop's distance in percent of the best
	// price (5 means 5 %), positive and below 100; zero when TrailAmount is
	// used.
	TrailPercent decimal.Decimal `json:"trail_percent,omitzero"`
	// TimeInForce is day, GTC, IOC or FOK; the zero value is unset and
	// refused.
	TimeInForce TimeInForce `json:"time_in_force"`
	// ExtendedHours lets the order trade outside regular hours where the
	// broker allows it (equity limit orders, usually); false keeps it to
	// the regular session.
	ExtendedHours bool `json:"extended_hours,omitempty"`
}

// Ack is the broker's acknowledgement of a placed or replacing order. It
// says the broker took the order, not that it is working: GetOrder tells.
type Ack struct {
	// OrderID is the broker's id for the (new) order; never empty in an
	// Ack returned without error.
	OrderID string `json:"order_id"`
	// ClientOrderID is the request's client order id.
	ClientOrderID string `json:"client_order_id"`
	// Status is the order's status as far as the broker told in its answer
	// (often StatusPendingNew or StatusNew); the zero value,
	// StatusUnknown, when it told none.
	Status Status `json:"status"`
	// RawStatus is the broker's own word for Status; empty if it gave none.
	RawStatus string `json:"raw_status"`
	// AcceptedAt is when the broker entered the order, or, where its answer
	// carries no time, when the adapter sent or received it; zero if
	// neither is known.
	AcceptedAt time.Time `json:"accepted_at"`
	// Warnings are messages the broker attached without refusing the order
	// (E*TRADE preview warnings, for example); nil when none.
	Warnings []string `json:"warnings,omitempty"`
}

// Fill is one execution of (part of) an order.
type Fill struct {
	// ExecID is the broker's id of the execution, unique per order at the
	// broker and stable across reads: the key that counts a fill once.
	// Never empty.
	ExecID string `json:"exec_id"`
	// Quantity is the executed size, in units of the instrument; positive.
	Quantity decimal.Decimal `json:"quantity"`
	// Price is the execution price, in the quote currency per unit.
	Price decimal.Decimal `json:"price"`
	// Fee is the commission and fees charged for this execution, in the
	// account's currency, as a positive amount; zero when none was charged
	// or the broker reports fees only for the whole order (Order.Fees).
	Fee decimal.Decimal `json:"fee"`
	// Time is when the execution happened, as the broker reports it; zero
	// if it does not say.
	Time time.Time `json:"time"`
}

// Order is a snapshot of one order as the broker reports it. A field the
// broker's answer does not carry is zero (an enum: its unset value).
type Order struct {
	// OrderID is the broker's id of the order.
	OrderID string `json:"order_id"`
	// ClientOrderID is the client order id the order was placed with;
	// empty where the broker does not echo it (Schwab keeps none).
	ClientOrderID string `json:"client_order_id,omitempty"`
	// Instrument is what the order trades.
	Instrument Instrument `json:"instrument"`
	// Side, Type and TimeInForce are as requested, mapped back from the
	// broker's words; unset when the broker used one arbion does not map.
	Side        Side        `json:"side"`
	Type        OrderType   `json:"type"`
	TimeInForce TimeInForce `json:"time_in_force"`
	// Quantity is the ordered size, in units of the instrument.
	Quantity decimal.Decimal `json:"quantity"`
	// LimitPrice and StopPrice are in the quote currency per unit; zero
	// when the order type has none (a trailing stop's moving trigger is not
	// reported here).
	LimitPrice decimal.Decimal `json:"limit_price,omitzero"`
	StopPrice  decimal.Decimal `json:"stop_price,omitzero"`
	// Status is the order's state, mapped from RawStatus; StatusUnknown
	// (the zero value) for a status the adapter does not know, which is
	// never terminal.
	Status Status `json:"status"`
	// RawStatus is the broker's own status, always kept as sent.
	RawStatus string `json:"raw_status"`
	// FilledQuantity is the cumulative filled quantity, in units of the
	// instrument; zero when nothing filled. Where the broker reports fills,
	// it equals the sum of Fills' quantities.
	FilledQuantity decimal.Decimal `json:"filled_quantity"`
	// AvgFillPrice is the quantity-weighted mean price of the fills, in the
	// quote currency per unit; zero when nothing is filled.
	AvgFillPrice decimal.Decimal `json:"avg_fill_price"`
	// Fees is the commission and fees charged on the order so far, in the
	// account's currency, as a positive amount; zero when none or not
	// reported.
	Fees decimal.Decimal `json:"fees"`
	// Fills are the executions; nil when nothing filled or the broker
	// lists no executions (FilledQuantity still says how much).
	Fills []Fill `json:"fills,omitempty"`
	// RejectReason is the broker's words for a rejection; empty otherwise.
	RejectReason string `json:"reject_reason,omitempty"`
	// LeavesQuantity is the quantity still working at the broker: zero on
	// every terminal order (a cancelled order that filled 30 of 100 leaves
	// nothing). Adapters take the broker's own figure where it sends one
	// and derive it otherwise; see [Order.Remaining].
	LeavesQuantity decimal.Decimal `json:"leaves_quantity"`
	// LastFillAt is when the last execution happened, as the broker reports
	// it; zero when nothing filled or the broker does not say.
	LastFillAt time.Time `json:"last_fill_at,omitzero"`
	// ReplacedBy is the id of the order that replaced this one; empty if
	// none, or if the broker does not say.
	ReplacedBy string `json:"replaced_by,omitempty"`
	// CreatedAt is when the broker entered the order; zero if it does not
	// say.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is the latest change the broker reports (entry, fill,
	// edit, close); zero if it says nothing.
	UpdatedAt time.Time `json:"updated_at"`
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

// Position is a holding in one instrument.
type Position struct {
	// Instrument is what is held.
	Instrument Instrument `json:"instrument"`
	// Quantity is the size held, in units of the instrument, signed:
	// negative for a short. Never zero in a Positions answer.
	Quantity decimal.Decimal `json:"quantity"`
	// AvgCost is the average price paid per unit, in the quote currency;
	// zero when the broker reports no cost basis (Coinbase, unless its
	// Config.CostBasisFromFills).
	AvgCost decimal.Decimal `json:"avg_cost"`
}

// Quote is the market for one symbol at a moment. Prices are in the quote
// currency per unit; a price the broker does not give (no bid, no trade
// yet) is zero, which consumers such as the risk engine treat as no price.
type Quote struct {
	// Symbol is the quoted symbol.
	Symbol string `json:"symbol"`
	// Bid and Ask are the best bid and offer; Last is the last trade price.
	Bid  decimal.Decimal `json:"bid"`
	Ask  decimal.Decimal `json:"ask"`
	Last decimal.Decimal `json:"last"`
	// Time is when the broker says the quote was taken; zero if it does not
	// say (a consumer that needs fresh data then treats it as stale).
	Time time.Time `json:"time"`
}

// Account is the account's balances in its currency. A balance the broker
// does not report is zero.
type Account struct {
	// ID is the broker's account identifier (never a secret); empty where
	// the broker gives none.
	ID string `json:"id"`
	// Currency is the ISO code the balances are in ("USD"; for Coinbase,
	// its Config.QuoteCurrency).
	Currency string `json:"currency"`
	// Cash is the cash balance the broker reports.
	Cash decimal.Decimal `json:"cash"`
	// BuyingPower is what the broker says may be spent on new purchases
	// now (for a cash account, the cash available for trading).
	BuyingPower decimal.Decimal `json:"buying_power"`
	// Equity is cash plus positions at market value (the liquidation
	// value), as the broker reports or, for Coinbase, as the adapter values
	// holdings at their bids.
	Equity decimal.Decimal `json:"equity"`
}

// Capabilities says what a broker supports, so that higher layers choose a
// strategy that works there (the stop-loss supervisor uses a native stop or
// watches the price itself). A false or empty field means the broker lacks
// it: a call that needs it is refused with errors.ErrNotSupported, never
// faked.
type Capabilities struct {
	// NativeStop: resting stop (stop-market) orders, Type Stop.
	NativeStop bool
	// StopLimit: stop-limit orders, Type StopLimit.
	StopLimit bool
	// TrailingStop: trailing-stop orders, Type TrailingStop.
	TrailingStop bool
	// GTC: the good-till-cancelled time in force.
	GTC bool
	// Replace: ReplaceOrder is supported.
	Replace bool
	// Bracket: the broker offers bracket or OCO orders (through the
	// adapter's own options; a plain OrderRequest is one order).
	Bracket bool
	// Fractional: quantities with a fractional part are accepted.
	Fractional bool
	// IdempotentClientOrderID: placing a ClientOrderID the broker already
	// holds returns the existing order instead of creating a second one.
	IdempotentClientOrderID bool
	// ClientOrderID is the broker's rule for client order ids; ids from
	// NewClientOrderID meet every broker's. Its zero value: the broker keeps
	// no client order id.
	ClientOrderID ClientOrderIDRule
	// QuoteBatchSize is the most symbols one quote request may carry;
	// Quotes splits longer lists. Always positive.
	QuoteBatchSize int
	// AssetClasses lists the asset classes the broker trades through this
	// adapter.
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
