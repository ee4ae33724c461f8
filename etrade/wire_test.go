package etrade

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

func TestDecodeAccountList(t *testing.T) {
	got, err := decodeAccountList(fixture(t, "accounts_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []wireAccount{
		{AccountID: "99991111", AccountIDKey: "-h06qS59IOXHUSjq3xhGVE", AccountMode: "CASH", AccountDesc: "Individual Brokerage",
			AccountType: "INDIVIDUAL", InstitutionType: "BROKERAGE", AccountStatus: "ACTIVE"},
		{AccountID: "11112222", AccountIDKey: "NrIsvkTYqulM7TdbG14UbA", AccountMode: "CASH", AccountDesc: "Retirement IRA",
			AccountName: "Retirement IRA", AccountType: "IRA_ROLLOVER", InstitutionType: "BROKERAGE", AccountStatus: "CLOSED",
			ClosedDate: jint{1400756700}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(jint{})); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
}

func TestDecodeBalance(t *testing.T) {
	r, err := decodeBalance(fixture(t, "accounts_balance.json"))
	if err != nil {
		t.Fatal(err)
	}
	br := r.BalanceResponse
	c := br.Computed
	checks := []struct {
		name string
		got  decimal.Decimal
		want string
	}{
		{"netCash", first(c.NetCash), "7685.52"},
		{"cashBalance", first(c.CashBalance), "0"},
		{"marginBuyingPower", first(c.MarginBuyingPower), "15371.04"},
		{"cashBuyingPower", first(c.CashBuyingPower), "7685.52"},
		{"totalAccountValue", first(c.RealTimeValues.TotalAccountValue), "37645.27"},
		{"netMv", first(c.RealTimeValues.NetMv), "-6677.5"},
	}
	for _, ch := range checks {
		if !ch.got.Equal(dec(ch.want)) {
			t.Errorf("%s = %s, want %s", ch.name, ch.got, ch.want)
		}
	}
	if br.AccountID != "45645298" || br.AccountMode != "MARGIN" || br.OptionLevel != "LEVEL_3" {
		t.Errorf("header fields = %q %q %q", br.AccountID, br.AccountMode, br.OptionLevel)
	}
}

func TestDecodePortfolio(t *testing.T) {
	positions, pages, err := decodePortfolio(fixture(t, "accounts_portfolio.json"))
	if err != nil {
		t.Fatal(err)
	}
	if pages != 1 || len(positions) != 1 {
		t.Fatalf("pages %d, %d positions; want 1, 1", pages, len(positions))
	}
	p := positions[0]
	if p.PositionID.v != 47537061900 || p.Product.Symbol != "COCP" || !p.Quantity.d.Equal(dec("53")) ||
		!p.CostPerShare.d.Equal(dec("1.405")) || !p.MarketValue.d.Equal(dec("74.1152")) ||
		p.DateAcquired.v != 1582520400000 || p.Quick.LastTradeTime.v != 1582571280 || !p.Quick.LastTrade.d.Equal(dec("1.3984")) {
		t.Errorf("position = %+v", p)
	}
}

func TestDecodeQuote(t *testing.T) {
	data, msgs, err := decodeQuotes(fixture(t, "market_quote.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 1 || len(msgs) != 0 {
		t.Fatalf("%d quotes, %d messages", len(data), len(msgs))
	}
	got := quoteOf(data[0])
	want := broker.Quote{Symbol: "AAPL", Bid: dec("132.29"), Ask: dec("132.31"), Last: dec("132.3047"), Time: time.Unix(1608828060, 0).UTC()}
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("quote (-want +got):\n%s", diff)
	}
	if data[0].All.BidSize.v != 700 || data[0].All.AskSize.v != 600 || data[0].AhFlag != "false" {
		t.Errorf("sizes/flags = %+v", data[0].All)
	}
}

func TestDecodeOrdersOpenExecutedCancelled(t *testing.T) {
	orders, marker, err := decodeOrders(fixture(t, "orders_list_open_executed_cancelled.json"))
	if err != nil {
		t.Fatal(err)
	}
	if marker != "" || len(orders) != 14 {
		t.Fatalf("marker %q, %d orders; want none, 14", marker, len(orders))
	}
	counts := map[broker.Status]int{}
	for _, w := range orders {
		o, known := orderOf(w)
		if !known {
			t.Errorf("order %s: status %q not known", o.OrderID, o.RawStatus)
		}
		counts[o.Status]++
		// Terminal orders leave nothing; an execution's time is executedTime.
		if o.Status.Terminal() && !o.LeavesQuantity.IsZero() {
			t.Errorf("order %s is %s yet leaves %s", o.OrderID, o.Status, o.LeavesQuantity)
		}
		if o.Status == broker.StatusFilled && !o.LastFillAt.Equal(msTime(w.OrderDetail[0].ExecutedTime.v)) || o.Status == broker.StatusFilled && o.LastFillAt.IsZero() {
			t.Errorf("order %s: last fill at %s, executedTime %d", o.OrderID, o.LastFillAt, w.OrderDetail[0].ExecutedTime.v)
		}
	}
	if diff := cmp.Diff(map[broker.Status]int{broker.StatusNew: 1, broker.StatusFilled: 9, broker.StatusCanceled: 4}, counts); diff != "" {
		t.Errorf("status counts (-want +got):\n%s", diff)
	}
	open, _ := orderOf(orders[0])
	wantOpen := broker.Order{OrderID: "676", Instrument: broker.Instrument{Symbol: "COCP", AssetClass: broker.Equity},
		Side: broker.Sell, Type: broker.StopLimit, TimeInForce: broker.Day, Quantity: dec("53"), LimitPrice: dec("1.34"),
		StopPrice: dec("1.36"), Status: broker.StatusNew, RawStatus: "OPEN", FilledQuantity: decimal.Zero,
		CreatedAt: time.UnixMilli(1582571271171).UTC(), UpdatedAt: time.UnixMilli(1582571271171).UTC(),
		LeavesQuantity: dec("53")} // working, nothing filled: all 53 leave
	if diff := cmp.Diff(wantOpen, open, decimalEqual); diff != "" {
		t.Errorf("order 676 (-want +got):\n%s", diff)
	}
	// 675 is CANCELLED with the junk executedTime 2023137072: ignored.
	cancelled, _ := orderOf(orders[1])
	if cancelled.Status != broker.StatusCanceled || !cancelled.UpdatedAt.Equal(cancelled.CreatedAt) {
		t.Errorf("order 675 = %s updated %v, want canceled with the junk executedTime ignored", cancelled.Status, cancelled.UpdatedAt)
	}
	// 673: sell of 1454 TBLT filled at 0.2032.
	filled, _ := orderOf(orders[3])
	if filled.OrderID != "673" || filled.Status != broker.StatusFilled || !filled.FilledQuantity.Equal(dec("1454")) ||
		!filled.AvgFillPrice.Equal(dec("0.2032")) || !filled.UpdatedAt.Equal(time.UnixMilli(1582555152157)) ||
		!filled.LimitPrice.Equal(dec("0.202")) {
		t.Errorf("order 673 = %+v", filled)
	}
}

func TestDecodeOrdersPageWithMarker(t *testing.T) {
	orders, marker, err := decodeOrders(fixture(t, "orders_list_page_with_marker.json"))
	if err != nil {
		t.Fatal(err)
	}
	if marker != "1629918202327" || len(orders) != 25 {
		t.Fatalf("marker %q, %d orders", marker, len(orders))
	}
	byID := map[string]broker.Order{}
	for _, w := range orders {
		o, _ := orderOf(w)
		byID[o.OrderID] = o
	}
	o389 := byID["389"]
	if o389.Instrument != (broker.Instrument{Symbol: "SPCE--211008C00027000", AssetClass: broker.Option}) ||
		o389.Side != broker.SellShort || !o389.AvgFillPrice.Equal(dec("0.95")) || o389.Status != broker.StatusFilled {
		t.Errorf("389 = %+v", o389)
	}
	if o := byID["374"]; o.Status != broker.StatusReplaced || o.ReplacedBy != "377" {
		t.Errorf("374 = %s replaced by %q, want replaced by 377", o.Status, o.ReplacedBy)
	}
	if o := byID["365"]; o.Status != broker.StatusExpired || !o.UpdatedAt.Equal(o.CreatedAt) {
		t.Errorf("365 = %s updated %v: want expired, junk executedTime 2129352816 ignored", o.Status, o.UpdatedAt)
	}
}

func TestDecodePreviewAndPlace(t *testing.T) {
	pv, err := decodePreview(fixture(t, "orders_preview_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pv.previewIDs) != 1 || pv.previewIDs[0] != 1026046894106 || pv.time != 1633999969200 || len(pv.warnings) != 0 {
		t.Errorf("preview = %+v", pv)
	}
	pl, err := decodePlace(fixture(t, "orders_place_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	if pl.orderID != 402 || pl.placedMs != 1633999969262 || len(pl.messages) != 1 || pl.messages[0].Code.v != 1027 {
		t.Fatalf("place = %+v", pl)
	}
	if got := pl.messages[0].text(); got[:len("1027 WARNING: The market was closed")] != "1027 WARNING: The market was closed" {
		t.Errorf("message text = %q: want the 200| prefix stripped", got)
	}
	c, err := decodeCancel(fixture(t, "orders_cancel_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	cr := c.CancelOrderResponse
	if cr.OrderID.v != 403 || cr.CancelTime.v != 1634059021241 || len(cr.Messages.Message) != 1 || cr.Messages.Message[0].Code.v != 5011 {
		t.Errorf("cancel = %+v", cr)
	}
}

// The request fixtures are the docs' sample; the adapter's own body for the
// same order must carry the same fields.
func TestBuildOrderMatchesDocsSample(t *testing.T) {
	o, err := buildOrder(broker.OrderRequest{ClientOrderID: "1fds311", Instrument: broker.Instrument{Symbol: "FB", AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Limit, Quantity: dec("1"), LimitPrice: dec("169"), TimeInForce: broker.Day})
	if err != nil {
		t.Fatal(err)
	}
	var sample struct {
		rootError
		PreviewOrderRequest struct {
			Order []reqOrder `json:"Order"`
		} `json:"PreviewOrderRequest"`
	}
	if err := decodeBody(fixture(t, "orders_preview_request.json"), &sample); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sample.PreviewOrderRequest.Order[0], o); diff != "" {
		t.Errorf("order (-docs +ours):\n%s", diff)
	}
}

func TestDecodeTokenResponses(t *testing.T) {
	p, err := decodeTokenResponse(fixture(t, "oauth_request_token_response.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if p.token != "/iQRgQCRGPo7Xdk6G8QDSEzX0Jsy6sKNcULcDavAGgU=" || p.secret != "/rC9scEpzcwSEMy4vE7nodSzPLqfRINnTNY4voczyFM=" {
		t.Errorf("request token decoded to %q / %q", p.token, p.secret)
	}
	// The docs' access-token sample has the invalid escapes %3T and %7R.
	_, err = decodeTokenResponse(fixture(t, "oauth_access_token_response.txt"))
	if !errors.Is(err, errors.ErrMalformedResponse) {
		t.Fatalf("malformed access token answer: error %v, want ErrMalformedResponse", err)
	}
	if msg := err.Error(); strings.Contains(msg, "iQRgQ") || strings.Contains(msg, "rC9sc") || !strings.Contains(msg, "percent-escape") {
		t.Errorf("error %q: want a clear message that quotes no secret", msg)
	}
}

func TestDecodeErrorBodies(t *testing.T) {
	www := func(v string) http.Header { return http.Header{"Www-Authenticate": {v}} }
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		kind   errors.Kind
		code   string
	}{
		{"json 101 preview timed out", 400, nil, string(fixture(t, "error_place_preview_timed_out.json")), errors.ErrOrderRejected, "101"},
		{"xml 100 unavailable", 500, nil, string(fixture(t, "error_service_unavailable.xml")), errors.ErrBrokerUnavailable, "100"},
		{"rate limit html with 400", 400, nil, "<html><body>Number of requests exceeded the rate limit set</body></html>", errors.ErrRateLimited, ""},
		{"json token expired", 401, nil, `{"Error":{"message":"oauth_problem=token_expired"}}`, errors.ErrTokenExpired, "oauth_problem=token_expired"},
		{"xml code 0 token rejected", 401, nil, `<Error><code>0</code><message>oauth_problem=token_rejected</message></Error>`, errors.ErrUnauthenticated, "oauth_problem=token_rejected"},
		{"tomcat html signature", 401, nil, `<!doctype html><html><body><h1>HTTP Status 401 – Unauthorized</h1><p><b>Message</b> oauth_problem=signature_invalid</p></body></html>`, errors.ErrUnauthenticated, "oauth_problem=signature_invalid"},
		{"www-authenticate only", 401, www("OAuth oauth_problem=timestamp_refused,oauth_acceptable_timestamps=1-2"), "", errors.ErrUnauthenticated, "oauth_problem=timestamp_refused"},
		{"500 session token message", 500, nil, `<Error><message>Unauthorized request - invalid Consumer key and/or session token</message></Error>`, errors.ErrUnauthenticated, ""},
		{"5001 too late", 400, nil, `{"Error":{"code":5001,"message":"This order is currently being executed or rejected. It cannot be cancelled."}}`, errors.ErrOrderNotCancelable, "5001"},
		{"102 bad key", 400, nil, `{"Error":{"code":102,"message":"Please enter valid account key."}}`, errors.ErrConfiguration, "102"},
		{"100 not your account", 400, nil, `{"Error":{"code":100,"message":"Account key does not belong to user"}}`, errors.ErrPermissionDenied, "100"},
		{"1037 shares", 400, nil, `{"Error":{"code":"1037","message":"not enough shares"}}`, errors.ErrInsufficientFunds, "1037"},
		{"unknown code", 400, nil, `{"Error":{"code":9999,"message":"200|something"}}`, errors.ErrOrderRejected, "9999"},
		{"plain text 500", 500, nil, "oops", errors.ErrBrokerUnavailable, ""},
		{"gateway html", 502, nil, "<html>Bad Gateway</html>", errors.ErrBrokerUnavailable, ""},
		{"empty 400", 400, nil, "", "", ""},
		{"broken json", 400, nil, `{"Error":`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			be := decodeError(tt.status, h, []byte(tt.body))
			if be.Kind != tt.kind || be.Code != tt.code {
				t.Errorf("kind %q code %q, want %q %q (message %q)", be.Kind, be.Code, tt.kind, tt.code, be.Message)
			}
		})
	}
	if be := decodeError(400, http.Header{}, []byte(`{"Error":{"code":9999,"message":"200|something"}}`)); be.Message != "something" {
		t.Errorf("message %q: want the 200| prefix stripped", be.Message)
	}
}

func TestStatusMapping(t *testing.T) {
	zero, some, all := decimal.Zero, dec("5"), dec("10")
	tests := []struct {
		raw      string
		filled   decimal.Decimal
		replaced bool
		want     broker.Status
		known    bool
	}{
		{"OPEN", zero, false, broker.StatusNew, true},
		{"OPEN", some, false, broker.StatusPartiallyFilled, true},
		{"INDIVIDUAL_FILLS", some, false, broker.StatusPartiallyFilled, true},
		{"PARTIAL", some, false, broker.StatusPartiallyFilled, true},
		{"PARTIAL", all, false, broker.StatusFilled, true},
		{"CANCEL_REQUESTED", some, false, broker.StatusPendingCancel, true},
		{"EXECUTED", all, false, broker.StatusFilled, true},
		{"DONE_TRADE_EXECUTED", all, false, broker.StatusFilled, true},
		{"CANCELLED", some, false, broker.StatusCanceled, true},
		{"CANCELLED", zero, true, broker.StatusReplaced, true},
		{"EXPIRED", zero, false, broker.StatusExpired, true},
		{"REJECTED", zero, false, broker.StatusRejected, true},
		{"INVALID", zero, false, broker.StatusUnknown, false},
		{"OPTION_EXERCISE", zero, false, broker.StatusUnknown, false},
		{"OPTION_ASSIGNMENT", zero, false, broker.StatusUnknown, false},
		{"DO_NOT_EXERCISE", zero, false, broker.StatusUnknown, false},
		{"SOMETHING_NEW", zero, false, broker.StatusUnknown, false},
	}
	for _, tt := range tests {
		got, known := statusOf(tt.raw, tt.filled, all, tt.replaced)
		if got != tt.want || known != tt.known {
			t.Errorf("statusOf(%s, filled %s, replaced %t) = %s, %t; want %s, %t", tt.raw, tt.filled, tt.replaced, got, known, tt.want, tt.known)
		}
	}
}

func TestErrorRootInA200(t *testing.T) {
	_, _, err := decodeOrders([]byte(`{"Error":{"code":100,"message":"The requested service is not currently available, please try after sometime."}}`))
	var be *errors.BrokerError
	if !errors.Is(err, errors.ErrBrokerUnavailable) || !errors.As(err, &be) || be.Code != "100" {
		t.Errorf("200 with an Error root: %v, want the decoded error", err)
	}
}

// TestDecodeBodyRefusesTrailingData: a second value after the answer is a
// malformed answer, not silently ignored.
func TestDecodeBodyRefusesTrailingData(t *testing.T) {
	for _, body := range []string{`{"OrdersResponse":{}} {}`, `{"OrdersResponse":{}}x`, `{"OrdersResponse":`} {
		if _, _, err := decodeOrders([]byte(body)); !errors.Is(err, errors.ErrMalformedResponse) {
			t.Errorf("%q: %v, want ErrMalformedResponse", body, err)
		}
	}
	if _, _, err := decodeOrders([]byte(`{"Error":{"code":100,"message":"x"}}`)); err == nil {
		t.Error("a 2xx whose root is Error decoded as an answer")
	}
}
