// Package retry holds how an adapter retries the requests that are safe to
// send again (reads, cancels, creates the broker deduplicates): the
// [Policy] of exponential backoff with jitter, and the [Budget] all retries
// draw on so that an outage does not become a storm. A request whose outcome
// is unknown is never retried, whatever the policy.
package retry

import (
	"fmt"
	"sync"
	"time"
)

// Retry defaults, used for the zero fields of a [Policy].
const (
	DefaultMaxAttempts         = 4
	DefaultInitialInterval     = 200 * time.Millisecond
	DefaultMaxInterval         = 2 * time.Second
	DefaultMaxElapsedTime      = 10 * time.Second
	DefaultMultiplier          = 2.0
	DefaultRandomizationFactor = 0.5
	DefaultBudgetCapacity      = 500
)

// Costs of the [Budget], as in aws-sdk-go-v2's retry token bucket: a
// retry after a timeout costs more than one after an error answer, because a
// timing-out broker is the one a storm would hurt most.
const (
	RetryCost        = 5
	TimeoutRetryCost = 10
	SuccessRefund    = 1
)

// Policy is how idempotent requests are retried: exponential backoff
// with jitter (cenkalti/backoff/v4), capped by attempts and elapsed time,
// drawing on a retry budget. Requests that are not idempotent are never
// retried, whatever the policy. The zero value means the defaults.
type Policy struct {
	// Disabled turns retries off: every request is sent once.
	Disabled bool
	// MaxAttempts caps the attempts per request, the first included.
	// Default [DefaultMaxAttempts].
	MaxAttempts int
	// InitialInterval is the first backoff. Default [DefaultInitialInterval].
	InitialInterval time.Duration
	// MaxInterval caps one backoff (not a Retry-After hint). Default
	// [DefaultMaxInterval].
	MaxInterval time.Duration
	// MaxElapsedTime stops retrying once this much time has passed since the
	// first attempt, counting the next wait. Default [DefaultMaxElapsedTime]
	// (10 s: backoff's own 15-minute default is far too long for trading). A
	// Retry-After hint that would go past it ends the retries and is
	// returned on the error instead.
	MaxElapsedTime time.Duration
	// Multiplier grows the interval after each retry. Default
	// [DefaultMultiplier].
	Multiplier float64
	// RandomizationFactor is the jitter: each wait is drawn from
	// interval·[1-f, 1+f]. Default [DefaultRandomizationFactor].
	RandomizationFactor float64
	// Budget limits retries across all requests of the adapter (or of several
	// adapters sharing it). Default: a budget of [DefaultBudgetCapacity] per
	// adapter.
	Budget *Budget
}

// WithDefaults validates p and fills its zero fields with the defaults.
func (p Policy) WithDefaults() (Policy, error) {
	if p.MaxAttempts < 0 || p.InitialInterval < 0 || p.MaxInterval < 0 || p.MaxElapsedTime < 0 ||
		p.Multiplier < 0 || p.RandomizationFactor < 0 || p.RandomizationFactor > 1 {
		return p, fmt.Errorf("retry: policy has a negative or out-of-range field")
	}
	if p.Multiplier != 0 && p.Multiplier < 1 {
		return p, fmt.Errorf("retry: multiplier must be at least 1")
	}
	setDefault(&p.MaxAttempts, DefaultMaxAttempts)
	setDefault(&p.InitialInterval, DefaultInitialInterval)
	setDefault(&p.MaxInterval, DefaultMaxInterval)
	setDefault(&p.MaxElapsedTime, DefaultMaxElapsedTime)
	setDefault(&p.Multiplier, DefaultMultiplier)
	setDefault(&p.RandomizationFactor, DefaultRandomizationFactor)
	if p.Budget == nil {
		p.Budget = NewBudget(DefaultBudgetCapacity)
	}
	if p.Disabled {
		p.MaxAttempts = 1
	}
	return p, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Budget is a token bucket that every retry draws on and every success
// refills, so that when a broker is down the retries stop after a while
// instead of multiplying the load (the scheme of aws-sdk-go-v2's
// retry.TokenBucket). A retry costs [RetryCost] ([TimeoutRetryCost] after a
// timeout); a success returns what its own retries cost, or [SuccessRefund]
// when it needed none. Safe for concurrent use; share one between adapters to
// give them one budget.
type Budget struct {
	mu       sync.Mutex
	capacity int
	tokens   int
}

// NewBudget returns a full budget of the given capacity (at least 1).
func NewBudget(capacity int) *Budget {
	if capacity < 1 {
		capacity = 1
	}
	return &Budget{capacity: capacity, tokens: capacity}
}

// Available returns the tokens left.
func (b *Budget) Available() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens
}

// Take spends cost tokens if there are that many and reports whether it did.
func (b *Budget) Take(cost int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tokens < cost {
		return false
	}
	b.tokens -= cost
	return true
}

// Refund returns n tokens, up to the capacity.
func (b *Budget) Refund(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.capacity, b.tokens+n)
}
