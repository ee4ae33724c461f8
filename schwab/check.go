package schwab

import (
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
)

var _ broker.OrderChecker = (*Broker)(nil)

// CheckOrder refuses, with an error matching errors.ErrNotSupported that
// names the field, the requests Schwab is known to answer with 400:
//
//   - time_in_force IOC on an equity: Schwab refuses IMMEDIATE_OR_CANCEL
//     for equities and accepts FILL_OR_KILL, DAY and GOOD_TILL_CANCEL
//     (schwab-py issue 226, https://github.com/alexgolec/schwab-py/issues/226).
//   - extended_hours on anything but an equity LIMIT order: the SEAMLESS
//     session takes limit orders on equities only (lumibot PR 1112,
//     https://github.com/Lumiwealth/lumibot/pull/1112). A protective stop
//     with ExtendedHours is refused here rather than sent as SEAMLESS.
//
// It makes no request. PlaceOrder and ReplaceOrder call it before sending.
func (b *Broker) CheckOrder(req broker.OrderRequest) error { return checkOrder(req) }

func checkOrder(req broker.OrderRequest) error {
	refuse := func(reason string) error {
		return &errors.OrderError{Op: "check", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Reason: reason, Kind: errors.ErrNotSupported}
	}
	equity := req.Instrument.AssetClass == broker.Equity
	switch {
	case equity && req.TimeInForce == broker.IOC:
		return refuse("time_in_force: Schwab refuses IMMEDIATE_OR_CANCEL on equities (FOK, DAY and GTC are accepted)")
	case req.ExtendedHours && !(equity && req.Type == broker.Limit):
		return refuse("extended_hours: Schwab's extended session (SEAMLESS) takes equity LIMIT orders only, not " +
			req.Instrument.AssetClass.String() + " " + req.Type.String())
	}
	return nil
}
