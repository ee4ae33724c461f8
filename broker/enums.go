package broker

import (
	"fmt"

	"github.com/arbiontrader/arbion/errors"
)

// enumNames maps an enum's values (0, 1, 2, ...) to their text form. Index 0
// is the unset value and has the empty name.
type enumNames []string

func (n enumNames) name(v uint8, typ string) string {
	if int(v) < len(n) && v != 0 {
		return n[v]
	}
	if v == 0 {
		return "unspecified"
	}
	return fmt.Sprintf("%s(%d)", typ, v)
}

func (n enumNames) marshal(v uint8, typ string) ([]byte, error) {
	if int(v) >= len(n) {
		return nil, fmt.Errorf("broker: invalid %s value %d: %w", typ, v, errors.ErrInvalidOrder)
	}
	return []byte(n[v]), nil
}

func (n enumNames) parse(text []byte, typ string) (uint8, error) {
	s := string(text)
	for i, name := range n {
		if name == s {
			return uint8(i), nil
		}
	}
	return 0, fmt.Errorf("broker: unknown %s %q: %w", typ, s, errors.ErrInvalidOrder)
}

func (n enumNames) valid(v uint8) bool { return v != 0 && int(v) < len(n) }

// AssetClass is the kind of instrument.
type AssetClass uint8

// Asset classes. The zero value is unset and invalid in a request.
const (
	Equity AssetClass = iota + 1 // stocks and ETFs
	Option                       // listed options (OCC symbols)
	Crypto                       // spot crypto pairs such as BTC-USD
)

var assetClassNames = enumNames{"", "equity", "option", "crypto"}

// String returns the asset class's text form ("equity", "option", "crypto").
func (a AssetClass) String() string { return assetClassNames.name(uint8(a), "AssetClass") }

// Valid reports whether a is one of the defined asset classes.
func (a AssetClass) Valid() bool { return assetClassNames.valid(uint8(a)) }

// MarshalText implements encoding.TextMarshaler.
func (a AssetClass) MarshalText() ([]byte, error) {
	return assetClassNames.marshal(uint8(a), "asset class")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *AssetClass) UnmarshalText(text []byte) error {
	v, err := assetClassNames.parse(text, "asset class")
	*a = AssetClass(v)
	return err
}

// Side is the direction of an order. Brokers that distinguish opening a short
// from selling a long (Schwab, E*TRADE) need SellShort and BuyToCover; spot
// crypto brokers accept only Buy and Sell.
type Side uint8

// Sides. The zero value is unset and invalid in a request.
const (
	Buy        Side = iota + 1 // buy to open or add to a long
	Sell                       // sell a long
	SellShort                  // sell to open or add to a short
	BuyToCover                 // buy to close a short
)

var sideNames = enumNames{"", "buy", "sell", "sell_short", "buy_to_cover"}

// String returns the side's text form ("buy", "sell", "sell_short", "buy_to_cover").
func (s Side) String() string { return sideNames.name(uint8(s), "Side") }

// Valid reports whether s is one of the defined sides.
func (s Side) Valid() bool { return sideNames.valid(uint8(s)) }

// IsBuy reports whether the side increases the position (Buy, BuyToCover).
func (s Side) IsBuy() bool { return s == Buy || s == BuyToCover }

// MarshalText implements encoding.TextMarshaler.
func (s Side) MarshalText() ([]byte, error) { return sideNames.marshal(uint8(s), "side") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Side) UnmarshalText(text []byte) error {
	v, err := sideNames.parse(text, "side")
	*s = Side(v)
	return err
}

// OrderType is how an order's price is determined.
type OrderType uint8

// Order types. The zero value is unset and invalid in a request.
const (
	Market       OrderType = iota + 1 // at the best available price
	Limit                             // at the limit price or better
	Stop                              // a market order once the stop price trades
	StopLimit                         // a limit order once the stop price trades
	TrailingStop                      // a stop that follows the price by a trail
)

var orderTypeNames = enumNames{"", "market", "limit", "stop", "stop_limit", "trailing_stop"}

// String returns the order type's text form ("market", "limit", "stop",
// "stop_limit", "trailing_stop").
func (t OrderType) String() string { return orderTypeNames.name(uint8(t), "OrderType") }

// Valid reports whether t is one of the defined order types.
func (t OrderType) Valid() bool { return orderTypeNames.valid(uint8(t)) }

// MarshalText implements encoding.TextMarshaler.
func (t OrderType) MarshalText() ([]byte, error) {
	return orderTypeNames.marshal(uint8(t), "order type")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *OrderType) UnmarshalText(text []byte) error {
	v, err := orderTypeNames.parse(text, "order type")
	*t = OrderType(v)
	return err
}

// TimeInForce is how long an order stays working.
type TimeInForce uint8

// Times in force. The zero value is unset; [OrderRequest.Validate] treats it
// as invalid so that no order goes out with an assumed lifetime.
const (
	Day TimeInForce = iota + 1 // until the end of the trading day
	GTC                        // good till cancelled
	IOC                        // immediate or cancel: fill what can be filled now
	FOK                        // fill or kill: all now or nothing
)

var timeInForceNames = enumNames{"", "day", "gtc", "ioc", "fok"}

// String returns the time in force's text form ("day", "gtc", "ioc", "fok").
func (t TimeInForce) String() string { return timeInForceNames.name(uint8(t), "TimeInForce") }

// Valid reports whether t is one of the defined times in force.
func (t TimeInForce) Valid() bool { return timeInForceNames.valid(uint8(t)) }

// MarshalText implements encoding.TextMarshaler.
func (t TimeInForce) MarshalText() ([]byte, error) {
	return timeInForceNames.marshal(uint8(t), "time in force")
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *TimeInForce) UnmarshalText(text []byte) error {
	v, err := timeInForceNames.parse(text, "time in force")
	*t = TimeInForce(v)
	return err
}

// Status is an order's normalized status, the same for every broker (see
// docs/ORDER_STATES.md). The broker's own status string is kept
// beside it on [Order.RawStatus].
type Status uint8

// Statuses. StatusUnknown is the zero value: a broker status the adapter does
// not recognise. It is not terminal: the order is kept and polled.
const (
	StatusUnknown         Status = iota // unrecognised broker status; not terminal
	StatusPendingNew                    // sent (or about to be); not yet acknowledged
	StatusNew                           // acknowledged and working; nothing filled
	StatusPartiallyFilled               // working with 0 < filled < quantity
	StatusFilled                        // filled == quantity
	StatusPendingCancel                 // cancel requested, not confirmed
	StatusCanceled                      // cancelled; may carry fills
	StatusPendingReplace                // replace requested, not confirmed
	StatusReplaced                      // superseded by a new order; keeps its fills
	StatusRejected                      // refused by the broker or by the risk engine
	StatusExpired                       // time in force ran out; may carry fills
)

var statusNames = enumNames{"unknown", "pending_new", "new", "partially_filled", "filled",
	"pending_cancel", "canceled", "pending_replace", "replaced", "rejected", "expired"}

// String returns the status's text form, e.g. "partially_filled".
func (s Status) String() string {
	if s == StatusUnknown {
		return "unknown"
	}
	return statusNames.name(uint8(s), "Status")
}

// Valid reports whether s is one of the defined statuses, StatusUnknown included.
func (s Status) Valid() bool { return int(s) < len(statusNames) }

// Terminal reports whether the order can no longer work at the broker:
// filled, canceled, replaced, rejected or expired. A terminal order may still
// receive a late fill report.
func (s Status) Terminal() bool {
	switch s {
	case StatusFilled, StatusCanceled, StatusReplaced, StatusRejected, StatusExpired:
		return true
	}
	return false
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return statusNames.marshal(uint8(s), "status") }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Status) UnmarshalText(text []byte) error {
	v, err := statusNames.parse(text, "status")
	*s = Status(v)
	return err
}
