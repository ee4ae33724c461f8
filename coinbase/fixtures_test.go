package coinbase

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeFixture decodes like the adapter does (json.Number, lenient keys).
func decodeFixture(t testing.TB, name string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(fixture(t, name)))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// decimalEq compares decimals by value in cmp.Diff.
var decimalEq = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func TestFixtureAccounts(t *testing.T) {
	var w wireAccountsPage
	decodeFixture(t, "accounts_list.json", &w)
	if !w.HasNext || w.Cursor != "ec7b673b-cfba-49bf-a17e-6030b95eb961" || w.Size.String() != "1" || len(w.Accounts) != 1 {
		t.Fatalf("page: %+v", w)
	}
	a := w.Accounts[0]
	if a.UUID != "3cf1430f-086d-4aae-9762-2dfae422fa7b" || a.Currency != "ETH2" || !a.AvailableBalance.Value.IsZero() ||
		!a.Hold.Value.IsZero() || a.Type != "ACCOUNT_TYPE_CRYPTO" || !a.DeletedAt.IsZero() ||
		!a.CreatedAt.Equal(at("2021-12-17T18:27:01.243Z")) || a.RetailPortfolioID != "f568a05a-e345-4e74-871a-5c99300fb15d" {
		t.Errorf("account: %+v", a)
	}
}

func TestFixtureProduct(t *testing.T) {
	var w wireProduct
	decodeFixture(t, "product_btc_usd.json", &w)
	got := productFromWire(w)
	want := Product{ID: "BTC-USD", Base: "BTC", Quote: "USD", BaseIncrement: dec("0.00000001"), QuoteIncrement: dec("0.01"),
		PriceIncrement: dec("0.01"), BaseMinSize: dec("0.00000001"), BaseMaxSize: dec("3400"), QuoteMinSize: dec("1"),
		QuoteMaxSize: dec("150000000"), Price: dec("104780.43"), AliasTo: []string{"BTC-USDC"}}
	if diff := cmp.Diff(want, got, decimalEq); diff != "" {
		t.Errorf("product (-want +got):\n%s", diff)
	}
	if !got.sameBook("BTC-USDC") || got.sameBook("ETH-USD") {
		t.Error("alias matching is wrong")
	}
}

func TestFixtureBestBidAsk(t *testing.T) {
	var w wireBestBidAsk
	decodeFixture(t, "best_bid_ask.json", &w)
	if len(w.Pricebooks) != 1 {
		t.Fatalf("pricebooks: %+v", w)
	}
	p := w.Pricebooks[0]
	if p.ProductID != "BTC-USD" || !p.Bids[0].Price.Equal(dec("101716.47")) || !p.Bids[0].Size.Equal(dec("0.00004292")) ||
		!p.Asks[0].Price.Equal(dec("101722.02")) || !p.Asks[0].Size.Equal(dec("0.00403655")) ||
		!p.Time.Equal(at("2025-01-21T06:18:27.904951Z")) {
		t.Errorf("pricebook: %+v", p)
	}
}

func TestFixtureCreateResponses(t *testing.T) {
	tests := []struct {
		file     string
		success  bool
		orderID  string
		code     string
		kind     errors.Kind
		message  string
		clientID string
		product  string
	}{
		{file: "create_order_success.json", success: true, orderID: "e5ed0e4f-3c86-4bec-818a-707fee427180",
			clientID: "3a7b42c6-cc12-4932-98ba-33fd8ddb60a0", product: "SOL-USDC"},
		{file: "create_order_success_legacy_fields.json", success: true, orderID: "52cfe5e2-0b29-4c19-a245-a6a773de5030",
			clientID: "4d760580-6fca-4094-a70b-ebcca8626288", product: "LTC-BTC"},
		{file: "create_order_failure_insufficient_fund.json", code: "PREVIEW_INSUFFICIENT_FUND",
			kind: errors.ErrInsufficientFunds, message: "Insufficient balance in source account"},
		{file: "create_order_failure_unsupported_configuration.json", code: "UNSUPPORTED_ORDER_CONFIGURATION",
			kind: errors.ErrInvalidOrder, message: "source is not enabled for trading"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			var w wireCreateResponse
			decodeFixture(t, tc.file, &w)
			if w.Success == nil || *w.Success != tc.success {
				t.Fatalf("success = %v", w.Success)
			}
			if tc.success {
				if w.SuccessResponse.OrderID != tc.orderID || w.SuccessResponse.ClientOrderID != tc.clientID ||
					w.SuccessResponse.ProductID != tc.product {
					t.Errorf("success_response: %+v", w.SuccessResponse)
				}
				return
			}
			code, message := createFailure(w.ErrorResponse)
			if code != tc.code || message != tc.message || failureKind(code) != tc.kind {
				t.Errorf("failure = %s %q (kind %s), want %s %q (%s)", code, message, failureKind(code), tc.code, tc.message, tc.kind)
			}
		})
	}
}

func TestFixtureGetOrderFilled(t *testing.T) {
	var w wireGetOrder
	decodeFixture(t, "get_order_filled_limit.json", &w)
	got, ok := orderFromWire(*w.Order)
	if !ok {
		t.Fatal("configuration not understood")
	}
	want := broker.Order{
		OrderID: "a4ab4709-0678-47b8-9151-0c3540b9f6f5", ClientOrderID: "9389d8f1-5d49-4e5d-9526-d046bec0fba7",
		Instrument: broker.Instrument{Symbol: "BTC-EUR", AssetClass: broker.Crypto}, Side: broker.Buy,
		Type: broker.Limit, TimeInForce: broker.GTC, Quantity: dec("0.45646728"), LimitPrice: dec("24442.5"),
		Status: broker.StatusFilled, RawStatus: "FILLED", FilledQuantity: dec("0.45646728"),
		AvgFillPrice: dec("24442.5"), Fees: dec("11.1572014914"),
		CreatedAt: at("2023-08-23T17:42:11.993544Z"), UpdatedAt: at("2023-08-23T17:42:30.336265Z"),
		// Filled: nothing leaves; the last execution is last_fill_time.
		LeavesQuantity: decimal.Zero, LastFillAt: at("2023-08-23T17:42:30.336265Z"),
	}
	if diff := cmp.Diff(want, got, decimalEq); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// filled_value + fees = total_value_after_fees on a BUY (spec section 14).
	o := w.Order
	if !o.FilledValue.Add(o.TotalFees.Decimal).Equal(o.TotalValueAfterFees.Decimal) || !o.NumberOfFills.Equal(dec("3")) {
		t.Errorf("totals: value %s fees %s after %s", o.FilledValue, o.TotalFees, o.TotalValueAfterFees)
	}
}

func TestFixtureGetOrderOpenLegacyShape(t *testing.T) {
	var w wireGetOrder
	decodeFixture(t, "get_order_open_limit.json", &w)
	got, ok := orderFromWire(*w.Order)
	if !ok {
		t.Fatal("configuration not understood")
	}
	want := broker.Order{
		OrderID: "9bc1eb3b-5b46-4b71-9628-ae2ed0cca75b", ClientOrderID: "e5fe8482-05bb-428f-ad4d-dbc8ce39239c",
		Instrument: broker.Instrument{Symbol: "LTC-BTC", AssetClass: broker.Crypto}, Side: broker.Sell,
		Type: broker.Limit, TimeInForce: broker.GTC, Quantity: dec("0.2"), LimitPrice: dec("0.006"),
		Status: broker.StatusNew, RawStatus: "OPEN", CreatedAt: at("2023-01-16T23:37:23.947030Z"),
		UpdatedAt: at("2023-01-16T23:37:23.947030Z"),
		// Open, nothing filled: the whole base size is working.
		LeavesQuantity: dec("0.2"),
	}
	if diff := cmp.Diff(want, got, decimalEq); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestFixtureListOrdersQuoteSized(t *testing.T) {
	var w wireOrdersPage
	decodeFixture(t, "list_orders_filled_market_quote_sized.json", &w)
	if w.HasNext || w.Cursor != "" || len(w.Orders) != 1 {
		t.Fatalf("page: has_next %v cursor %q, %d orders", w.HasNext, w.Cursor, len(w.Orders))
	}
	got, ok := orderFromWire(w.Orders[0])
	if !ok {
		t.Fatal("configuration not understood")
	}
	want := broker.Order{
		OrderID: "813a53c5-3e39-47bb-863d-2faf685d22d8", ClientOrderID: "18eb9947-db49-4874-8e7b-39b8fe5f4317",
		Instrument: broker.Instrument{Symbol: "BTC-USDT", AssetClass: broker.Crypto}, Side: broker.Buy,
		Type: broker.Market, TimeInForce: broker.IOC, Quantity: dec("0.000297920684505"),
		Status: broker.StatusFilled, RawStatus: "FILLED", FilledQuantity: dec("0.000297920684505"),
		AvgFillPrice: dec("21220.6399999973697697"), Fees: dec("0.0379324055666004"),
		CreatedAt: at("2023-01-18T01:37:37.975552Z"), UpdatedAt: at("2023-01-18T01:37:37.975552Z"),
		// Terminal and quote-sized: nothing leaves.
		LeavesQuantity: decimal.Zero,
	}
	if diff := cmp.Diff(want, got, decimalEq); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// Quote-sized market buy: the quote amount covers the fees.
	o := w.Orders[0]
	if !o.FilledValue.Add(o.TotalFees.Decimal).Equal(dec("6.36")) || !o.SizeInclusiveOfFees || o.CancelMessage != "Internal error" {
		t.Errorf("quote-sized totals: %s + %s", o.FilledValue, o.TotalFees)
	}
}

func TestFixtureFills(t *testing.T) {
	var page wireFillsPage
	decodeFixture(t, "list_fills_page.json", &page)
	if page.Cursor != "114994851" || len(page.Fills) != 1 {
		t.Fatalf("page: %+v", page)
	}
	want := Execution{
		Fill: broker.Fill{ExecID: "19fc7eee-f4b4-40a7-8104-033da1db5311", Quantity: dec("10"), Price: dec("0.392"),
			Fee: dec("0.03136"), Time: at("2023-11-26T10:19:47.504Z")},
		OrderID: "01b6e467-b659-432f-9490-c7cefe949564", Symbol: "ADA-USDT", Side: broker.Sell,
		Liquidity: "TAKER", TradeType: "FILL",
	}
	if diff := cmp.Diff(want, executionFromWire(page.Fills[0]), decimalEq); diff != "" {
		t.Errorf("fill (-want +got):\n%s", diff)
	}
	// The commission is 0.8% of 10 × 0.392 (spec section 14).
	if !dec("10").Mul(dec("0.392")).Mul(dec("0.008")).Equal(dec("0.03136")) {
		t.Error("fee arithmetic")
	}

	decodeFixture(t, "list_fills_quote_sized.json", &page)
	if page.Cursor != "" || len(page.Fills) != 1 {
		t.Fatalf("quote-sized page: %+v", page)
	}
	e := executionFromWire(page.Fills[0])
	// size is in USDT: base = 0.0046830664333996 / 21220.64.
	wantBase := dec("0.0046830664333996").DivRound(dec("21220.64"), baseDivisionPlaces)
	if !e.Quantity.Equal(wantBase) || !e.QuoteSize.Equal(dec("0.0046830664333996")) || !e.Price.Equal(dec("21220.64")) ||
		!e.Fee.Equal(dec("0.0000280983986004")) || !e.Time.Equal(at("2023-01-18T01:37:38.091377090Z")) || e.Side != broker.Buy {
		t.Errorf("quote-sized fill: %+v", e)
	}
	if e.Quantity.GreaterThan(dec("0.000001")) {
		t.Errorf("base quantity %s is not converted from quote", e.Quantity)
	}
}

func TestFixtureBatchCancel(t *testing.T) {
	var ok, failed wireBatchCancel
	decodeFixture(t, "batch_cancel_success.json", &ok)
	decodeFixture(t, "batch_cancel_failure.json", &failed)
	wantOK := []wireCancelResult{{Success: true, FailureReason: "UNKNOWN_CANCEL_FAILURE_REASON", OrderID: "0000-00000"}}
	wantFailed := []wireCancelResult{{Success: false, FailureReason: "UNKNOWN_CANCEL_ORDER", OrderID: "31d8810d-41dc-4321-b734-0a44495294a2"}}
	if diff := cmp.Diff(wantOK, ok.Results); diff != "" {
		t.Errorf("success (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantFailed, failed.Results); diff != "" {
		t.Errorf("failure (-want +got):\n%s", diff)
	}
}

func TestFixtureErrorResponses(t *testing.T) {
	var w struct {
		Observed []struct {
			HTTPStatus int             `json:"http_status"`
			Body       json.RawMessage `json:"body"`
			BodyText   string          `json:"body_text"`
			Prefix     string          `json:"body_text_prefix"`
		} `json:"observed_error_responses"`
	}
	decodeFixture(t, "error_responses.json", &w)
	want := []struct {
		code, message string
		kind          errors.Kind
	}{
		{"INVALID_ARGUMENT", "ProductID is invalid", errors.ErrInvalidOrder},
		{"INVALID_ARGUMENT", "invalid OrderId None passed to endpoint", errors.ErrInvalidOrder},
		{"PERMISSION_DENIED", "Missing required scopes", errors.ErrPermissionDenied},
		{"NOT_FOUND", "order with this orderID was not found", errors.ErrOrderNotFound},
		{"", "Unauthorized", errors.ErrUnauthenticated},
		{"", "rate limited (HTML page)", errors.ErrRateLimited},
	}
	if len(w.Observed) != len(want) {
		t.Fatalf("%d entries, want %d", len(w.Observed), len(want))
	}
	for i, e := range w.Observed {
		body := []byte(e.Body)
		if e.BodyText != "" {
			body = []byte(e.BodyText)
		}
		if e.Prefix != "" {
			body = []byte(e.Prefix + "</head><body>Too many requests</body></html>")
		}
		be := decodeError(e.HTTPStatus, http.Header{}, body)
		if be.Code != want[i].code || be.Message != want[i].message || be.Kind != want[i].kind {
			t.Errorf("entry %d (%d): got %s %q %s, want %s %q %s", i, e.HTTPStatus, be.Code, be.Message, be.Kind,
				want[i].code, want[i].message, want[i].kind)
		}
	}
}

// TestLeavesIsDerived: Coinbase sends no leaves field; it is the base size
// less what filled on a working order, zero on a terminal one, and zero on
// a quote-sized one (unknown in base units).
func TestLeavesIsDerived(t *testing.T) {
	tests := []struct {
		name, body string
		want       decimal.Decimal
	}{
		{"open partial", `{"order_id":"a","status":"OPEN","filled_size":"0.05","order_configuration":{"limit_limit_gtc":{"base_size":"0.2","limit_price":"1"}}}`, dec("0.15")},
		{"cancelled partial", `{"order_id":"a","status":"CANCELLED","filled_size":"0.05","order_configuration":{"limit_limit_gtc":{"base_size":"0.2","limit_price":"1"}}}`, decimal.Zero},
		{"open quote-sized", `{"order_id":"a","status":"OPEN","filled_size":"0.001","size_in_quote":true,"order_configuration":{"market_market_ioc":{"quote_size":"10"}}}`, decimal.Zero},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w wireOrder
			if err := json.Unmarshal([]byte(tc.body), &w); err != nil {
				t.Fatal(err)
			}
			o, _ := orderFromWire(w)
			if !o.LeavesQuantity.Equal(tc.want) {
				t.Errorf("leaves %s, want %s", o.LeavesQuantity, tc.want)
			}
		})
	}
}

// TestErrorDetailKeptApart: error_details that says more than the message
// is BrokerError.Detail, not appended to Message; equal to it (as in every
// observed body), it is not repeated.
func TestErrorDetailKeptApart(t *testing.T) {
	be := decodeError(400, http.Header{}, []byte(`{"error":"INVALID_ARGUMENT","message":"invalid size",`+
		`"error_details":"base_size 0.000000001 is below the product's base_min_size 0.00001"}`))
	if be.Message != "invalid size" || be.Detail != "base_size 0.000000001 is below the product's base_min_size 0.00001" {
		t.Errorf("message %q, detail %q", be.Message, be.Detail)
	}
	be = decodeError(400, http.Header{}, []byte(`{"error":"INVALID_ARGUMENT","message":"ProductID is invalid","error_details":"ProductID is invalid"}`))
	if be.Detail != "" {
		t.Errorf("detail %q repeats the message", be.Detail)
	}
}
