package etrade

import (
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// CheckOrder refuses, without calling E*TRADE, a request E*TRADE is known
// to refuse: an error matching errors.ErrNotSupported whose reason names
// the field. pyetrade's place_equity_order documentation (and E*TRADE's
// order API reference it copies) says IMMEDIATE_OR_CANCEL and FILL_OR_KILL
// are for LIMIT orders only, and that the EXTENDED market session takes
// LIMIT orders only. Prices below $1 may carry 4 decimals (etrade.md
// §7.1); they are accepted. PlaceOrder and ReplaceOrder apply it before
// sending anything.
func (b *Broker) CheckOrder(req broker.OrderRequest) error { return checkRequest(req) }

// clientOrderIDRule is E*TRADE's: at most 20 letters and digits
// (etrade.md, PlaceOrderRequest.clientOrderId).
var clientOrderIDRule = broker.ClientOrderIDRule{MaxLen: 20, Alphanumeric: true}

func checkRequest(req broker.OrderRequest) error {
	if err := clientOrderIDRule.Check(req.ClientOrderID); err != nil {
		return &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Reason: "E*TRADE's client order id rule", Kind: errors.ErrInvalidOrder, Err: err}
	}
	refuse := func(reason string) error {
		return &errors.OrderError{Op: "submit", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Reason: reason, Kind: errors.ErrNotSupported}
	}
	switch {
	case req.Instrument.AssetClass != broker.Equity:
		return refuse("instrument.asset_class: the etrade adapter trades equities only")
	case (req.TimeInForce == broker.IOC || req.TimeInForce == broker.FOK) && req.Type != broker.Limit:
		return refuse("time_in_force: E*TRADE takes " + req.TimeInForce.String() + " on limit orders only, not " + req.Type.String())
	case req.ExtendedHours && req.Type != broker.Limit:
		return refuse("extended_hours: E*TRADE's extended session takes limit orders only, not " + req.Type.String())
	}
	return nil
}
