package errors

import (
	"context"
	"time"
)

// Retryable reports whether err is of a kind that is safe to try again
// unchanged: the request had no effect and the failure is transient (rate
// limited, network failure before the broker acted, timeout of a request
// without effect, broker unavailable).
//
// [ErrOutcomeUnknown] is never retryable, even when it also wraps a network
// or timeout error: a request whose fate is unknown is resolved by a lookup,
// never by sending it again. Neither is an error caused by the caller
// cancelling its context: the caller asked to stop. nil is not retryable.
func Retryable(err error) bool {
	if err == nil || Is(err, ErrOutcomeUnknown) || Is(err, context.Canceled) {
		return false
	}
	for _, k := range [...]Kind{ErrRateLimited, ErrNetwork, ErrTimeout, ErrBrokerUnavailable} {
		if Is(err, k) {
			return true
		}
	}
	return false
}

// RetryAfter returns the wait the broker asked for before the next attempt,
// from the first [*BrokerError] in err's tree that carries one.
func RetryAfter(err error) (time.Duration, bool) {
	var be *BrokerError
	if As(err, &be) && be.RetryAfter > 0 {
		return be.RetryAfter, true
	}
	return 0, false
}
