package errors_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/errors"
)

// wrapEach returns err as it reaches callers in practice: bare, wrapped by
// fmt.Errorf, joined with an unrelated error, and wrapped twice.
func wrapEach(err error) map[string]error {
	return map[string]error{
		"bare":         err,
		"wrapped":      fmt.Errorf("bot: buy AAPL: %w", err),
		"joined":       errors.Join(errors.New("something else"), err),
		"wrapped+join": fmt.Errorf("outer: %w", errors.Join(err, errors.New("x"))),
	}
}

func TestEveryKindThroughEveryTypeAndWrapping(t *testing.T) {
	for _, k := range errors.Kinds() {
		typed := map[string]error{
			"kind":     k,
			"broker":   &errors.BrokerError{Broker: "schwab", Op: "place order", Kind: k},
			"risk":     &errors.RiskError{Rule: "r", Kind: k},
			"order":    &errors.OrderError{Op: "submit", ClientOrderID: "abc", Kind: k},
			"stoploss": &errors.StopLossError{Symbol: "AAPL", Kind: k},
		}
		for typName, base := range typed {
			for how, err := range wrapEach(base) {
				if !errors.Is(err, k) {
					t.Errorf("%s/%s/%s: Is(err, kind) = false", k, typName, how)
				}
				if got := errors.KindOf(err); got != k {
					t.Errorf("%s/%s/%s: KindOf = %q", k, typName, how, got)
				}
				for _, other := range errors.Kinds() {
					if other != k && errors.Is(err, other) {
						t.Errorf("%s/%s/%s: also matches %q", k, typName, how, other)
					}
				}
			}
		}
	}
}

func TestTypesReachableWithAs(t *testing.T) {
	be := &errors.BrokerError{Broker: "coinbase", Op: "create order", HTTPStatus: 429,
		Kind: errors.ErrRateLimited, RetryAfter: 2 * time.Second, RequestID: "req-1"}
	re := &errors.RiskError{Rule: "max order notional", Symbol: "AAPL", Limit: "1000", Actual: "1500.25"}
	oe := &errors.OrderError{Op: "cancel", LocalID: "L1", ClientOrderID: "C1", OrderID: "B1",
		Kind: errors.ErrOrderNotCancelable}
	se := &errors.StopLossError{Account: "acct", Symbol: "AAPL", Quantity: "10", StopPrice: "95",
		Price: "94.10", Kind: errors.ErrStopLossBreach}
	for how, err := range wrapEach(errors.Join(be, re, oe, se)) {
		var gotBE *errors.BrokerError
		var gotRE *errors.RiskError
		var gotOE *errors.OrderError
		var gotSE *errors.StopLossError
		if !errors.As(err, &gotBE) || gotBE != be {
			t.Errorf("%s: As BrokerError failed", how)
		}
		if !errors.As(err, &gotRE) || gotRE != re {
			t.Errorf("%s: As RiskError failed", how)
		}
		if !errors.As(err, &gotOE) || gotOE != oe {
			t.Errorf("%s: As OrderError failed", how)
		}
		if !errors.As(err, &gotSE) || gotSE != se {
			t.Errorf("%s: As StopLossError failed", how)
		}
	}
}

func TestRiskErrorDefaultsToLimitExceeded(t *testing.T) {
	err := &errors.RiskError{Rule: "max order quantity", Limit: "100", Actual: "101"}
	if !errors.Is(err, errors.ErrRiskLimitExceeded) {
		t.Fatal("RiskError without Kind does not match ErrRiskLimitExceeded")
	}
	if errors.Is(err, errors.ErrTradingHalted) {
		t.Fatal("RiskError without Kind matches ErrTradingHalted")
	}
}

func TestUnwrapReachesCause(t *testing.T) {
	cause := errors.New("connection reset by peer")
	err := &errors.BrokerError{Broker: "etrade", Op: "get order", Kind: errors.ErrNetwork, Err: cause}
	if !errors.Is(err, cause) {
		t.Fatal("Is does not reach the cause")
	}
	if errors.Unwrap(err) != cause {
		t.Fatal("Unwrap does not return the cause")
	}
}

func TestErrorStrings(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"broker full", &errors.BrokerError{Broker: "schwab", Op: "place order", HTTPStatus: 400,
			Code: "INVALID_ARGUMENT", Message: "price must be a multiple of 0.01", Kind: errors.ErrInvalidOrder},
			"schwab: place order: 400 INVALID_ARGUMENT: price must be a multiple of 0.01"},
		{"broker request id", &errors.BrokerError{Broker: "coinbase", Op: "get order", HTTPStatus: 404,
			Message: "order not found", RequestID: "abc-123", Kind: errors.ErrOrderNotFound},
			"coinbase: get order: 404 order not found (request id abc-123)"},
		{"broker detail", &errors.BrokerError{Broker: "schwab", Op: "place order", HTTPStatus: 400,
			Message: "Validation error", Detail: "stopPrice is required for STOP orders", Kind: errors.ErrInvalidOrder},
			"schwab: place order: 400 Validation error (stopPrice is required for STOP orders)"},
		{"broker no message", &errors.BrokerError{Broker: "etrade", Op: "list orders", HTTPStatus: 503,
			Kind: errors.ErrBrokerUnavailable},
			"etrade: list orders: 503 broker unavailable"},
		{"broker cause only", &errors.BrokerError{Broker: "paper", Op: "place order",
			Kind: errors.ErrNetwork, Err: errors.New("dial tcp: refused")},
			"paper: place order: dial tcp: refused"},
		{"risk", &errors.RiskError{Rule: "max order notional", Symbol: "AAPL", Limit: "10000", Actual: "12500.50"},
			"risk: max order notional [AAPL]: risk limit exceeded: limit 10000, actual 12500.50"},
		{"risk data", &errors.RiskError{Rule: "price band", Symbol: "MSFT", Kind: errors.ErrRiskDataUnavailable,
			Reason: "no quote"},
			"risk: price band [MSFT]: risk data unavailable: no quote"},
		{"order", &errors.OrderError{Op: "cancel", LocalID: "7", ClientOrderID: "abc", OrderID: "991",
			Kind: errors.ErrOrderNotCancelable, Reason: "already filled"},
			"order cancel (id 7, client id abc, broker id 991): order not cancelable: already filled"},
		{"order over a cause of its kind says the kind once", &errors.OrderError{Op: "submit", LocalID: "7",
			Symbol: "AAPL", Kind: errors.ErrRiskLimitExceeded, Reason: "refused by the pre-trade check; not sent",
			Err: &errors.RiskError{Rule: "max order quantity", Symbol: "AAPL", Limit: "10", Actual: "20"}},
			"order submit (id 7, AAPL): refused by the pre-trade check; not sent: risk: max order quantity [AAPL]: risk limit exceeded: limit 10, actual 20"},
		{"order over a cause of another kind says both", &errors.OrderError{Op: "submit", LocalID: "7",
			Kind: errors.ErrOutcomeUnknown, Err: &errors.BrokerError{Broker: "schwab", Op: "place order", Kind: errors.ErrNetwork,
				Err: errors.New("read: connection reset")}},
			"order submit (id 7): outcome unknown: schwab: place order: read: connection reset"},
		{"stoploss", &errors.StopLossError{Account: "A1", Symbol: "AAPL", Quantity: "10", StopPrice: "95",
			Price: "93.5", Kind: errors.ErrStopLossBreach},
			"stoploss: A1 AAPL qty 10 stop 95 price 93.5: stop-loss breach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() =\n  %q\nwant\n  %q", got, tt.want)
			}
		})
	}
}

func TestRetryable(t *testing.T) {
	retryable := map[errors.Kind]bool{
		errors.ErrRateLimited: true, errors.ErrNetwork: true,
		errors.ErrTimeout: true, errors.ErrBrokerUnavailable: true,
	}
	for _, k := range errors.Kinds() {
		for how, err := range wrapEach(&errors.BrokerError{Broker: "b", Kind: k}) {
			if got := errors.Retryable(err); got != retryable[k] {
				t.Errorf("Retryable(%s, %s) = %v, want %v", k, how, got, retryable[k])
			}
		}
	}
	if errors.Retryable(nil) {
		t.Error("Retryable(nil) = true")
	}
	if errors.Retryable(errors.New("plain")) {
		t.Error("Retryable(plain error) = true")
	}
	// An unknown outcome is never retryable, even if it also wraps a
	// transient cause.
	unknown := &errors.BrokerError{Broker: "schwab", Op: "place order", Kind: errors.ErrOutcomeUnknown,
		Err: &errors.BrokerError{Kind: errors.ErrTimeout}}
	if errors.Retryable(unknown) {
		t.Error("Retryable(outcome unknown wrapping timeout) = true")
	}
	canceled := &errors.BrokerError{Broker: "schwab", Op: "get order", Kind: errors.ErrNetwork, Err: context.Canceled}
	if errors.Retryable(canceled) {
		t.Error("Retryable(network error from a cancelled context) = true")
	}
}

func TestRetryAfter(t *testing.T) {
	err := fmt.Errorf("x: %w", &errors.BrokerError{Kind: errors.ErrRateLimited, RetryAfter: 3 * time.Second})
	if d, ok := errors.RetryAfter(err); !ok || d != 3*time.Second {
		t.Errorf("RetryAfter = %v, %v; want 3s, true", d, ok)
	}
	if _, ok := errors.RetryAfter(&errors.BrokerError{Kind: errors.ErrRateLimited}); ok {
		t.Error("RetryAfter without a hint reports one")
	}
	if _, ok := errors.RetryAfter(errors.New("plain")); ok {
		t.Error("RetryAfter of a plain error reports one")
	}
}

func TestKindOfPlainAndNil(t *testing.T) {
	if k := errors.KindOf(nil); k != "" {
		t.Errorf("KindOf(nil) = %q", k)
	}
	if k := errors.KindOf(errors.New("plain")); k != "" {
		t.Errorf("KindOf(plain) = %q", k)
	}
}

func TestKindsAreDistinctAndNamed(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range errors.Kinds() {
		if strings.TrimSpace(string(k)) == "" || seen[string(k)] {
			t.Errorf("kind %q empty or duplicated", k)
		}
		seen[string(k)] = true
	}
	if len(seen) < 24 {
		t.Errorf("only %d kinds", len(seen))
	}
}
