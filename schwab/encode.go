package schwab

import (
	"encoding/json"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// Wire types of the OrderRequest body, encode side (spec §6.1–6.4). Prices
// go out as decimal strings, quantities as JSON integers; no
// requestedDestination, no response-only field.

type wireRequestInstrument struct {
	Symbol    string `json:"symbol"`
	AssetType string `json:"assetType"`
}

type wireRequestLeg struct {
	Instruction string                `json:"instruction"`
	Quantity    json.Number           `json:"quantity"`
	Instrument  wireRequestInstrument `json:"instrument"`
}

type wireRequest struct {
	OrderType                string           `json:"orderType"`
	ComplexOrderStrategyType string           `json:"complexOrderStrategyType"`
	Session                  string           `json:"session"`
	Duration                 string           `json:"duration"`
	OrderStrategyType        string           `json:"orderStrategyType"`
	Price                    string           `json:"price,omitempty"`
	StopPrice                string           `json:"stopPrice,omitempty"`
	StopPriceLinkBasis       string           `json:"stopPriceLinkBasis,omitempty"`
	StopPriceLinkType        string           `json:"stopPriceLinkType,omitempty"`
	StopPriceOffset          json.Number      `json:"stopPriceOffset,omitempty"`
	OrderLegCollection       []wireRequestLeg `json:"orderLegCollection"`
}

var durationOf = map[broker.TimeInForce]string{
	broker.Day: "DAY", broker.GTC: "GOOD_TILL_CANCEL", broker.IOC: "IMMEDIATE_OR_CANCEL", broker.FOK: "FILL_OR_KILL",
}

var orderTypeName = map[broker.OrderType]string{
	broker.Market: "MARKET", broker.Limit: "LIMIT", broker.Stop: "STOP",
	broker.StopLimit: "STOP_LIMIT", broker.TrailingStop: "TRAILING_STOP",
}

var equityInstruction = map[broker.Side]string{
	broker.Buy: "BUY", broker.Sell: "SELL", broker.SellShort: "SELL_SHORT", broker.BuyToCover: "BUY_TO_COVER",
}

var optionInstruction = map[broker.Side]string{
	broker.Buy: "BUY_TO_OPEN", broker.Sell: "SELL_TO_CLOSE", broker.SellShort: "SELL_TO_OPEN", broker.BuyToCover: "BUY_TO_CLOSE",
}

// encodeRequest validates req, refuses what Schwab is known to refuse
// (see [Broker.CheckOrder]) and builds its JSON body. Every refusal is an
// *errors.OrderError matching errors.ErrInvalidOrder (or ErrNotSupported)
// and nothing is sent.
func encodeRequest(req broker.OrderRequest) ([]byte, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if err := checkOrder(req); err != nil {
		return nil, err
	}
	refuse := func(kind errors.Kind, reason string) error {
		return &errors.OrderError{Op: "place", ClientOrderID: req.ClientOrderID, Symbol: req.Instrument.Symbol,
			Reason: reason, Kind: kind}
	}
	leg := wireRequestLeg{Instrument: wireRequestInstrument{Symbol: req.Instrument.Symbol}}
	switch req.Instrument.AssetClass {
	case broker.Equity:
		leg.Instrument.AssetType, leg.Instruction = "EQUITY", equityInstruction[req.Side]
	case broker.Option:
		leg.Instrument.AssetType, leg.Instruction = "OPTION", optionInstruction[req.Side]
	default:
		return nil, refuse(errors.ErrNotSupported, "schwab trades equities and options only")
	}
	if !req.Quantity.Equal(req.Quantity.Truncate(0)) {
		return nil, refuse(errors.ErrInvalidOrder, "schwab takes whole shares and contracts only, got "+req.Quantity.String())
	}
	leg.Quantity = json.Number(req.Quantity.Truncate(0).String())
	w := wireRequest{
		OrderType:                orderTypeName[req.Type],
		ComplexOrderStrategyType: "NONE",
		Session:                  "NORMAL",
		Duration:                 durationOf[req.TimeInForce],
		OrderStrategyType:        "SINGLE",
		OrderLegCollection:       []wireRequestLeg{leg},
	}
	if req.ExtendedHours {
		w.Session = "SEAMLESS"
	}
	var err error
	if !req.LimitPrice.IsZero() {
		if w.Price, err = formatPrice(req.LimitPrice); err != nil {
			return nil, refuse(errors.ErrInvalidOrder, "limit_price "+err.Error())
		}
	}
	if !req.StopPrice.IsZero() {
		if w.StopPrice, err = formatPrice(req.StopPrice); err != nil {
			return nil, refuse(errors.ErrInvalidOrder, "stop_price "+err.Error())
		}
	}
	if req.Type == broker.TrailingStop {
		w.StopPriceLinkBasis = "BID" // a sell trails the bid, a buy the ask
		if req.Side.IsBuy() {
			w.StopPriceLinkBasis = "ASK"
		}
		w.StopPriceLinkType, w.StopPriceOffset = "VALUE", json.Number(req.TrailAmount.String())
		if !req.TrailPercent.IsZero() {
			w.StopPriceLinkType, w.StopPriceOffset = "PERCENT", json.Number(req.TrailPercent.String())
		}
	}
	return json.Marshal(w)
}

var one = decimal.NewFromInt(1)

// formatPrice writes a price as Schwab wants it: 2 decimals at or above $1,
// 4 below. A price with more places is refused rather than silently
// changed (truncating would send a price the caller did not ask for).
func formatPrice(p decimal.Decimal) (string, error) {
	places := int32(2)
	if p.LessThan(one) {
		places = 4
	}
	if !p.Equal(p.Truncate(places)) {
		return "", errTooManyPlaces(places)
	}
	return p.StringFixed(places), nil
}

type errTooManyPlaces int32

func (e errTooManyPlaces) Error() string {
	if e == 2 {
		return "has more than 2 decimal places (Schwab takes cents at or above $1)"
	}
	return "has more than 4 decimal places (Schwab takes 4 places below $1)"
}
