package errors

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// BrokerError is a failure reported by (or while talking to) a broker. The
// adapter decodes the broker's error body into it; nothing is swallowed.
//
// Its string reads like "schwab: place order: 400 INVALID_ARGUMENT: price must
// be a multiple of 0.01 (request id 7c1e…)".
type BrokerError struct {
	Broker     string // "schwab", "coinbase", "etrade", "paper"
	Op         string // the operation, e.g. "place order"
	HTTPStatus int    // 0 when no HTTP answer was received
	Code       string // the broker's own error code, if any
	Message    string // the broker's message, decoded from its body
	// Detail is the broker's longer explanation, kept apart from Message
	// (Schwab's errors[].detail, Coinbase's error_details); empty if none.
	Detail     string
	RequestID  string        // the broker's request or correlation id, if any
	RetryAfter time.Duration // the broker's hint, 0 if none
	Kind       Kind          // the class of failure; matched by Is
	Err        error         // the underlying cause, if any
}

// Error formats the error for a human.
func (e *BrokerError) Error() string {
	var b strings.Builder
	writePrefix(&b, e.Broker, e.Op)
	if e.HTTPStatus != 0 {
		b.WriteString(strconv.Itoa(e.HTTPStatus))
		b.WriteByte(' ')
	}
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	}
	switch {
	case e.Message != "":
		b.WriteString(e.Message)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	case e.Kind != "":
		b.WriteString(string(e.Kind))
	default:
		b.WriteString("error")
	}
	if e.Detail != "" && e.Detail != e.Message {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteByte(')')
	}
	if e.Message != "" && e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteByte(')')
	}
	return b.String()
}

// Is reports whether target is the error's kind.
func (e *BrokerError) Is(target error) bool { return isKind(e.Kind, target) }

// Unwrap returns the underlying cause.
func (e *BrokerError) Unwrap() error { return e.Err }

// RiskError is a refusal by a pre-trade risk rule. Limit and Actual are the
// rule's limit and the value the order would have reached, formatted as
// decimals (this package depends on the standard library only).
type RiskError struct {
	Rule   string // the rule's name, e.g. "max order notional"
	Symbol string // the instrument, if the rule is per symbol
	Limit  string // the limit, e.g. "10000"
	Actual string // what the order would have reached, e.g. "12500.50"
	Reason string // extra detail for a human, optional
	Kind   Kind   // ErrRiskLimitExceeded unless set (ErrTradingHalted, ErrRiskDataUnavailable)
	Err    error  // the underlying cause (a failed data source), if any
}

// Error formats the refusal for a human.
func (e *RiskError) Error() string {
	var b strings.Builder
	b.WriteString("risk: ")
	b.WriteString(e.Rule)
	if e.Symbol != "" {
		b.WriteString(" [")
		b.WriteString(e.Symbol)
		b.WriteByte(']')
	}
	b.WriteString(": ")
	b.WriteString(string(e.kind()))
	if e.Limit != "" || e.Actual != "" {
		fmt.Fprintf(&b, ": limit %s, actual %s", orNone(e.Limit), orNone(e.Actual))
	}
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *RiskError) kind() Kind {
	if e.Kind == "" {
		return ErrRiskLimitExceeded
	}
	return e.Kind
}

// Is reports whether target is the error's kind (ErrRiskLimitExceeded when
// Kind is unset).
func (e *RiskError) Is(target error) bool { return isKind(e.kind(), target) }

// Unwrap returns the underlying cause.
func (e *RiskError) Unwrap() error { return e.Err }

// OrderError is a failure about one order, carrying its identifiers so that a
// caller can find the order again.
type OrderError struct {
	Op            string // e.g. "submit", "cancel", "apply fill"
	LocalID       string // arbion's own id for the order, if tracked
	ClientOrderID string // the client order id sent to the broker
	OrderID       string // the broker's order id, if known
	Symbol        string
	Reason        string // detail for a human
	Kind          Kind
	Err           error
}

// Error formats the error for a human.
func (e *OrderError) Error() string {
	var b strings.Builder
	b.WriteString("order")
	if e.Op != "" {
		b.WriteByte(' ')
		b.WriteString(e.Op)
	}
	var ids []string
	if e.LocalID != "" {
		ids = append(ids, "id "+e.LocalID)
	}
	if e.ClientOrderID != "" {
		ids = append(ids, "client id "+e.ClientOrderID)
	}
	if e.OrderID != "" {
		ids = append(ids, "broker id "+e.OrderID)
	}
	if e.Symbol != "" {
		ids = append(ids, e.Symbol)
	}
	if len(ids) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(ids, ", "))
		b.WriteByte(')')
	}
	b.WriteString(": ")
	writeDetail(&b, e.Kind, e.Reason, e.Err)
	return b.String()
}

// Is reports whether target is the error's kind.
func (e *OrderError) Is(target error) bool { return isKind(e.Kind, target) }

// Unwrap returns the underlying cause.
func (e *OrderError) Unwrap() error { return e.Err }

// StopLossError is a failure to protect a position, or a breach of its stop.
// Quantities and prices are formatted decimals.
type StopLossError struct {
	Account   string
	Symbol    string
	Quantity  string // the signed position quantity
	StopPrice string // the stop that was breached or could not be placed
	Price     string // the price seen, for a breach
	Reason    string
	Kind      Kind // ErrStopLossBreach, ErrStopNotPlaced, ...
	Err       error
}

// Error formats the error for a human.
func (e *StopLossError) Error() string {
	var b strings.Builder
	b.WriteString("stoploss: ")
	if e.Account != "" {
		b.WriteString(e.Account)
		b.WriteByte(' ')
	}
	b.WriteString(e.Symbol)
	if e.Quantity != "" {
		b.WriteString(" qty ")
		b.WriteString(e.Quantity)
	}
	if e.StopPrice != "" {
		b.WriteString(" stop ")
		b.WriteString(e.StopPrice)
	}
	if e.Price != "" {
		b.WriteString(" price ")
		b.WriteString(e.Price)
	}
	b.WriteString(": ")
	writeDetail(&b, e.Kind, e.Reason, e.Err)
	return b.String()
}

// Is reports whether target is the error's kind.
func (e *StopLossError) Is(target error) bool { return isKind(e.Kind, target) }

// Unwrap returns the underlying cause.
func (e *StopLossError) Unwrap() error { return e.Err }

func isKind(k Kind, target error) bool {
	t, ok := target.(Kind)
	return ok && k != "" && t == k
}

func writePrefix(b *strings.Builder, broker, op string) {
	if broker != "" {
		b.WriteString(broker)
		b.WriteString(": ")
	}
	if op != "" {
		b.WriteString(op)
		b.WriteString(": ")
	}
}

func writeDetail(b *strings.Builder, k Kind, reason string, err error) {
	parts := make([]string, 0, 3)
	// A cause of the same kind says the kind itself: saying it twice
	// ("risk limit exceeded: ... risk limit exceeded") helps nobody.
	if k != "" && (err == nil || KindOf(err) != k) {
		parts = append(parts, string(k))
	}
	if reason != "" {
		parts = append(parts, reason)
	}
	if err != nil {
		parts = append(parts, err.Error())
	}
	if len(parts) == 0 {
		parts = append(parts, "error")
	}
	b.WriteString(strings.Join(parts, ": "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
