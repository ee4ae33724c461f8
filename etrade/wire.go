package etrade

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

// jnum is a decimal read from a JSON number or string, never through
// float64. E*TRADE writes numbers loosely: 53.0, 0, "169", "".
type jnum struct{ d decimal.Decimal }

// UnmarshalJSON implements json.Unmarshaler.
func (n *jnum) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		n.d = decimal.Zero
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = strings.TrimSpace(s[1 : len(s)-1])
		if s == "" {
			n.d = decimal.Zero
			return nil
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("not a decimal number")
	}
	n.d = d
	return nil
}

// jint is an int64 read from a JSON integer or a string of digits (order
// ids, preview ids above 2^32, epoch times).
type jint struct{ v int64 }

// UnmarshalJSON implements json.Unmarshaler.
func (n *jint) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if s == "null" {
		n.v = 0
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
		if s == "" {
			n.v = 0
			return nil
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// Integers sometimes come as 53.0.
		d, derr := decimal.NewFromString(s)
		if derr != nil || !d.IsInteger() {
			return fmt.Errorf("not an integer")
		}
		v = d.IntPart()
	}
	n.v = v
	return nil
}

// rootError is embedded in every answer type: a 2xx whose root is Error
// (spec §9.1) is still an error, and decoding it with the answer's fields
// costs one pass over the body instead of two.
type rootError struct {
	Error json.RawMessage `json:"Error"`
}

func (r *rootError) rootErr() json.RawMessage { return r.Error }

// answer is a response type embedding rootError.
type answer interface{ rootErr() json.RawMessage }

// decodeBody decodes a JSON body into v (numbers are decoded by jint and
// jnum from their text; json.Unmarshal refuses trailing data).
func decodeBody(body []byte, v answer) error {
	if err := json.Unmarshal(body, v); err != nil {
		return malformed("cannot decode answer", err)
	}
	// Defensive (spec §9.1): a 2xx whose root is Error is still an error.
	if raw := v.rootErr(); len(raw) > 0 && string(raw) != "null" {
		be := decodeError(http.StatusOK, http.Header{}, body)
		if be.Kind == "" {
			be.Kind = errors.ErrBrokerUnavailable
		}
		be.HTTPStatus = http.StatusOK
		return be
	}
	return nil
}

func malformed(msg string, err error) error {
	return &errors.BrokerError{Broker: brokerName, Kind: errors.ErrMalformedResponse, Message: msg, Err: err}
}

// message is an entry of messages.Message / Messages.Message.
type message struct {
	Code        jint   `json:"code"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

type messages struct {
	Message []message `json:"Message"`
}

// text formats a message for a human, without E*TRADE's "200|" prefix.
func (m message) text() string {
	d := m.Description
	if i := strings.IndexByte(d, '|'); i > 0 && i <= 4 && isDigits(d[:i]) {
		d = d[i+1:]
	}
	if m.Code.v != 0 {
		return strconv.FormatInt(m.Code.v, 10) + " " + m.Type + ": " + d
	}
	return m.Type + ": " + d
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// --- accounts ---

type accountListResponse struct {
	rootError
	AccountListResponse struct {
		Accounts struct {
			Account []wireAccount `json:"Account"`
		} `json:"Accounts"`
	} `json:"AccountListResponse"`
}

type wireAccount struct {
	AccountID       string `json:"accountId"`
	AccountIDKey    string `json:"accountIdKey"`
	AccountMode     string `json:"accountMode"`
	AccountDesc     string `json:"accountDesc"`
	AccountName     string `json:"accountName"`
	AccountType     string `json:"accountType"`
	InstitutionType string `json:"institutionType"`
	AccountStatus   string `json:"accountStatus"`
	ClosedDate      jint   `json:"closedDate"` // epoch seconds; 0 when open
}

func decodeAccountList(body []byte) ([]wireAccount, error) {
	var r accountListResponse
	if err := decodeBody(body, &r); err != nil {
		return nil, err
	}
	return r.AccountListResponse.Accounts.Account, nil
}

type balanceResponse struct {
	rootError
	BalanceResponse struct {
		AccountID   string `json:"accountId"`
		AccountType string `json:"accountType"`
		AccountMode string `json:"accountMode"`
		OptionLevel string `json:"optionLevel"`
		Computed    struct {
			CashAvailableForInvestment *jnum `json:"cashAvailableForInvestment"`
			NetCash                    *jnum `json:"netCash"`
			CashBalance                *jnum `json:"cashBalance"`
			CashBuyingPower            *jnum `json:"cashBuyingPower"`
			MarginBuyingPower          *jnum `json:"marginBuyingPower"`
			AccountBalance             *jnum `json:"accountBalance"`
			RealTimeValues             struct {
				TotalAccountValue *jnum `json:"totalAccountValue"`
				NetMv             *jnum `json:"netMv"`
			} `json:"RealTimeValues"`
		} `json:"Computed"`
	} `json:"BalanceResponse"`
}

func decodeBalance(body []byte) (balanceResponse, error) {
	var r balanceResponse
	err := decodeBody(body, &r)
	return r, err
}

// first returns the first present value.
func first(vs ...*jnum) decimal.Decimal {
	for _, v := range vs {
		if v != nil {
			return v.d
		}
	}
	return decimal.Zero
}

type portfolioResponse struct {
	rootError
	PortfolioResponse struct {
		AccountPortfolio []struct {
			AccountID  string         `json:"accountId"`
			TotalPages jint           `json:"totalPages"`
			Position   []wirePosition `json:"Position"`
		} `json:"AccountPortfolio"`
	} `json:"PortfolioResponse"`
}

type wirePosition struct {
	PositionID   jint        `json:"positionId"`
	Quantity     jnum        `json:"quantity"` // negative for a short
	PositionType string      `json:"positionType"`
	CostPerShare jnum        `json:"costPerShare"`
	PricePaid    jnum        `json:"pricePaid"`
	TotalCost    jnum        `json:"totalCost"`
	MarketValue  jnum        `json:"marketValue"`
	DateAcquired jint        `json:"dateAcquired"` // ms
	Product      wireProduct `json:"Product"`
	Quick        struct {
		LastTrade     jnum `json:"lastTrade"`
		LastTradeTime jint `json:"lastTradeTime"` // seconds
	} `json:"Quick"`
}

type wireProduct struct {
	Symbol       string `json:"symbol"`
	SecurityType string `json:"securityType"`
	CallPut      string `json:"callPut"`
	ExpiryYear   jint   `json:"expiryYear"`
	ExpiryMonth  jint   `json:"expiryMonth"`
	ExpiryDay    jint   `json:"expiryDay"`
	StrikePrice  jnum   `json:"strikePrice"`
	ProductID    struct {
		Symbol   string `json:"symbol"`
		TypeCode string `json:"typeCode"`
	} `json:"productId"`
}

// decodePortfolio returns the positions and the number of pages.
func decodePortfolio(body []byte) ([]wirePosition, int64, error) {
	var r portfolioResponse
	if err := decodeBody(body, &r); err != nil {
		return nil, 0, err
	}
	var out []wirePosition
	pages := int64(1)
	for _, ap := range r.PortfolioResponse.AccountPortfolio {
		out = append(out, ap.Position...)
		pages = max(pages, ap.TotalPages.v)
	}
	return out, pages, nil
}

// --- quotes ---

type quoteResponse struct {
	rootError
	QuoteResponse struct {
		QuoteData []wireQuote `json:"QuoteData"`
		Messages  messages    `json:"Messages"`
	} `json:"QuoteResponse"`
}

type wireQuote struct {
	DateTimeUTC jint   `json:"dateTimeUTC"` // seconds
	QuoteStatus string `json:"quoteStatus"`
	AhFlag      string `json:"ahFlag"`
	All         struct {
		Bid             jnum `json:"bid"`
		Ask             jnum `json:"ask"`
		BidSize         jint `json:"bidSize"`
		AskSize         jint `json:"askSize"`
		LastTrade       jnum `json:"lastTrade"`
		TimeOfLastTrade jint `json:"timeOfLastTrade"` // seconds
	} `json:"All"`
	Product wireProduct `json:"Product"`
}

func decodeQuotes(body []byte) ([]wireQuote, []message, error) {
	var r quoteResponse
	if err := decodeBody(body, &r); err != nil {
		return nil, nil, err
	}
	return r.QuoteResponse.QuoteData, r.QuoteResponse.Messages.Message, nil
}

// --- orders ---

type ordersResponse struct {
	rootError
	OrdersResponse struct {
		Marker string      `json:"marker"`
		Next   string      `json:"next"`
		Order  []wireOrder `json:"Order"`
	} `json:"OrdersResponse"`
}

type wireOrder struct {
	OrderID     jint              `json:"orderId"`
	OrderType   string            `json:"orderType"`
	OrderDetail []wireOrderDetail `json:"OrderDetail"`
}

type wireOrderDetail struct {
	PlacedTime        jint             `json:"placedTime"`   // ms
	ExecutedTime      jint             `json:"executedTime"` // ms; junk unless something filled
	OrderValue        jnum             `json:"orderValue"`
	Status            string           `json:"status"`
	OrderTerm         string           `json:"orderTerm"`
	PriceType         string           `json:"priceType"`
	LimitPrice        jnum             `json:"limitPrice"`
	StopPrice         jnum             `json:"stopPrice"`
	MarketSession     string           `json:"marketSession"`
	AllOrNone         json.RawMessage  `json:"allOrNone"`
	ReplacedByOrderID jint             `json:"replacedByOrderId"`
	ReplacesOrderID   jint             `json:"replacesOrderId"`
	Messages          messages         `json:"messages"`
	Instrument        []wireInstrument `json:"Instrument"`
}

type wireInstrument struct {
	SymbolDescription     string      `json:"symbolDescription"`
	OrderAction           string      `json:"orderAction"`
	QuantityType          string      `json:"quantityType"`
	OrderedQuantity       jnum        `json:"orderedQuantity"`
	Quantity              jnum        `json:"quantity"`
	FilledQuantity        jnum        `json:"filledQuantity"`
	AverageExecutionPrice *jnum       `json:"averageExecutionPrice"`
	EstimatedCommission   jnum        `json:"estimatedCommission"`
	EstimatedFees         jnum        `json:"estimatedFees"`
	Product               wireProduct `json:"Product"`
}

// decodeOrders returns a page of orders and the marker of the next page
// ("" on the last page). Call it only on a 200 with a body: a 204 means no
// orders.
func decodeOrders(body []byte) ([]wireOrder, string, error) {
	var r ordersResponse
	if err := decodeBody(body, &r); err != nil {
		return nil, "", err
	}
	for _, o := range r.OrdersResponse.Order {
		if len(o.OrderDetail) == 0 || len(o.OrderDetail[0].Instrument) == 0 {
			return nil, "", malformed(fmt.Sprintf("order %d has no OrderDetail or Instrument", o.OrderID.v), nil)
		}
	}
	return r.OrdersResponse.Order, r.OrdersResponse.Marker, nil
}

type previewResponse struct {
	rootError
	PreviewOrderResponse struct {
		OrderType       string `json:"orderType"`
		TotalOrderValue jnum   `json:"totalOrderValue"`
		PreviewTime     jint   `json:"previewTime"`
		AccountID       string `json:"accountId"`
		Order           []struct {
			EstimatedTotalAmount jnum             `json:"estimatedTotalAmount"`
			EstimatedCommission  jnum             `json:"estimatedCommission"`
			Messages             messages         `json:"messages"`
			Instrument           []wireInstrument `json:"Instrument"`
		} `json:"Order"`
		PreviewIDs []struct {
			PreviewID  jint   `json:"previewId"`
			CashMargin string `json:"cashMargin"`
		} `json:"PreviewIds"`
	} `json:"PreviewOrderResponse"`
}

// previewResult is what a preview returned that the place needs.
type previewResult struct {
	previewIDs []int64
	warnings   []message
	time       int64 // ms
	// commission and total are E*TRADE's estimates, summed over the
	// Order elements.
	commission, total decimal.Decimal
}

func decodePreview(body []byte) (previewResult, error) {
	var r previewResponse
	if err := decodeBody(body, &r); err != nil {
		return previewResult{}, err
	}
	p := r.PreviewOrderResponse
	var out previewResult
	for _, id := range p.PreviewIDs {
		out.previewIDs = append(out.previewIDs, id.PreviewID.v)
	}
	if len(out.previewIDs) == 0 || out.previewIDs[0] == 0 {
		return previewResult{}, malformed("preview answer has no PreviewIds", nil)
	}
	for _, o := range p.Order {
		out.warnings = append(out.warnings, o.Messages.Message...)
		out.commission = out.commission.Add(o.EstimatedCommission.d)
		out.total = out.total.Add(o.EstimatedTotalAmount.d)
	}
	out.time = p.PreviewTime.v
	return out, nil
}

type placeResponse struct {
	rootError
	PlaceOrderResponse struct {
		OrderType  string `json:"orderType"`
		PlacedTime jint   `json:"placedTime"`
		AccountID  string `json:"accountId"`
		Order      []struct {
			Messages messages `json:"messages"`
		} `json:"Order"`
		OrderIDs []struct {
			OrderID jint `json:"orderId"`
		} `json:"OrderIds"`
	} `json:"PlaceOrderResponse"`
}

type placeResult struct {
	orderID  int64
	placedMs int64
	messages []message
}

func decodePlace(body []byte) (placeResult, error) {
	var r placeResponse
	if err := decodeBody(body, &r); err != nil {
		return placeResult{}, err
	}
	p := r.PlaceOrderResponse
	if len(p.OrderIDs) == 0 || p.OrderIDs[0].OrderID.v <= 0 {
		return placeResult{}, malformed("place answer has no OrderIds", nil)
	}
	out := placeResult{orderID: p.OrderIDs[0].OrderID.v, placedMs: p.PlacedTime.v}
	for _, o := range p.Order {
		out.messages = append(out.messages, o.Messages.Message...)
	}
	return out, nil
}

type cancelResponse struct {
	rootError
	CancelOrderResponse struct {
		AccountID  string   `json:"accountId"`
		OrderID    jint     `json:"orderId"`
		CancelTime jint     `json:"cancelTime"`
		Messages   messages `json:"Messages"`
	} `json:"CancelOrderResponse"`
}

func decodeCancel(body []byte) (cancelResponse, error) {
	var r cancelResponse
	err := decodeBody(body, &r)
	return r, err
}

// --- token responses ---

// tokenPair is a decoded oauth_token / oauth_token_secret answer.
type tokenPair struct {
	token, secret string
}

// decodeTokenResponse form-decodes a request-token or access-token answer
// exactly once. An invalid percent-escape (the docs' own access-token
// sample has %3T and %7R) is an error, never guessed around; the error does
// not quote the body, which holds secrets.
func decodeTokenResponse(body []byte) (tokenPair, error) {
	v, err := url.ParseQuery(strings.TrimSpace(string(body)))
	if err != nil {
		return tokenPair{}, malformed("token answer is not valid form encoding (an invalid percent-escape); log in again", nil)
	}
	p := tokenPair{token: v.Get("oauth_token"), secret: v.Get("oauth_token_secret")}
	if p.token == "" || p.secret == "" {
		return tokenPair{}, malformed("token answer lacks oauth_token or oauth_token_secret", nil)
	}
	return p, nil
}
