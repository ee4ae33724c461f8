package schwabtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// The emulator's own reading of the OrderRequest body (spec §6.1–6.4).

// flexNumber accepts a JSON number or a string holding one, as Schwab does
// for prices, and remembers which it was.
type flexNumber struct {
	value     decimal.Decimal
	set       bool
	wasString bool
}

func (f *flexNumber) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		u, err := strconv.Unquote(s)
		if err != nil {
			return err
		}
		s, f.wasString = u, true
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("%q is not a number", s)
	}
	f.value, f.set = d, true
	return nil
}

type instrumentBody struct {
	Symbol    string `json:"symbol"`
	AssetType string `json:"assetType"`
}

type legBody struct {
	Instruction string         `json:"instruction"`
	Quantity    flexNumber     `json:"quantity"`
	Instrument  instrumentBody `json:"instrument"`
}

type orderBody struct {
	Session                  string           `json:"session"`
	Duration                 string           `json:"duration"`
	OrderType                string           `json:"orderType"`
	ComplexOrderStrategyType string           `json:"complexOrderStrategyType"`
	OrderStrategyType        string           `json:"orderStrategyType"`
	Price                    flexNumber       `json:"price"`
	StopPrice                flexNumber       `json:"stopPrice"`
	StopType                 string           `json:"stopType"`
	StopPriceLinkBasis       string           `json:"stopPriceLinkBasis"`
	StopPriceLinkType        string           `json:"stopPriceLinkType"`
	StopPriceOffset          flexNumber       `json:"stopPriceOffset"`
	SpecialInstruction       string           `json:"specialInstruction"`
	OrderLegCollection       []legBody        `json:"orderLegCollection"`
	ChildOrderStrategies     []orderBody      `json:"childOrderStrategies"`
	RequestedDestination     *json.RawMessage `json:"requestedDestination"`
	OrderID                  *json.RawMessage `json:"orderId"`
	Status                   *json.RawMessage `json:"status"`
}

var (
	sessions   = []string{"NORMAL", "AM", "PM", "SEAMLESS"}
	durations  = []string{"DAY", "GOOD_TILL_CANCEL", "FILL_OR_KILL", "IMMEDIATE_OR_CANCEL", "END_OF_WEEK", "END_OF_MONTH", "NEXT_END_OF_MONTH"}
	orderTypes = []string{"MARKET", "LIMIT", "STOP", "STOP_LIMIT", "TRAILING_STOP", "TRAILING_STOP_LIMIT",
		"MARKET_ON_CLOSE", "LIMIT_ON_CLOSE", "NET_DEBIT", "NET_CREDIT", "NET_ZERO", "EXERCISE", "CABINET", "NON_MARKETABLE"}
	equityInstructions = []string{"BUY", "SELL", "BUY_TO_COVER", "SELL_SHORT", "SELL_SHORT_EXEMPT"}
	optionInstructions = []string{"BUY_TO_OPEN", "BUY_TO_CLOSE", "SELL_TO_OPEN", "SELL_TO_CLOSE"}
	linkBases          = []string{"MANUAL", "BASE", "TRIGGER", "LAST", "BID", "ASK", "ASK_BID", "MARK", "AVERAGE"}
	linkTypes          = []string{"VALUE", "PERCENT", "TICK"}
	// allStatuses is every status the list filter accepts (spec §6.11).
	allStatuses = []string{"AWAITING_PARENT_ORDER", "AWAITING_CONDITION", "AWAITING_STOP_CONDITION",
		"AWAITING_MANUAL_REVIEW", "ACCEPTED", "AWAITING_UR_OUT", "PENDING_ACTIVATION", "QUEUED", "WORKING",
		"REJECTED", "PENDING_CANCEL", "CANCELED", "PENDING_REPLACE", "REPLACED", "FILLED", "EXPIRED", "NEW",
		"AWAITING_RELEASE_TIME", "PENDING_ACKNOWLEDGEMENT", "PENDING_RECALL", "UNKNOWN"}
	finalStatuses = []string{"FILLED", "CANCELED", "REJECTED", "EXPIRED", "REPLACED"}
)

// decodeOrderBody parses and validates a place/replace body; a non-empty
// problem is the 400 message.
func decodeOrderBody(body []byte) (orderBody, string) {
	var ob orderBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&ob); err != nil {
		return ob, "A validation error occurred while processing the request: " + err.Error()
	}
	if dec.More() {
		return ob, "A validation error occurred while processing the request: trailing data"
	}
	return ob, validateOrderBody(ob, 0)
}

func validateOrderBody(ob orderBody, depth int) string {
	if depth > 4 {
		return "order nesting too deep"
	}
	switch {
	case ob.RequestedDestination != nil:
		return "requestedDestination is not allowed"
	case ob.OrderID != nil || ob.Status != nil:
		return "orderId and status are response fields"
	}
	switch ob.OrderStrategyType {
	case "OCO":
		if len(ob.ChildOrderStrategies) < 2 {
			return "an OCO order needs two child orders"
		}
		for _, c := range ob.ChildOrderStrategies {
			if msg := validateOrderBody(c, depth+1); msg != "" {
				return msg
			}
		}
		return ""
	case "SINGLE", "TRIGGER":
	default:
		return fmt.Sprintf("'%s' is not a valid value for orderStrategyType", ob.OrderStrategyType)
	}
	if msg := validateSingle(ob); msg != "" {
		return msg
	}
	if ob.OrderStrategyType == "TRIGGER" && len(ob.ChildOrderStrategies) == 0 {
		return "a TRIGGER order needs a child order"
	}
	if ob.OrderStrategyType == "SINGLE" && len(ob.ChildOrderStrategies) > 0 {
		return "a SINGLE order has no child orders"
	}
	for _, c := range ob.ChildOrderStrategies {
		if msg := validateOrderBody(c, depth+1); msg != "" {
			return msg
		}
	}
	return ""
}

func validateSingle(ob orderBody) string {
	switch {
	case !slices.Contains(sessions, ob.Session):
		return fmt.Sprintf("'%s' is not a valid value for session", ob.Session)
	case !slices.Contains(durations, ob.Duration):
		return fmt.Sprintf("'%s' is not a valid value for duration", ob.Duration)
	case !slices.Contains(orderTypes, ob.OrderType):
		return fmt.Sprintf("'%s' is not a valid value for orderType", ob.OrderType)
	case len(ob.OrderLegCollection) == 0:
		return "orderLegCollection is required"
	}
	if msg := validatePrices(ob); msg != "" {
		return msg
	}
	if msg := validateCombination(ob); msg != "" {
		return msg
	}
	for _, leg := range ob.OrderLegCollection {
		if msg := validateLeg(leg); msg != "" {
			return msg
		}
	}
	return ""
}

// validateCombination refuses what Schwab refuses although each field is
// valid alone: IMMEDIATE_OR_CANCEL on an equity (schwab-py issue 226) and
// an extended session on anything but an equity LIMIT order (lumibot PR
// 1112).
func validateCombination(ob orderBody) string {
	equity := false
	for _, leg := range ob.OrderLegCollection {
		equity = equity || leg.Instrument.AssetType == "EQUITY"
	}
	switch {
	case equity && ob.Duration == "IMMEDIATE_OR_CANCEL":
		return "IMMEDIATE_OR_CANCEL is not a valid duration for an EQUITY order"
	case ob.Session != "NORMAL" && (!equity || ob.OrderType != "LIMIT"):
		return fmt.Sprintf("session %s is only valid for EQUITY LIMIT orders", ob.Session)
	}
	return ""
}

func validatePrices(ob orderBody) string {
	needPrice := ob.OrderType == "LIMIT" || ob.OrderType == "STOP_LIMIT" || strings.HasPrefix(ob.OrderType, "NET_")
	needStop := ob.OrderType == "STOP" || ob.OrderType == "STOP_LIMIT"
	switch {
	case needPrice && (!ob.Price.set || !ob.Price.value.IsPositive()):
		return "price is required and must be positive for a " + ob.OrderType + " order"
	case !needPrice && ob.Price.set && ob.OrderType != "TRAILING_STOP_LIMIT":
		return "price is not allowed for a " + ob.OrderType + " order"
	case needStop && (!ob.StopPrice.set || !ob.StopPrice.value.IsPositive()):
		return "stopPrice is required and must be positive for a " + ob.OrderType + " order"
	case !needStop && ob.StopPrice.set:
		return "stopPrice is not allowed for a " + ob.OrderType + " order"
	}
	if strings.HasPrefix(ob.OrderType, "TRAILING_STOP") {
		switch {
		case !slices.Contains(linkBases, ob.StopPriceLinkBasis):
			return fmt.Sprintf("'%s' is not a valid value for stopPriceLinkBasis", ob.StopPriceLinkBasis)
		case !slices.Contains(linkTypes, ob.StopPriceLinkType):
			return fmt.Sprintf("'%s' is not a valid value for stopPriceLinkType", ob.StopPriceLinkType)
		case !ob.StopPriceOffset.set || !ob.StopPriceOffset.value.IsPositive():
			return "stopPriceOffset is required for a trailing stop"
		}
	}
	return ""
}

func validateLeg(leg legBody) string {
	switch leg.Instrument.AssetType {
	case "EQUITY":
		if !slices.Contains(equityInstructions, leg.Instruction) {
			return fmt.Sprintf("'%s' is not a valid instruction for an EQUITY leg", leg.Instruction)
		}
	case "OPTION":
		if !slices.Contains(optionInstructions, leg.Instruction) {
			return fmt.Sprintf("'%s' is not a valid instruction for an OPTION leg", leg.Instruction)
		}
	default:
		return fmt.Sprintf("'%s' is not a valid value for assetType", leg.Instrument.AssetType)
	}
	switch {
	case leg.Instrument.Symbol == "":
		return "instrument.symbol is required"
	case !leg.Quantity.set || !leg.Quantity.value.IsPositive():
		return "quantity must be positive"
	case !leg.Quantity.value.Equal(leg.Quantity.value.Truncate(0)):
		return "fractional quantities are not supported"
	}
	return ""
}
