package coinbase

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// This file holds the JSON shapes of Advanced Trade v3 as the adapter reads
// and writes them. Every number is a JSON string (a few counters are JSON
// numbers: they are read as json.Number); no amount passes through float64.
// Unknown keys are ignored: Coinbase adds fields over time.

// num is a decimal sent as a JSON string. It also accepts a bare JSON
// number (some fields are numbers) and treats "" and null as zero, as
// Coinbase writes "" for absent amounts (the deprecated "fee").
type num struct{ decimal.Decimal }

// UnmarshalJSON parses "1.5", 1.5, "" and null.
func (n *num) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		n.Decimal = decimal.Zero
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if plain := s[1 : len(s)-1]; !strings.ContainsAny(plain, "\\\"") {
			// No escape: the JSON string is its own text (the common case,
			// spared a second decode per amount on the streams' hot path).
			s = strings.TrimSpace(plain)
		} else {
			var str string
			if err := json.Unmarshal(b, &str); err != nil {
				return err
			}
			s = strings.TrimSpace(str)
		}
	}
	if s == "" {
		n.Decimal = decimal.Zero
		return nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("not a decimal: %q", truncate(s, 40))
	}
	n.Decimal = d
	return nil
}

// stamp is an RFC 3339 time with 0 to 9 fractional digits; "" and null are
// the zero time.
type stamp struct{ time.Time }

// UnmarshalJSON parses the time.
func (t *stamp) UnmarshalJSON(b []byte) error {
	var s *string
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && !bytes.ContainsAny(b[1:len(b)-1], "\\\"") {
		plain := string(b[1 : len(b)-1]) // no escape: the text as sent
		s = &plain
	} else if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return fmt.Errorf("not an RFC 3339 time: %q", truncate(*s, 40))
	}
	t.Time = v
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ---- accounts ----

type wireMoney struct {
	Value    num    `json:"value"`
	Currency string `json:"currency"`
}

type wireAccount struct {
	UUID              string    `json:"uuid"`
	Name              string    `json:"name"`
	Currency          string    `json:"currency"`
	AvailableBalance  wireMoney `json:"available_balance"`
	Hold              wireMoney `json:"hold"`
	Default           bool      `json:"default"`
	Active            bool      `json:"active"`
	Ready             bool      `json:"ready"`
	Type              string    `json:"type"`
	RetailPortfolioID string    `json:"retail_portfolio_id"`
	CreatedAt         stamp     `json:"created_at"`
	DeletedAt         stamp     `json:"deleted_at"`
}

type wireAccountsPage struct {
	Accounts []wireAccount `json:"accounts"`
	HasNext  bool          `json:"has_next"`
	Cursor   string        `json:"cursor"`
	Size     json.Number   `json:"size"`
}

// ---- products and quotes ----

type wireProduct struct {
	ProductID       string   `json:"product_id"`
	Price           num      `json:"price"`
	BaseIncrement   num      `json:"base_increment"`
	QuoteIncrement  num      `json:"quote_increment"`
	PriceIncrement  num      `json:"price_increment"`
	BaseMinSize     num      `json:"base_min_size"`
	BaseMaxSize     num      `json:"base_max_size"`
	QuoteMinSize    num      `json:"quote_min_size"`
	QuoteMaxSize    num      `json:"quote_max_size"`
	Status          string   `json:"status"`
	TradingDisabled bool     `json:"trading_disabled"`
	IsDisabled      bool     `json:"is_disabled"`
	CancelOnly      bool     `json:"cancel_only"`
	LimitOnly       bool     `json:"limit_only"`
	PostOnly        bool     `json:"post_only"`
	ViewOnly        bool     `json:"view_only"`
	BaseCurrencyID  string   `json:"base_currency_id"`
	QuoteCurrencyID string   `json:"quote_currency_id"`
	Alias           string   `json:"alias"`
	AliasTo         []string `json:"alias_to"`
}

type wireLevel struct {
	Price num `json:"price"`
	Size  num `json:"size"`
}

type wirePricebook struct {
	ProductID string      `json:"product_id"`
	Bids      []wireLevel `json:"bids"`
	Asks      []wireLevel `json:"asks"`
	Time      stamp       `json:"time"`
}

type wireBestBidAsk struct {
	Pricebooks []wirePricebook `json:"pricebooks"`
}

// ---- create order ----

// wireCreateOrder is the POST /orders body. Exactly one configuration
// variant is set; omitempty keeps the others (and null members) out.
type wireCreateOrder struct {
	ClientOrderID      string           `json:"client_order_id"`
	ProductID          string           `json:"product_id"`
	Side               string           `json:"side"`
	OrderConfiguration wireOrderConfig  `json:"order_configuration"`
	RetailPortfolioID  string           `json:"retail_portfolio_id,omitempty"`
	AttachedOrderConf  *wireOrderConfig `json:"attached_order_configuration,omitempty"`
}

// wireOrderConfig holds the variants the adapter sends and reads.
type wireOrderConfig struct {
	MarketIOC     *wireMarket    `json:"market_market_ioc,omitempty"`
	MarketFOK     *wireMarket    `json:"market_market_fok,omitempty"`
	SorLimitIOC   *wireLimit     `json:"sor_limit_ioc,omitempty"`
	LimitGTC      *wireLimit     `json:"limit_limit_gtc,omitempty"`
	LimitGTD      *wireLimit     `json:"limit_limit_gtd,omitempty"`
	LimitFOK      *wireLimit     `json:"limit_limit_fok,omitempty"`
	StopLimitGTC  *wireStopLimit `json:"stop_limit_stop_limit_gtc,omitempty"`
	StopLimitGTD  *wireStopLimit `json:"stop_limit_stop_limit_gtd,omitempty"`
	BracketGTC    *wireBracket   `json:"trigger_bracket_gtc,omitempty"`
	BracketGTD    *wireBracket   `json:"trigger_bracket_gtd,omitempty"`
	unknownFields []string       // variant keys the adapter does not know, from decoding
}

type wireMarket struct {
	QuoteSize *num `json:"quote_size,omitempty"`
	BaseSize  *num `json:"base_size,omitempty"`
}

// wireLimit covers the limit variants; PostOnly is sent only by GTC/GTD
// (pointer: absent on IOC/FOK).
type wireLimit struct {
	BaseSize   *num   `json:"base_size,omitempty"`
	QuoteSize  *num   `json:"quote_size,omitempty"`
	LimitPrice num    `json:"limit_price"`
	EndTime    string `json:"end_time,omitempty"`
	PostOnly   *bool  `json:"post_only,omitempty"`
}

type wireStopLimit struct {
	BaseSize      num    `json:"base_size"`
	LimitPrice    num    `json:"limit_price"`
	StopPrice     num    `json:"stop_price"`
	StopDirection string `json:"stop_direction"`
	EndTime       string `json:"end_time,omitempty"`
}

type wireBracket struct {
	BaseSize         *num   `json:"base_size,omitempty"`
	LimitPrice       num    `json:"limit_price"`
	StopTriggerPrice num    `json:"stop_trigger_price"`
	EndTime          string `json:"end_time,omitempty"`
}

// MarshalJSON writes the decimal as a JSON string.
func (n num) MarshalJSON() ([]byte, error) { return json.Marshal(n.Decimal.String()) }

// variantCount says how many variants are set; an order read back with more
// than one is ambiguous.
func (c *wireOrderConfig) variantCount() int {
	n := 0
	for _, set := range []bool{c.MarketIOC != nil, c.MarketFOK != nil, c.SorLimitIOC != nil, c.LimitGTC != nil,
		c.LimitGTD != nil, c.LimitFOK != nil, c.StopLimitGTC != nil, c.StopLimitGTD != nil,
		c.BracketGTC != nil, c.BracketGTD != nil} {
		if set {
			n++
		}
	}
	return n
}

// UnmarshalJSON decodes the known variants and remembers unknown keys, so an
// order of a new type is reported instead of silently read as empty. The
// object is read once into its keys and each variant decoded from its own
// bytes. A key differing from a known one only in case is decoded into that
// variant (as encoding/json matches fields) and is reported unknown too.
func (c *wireOrderConfig) UnmarshalJSON(b []byte) error {
	var variants map[string]json.RawMessage
	if err := json.Unmarshal(b, &variants); err != nil {
		return err
	}
	*c = wireOrderConfig{}
	for k, raw := range variants {
		dst, exact := c.variant(k)
		if !exact {
			c.unknownFields = append(c.unknownFields, k)
		}
		if dst == nil {
			continue
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return err
		}
	}
	return nil
}

// variant returns where the variant named key decodes to (nil if no known
// variant has that name in any case) and whether key is its exact name.
func (c *wireOrderConfig) variant(key string) (dst any, exact bool) {
	targets := [...]struct {
		name string
		dst  any
	}{
		{"market_market_ioc", &c.MarketIOC}, {"market_market_fok", &c.MarketFOK}, {"sor_limit_ioc", &c.SorLimitIOC},
		{"limit_limit_gtc", &c.LimitGTC}, {"limit_limit_gtd", &c.LimitGTD}, {"limit_limit_fok", &c.LimitFOK},
		{"stop_limit_stop_limit_gtc", &c.StopLimitGTC}, {"stop_limit_stop_limit_gtd", &c.StopLimitGTD},
		{"trigger_bracket_gtc", &c.BracketGTC}, {"trigger_bracket_gtd", &c.BracketGTD},
	}
	for _, t := range targets {
		if t.name == key {
			return t.dst, true
		}
	}
	for _, t := range targets {
		if strings.EqualFold(t.name, key) {
			return t.dst, false
		}
	}
	return nil, false
}

type wireCreateSuccess struct {
	OrderID         string `json:"order_id"`
	ProductID       string `json:"product_id"`
	Side            string `json:"side"`
	ClientOrderID   string `json:"client_order_id"`
	AttachedOrderID string `json:"attached_order_id"`
}

type wireCreateError struct {
	Error                 string `json:"error"`
	Message               string `json:"message"`
	ErrorDetails          string `json:"error_details"`
	PreviewFailureReason  string `json:"preview_failure_reason"`
	NewOrderFailureReason string `json:"new_order_failure_reason"`
}

type wireCreateResponse struct {
	Success         *bool              `json:"success"`
	SuccessResponse *wireCreateSuccess `json:"success_response"`
	ErrorResponse   *wireCreateError   `json:"error_response"`
	// Legacy top-level keys: order_id mirrors success_response.order_id;
	// failure_reason is UNKNOWN_FAILURE_REASON in both outcomes and is
	// ignored.
	OrderID       string `json:"order_id"`
	FailureReason string `json:"failure_reason"`
}

// ---- orders ----

type wireEdit struct {
	Price                  num   `json:"price"`
	Size                   num   `json:"size"`
	ReplaceAcceptTimestamp stamp `json:"replace_accept_timestamp"`
}

// wireOrder holds the fields of an order the adapter reads; the others
// (user_id, settled, product_type, ...) are skipped by the decoder, which
// is cheaper than decoding them into values nobody reads.
type wireOrder struct {
	OrderID             string           `json:"order_id"`
	ProductID           string           `json:"product_id"`
	OrderConfiguration  *wireOrderConfig `json:"order_configuration"`
	Side                string           `json:"side"`
	ClientOrderID       string           `json:"client_order_id"`
	Status              string           `json:"status"`
	TimeInForce         string           `json:"time_in_force"`
	CreatedTime         stamp            `json:"created_time"`
	FilledSize          num              `json:"filled_size"`
	AverageFilledPrice  num              `json:"average_filled_price"`
	NumberOfFills       num              `json:"number_of_fills"`
	FilledValue         num              `json:"filled_value"`
	PendingCancel       bool             `json:"pending_cancel"`
	SizeInQuote         bool             `json:"size_in_quote"`
	TotalFees           num              `json:"total_fees"`
	SizeInclusiveOfFees bool             `json:"size_inclusive_of_fees"`
	TotalValueAfterFees num              `json:"total_value_after_fees"`
	OrderType           string           `json:"order_type"`
	RejectReason        string           `json:"reject_reason"`
	RejectMessage       string           `json:"reject_message"`
	CancelMessage       string           `json:"cancel_message"`
	ProductType         string           `json:"product_type"`
	LastFillTime        stamp            `json:"last_fill_time"`
	EditHistory         []wireEdit       `json:"edit_history"`
	RetailPortfolioID   string           `json:"retail_portfolio_id"`
}

type wireGetOrder struct {
	Order *wireOrder `json:"order"`
}

type wireOrdersPage struct {
	Orders  []wireOrder `json:"orders"`
	HasNext bool        `json:"has_next"`
	Cursor  string      `json:"cursor"`
}

// ---- fills ----

type wireFill struct {
	EntryID            string `json:"entry_id"`
	TradeID            string `json:"trade_id"`
	OrderID            string `json:"order_id"`
	TradeTime          stamp  `json:"trade_time"`
	TradeType          string `json:"trade_type"`
	Price              num    `json:"price"`
	Size               num    `json:"size"`
	Commission         num    `json:"commission"`
	ProductID          string `json:"product_id"`
	SequenceTimestamp  stamp  `json:"sequence_timestamp"`
	LiquidityIndicator string `json:"liquidity_indicator"`
	SizeInQuote        bool   `json:"size_in_quote"`
	Side               string `json:"side"`
}

type wireFillsPage struct {
	Fills  []wireFill `json:"fills"`
	Cursor string     `json:"cursor"`
}

// ---- cancel and edit ----

type wireCancelResult struct {
	Success       bool   `json:"success"`
	FailureReason string `json:"failure_reason"`
	OrderID       string `json:"order_id"`
}

type wireBatchCancel struct {
	Results []wireCancelResult `json:"results"`
}

type wireEditError struct {
	EditFailureReason    string `json:"edit_failure_reason"`
	PreviewFailureReason string `json:"preview_failure_reason"`
}

// wireEditErrors accepts the errors member as a list or, in older
// responses, as one object.
type wireEditErrors []wireEditError

// UnmarshalJSON reads a list, an object or null.
func (e *wireEditErrors) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*e = nil
		return nil
	case len(b) > 0 && b[0] == '{':
		var one wireEditError
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*e = wireEditErrors{one}
		return nil
	}
	var list []wireEditError
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*e = list
	return nil
}

type wireEditResponse struct {
	Success       *bool          `json:"success"`
	Errors        wireEditErrors `json:"errors"`
	ErrorResponse *struct {
		ErrorDetails           string `json:"error_details"`
		EditOrderFailureReason string `json:"edit_order_failure_reason"`
	} `json:"error_response"`
}

type wireEditPreview struct {
	Errors             wireEditErrors `json:"errors"`
	Slippage           num            `json:"slippage"`
	OrderTotal         num            `json:"order_total"`
	CommissionTotal    num            `json:"commission_total"`
	QuoteSize          num            `json:"quote_size"`
	BaseSize           num            `json:"base_size"`
	BestBid            num            `json:"best_bid"`
	BestAsk            num            `json:"best_ask"`
	AverageFilledPrice num            `json:"average_filled_price"`
}

// ---- error bodies ----

// wireError is every JSON error shape seen: grpc-gateway style
// {error, error_details, message}, the OpenAPI {code, message, details},
// v2 {errors:[{id, message}]} and OAuth {error, error_description}.
type wireError struct {
	Error            string          `json:"error"`
	ErrorDetails     string          `json:"error_details"`
	Message          string          `json:"message"`
	ErrorDescription string          `json:"error_description"`
	Code             json.RawMessage `json:"code"`
	Errors           []struct {
		ID      string `json:"id"`
		Message string `json:"message"`
	} `json:"errors"`
}
