package coinbasetest

import (
	"encoding/json"
	"time"

	"github.com/shopspring/decimal"
)

// timeFormat writes six fractional digits, like most live payloads.
const timeFormat = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("coinbasetest: encoding a response: " + err.Error())
	}
	return b
}

// obj keeps JSON objects readable in handlers.
type obj = map[string]any

func money(v decimal.Decimal, currency string) obj {
	return obj{"value": v.String(), "currency": currency}
}

func (s *Server) accountJSON(a *account) obj {
	return obj{
		"uuid": a.uuid, "name": a.currency + " Wallet", "currency": a.currency,
		"available_balance": money(a.available, a.currency),
		"default":           true, "active": true,
		"created_at": ts(a.created), "updated_at": ts(a.created), "deleted_at": nil,
		"type": accountType(a.currency), "ready": true,
		"hold":                money(a.hold, a.currency),
		"retail_portfolio_id": s.portfolio, "platform": "ACCOUNT_PLATFORM_CONSUMER",
	}
}

func accountType(currency string) string {
	switch currency {
	case "USD", "EUR", "GBP":
		return "ACCOUNT_TYPE_FIAT"
	}
	return "ACCOUNT_TYPE_CRYPTO"
}

func productJSON(p *product) obj {
	alias := p.AliasTo
	if alias == nil {
		alias = []string{}
	}
	return obj{
		"product_id": p.ID, "price": p.Last.String(),
		"price_percentage_change_24h": "0", "volume_24h": "0", "volume_percentage_change_24h": "0",
		"base_increment": p.BaseIncrement.String(), "quote_increment": p.QuoteIncrement.String(),
		"quote_min_size": p.QuoteMinSize.String(), "quote_max_size": p.QuoteMaxSize.String(),
		"base_min_size": p.BaseMinSize.String(), "base_max_size": p.BaseMaxSize.String(),
		"base_name": p.Base, "quote_name": p.Quote, "watched": false,
		"is_disabled": false, "new": false, "status": "online",
		"cancel_only": p.CancelOnly, "limit_only": p.LimitOnly, "post_only": p.PostOnly,
		"trading_disabled": p.TradingDisabled, "auction_mode": false, "product_type": "SPOT",
		"quote_currency_id": p.Quote, "base_currency_id": p.Base,
		"fcm_trading_session_details": nil, "mid_market_price": "", "alias": "", "alias_to": alias,
		"base_display_symbol": p.Base, "quote_display_symbol": p.Quote, "view_only": false,
		"price_increment": p.priceIncrement().String(), "display_name": p.ID, "product_venue": "CBE",
		"approximate_quote_24h_volume": "0", "new_at": "2023-01-01T00:00:00Z",
	}
}

func level(price, size decimal.Decimal) []obj {
	if !price.IsPositive() {
		return []obj{}
	}
	return []obj{{"price": price.String(), "size": size.String()}}
}

// orderTraits gives the time_in_force and order_type GET reports for a
// configuration key.
func orderTraits(key string) (tif, typ string) {
	switch key {
	case "market_market_ioc":
		return "IMMEDIATE_OR_CANCEL", "MARKET"
	case "market_market_fok":
		return "FILL_OR_KILL", "MARKET"
	case "sor_limit_ioc":
		return "IMMEDIATE_OR_CANCEL", "LIMIT"
	case "limit_limit_gtc":
		return "GOOD_UNTIL_CANCELLED", "LIMIT"
	case "limit_limit_gtd":
		return "GOOD_UNTIL_DATE_TIME", "LIMIT"
	case "limit_limit_fok":
		return "FILL_OR_KILL", "LIMIT"
	case "stop_limit_stop_limit_gtc":
		return "GOOD_UNTIL_CANCELLED", "STOP_LIMIT"
	case "stop_limit_stop_limit_gtd":
		return "GOOD_UNTIL_DATE_TIME", "STOP_LIMIT"
	case "trigger_bracket_gtc":
		return "GOOD_UNTIL_CANCELLED", "BRACKET"
	case "trigger_bracket_gtd":
		return "GOOD_UNTIL_DATE_TIME", "BRACKET"
	}
	return "UNKNOWN_TIME_IN_FORCE", "UNKNOWN_ORDER_TYPE"
}

func (s *Server) orderJSON(o *order) obj {
	tif, typ := orderTraits(o.configKey)
	avg := decimal.Zero
	if o.filledSize.IsPositive() {
		avg = o.filledValue.DivRound(o.filledSize, 16)
	}
	completion := decimal.Zero
	switch {
	case o.quoteSize.IsPositive():
		completion = o.filledValue.Add(o.fees).Div(o.quoteSize).Mul(decimal.NewFromInt(100)).Round(2)
	case o.baseSize.IsPositive():
		completion = o.filledSize.Div(o.baseSize).Mul(decimal.NewFromInt(100)).Round(2)
	}
	after := o.filledValue.Add(o.fees)
	if o.side == "SELL" {
		after = o.filledValue.Sub(o.fees)
	}
	edits := make([]obj, 0, len(o.editHistory))
	for _, e := range o.editHistory {
		edits = append(edits, obj{"price": e.price.String(), "size": e.size.String(), "replace_accept_timestamp": ts(e.at)})
	}
	out := obj{
		"order_id": o.id, "product_id": o.productID, "user_id": "1111111-1111-1111-1111-111111111111",
		"order_configuration": obj{o.configKey: o.config},
		"side":                o.side, "client_order_id": o.clientID, "status": o.status,
		"time_in_force": tif, "created_time": ts(o.created),
		"completion_percentage": completion.StringFixed(2), "filled_size": o.filledSize.String(),
		"average_filled_price": avg.String(), "fee": "", "number_of_fills": itoa(o.numberOfFills),
		"filled_value": o.filledValue.String(), "pending_cancel": o.pendingCancel,
		"size_in_quote": o.quoteSize.IsPositive(), "total_fees": o.fees.String(),
		"size_inclusive_of_fees": o.quoteSize.IsPositive() && o.side == "BUY",
		"total_value_after_fees": after.String(), "trigger_status": o.triggerStatus,
		"order_type": typ, "reject_reason": "REJECT_REASON_UNSPECIFIED", "settled": o.terminal(),
		"product_type": "SPOT", "reject_message": "", "cancel_message": o.cancelMessage,
		"order_placement_source": "RETAIL_ADVANCED", "outstanding_hold_amount": o.holdLeft.String(),
		"is_liquidation": false, "edit_history": edits, "leverage": "", "margin_type": "UNKNOWN_MARGIN_TYPE",
		"retail_portfolio_id": s.portfolio, "originating_order_id": "", "attached_order_id": "",
		"attached_order_configuration": nil,
	}
	if !o.lastFill.IsZero() {
		out["last_fill_time"] = ts(o.lastFill)
	}
	return out
}

func fillJSON(f *fill, portfolio string) obj {
	return obj{
		"entry_id": f.entryID, "trade_id": f.tradeID, "order_id": f.orderID, "trade_time": ts(f.at),
		"trade_type": "FILL", "price": f.price.String(), "size": f.size.String(),
		"commission": f.commission.String(), "product_id": f.productID,
		"sequence_timestamp": ts(f.at), "liquidity_indicator": f.liquidity,
		"size_in_quote": f.sizeInQuote, "user_id": "1111111-1111-1111-1111-111111111111",
		"side": f.side, "retail_portfolio_id": portfolio,
	}
}

func itoa(n int) string { return decimal.NewFromInt(int64(n)).String() }
