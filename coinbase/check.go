package coinbase

import (
	"fmt"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

// CheckOrder refuses, without calling Coinbase, a placement Coinbase spot
// is known to refuse: an error matching errors.ErrNotSupported whose reason
// names the field. It checks place rules only; [Broker.CheckReplace] adds
// the edit rules. Values (increments, product state) are checked at
// placement, against the product.
func (b *Broker) CheckOrder(req broker.OrderRequest) error {
	return checkPlace(req, "place")
}

// CheckReplace refuses, without calling Coinbase, an edit Coinbase is
// documented to refuse: besides the place rules, only limit orders good
// till cancelled (the official Python client's edit_order documentation)
// and stop-limit orders (newer reference pages) can be edited, so a limit
// order with time in force Day (good-till-date) or IOC/FOK cannot.
// ReplaceOrder applies it before sending anything.
func (b *Broker) CheckReplace(req broker.OrderRequest) error {
	if err := checkPlace(req, "replace"); err != nil {
		return err
	}
	switch {
	case req.Type != broker.Limit && req.Type != broker.StopLimit:
		return notSupported(req, "replace", "type", "coinbase edits limit and stop-limit orders only, not %s", req.Type)
	case req.Type == broker.Limit && req.TimeInForce != broker.GTC:
		return notSupported(req, "replace", "time_in_force",
			"coinbase edits good-till-cancelled limit orders only, not %s", req.TimeInForce)
	}
	return nil
}

// clientOrderIDRule is Coinbase's: up to 128 characters, UUIDs
// recommended (coinbase.md, create order).
var clientOrderIDRule = broker.ClientOrderIDRule{MaxLen: 128}

func checkPlace(req broker.OrderRequest, op string) error {
	if req.ClientOrderID != "" || op == "place" {
		if err := clientOrderIDRule.Check(req.ClientOrderID); err != nil {
			return &errors.OrderError{Op: op, ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
				Reason: "Coinbase's client order id rule", Kind: errors.ErrInvalidOrder, Err: err}
		}
	}
	switch {
	case req.Instrument.AssetClass != broker.Crypto:
		return notSupported(req, op, "instrument.asset_class", "coinbase trades crypto only, not %s", req.Instrument.AssetClass)
	case req.Side != broker.Buy && req.Side != broker.Sell:
		return notSupported(req, op, "side", "spot cannot %s: no shorting on Coinbase spot", req.Side)
	case req.Type == broker.Stop || req.Type == broker.TrailingStop:
		return notSupported(req, op, "type", "coinbase spot has no %s orders; use stop_limit", req.Type)
	case req.Type == broker.StopLimit && (req.TimeInForce == broker.IOC || req.TimeInForce == broker.FOK):
		return notSupported(req, op, "time_in_force", "a stop-limit order is gtc or good-till-date, not %s", req.TimeInForce)
	}
	return nil
}

func notSupported(req broker.OrderRequest, op, field, format string, args ...any) error {
	return &errors.OrderError{Op: op, ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
		Reason: field + ": " + fmt.Sprintf(format, args...), Kind: errors.ErrNotSupported}
}
