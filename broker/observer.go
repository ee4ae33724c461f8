package broker

import (
	"context"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
)

// Operation names, as observers see them in [Observation.Op]. Adapters may
// use them for errors.BrokerError.Op too.
const (
	OpPlaceOrder   = "place order"
	OpCancelOrder  = "cancel order"
	OpReplaceOrder = "replace order"
	OpGetOrder     = "get order"
	OpOpenOrders   = "open orders"
	OpPositions    = "positions"
	OpAccount      = "account"
	OpQuotes       = "quotes"
	OpFindOrder    = "find order"
	OpOrders       = "orders"
	OpPreviewOrder = "preview order"
)

// Observation is the outcome of one call: a call through a broker wrapped by
// [WithObserver], or one HTTP request of an adapter (each adapter's
// Config.Observer). It is the module's one observation shape; metrics and
// logs are built from it.
type Observation struct {
	// Broker is the broker's Name ("schwab", "coinbase", "etrade", "paper").
	Broker string
	// Op is the operation, one of the Op constants where one fits.
	Op string
	// Latency is how long the call took, waits for rate limits and retries
	// included.
	Latency time.Duration
	// Kind is errors.KindOf(Err): empty on success, and for an error that
	// matches no arbion kind.
	Kind errors.Kind
	// Err is the call's error, nil on success. Adapters redact secrets from
	// it, as from every error they return.
	Err error

	// The HTTP fields are set by an adapter's own observer, one observation
	// per request, and left zero by [WithObserver].

	// Method is the HTTP method ("GET", "POST").
	Method string
	// Path is the request path, without the query (which may carry
	// secrets).
	Path string
	// Status is the last HTTP status received; 0 if no answer came.
	Status int
	// Attempts is how many times the request was sent: 1 without retries,
	// 0 if it was refused before sending (a local rate limit).
	Attempts int
	// Bucket names the client-side rate limit the request drew on ("" if
	// none).
	Bucket string
}

// Observer receives an Observation after every call through a wrapped
// broker, on the caller's goroutine: it must be quick and safe for
// concurrent use (count, time, log; never call the broker back).
type Observer interface {
	Observe(ctx context.Context, ev Observation)
}

// ObserverFunc adapts a function to [Observer].
type ObserverFunc func(ctx context.Context, ev Observation)

// Observe calls f.
func (f ObserverFunc) Observe(ctx context.Context, ev Observation) { f(ctx, ev) }

// ObserverOption configures [WithObserver].
type ObserverOption func(*observed)

// WithObserverClock sets the clock latencies are measured with (default
// clock.Real); tests use a fake one.
func WithObserverClock(c clock.Clock) ObserverOption {
	return func(o *observed) { o.clock = clock.Or(c) }
}

// WithObserver returns b with every call that reaches the broker (not Name
// or Capabilities) reported to obs: operation, broker, latency and outcome
// kind, for a host's metrics. A nil obs returns b itself: nothing is observed
// by default. A nil b returns an error matching errors.ErrConfiguration.
//
// The result is a [Wrapper]: [Find] reaches b's optional capabilities
// through it. Those calls go to b directly and are not observed; an
// adapter's own observer sees every request.
func WithObserver(b Broker, obs Observer, opts ...ObserverOption) (Broker, error) {
	if b == nil {
		return nil, &errors.BrokerError{Op: "observe", Kind: errors.ErrConfiguration, Message: "broker is nil"}
	}
	if obs == nil {
		return b, nil
	}
	o := &observed{inner: b, obs: obs, clock: clock.Real()}
	for _, opt := range opts {
		opt(o)
	}
	return o, nil
}

// observed is a Broker reporting each call to an Observer.
type observed struct {
	inner Broker
	obs   Observer
	clock clock.Clock
}

func (o *observed) report(ctx context.Context, op string, start time.Time, err error) {
	o.obs.Observe(ctx, Observation{Broker: o.inner.Name(), Op: op, Latency: o.clock.Now().Sub(start),
		Kind: errors.KindOf(err), Err: err})
}

// Unwrap implements [Wrapper].
func (o *observed) Unwrap() Broker { return o.inner }

func (o *observed) Name() string               { return o.inner.Name() }
func (o *observed) Capabilities() Capabilities { return o.inner.Capabilities() }

func (o *observed) PlaceOrder(ctx context.Context, req OrderRequest) (Ack, error) {
	start := o.clock.Now()
	ack, err := o.inner.PlaceOrder(ctx, req)
	o.report(ctx, OpPlaceOrder, start, err)
	return ack, err
}

func (o *observed) CancelOrder(ctx context.Context, orderID string) error {
	start := o.clock.Now()
	err := o.inner.CancelOrder(ctx, orderID)
	o.report(ctx, OpCancelOrder, start, err)
	return err
}

func (o *observed) ReplaceOrder(ctx context.Context, orderID string, req OrderRequest) (Ack, error) {
	start := o.clock.Now()
	ack, err := o.inner.ReplaceOrder(ctx, orderID, req)
	o.report(ctx, OpReplaceOrder, start, err)
	return ack, err
}

func (o *observed) GetOrder(ctx context.Context, orderID string) (Order, error) {
	start := o.clock.Now()
	order, err := o.inner.GetOrder(ctx, orderID)
	o.report(ctx, OpGetOrder, start, err)
	return order, err
}

func (o *observed) OpenOrders(ctx context.Context) ([]Order, error) {
	start := o.clock.Now()
	orders, err := o.inner.OpenOrders(ctx)
	o.report(ctx, OpOpenOrders, start, err)
	return orders, err
}

func (o *observed) Positions(ctx context.Context) ([]Position, error) {
	start := o.clock.Now()
	positions, err := o.inner.Positions(ctx)
	o.report(ctx, OpPositions, start, err)
	return positions, err
}

func (o *observed) Account(ctx context.Context) (Account, error) {
	start := o.clock.Now()
	acct, err := o.inner.Account(ctx)
	o.report(ctx, OpAccount, start, err)
	return acct, err
}

func (o *observed) Quotes(ctx context.Context, symbols ...string) ([]Quote, error) {
	start := o.clock.Now()
	quotes, err := o.inner.Quotes(ctx, symbols...)
	o.report(ctx, OpQuotes, start, err)
	return quotes, err
}
