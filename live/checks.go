package live

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/risk"
)

// Defaults for [CheckConfig].
const (
	// DefaultTokenMargin: readiness goes red this long before the access
	// token expires (an adapter refreshes it well before).
	DefaultTokenMargin = time.Minute
	// DefaultLoginMargin: readiness goes red this long before the login
	// (refresh token) expires: a human must log in again.
	DefaultLoginMargin = 12 * time.Hour
	// DefaultStreamMaxAge is how long a stream may be silent and still count
	// as fresh.
	DefaultStreamMaxAge = 2 * time.Minute
)

// CheckConfig tunes [Runner.Checks]. Zero values take the defaults.
type CheckConfig struct {
	TokenMargin  time.Duration
	LoginMargin  time.Duration
	StreamMaxAge time.Duration
	// HeartbeatWithin is how long the supervisor may go without a sweep;
	// three default sweep intervals when 0 (set it from the schedule).
	HeartbeatWithin time.Duration
}

// loginExpirer is the adapters' login warning (schwab has it).
type loginExpirer interface {
	LoginExpiresWithin(d time.Duration) bool
}

// Checks returns the runner's readiness checks, fail closed:
//
//   - broker: the adapter's Health says reachable and authenticated and the
//     access token is not about to expire, the login not either, and the
//     last call through the runner did not fail on the connection
//     (unavailable, network, timeout, credentials);
//   - store: the order store answers;
//   - streams: every stream the runner consumes is live and fresh;
//   - supervisor: a sweep ended within HeartbeatWithin;
//   - trading: the risk engine is not halted.
func (r *Runner) Checks(cfg CheckConfig) []health.Check {
	if cfg.TokenMargin == 0 {
		cfg.TokenMargin = DefaultTokenMargin
	}
	if cfg.LoginMargin == 0 {
		cfg.LoginMargin = DefaultLoginMargin
	}
	if cfg.StreamMaxAge == 0 {
		cfg.StreamMaxAge = DefaultStreamMaxAge
	}
	if cfg.HeartbeatWithin == 0 {
		cfg.HeartbeatWithin = 3 * DefaultSweepInterval
	}
	return []health.Check{
		{Name: "broker", Func: func(ctx context.Context) error { return r.checkBroker(ctx, cfg) }},
		{Name: "store", Func: func(ctx context.Context) error {
			_, err := r.tracker.Open(ctx)
			return err
		}},
		{Name: "streams", Func: func(context.Context) error { return r.checkStreams(cfg.StreamMaxAge) }},
		{Name: "supervisor", Func: func(context.Context) error {
			hb := r.sup.Heartbeat()
			if hb.Overdue(r.clk.Now(), cfg.HeartbeatWithin) {
				if hb.LastSweepEnd.IsZero() {
					return fmt.Errorf("no sweep has ended yet")
				}
				return fmt.Errorf("no sweep ended in %v (last at %s)", cfg.HeartbeatWithin, hb.LastSweepEnd.Format(time.RFC3339))
			}
			return nil
		}},
		{Name: "trading", Func: func(context.Context) error {
			if st, why := r.engine.State(); st == risk.Halted {
				return fmt.Errorf("trading is halted: %s", why)
			}
			return nil
		}},
	}
}

func (r *Runner) checkBroker(ctx context.Context, cfg CheckConfig) error {
	now := r.clk.Now()
	if hr, ok := broker.Find[broker.HealthReporter](r.cfg.Broker); ok {
		h := hr.Health(ctx)
		switch {
		case !h.Reachable:
			return fmt.Errorf("%s is not reachable: %v", h.Broker, h.LastError)
		case !h.Authenticated:
			return fmt.Errorf("%s is not authenticated: %v", h.Broker, h.LastError)
		case !h.TokenExpiry.IsZero() && h.TokenExpiry.Sub(now) < cfg.TokenMargin:
			return fmt.Errorf("%s access token expires at %s", h.Broker, h.TokenExpiry.Format(time.RFC3339))
		case !h.LoginExpiry.IsZero() && h.LoginExpiry.Sub(now) < cfg.LoginMargin:
			return fmt.Errorf("%s login expires at %s: log in again", h.Broker, h.LoginExpiry.Format(time.RFC3339))
		}
	}
	if le, ok := broker.Find[loginExpirer](r.cfg.Broker); ok && le.LoginExpiresWithin(cfg.LoginMargin) {
		return fmt.Errorf("the login expires within %v: log in again", cfg.LoginMargin)
	}
	return r.calls.err()
}

func (r *Runner) checkStreams(maxAge time.Duration) error {
	now := r.clk.Now()
	for name, ref := range map[string]*streamRef{"orders": r.orderStream.Load(), "quotes": r.quoteStream.Load()} {
		if ref == nil {
			continue
		}
		if st := ref.status(); !st.Fresh(now, maxAge) {
			return fmt.Errorf("the %s stream is not fresh (live %v, last message %s): %v", name, st.Live,
				st.LastMessage.Format(time.RFC3339), st.LastError)
		}
	}
	return nil
}

// callWatch remembers the outcome of the last call through the runner's
// broker, for readiness: a call that failed on the connection makes it red
// until a later call succeeds.
type callWatch struct {
	next broker.Observer // Config.Metrics, or nil

	mu   sync.Mutex
	last error
}

func (w *callWatch) Observe(ctx context.Context, ev broker.Observation) {
	if w.next != nil {
		w.next.Observe(ctx, ev)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case ev.Err == nil:
		w.last = nil
	case connectionFailure(ev.Err):
		w.last = fmt.Errorf("the last %s call failed: %w", ev.Op, ev.Err)
	}
}

func (w *callWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// connectionFailure reports whether err says the broker cannot be used
// (rather than that it refused one request).
func connectionFailure(err error) bool {
	for _, k := range []errors.Kind{errors.ErrBrokerUnavailable, errors.ErrNetwork, errors.ErrTimeout,
		errors.ErrUnauthenticated, errors.ErrTokenExpired, errors.ErrOutcomeUnknown} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
