package schwab

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/auth"
	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
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

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// decimalEqual makes cmp compare decimals by value.
var decimalEqual = cmp.Comparer(func(a, b decimal.Decimal) bool { return a.Equal(b) })

// fixtureTests maps every JSON fixture to the test that decodes it and
// asserts its values; TestEveryFixtureIsTested fails when one is missing.
var fixtureTests = map[string]func(t *testing.T){
	"account_numbers.json":                        testAccountNumbersFixture,
	"account_with_positions.json":                 testAccountWithPositionsFixture,
	"positions_real_mixed_assets.json":            testRealPositionsFixture,
	"quotes_multi_symbol.json":                    testQuotesFixture,
	"error_400_message_only.json":                 testError400Fixture,
	"error_401_errors_array.json":                 testError401Fixture,
	"oauth_error_refresh_token_invalid.json":      testOAuthErrorFixture,
	"order_canceled_limit_equity.json":            testCanceledOrderFixture,
	"order_filled_market_equity.json":             testFilledOrderFixture,
	"order_trigger_multileg_filled_tda_era.json":  testTriggerMultilegFixture,
	"order_request_limit_buy_equity.json":         testLimitBuyRequestFixture,
	"order_request_trailing_stop.json":            testTrailingStopRequestFixture,
	"order_request_oco_limit_and_stop_limit.json": testOCORequestFixture,
	"order_request_trigger_oco_bracket.json":      testBracketRequestFixture,
	"token_response.json":                         testTokenResponseFixture,
}

func TestFixtures(t *testing.T) {
	for name, test := range fixtureTests {
		t.Run(strings.TrimSuffix(name, ".json"), test)
	}
}

func TestEveryFixtureIsTested(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		if _, ok := fixtureTests[filepath.Base(f)]; !ok {
			t.Errorf("fixture %s has no decoding test", filepath.Base(f))
		}
	}
}

func testAccountNumbersFixture(t *testing.T) {
	var got []wireAccountNumber
	if err := decodeStrict(fixture(t, "account_numbers.json"), &got); err != nil {
		t.Fatal(err)
	}
	want := []wireAccountNumber{{"123456789", "ABC123DEF456"}, {"987654321", "XYZ789GHI012"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("account numbers (-want +got):\n%s", diff)
	}
}

func testAccountWithPositionsFixture(t *testing.T) {
	var a wireAccount
	if err := decodeStrict(fixture(t, "account_with_positions.json"), &a); err != nil {
		t.Fatal(err)
	}
	want := broker.Account{ID: "123", Currency: "USD", Cash: dec("121.58"), BuyingPower: dec("121.58"), Equity: dec("121.58")}
	if diff := cmp.Diff(want, decodeAccount(a), decimalEqual); diff != "" {
		t.Errorf("account (-want +got):\n%s", diff)
	}
	// The portal-modelled position has no assetType: unknown class, kept.
	wantPos := []broker.Position{{Instrument: broker.Instrument{Symbol: "ABC"}, Quantity: dec("2"), AvgCost: dec("222.22")}}
	if diff := cmp.Diff(wantPos, decodePositions(a.SecuritiesAccount.Positions), decimalEqual); diff != "" {
		t.Errorf("positions (-want +got):\n%s", diff)
	}
}

func testRealPositionsFixture(t *testing.T) {
	var ps []wirePosition
	if err := decodeStrict(fixture(t, "positions_real_mixed_assets.json"), &ps); err != nil {
		t.Fatal(err)
	}
	got := decodePositions(ps)
	if len(got) != 11 {
		t.Fatalf("%d positions, want 11", len(got))
	}
	want := map[string]broker.Position{
		"OKTA":                  {Instrument: broker.Instrument{Symbol: "OKTA", AssetClass: broker.Equity}, Quantity: dec("70"), AvgCost: dec("74.369")},
		"MRNA  241220P00060000": {Instrument: broker.Instrument{Symbol: "MRNA  241220P00060000", AssetClass: broker.Option}, Quantity: dec("8"), AvgCost: dec("5.5051125")},
		"SPY":                   {Instrument: broker.Instrument{Symbol: "SPY", AssetClass: broker.Equity}, Quantity: dec("2"), AvgCost: dec("571.215")},
		"ADI":                   {Instrument: broker.Instrument{Symbol: "ADI", AssetClass: broker.Equity}, Quantity: dec("28"), AvgCost: dec("230.066071428571")},
	}
	for _, p := range got {
		if w, ok := want[p.Instrument.Symbol]; ok {
			if diff := cmp.Diff(w, p, decimalEqual); diff != "" {
				t.Errorf("position %s (-want +got):\n%s", p.Instrument.Symbol, diff)
			}
			delete(want, p.Instrument.Symbol)
		}
	}
	if len(want) != 0 {
		t.Errorf("positions missing: %v", want)
	}
	// Float artifacts survive exactly as decimals.
	if !ps[0].MarketValue.Equal(dec("5081.3")) {
		t.Errorf("OKTA market value = %s", ps[0].MarketValue)
	}
}

func testQuotesFixture(t *testing.T) {
	got, err := decodeQuotes(fixture(t, "quotes_multi_symbol.json"),
		[]string{"AAPL", "BAC", "AMZN  220617C03170000", "$SPX", "ZZZZ"})
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	want := []broker.Quote{
		{Symbol: "AAPL", Bid: dec("168.4"), Ask: dec("168.41"), Last: dec("168.405"), Time: ms(1644854683672)},
		{Symbol: "BAC", Bid: dec("47.19"), Ask: dec("47.2"), Last: dec("47.195"), Time: ms(1644854683640)},
		// The option has not traded today: last 0, bid/ask set.
		{Symbol: "AMZN  220617C03170000", Bid: dec("217.65"), Ask: dec("223"), Last: dec("0"), Time: ms(1644854683379)},
		// The index has no bid, ask or quote time: the trade time is used.
		{Symbol: "$SPX", Last: dec("4396.2"), Time: ms(1644854683056)},
	}
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("quotes (-want +got):\n%s", diff)
	}
}

func testError400Fixture(t *testing.T) {
	be := decodeError(400, http.Header{"Schwab-Client-Correlid": {"corr-1"}}, fixture(t, "error_400_message_only.json"))
	want := errorFields{Kind: errors.ErrInvalidOrder, Status: 400, RequestID: "corr-1",
		Message: "'2024-10-08T16:30:31.469502+00Z' is not a valid value for fromEnteredTime"}
	if diff := cmp.Diff(want, fieldsOf(be)); diff != "" {
		t.Errorf("400 (-want +got):\n%s", diff)
	}
}

func testError401Fixture(t *testing.T) {
	be := decodeError(401, http.Header{}, fixture(t, "error_401_errors_array.json"))
	want := errorFields{Kind: errors.ErrUnauthenticated, Status: 401, Code: "Unauthorized",
		Detail: "Client not authorized", RequestID: "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"}
	if diff := cmp.Diff(want, fieldsOf(be)); diff != "" {
		t.Errorf("401 (-want +got):\n%s", diff)
	}
}

func testOAuthErrorFixture(t *testing.T) {
	be := decodeError(400, http.Header{}, fixture(t, "oauth_error_refresh_token_invalid.json"))
	if be.Kind != errors.ErrTokenExpired || be.Code != "unsupported_token_type" ||
		!strings.Contains(be.Message, "refresh_token_authentication_error") {
		t.Errorf("oauth error = %+v", fieldsOf(be))
	}
	// The auth package reads the same body at the token endpoint: it must
	// say "log in again".
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(fixture(t, "oauth_error_refresh_token_invalid.json"))
	}))
	defer srv.Close()
	src := tokenSourceAt(t, srv.URL, auth.Token{AccessToken: "old", RefreshToken: "dead", Expiry: testStart.Add(-time.Minute)})
	_, err := src.Token(context.Background())
	if !errors.Is(err, errors.ErrTokenExpired) {
		t.Errorf("refresh with a dead token: %v, want ErrTokenExpired", err)
	}
}

func tokenSourceAt(t *testing.T, baseURL string, tok auth.Token) *auth.Source {
	t.Helper()
	store := auth.NewMemoryStore()
	if err := store.Save(context.Background(), "k", tok); err != nil {
		t.Fatal(err)
	}
	src, err := auth.NewSource(auth.SourceConfig{Broker: Name, OAuth2: OAuth2Config("key", "secret", "https://127.0.0.1/cb", baseURL),
		Store: store, StoreKey: "k", Clock: clocktest.New(testStart)})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

type errorFields struct {
	Kind      errors.Kind
	Status    int
	Code      string
	Message   string
	Detail    string
	RequestID string
}

func fieldsOf(be *errors.BrokerError) errorFields {
	return errorFields{be.Kind, be.HTTPStatus, be.Code, be.Message, be.Detail, be.RequestID}
}

func testCanceledOrderFixture(t *testing.T) {
	o, err := decodeOrder(fixture(t, "order_canceled_limit_equity.json"))
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Unix(0, 0).UTC()
	want := broker.Order{OrderID: "0", Instrument: broker.Instrument{Symbol: "INTC", AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Limit, TimeInForce: broker.Day, Quantity: dec("1"), LimitPrice: dec("10"),
		Status: broker.StatusCanceled, RawStatus: "CANCELED", FilledQuantity: dec("0"), AvgFillPrice: dec("0"),
		CreatedAt: epoch, UpdatedAt: epoch}
	// The CANCELED pseudo-execution at price 0 is not a fill.
	if diff := cmp.Diff(want, o, decimalEqual); diff != "" {
		t.Errorf("canceled order (-want +got):\n%s", diff)
	}
	if !o.Remaining().IsZero() {
		t.Errorf("Remaining() = %s, want 0: a canceled order leaves nothing working", o.Remaining())
	}
}

func testFilledOrderFixture(t *testing.T) {
	o, err := decodeOrder(fixture(t, "order_filled_market_equity.json"))
	if err != nil {
		t.Fatal(err)
	}
	filledAt := time.Date(2025, 8, 29, 17, 15, 18, 0, time.UTC)
	want := broker.Order{OrderID: "1004055538153", Instrument: broker.Instrument{Symbol: "GME", AssetClass: broker.Equity},
		Side: broker.Buy, Type: broker.Market, TimeInForce: broker.Day, Quantity: dec("1"),
		Status: broker.StatusFilled, RawStatus: "FILLED", FilledQuantity: dec("1"), AvgFillPrice: dec("22.7299"),
		Fills:     []broker.Fill{{ExecID: "102102029816-1", Quantity: dec("1"), Price: dec("22.7299"), Time: filledAt}},
		CreatedAt: time.Date(2025, 8, 29, 17, 15, 17, 0, time.UTC), UpdatedAt: filledAt,
		LeavesQuantity: dec("0"), LastFillAt: filledAt}
	if diff := cmp.Diff(want, o, decimalEqual); diff != "" {
		t.Errorf("filled order (-want +got):\n%s", diff)
	}
}

// replaceFirst replaces the first occurrence of each old with its new, in
// pairs: the order's own quantity comes before its legs' and executions'.
func replaceFirst(s string, oldNew ...string) string {
	for i := 0; i+1 < len(oldNew); i += 2 {
		s = strings.Replace(s, oldNew[i], oldNew[i+1], 1)
	}
	return s
}

// TestLeavesAndLastFill derives working variants from the shared fixtures:
// LeavesQuantity is Schwab's remainingQuantity on a working order (derived
// when absent) and zero on every terminal one, whatever Schwab says;
// LastFillAt is the time of the last execution leg.
func TestLeavesAndLastFill(t *testing.T) {
	filled := string(fixture(t, "order_filled_market_equity.json"))
	canceled := string(fixture(t, "order_canceled_limit_equity.json"))
	filledAt := time.Date(2025, 8, 29, 17, 15, 18, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		wantLeaves string
		wantLast   time.Time
	}{
		{"filled", filled, "0", filledAt},
		{"canceled: the pseudo-execution is no fill", canceled, "0", time.Time{}},
		{"canceled although Schwab says remaining 1", strings.Replace(canceled, `"remainingQuantity": 0.0`, `"remainingQuantity": 1.0`, 1), "0", time.Time{}},
		{"working, partly filled, remaining sent", replaceFirst(filled, `"status": "FILLED"`, `"status": "WORKING"`,
			`"quantity": 1.0`, `"quantity": 3.0`, `"remainingQuantity": 0.0`, `"remainingQuantity": 2.0`), "2", filledAt},
		{"working, partly filled, remaining absent", replaceFirst(filled, `"status": "FILLED"`, `"status": "WORKING"`,
			`"quantity": 1.0`, `"quantity": 3.0`, `"remainingQuantity": 0.0,`, ``), "2", filledAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := decodeOrder([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if !o.LeavesQuantity.Equal(dec(tt.wantLeaves)) || !o.Remaining().Equal(dec(tt.wantLeaves)) {
				t.Errorf("%s order: LeavesQuantity %s, Remaining() %s; want %s", o.Status, o.LeavesQuantity, o.Remaining(), tt.wantLeaves)
			}
			if !o.LastFillAt.Equal(tt.wantLast) {
				t.Errorf("LastFillAt = %v, want %v", o.LastFillAt, tt.wantLast)
			}
		})
	}
}

func testTriggerMultilegFixture(t *testing.T) {
	body := fixture(t, "order_trigger_multileg_filled_tda_era.json")
	o, err := decodeOrder(body)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2022, 11, 28, 16, 42, 53, 0, time.UTC)
	// Activities arrive newest first; fills come out oldest first. Each is
	// the straddle at 0.75 + 0.81 per unit.
	wantFills := []broker.Fill{
		{ExecID: "49833899939", Quantity: dec("4"), Price: dec("1.56"), Time: at},
		{ExecID: "49833899942", Quantity: dec("3"), Price: dec("1.56"), Time: at},
		{ExecID: "49833899945", Quantity: dec("3"), Price: dec("1.56"), Time: at},
	}
	if diff := cmp.Diff(wantFills, o.Fills, decimalEqual); diff != "" {
		t.Errorf("fills (-want +got):\n%s", diff)
	}
	if o.OrderID != "9855642354" || o.Status != broker.StatusFilled || !o.FilledQuantity.Equal(dec("10")) ||
		!o.AvgFillPrice.Equal(dec("1.56")) || o.Side != broker.BuyToCover || o.Type != broker.Market ||
		o.Instrument != (broker.Instrument{Symbol: "QQQ_112822C285", AssetClass: broker.Option}) {
		t.Errorf("order = %+v", o)
	}
	// The child (a short strangle closed: two sells) through the list path.
	var w wireOrder
	if err := decodeStrict(body, &w); err != nil {
		t.Fatal(err)
	}
	child := w.ChildOrderStrategies[0].toOrder()
	if child.OrderID != "9855642355" || child.Side != broker.Sell || !child.AvgFillPrice.Equal(dec("0.07")) ||
		len(child.Fills) != 1 || child.Fills[0].ExecID != "49833899953" {
		t.Errorf("child = %+v", child)
	}
}

// requestKeys compares an encoded request with a fixture: every key of the
// fixture is there with the same value; the only extra key allowed is
// complexOrderStrategyType "NONE".
func requestKeys(t *testing.T, fixtureName string, req broker.OrderRequest) {
	t.Helper()
	body, err := encodeRequest(req)
	if err != nil {
		t.Fatal(err)
	}
	var want, got map[string]any
	decodeAny(t, fixture(t, fixtureName), &want)
	decodeAny(t, body, &got)
	if _, ok := want["complexOrderStrategyType"]; !ok && got["complexOrderStrategyType"] == "NONE" {
		delete(got, "complexOrderStrategyType")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("request body vs %s (-fixture +ours):\n%s", fixtureName, diff)
	}
}

func decodeAny(t *testing.T, b []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		t.Fatal(err)
	}
}

func testLimitBuyRequestFixture(t *testing.T) {
	requestKeys(t, "order_request_limit_buy_equity.json", broker.OrderRequest{ClientOrderID: "c1",
		Instrument: broker.Instrument{Symbol: "INTC", AssetClass: broker.Equity}, Side: broker.Buy, Type: broker.Limit,
		Quantity: dec("4"), LimitPrice: dec("10"), TimeInForce: broker.Day})
}

func testTrailingStopRequestFixture(t *testing.T) {
	requestKeys(t, "order_request_trailing_stop.json", broker.OrderRequest{ClientOrderID: "c2",
		Instrument: broker.Instrument{Symbol: "XYZ", AssetClass: broker.Equity}, Side: broker.Sell, Type: broker.TrailingStop,
		Quantity: dec("10"), TrailAmount: dec("10"), TimeInForce: broker.Day})
}

// The OCO and bracket requests are not built by the adapter (it places
// single orders); they decode with the response types, prices given as
// strings and as numbers alike.
func testOCORequestFixture(t *testing.T) {
	var w wireOrder
	if err := decodeStrict(fixture(t, "order_request_oco_limit_and_stop_limit.json"), &w); err != nil {
		t.Fatal(err)
	}
	if w.OrderStrategyType != "OCO" || len(w.ChildOrderStrategies) != 2 {
		t.Fatalf("OCO = %+v", w)
	}
	a, b := w.ChildOrderStrategies[0].toOrder(), w.ChildOrderStrategies[1].toOrder()
	if a.Type != broker.Limit || !a.LimitPrice.Equal(dec("45.97")) || a.Side != broker.Sell || !a.Quantity.Equal(dec("2")) {
		t.Errorf("take-profit leg = %+v", a)
	}
	if b.Type != broker.StopLimit || !b.LimitPrice.Equal(dec("37.00")) || !b.StopPrice.Equal(dec("37.03")) {
		t.Errorf("stop-limit leg = %+v", b)
	}
}

func testBracketRequestFixture(t *testing.T) {
	var w wireOrder
	if err := decodeStrict(fixture(t, "order_request_trigger_oco_bracket.json"), &w); err != nil {
		t.Fatal(err)
	}
	entry := w.toOrder()
	if w.OrderStrategyType != "TRIGGER" || entry.Type != broker.Limit || !entry.LimitPrice.Equal(dec("14.97")) ||
		!entry.Quantity.Equal(dec("5")) || entry.Side != broker.Buy {
		t.Errorf("entry = %+v", entry)
	}
	oco := w.ChildOrderStrategies[0]
	tp, stop := oco.ChildOrderStrategies[0].toOrder(), oco.ChildOrderStrategies[1].toOrder()
	if oco.OrderStrategyType != "OCO" || !tp.LimitPrice.Equal(dec("15.27")) || tp.TimeInForce != broker.GTC ||
		stop.Type != broker.Stop || !stop.StopPrice.Equal(dec("11.27")) {
		t.Errorf("exits = %+v / %+v", tp, stop)
	}
}

func testTokenResponseFixture(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, _, ok := r.BasicAuth(); !ok || user != "key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(fixture(t, "token_response.json"))
	}))
	defer srv.Close()
	login := testStart.Add(-time.Hour)
	src := tokenSourceAt(t, srv.URL, auth.Token{AccessToken: "OLD", RefreshToken: "REFRESH1",
		Expiry: testStart.Add(-time.Second), RefreshExpiry: login.Add(RefreshLifetime)})
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "NEW" || tok.RefreshToken != "REFRESH2" || !tok.Expiry.Equal(testStart.Add(1800*time.Second)) ||
		!tok.RefreshExpiry.Equal(login.Add(RefreshLifetime)) {
		t.Errorf("token = access %q refresh %q expiry %s login expiry %s", tok.AccessToken, tok.RefreshToken, tok.Expiry, tok.RefreshExpiry)
	}
}
