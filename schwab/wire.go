package schwab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// Wire types of the Schwab Trader and Market Data APIs, decode side. Every
// number that is money or a quantity is a decimal.Decimal, which decodes
// from the JSON literal's text (never through float64); every id is a
// flexID, which accepts a JSON number or string.

// num is a JSON number (or a string holding one) decoded from its literal
// text into a decimal, never through float64. Literals longer than
// maxNumLen or with an exponent beyond ±maxNumExp are refused: no broker
// amount needs them, and arithmetic on 1e999999999 would not finish.
type num struct{ decimal.Decimal }

const (
	maxNumLen = 64
	maxNumExp = 40
)

func (n *num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		n.Decimal = decimal.Zero
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = b[1 : len(b)-1] // a number in a string carries no escapes
	}
	if len(b) > maxNumLen {
		return fmt.Errorf("number literal of %d characters", len(b))
	}
	if d, ok := parseSimpleDecimal(b); ok {
		n.Decimal = d
		return nil
	}
	d, err := decimal.NewFromString(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a number", b)
	}
	if e := d.Exponent(); e > maxNumExp || e < -maxNumExp {
		return fmt.Errorf("number %q out of range", b)
	}
	n.Decimal = d
	return nil
}

// parseSimpleDecimal reads the common literal form [-]digits[.digits] of
// at most 18 digits exactly, without the general parser's allocations; other
// forms (exponents, longer literals) report false.
func parseSimpleDecimal(b []byte) (decimal.Decimal, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var v int64
	digits, scale, seenDot := 0, int32(0), false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 18 {
				return decimal.Decimal{}, false
			}
			v = v*10 + int64(c-'0')
			digits++
			if seenDot {
				scale++
			}
		case c == '.' && !seenDot && digits > 0:
			seenDot = true
		default:
			return decimal.Decimal{}, false
		}
	}
	if digits == 0 || (seenDot && scale == 0) {
		return decimal.Decimal{}, false
	}
	if neg {
		v = -v
	}
	return decimal.New(v, -scale), true
}

// flexID is an identifier Schwab sends as a JSON number in some places and
// a string in others (orderId, activityId, legId, accountNumber).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
		return nil
	case b[0] == '"':
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	n := json.Number(b)
	if _, err := n.Int64(); err != nil {
		// A number that is not an integer (or too large) is kept as written:
		// ids are opaque strings to arbion.
		if _, ferr := decimal.NewFromString(string(b)); ferr != nil {
			return fmt.Errorf("id %q is neither a number nor a string", b)
		}
	}
	*f = flexID(b)
	return nil
}

// wireTime is an order timestamp: "2025-08-29T17:15:17+0000" (no colon in
// the offset), or RFC 3339 with fractions as the portal's examples show. An
// unparsable value decodes as the zero time rather than failing the order.
type wireTime struct{ time.Time }

var orderTimeLayouts = [...]string{"2006-01-02T15:04:05-0700", "2006-01-02T15:04:05.000-0700", time.RFC3339Nano}

func (t *wireTime) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		t.Time = time.Time{}
		return nil
	}
	s := string(b[1 : len(b)-1]) // a timestamp has no escapes; a bad one fails to parse
	for _, layout := range orderTimeLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	t.Time = time.Time{}
	return nil
}

type wireInstrument struct {
	AssetType        string `json:"assetType"`
	Cusip            string `json:"cusip"`
	Symbol           string `json:"symbol"`
	Description      string `json:"description"`
	InstrumentID     flexID `json:"instrumentId"`
	Type             string `json:"type"`
	PutCall          string `json:"putCall"`
	UnderlyingSymbol string `json:"underlyingSymbol"`
}

type wireLeg struct {
	OrderLegType   string         `json:"orderLegType"`
	LegID          flexID         `json:"legId"`
	Instrument     wireInstrument `json:"instrument"`
	Instruction    string         `json:"instruction"`
	PositionEffect string         `json:"positionEffect"`
	Quantity       num            `json:"quantity"`
}

type wireExecLeg struct {
	LegID             flexID   `json:"legId"`
	Quantity          num      `json:"quantity"`
	MismarkedQuantity num      `json:"mismarkedQuantity"`
	Price             num      `json:"price"`
	Time              wireTime `json:"time"`
	InstrumentID      flexID   `json:"instrumentId"`
}

type wireActivity struct {
	ActivityType           string        `json:"activityType"`
	ActivityID             flexID        `json:"activityId"`
	ExecutionType          string        `json:"executionType"`
	Quantity               num           `json:"quantity"`
	OrderRemainingQuantity num           `json:"orderRemainingQuantity"`
	ExecutionLegs          []wireExecLeg `json:"executionLegs"`
}

// wireOrder is the Order object of GET .../orders/{id} and the order lists.
type wireOrder struct {
	Session                  string         `json:"session"`
	Duration                 string         `json:"duration"`
	OrderType                string         `json:"orderType"`
	ComplexOrderStrategyType string         `json:"complexOrderStrategyType"`
	Quantity                 num            `json:"quantity"`
	FilledQuantity           num            `json:"filledQuantity"`
	RemainingQuantity        num            `json:"remainingQuantity"`
	Price                    num            `json:"price"`
	StopPrice                num            `json:"stopPrice"`
	StopPriceLinkBasis       string         `json:"stopPriceLinkBasis"`
	StopPriceLinkType        string         `json:"stopPriceLinkType"`
	StopPriceOffset          num            `json:"stopPriceOffset"`
	OrderLegCollection       []wireLeg      `json:"orderLegCollection"`
	OrderStrategyType        string         `json:"orderStrategyType"`
	OrderID                  flexID         `json:"orderId"`
	Cancelable               bool           `json:"cancelable"`
	Editable                 bool           `json:"editable"`
	Status                   string         `json:"status"`
	StatusDescription        string         `json:"statusDescription"`
	EnteredTime              wireTime       `json:"enteredTime"`
	CloseTime                wireTime       `json:"closeTime"`
	Tag                      string         `json:"tag"`
	AccountNumber            flexID         `json:"accountNumber"`
	AccountID                flexID         `json:"accountId"` // TD Ameritrade era
	OrderActivityCollection  []wireActivity `json:"orderActivityCollection"`
	ChildOrderStrategies     []wireOrder    `json:"childOrderStrategies"`
	ReplacingOrderCollection []wireOrder    `json:"replacingOrderCollection"`
}

// wireAccountNumber is one entry of GET /accounts/accountNumbers.
type wireAccountNumber struct {
	AccountNumber flexID `json:"accountNumber"`
	HashValue     string `json:"hashValue"`
}

type wirePosition struct {
	ShortQuantity          num            `json:"shortQuantity"`
	LongQuantity           num            `json:"longQuantity"`
	AveragePrice           num            `json:"averagePrice"`
	AverageLongPrice       num            `json:"averageLongPrice"`
	AverageShortPrice      num            `json:"averageShortPrice"`
	TaxLotAverageLongPrice num            `json:"taxLotAverageLongPrice"`
	TaxLotAverageShortPx   num            `json:"taxLotAverageShortPrice"`
	MarketValue            num            `json:"marketValue"`
	Instrument             wireInstrument `json:"instrument"`
}

// wireBalances holds the balance fields of margin and cash accounts (each
// exposes a different set; absent fields decode as zero and are told apart
// by the pointer).
type wireBalances struct {
	CashBalance             *num `json:"cashBalance"`
	TotalCash               *num `json:"totalCash"`
	CashAvailableForTrading *num `json:"cashAvailableForTrading"`
	BuyingPower             *num `json:"buyingPower"`
	AvailableFunds          *num `json:"availableFunds"`
	Equity                  *num `json:"equity"`
	LiquidationValue        *num `json:"liquidationValue"`
}

type wireSecuritiesAccount struct {
	Type              string         `json:"type"`
	AccountNumber     flexID         `json:"accountNumber"`
	Positions         []wirePosition `json:"positions"`
	InitialBalances   wireBalances   `json:"initialBalances"`
	CurrentBalances   wireBalances   `json:"currentBalances"`
	ProjectedBalances wireBalances   `json:"projectedBalances"`
}

type wireAccount struct {
	SecuritiesAccount wireSecuritiesAccount `json:"securitiesAccount"`
	AggregatedBalance struct {
		CurrentLiquidationValue *num `json:"currentLiquidationValue"`
		LiquidationValue        *num `json:"liquidationValue"`
	} `json:"aggregatedBalance"`
}

// wireQuoteEntry is one symbol's entry in the /quotes map.
type wireQuoteEntry struct {
	AssetMainType string  `json:"assetMainType"`
	QuoteType     *string `json:"quoteType"`
	Realtime      *bool   `json:"realtime"`
	Symbol        string  `json:"symbol"`
	Quote         struct {
		BidPrice  num         `json:"bidPrice"`
		AskPrice  num         `json:"askPrice"`
		LastPrice num         `json:"lastPrice"`
		Mark      num         `json:"mark"`
		QuoteTime json.Number `json:"quoteTime"`
		TradeTime json.Number `json:"tradeTime"`
	} `json:"quote"`
}

// decodeStrict decodes exactly one JSON value from b into v (trailing data
// is an error); a gzip body the transport left compressed is inflated first. Numbers reach only num, json.Number and flexID fields, so
// none passes through float64.
func decodeStrict(b []byte, v any) error {
	return json.Unmarshal(maybeGunzip(b), v)
}

// jsonRaw is an undecoded JSON value.
type jsonRaw = json.RawMessage
