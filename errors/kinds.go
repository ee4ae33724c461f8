// Package errors is arbion's typed error hierarchy and a drop-in superset of
// the standard library's errors package: it re-exports [Is], [As], [New],
// [Join] and [Unwrap], so a caller needs one import.
//
// Every error that leaves a public arbion function can be classified two ways:
//
//   - with [Is] against a [Kind] such as [ErrRateLimited] or
//     [ErrInsufficientFunds], the question "what went wrong?";
//   - with [As] into a type with fields ([*BrokerError], [*RiskError],
//     [*OrderError], [*StopLossError]), the question "tell me everything".
//
// Both work through fmt.Errorf("%w") and [Join]. [Retryable] and [RetryAfter]
// are the one place that knows which kinds are safe to try again.
//
// Error strings are written for a human reading a log and never contain a
// secret (token, key, password, verifier).
package errors

import stderrors "errors"

// Kind is a class of failure. Kinds are comparable constants and are the
// targets of [Is]: errors.Is(err, errors.ErrRateLimited).
//
// Every typed error in this package carries a Kind and matches it with [Is].
type Kind string

// Error returns the kind's name, which reads as a short human phrase.
func (k Kind) Error() string { return string(k) }

// The kinds. Each is a constant, so no caller can change one.
const (
	// ErrUnauthenticated: the broker did not accept the credentials.
	ErrUnauthenticated Kind = "unauthenticated"
	// ErrTokenExpired: the access or refresh token has expired; for a refresh
	// token this means the user must log in again.
	ErrTokenExpired Kind = "token expired"
	// ErrPermissionDenied: authenticated, but not allowed to do this.
	ErrPermissionDenied Kind = "permission denied"
	// ErrRateLimited: the broker (or the client-side limiter) refused the
	// request for its rate; see [RetryAfter].
	ErrRateLimited Kind = "rate limited"
	// ErrInvalidOrder: the order request is malformed or violates the
	// broker's rules (size, price increment, missing field).
	ErrInvalidOrder Kind = "invalid order"
	// ErrOrderRejected: the broker received a valid order and refused it.
	ErrOrderRejected Kind = "order rejected"
	// ErrInsufficientFunds: not enough cash, buying power or position.
	ErrInsufficientFunds Kind = "insufficient funds"
	// ErrOrderNotFound: no order with that id.
	ErrOrderNotFound Kind = "order not found"
	// ErrOrderNotCancelable: the order is already filled or closed.
	ErrOrderNotCancelable Kind = "order not cancelable"
	// ErrDuplicateOrder: an order with that client order id already exists.
	ErrDuplicateOrder Kind = "duplicate order"
	// ErrMarketClosed: the market for the instrument is closed.
	ErrMarketClosed Kind = "market closed"
	// ErrNotSupported: the broker or adapter cannot do this.
	ErrNotSupported Kind = "not supported"
	// ErrRiskLimitExceeded: a pre-trade risk rule refused the order.
	ErrRiskLimitExceeded Kind = "risk limit exceeded"
	// ErrTradingHalted: trading is halted (kill switch) or reduce-only and the
	// order would not reduce a position.
	ErrTradingHalted Kind = "trading halted"
	// ErrRiskDataUnavailable: the risk engine could not get the data it needs
	// to decide (quote, account, positions, P&L) and so refused the order.
	ErrRiskDataUnavailable Kind = "risk data unavailable"
	// ErrStopLossBreach: a position's stop was breached and it was (or is
	// being) closed in an emergency.
	ErrStopLossBreach Kind = "stop-loss breach"
	// ErrStopNotPlaced: a protective stop could not be placed or kept.
	ErrStopNotPlaced Kind = "stop not placed"
	// ErrNetwork: the request failed on the network before the broker could
	// have acted on it.
	ErrNetwork Kind = "network error"
	// ErrTimeout: a request that had no effect at the broker (a read, or a
	// write known not to have been sent) timed out. A write whose fate is
	// unknown is reported as [ErrOutcomeUnknown] instead.
	ErrTimeout Kind = "timeout"
	// ErrBrokerUnavailable: the broker answered that it is down or overloaded
	// (5xx, maintenance).
	ErrBrokerUnavailable Kind = "broker unavailable"
	// ErrOutcomeUnknown: a request that changes state was sent and its answer
	// was lost. It must be resolved by a lookup, never by sending it again.
	ErrOutcomeUnknown Kind = "outcome unknown"
	// ErrMalformedResponse: the broker's answer could not be decoded.
	ErrMalformedResponse Kind = "malformed response"
	// ErrConfiguration: a configuration value is missing or invalid.
	ErrConfiguration Kind = "configuration error"
	// ErrEncryptionKeyMissing: an encrypted store was asked for without a key.
	ErrEncryptionKeyMissing Kind = "encryption key missing"
	// ErrInvalidTransition: an event is not allowed in the order's state.
	ErrInvalidTransition Kind = "invalid order transition"
	// ErrOverfill: fills were reported beyond the order's quantity.
	ErrOverfill Kind = "overfill"
	// ErrStaleVersion: a save carried an out-of-date version number
	// (optimistic concurrency); re-read and try again.
	ErrStaleVersion Kind = "stale version"
	// ErrDecrypt: stored data could not be decrypted (wrong key or tampered).
	ErrDecrypt Kind = "decryption failed"
	// ErrStorage: the host's store (a database) failed to read or write.
	ErrStorage Kind = "storage error"
	// ErrIncompleteListing: a listing of orders could not be shown to be
	// complete (cut short at a page or depth limit, or a page failed). A
	// short list is never returned as if it were the whole.
	ErrIncompleteListing Kind = "incomplete listing"
	// ErrNotLeader: this process does not hold (or has lost) the account's
	// leadership, so it must not send orders or write the account's records.
	ErrNotLeader Kind = "not leader"
	// ErrUnsettledTwin: an order with the same identifying fields is still
	// unsettled (sent, answer lost) at a broker that keeps no client order
	// id; sending another now would create two orders no lookup could tell
	// apart. Nothing was sent: try again once reconciliation settled it.
	ErrUnsettledTwin Kind = "identical order unsettled"
	// ErrShuttingDown: the component is draining for shutdown and takes no
	// new work.
	ErrShuttingDown Kind = "shutting down"
)

// kinds lists every Kind in the order [KindOf] tries them: the most specific
// first, so a token-expired error that also wraps unauthenticated reports
// token expired.
var kinds = [...]Kind{
	ErrOutcomeUnknown, ErrTokenExpired, ErrUnauthenticated, ErrPermissionDenied,
	ErrRateLimited, ErrInsufficientFunds, ErrDuplicateOrder, ErrOrderNotCancelable,
	ErrOrderNotFound, ErrMarketClosed, ErrInvalidOrder, ErrOrderRejected,
	ErrTradingHalted, ErrRiskDataUnavailable, ErrRiskLimitExceeded,
	ErrStopLossBreach, ErrStopNotPlaced, ErrNotSupported, ErrTimeout, ErrNetwork,
	ErrBrokerUnavailable, ErrMalformedResponse, ErrEncryptionKeyMissing,
	ErrDecrypt, ErrConfiguration, ErrInvalidTransition, ErrOverfill, ErrStaleVersion,
	ErrStorage, ErrIncompleteListing, ErrNotLeader, ErrShuttingDown, ErrUnsettledTwin,
}

// Kinds returns every kind this package defines, most specific first.
func Kinds() []Kind { return append([]Kind(nil), kinds[:]...) }

// KindOf returns the most specific kind err matches, or "" when it matches
// none (a plain error from outside arbion, or nil).
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	for _, k := range kinds {
		if stderrors.Is(err, k) {
			return k
		}
	}
	return ""
}

// Is reports whether any error in err's tree matches target. It is the
// standard library's errors.Is.
func Is(err, target error) bool { return stderrors.Is(err, target) }

// As finds the first error in err's tree that matches target and, if one is
// found, sets target to that error value and returns true. It is the standard
// library's errors.As.
func As(err error, target any) bool { return stderrors.As(err, target) }

// New returns an error that formats as the given text. It is the standard
// library's errors.New.
func New(text string) error { return stderrors.New(text) }

// Join returns an error that wraps the given errors, discarding nils. It is
// the standard library's errors.Join.
func Join(errs ...error) error { return stderrors.Join(errs...) }

// Unwrap returns the result of calling the Unwrap method on err, if any. It is
// the standard library's errors.Unwrap.
func Unwrap(err error) error { return stderrors.Unwrap(err) }
