package broker_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// validLimit returns a valid limit buy to break one field at a time.
func validLimit() broker.OrderRequest {
	return broker.OrderRequest{
		ClientOrderID: "abc123",
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy,
		Type:          broker.Limit,
		Quantity:      d("10"),
		LimitPrice:    d("150.25"),
		TimeInForce:   broker.Day,
	}
}

// leaves returns the errors joined in err (err itself if it joins none).
func leaves(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checkInvalid checks that err reports exactly the fields named, each as an
// *errors.OrderError matching ErrInvalidOrder whose reason names the field.
func checkInvalid(t *testing.T, err error, fields []string) {
	t.Helper()
	if len(fields) == 0 {
		if err != nil {
			t.Errorf("Validate: %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, errors.ErrInvalidOrder) {
		t.Fatalf("Validate: %v, want ErrInvalidOrder", err)
	}
	var reasons []string
	for _, e := range leaves(err) {
		var oe *errors.OrderError
		if !errors.As(e, &oe) || !errors.Is(e, errors.ErrInvalidOrder) {
			t.Errorf("%v is not an *errors.OrderError matching ErrInvalidOrder", e)
			continue
		}
		reasons = append(reasons, oe.Reason)
	}
	if len(reasons) != len(fields) {
		t.Errorf("reasons %q, want %d naming %v", reasons, len(fields), fields)
	}
	for _, f := range fields {
		found := false
		for _, r := range reasons {
			found = found || strings.Contains(r, f)
		}
		if !found {
			t.Errorf("no reason names %s: %q", f, reasons)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(r *broker.OrderRequest)
		fields []string // the fields the error must name; none = valid
	}{
		{"valid limit", func(*broker.OrderRequest) {}, nil},
		{"valid market", func(r *broker.OrderRequest) { r.Type, r.LimitPrice = broker.Market, decimal.Zero }, nil},
		{"valid stop", func(r *broker.OrderRequest) { r.Type, r.LimitPrice, r.StopPrice = broker.Stop, decimal.Zero, d("140") }, nil},
		{"valid stop-limit", func(r *broker.OrderRequest) { r.Type, r.StopPrice = broker.StopLimit, d("151") }, nil},
		{"valid trailing amount", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TrailAmount = broker.TrailingStop, decimal.Zero, d("2")
		}, nil},
		{"valid trailing percent", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TrailPercent = broker.TrailingStop, decimal.Zero, d("99.99")
		}, nil},
		{"empty client id", func(r *broker.OrderRequest) { r.ClientOrderID = "" }, []string{"client_order_id"}},
		{"client id too long", func(r *broker.OrderRequest) { r.ClientOrderID = strings.Repeat("a", 129) }, []string{"client_order_id"}},
		{"client id with a space", func(r *broker.OrderRequest) { r.ClientOrderID = "a b" }, []string{"client_order_id"}},
		{"client id non-ascii", func(r *broker.OrderRequest) { r.ClientOrderID = "é" }, []string{"client_order_id"}},
		{"empty symbol", func(r *broker.OrderRequest) { r.Instrument.Symbol = "" }, []string{"instrument.symbol"}},
		{"symbol with a newline", func(r *broker.OrderRequest) { r.Instrument.Symbol = "AA\nPL" }, []string{"instrument.symbol"}},
		{"symbol too long", func(r *broker.OrderRequest) { r.Instrument.Symbol = strings.Repeat("A", 65) }, []string{"instrument.symbol"}},
		{"unset asset class", func(r *broker.OrderRequest) { r.Instrument.AssetClass = 0 }, []string{"instrument.asset_class"}},
		{"asset class out of range", func(r *broker.OrderRequest) { r.Instrument.AssetClass = 9 }, []string{"instrument.asset_class"}},
		{"unset side", func(r *broker.OrderRequest) { r.Side = 0 }, []string{"side"}},
		{"side out of range", func(r *broker.OrderRequest) { r.Side = 200 }, []string{"side"}},
		{"unset time in force", func(r *broker.OrderRequest) { r.TimeInForce = 0 }, []string{"time_in_force"}},
		{"time in force out of range", func(r *broker.OrderRequest) { r.TimeInForce = 5 }, []string{"time_in_force"}},
		{"zero quantity", func(r *broker.OrderRequest) { r.Quantity = decimal.Zero }, []string{"quantity"}},
		{"negative quantity", func(r *broker.OrderRequest) { r.Quantity = d("-1") }, []string{"quantity"}},
		{"unset type", func(r *broker.OrderRequest) { r.Type = 0 }, []string{"type"}},
		{"type out of range", func(r *broker.OrderRequest) { r.Type = 6 }, []string{"type"}},
		{"limit without a price", func(r *broker.OrderRequest) { r.LimitPrice = decimal.Zero }, []string{"limit_price"}},
		{"limit with a negative price", func(r *broker.OrderRequest) { r.LimitPrice = d("-0.01") }, []string{"limit_price"}},
		{"limit with a stop price", func(r *broker.OrderRequest) { r.StopPrice = d("1") }, []string{"stop_price"}},
		{"market with a limit price", func(r *broker.OrderRequest) { r.Type = broker.Market }, []string{"limit_price"}},
		{"stop without a stop price", func(r *broker.OrderRequest) { r.Type, r.LimitPrice = broker.Stop, decimal.Zero }, []string{"stop_price"}},
		{"stop-limit without a stop", func(r *broker.OrderRequest) { r.Type = broker.StopLimit }, []string{"stop_price"}},
		{"stop-limit without either", func(r *broker.OrderRequest) { r.Type, r.LimitPrice = broker.StopLimit, decimal.Zero },
			[]string{"limit_price", "stop_price"}},
		{"trail on a limit", func(r *broker.OrderRequest) { r.TrailAmount = d("1") }, []string{"trail"}},
		{"trailing without a trail", func(r *broker.OrderRequest) { r.Type, r.LimitPrice = broker.TrailingStop, decimal.Zero }, []string{"trail"}},
		{"trailing with both trails", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TrailAmount, r.TrailPercent = broker.TrailingStop, decimal.Zero, d("1"), d("1")
		}, []string{"trail"}},
		{"trailing negative", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TrailAmount = broker.TrailingStop, decimal.Zero, d("-1")
		}, []string{"trail"}},
		{"trailing 100 percent", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TrailPercent = broker.TrailingStop, decimal.Zero, d("100")
		}, []string{"trail_percent"}},
		{"everything wrong", func(r *broker.OrderRequest) { *r = broker.OrderRequest{} },
			[]string{"client_order_id", "instrument.symbol", "instrument.asset_class", "side", "time_in_force", "quantity", "type"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validLimit()
			tt.change(&r)
			checkInvalid(t, r.Validate(), tt.fields)
		})
	}
}

// validateFields are the names a Validate reason may start from.
var validateFields = []string{"client_order_id", "instrument.symbol", "instrument.asset_class", "side",
	"time_in_force", "quantity", "limit_price", "stop_price", "trail", "type"}

func FuzzValidate(f *testing.F) {
	f.Add("abc123", "AAPL", uint8(1), uint8(1), uint8(2), uint8(1), "10", "150.25", "", "", "")
	f.Add("", "", uint8(0), uint8(0), uint8(0), uint8(0), "", "", "", "", "")
	f.Add("x", "BTC-USD", uint8(3), uint8(4), uint8(5), uint8(4), "-1e9999", "1e-9999", "0", "-3", "100")
	f.Add(strings.Repeat("z", 30), "A\x00", uint8(255), uint8(255), uint8(255), uint8(255), "NaN", "Inf", "1e", ".", "-0")
	f.Fuzz(func(t *testing.T, cid, sym string, class, side, typ, tif uint8, qty, lim, stop, trailAmt, trailPct string) {
		parse := func(s string) decimal.Decimal {
			v, err := decimal.NewFromString(s)
			if err != nil {
				return decimal.Zero
			}
			return v
		}
		r := broker.OrderRequest{ClientOrderID: cid, Instrument: broker.Instrument{Symbol: sym, AssetClass: broker.AssetClass(class)},
			Side: broker.Side(side), Type: broker.OrderType(typ), TimeInForce: broker.TimeInForce(tif),
			Quantity: parse(qty), LimitPrice: parse(lim), StopPrice: parse(stop),
			TrailAmount: parse(trailAmt), TrailPercent: parse(trailPct)}
		err := r.Validate()
		if err == nil {
			if !r.Quantity.IsPositive() || !r.Side.Valid() || !r.Type.Valid() || broker.ValidateClientOrderID(cid) != nil {
				t.Errorf("Validate accepted %+v", r)
			}
			return
		}
		for _, e := range leaves(err) {
			var oe *errors.OrderError
			if !errors.As(e, &oe) || !errors.Is(e, errors.ErrInvalidOrder) {
				t.Fatalf("%v is not an *errors.OrderError matching ErrInvalidOrder", e)
			}
			named := false
			for _, f := range validateFields {
				named = named || strings.Contains(oe.Reason, f)
			}
			if !named {
				t.Errorf("reason %q names no field", oe.Reason)
			}
		}
	})
}

// textEnum is what every enum implements.
type textEnum interface {
	fmt.Stringer
	MarshalText() ([]byte, error)
}

func TestEnumsRoundTrip(t *testing.T) {
	type enumCase struct {
		value textEnum
		text  string
		parse func([]byte) (textEnum, error)
	}
	parseAs := func(fn func([]byte) (textEnum, error)) func([]byte) (textEnum, error) { return fn }
	assetClass := parseAs(func(b []byte) (textEnum, error) { var v broker.AssetClass; err := v.UnmarshalText(b); return v, err })
	side := parseAs(func(b []byte) (textEnum, error) { var v broker.Side; err := v.UnmarshalText(b); return v, err })
	orderType := parseAs(func(b []byte) (textEnum, error) { var v broker.OrderType; err := v.UnmarshalText(b); return v, err })
	tif := parseAs(func(b []byte) (textEnum, error) { var v broker.TimeInForce; err := v.UnmarshalText(b); return v, err })
	status := parseAs(func(b []byte) (textEnum, error) { var v broker.Status; err := v.UnmarshalText(b); return v, err })
	tests := []enumCase{
		{broker.Equity, "equity", assetClass}, {broker.Option, "option", assetClass}, {broker.Crypto, "crypto", assetClass},
		{broker.Buy, "buy", side}, {broker.Sell, "sell", side}, {broker.SellShort, "sell_short", side}, {broker.BuyToCover, "buy_to_cover", side},
		{broker.Market, "market", orderType}, {broker.Limit, "limit", orderType}, {broker.Stop, "stop", orderType},
		{broker.StopLimit, "stop_limit", orderType}, {broker.TrailingStop, "trailing_stop", orderType},
		{broker.Day, "day", tif}, {broker.GTC, "gtc", tif}, {broker.IOC, "ioc", tif}, {broker.FOK, "fok", tif},
		{broker.StatusUnknown, "unknown", status}, {broker.StatusPendingNew, "pending_new", status}, {broker.StatusNew, "new", status},
		{broker.StatusPartiallyFilled, "partially_filled", status}, {broker.StatusFilled, "filled", status},
		{broker.StatusPendingCancel, "pending_cancel", status}, {broker.StatusCanceled, "canceled", status},
		{broker.StatusPendingReplace, "pending_replace", status}, {broker.StatusReplaced, "replaced", status},
		{broker.StatusRejected, "rejected", status}, {broker.StatusExpired, "expired", status},
	}
	for _, tt := range tests {
		text, err := tt.value.MarshalText()
		if err != nil || string(text) != tt.text || tt.value.String() != tt.text {
			t.Errorf("%#v: MarshalText %q, %v; String %q; want %q", tt.value, text, err, tt.value.String(), tt.text)
		}
		back, err := tt.parse([]byte(tt.text))
		if err != nil || back != tt.value {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tt.text, back, err, tt.value)
		}
	}
	for _, parse := range []func([]byte) (textEnum, error){assetClass, side, orderType, tif, status} {
		for _, bad := range []string{"BUY", "Market", " gtc", "nope", "\x00"} {
			if _, err := parse([]byte(bad)); !errors.Is(err, errors.ErrInvalidOrder) {
				t.Errorf("UnmarshalText(%q): %v, want ErrInvalidOrder", bad, err)
			}
		}
	}
}

func TestEnumsOutOfRange(t *testing.T) {
	for _, v := range []textEnum{broker.AssetClass(9), broker.Side(9), broker.OrderType(9), broker.TimeInForce(9), broker.Status(99)} {
		if _, err := v.MarshalText(); !errors.Is(err, errors.ErrInvalidOrder) {
			t.Errorf("%#v.MarshalText: %v, want ErrInvalidOrder", v, err)
		}
		if s := v.String(); !strings.Contains(s, "(") {
			t.Errorf("%#v.String() = %q, want the type and number", v, s)
		}
	}
	if got := broker.Side(0).String(); got != "unspecified" {
		t.Errorf("unset Side = %q, want unspecified", got)
	}
}

func TestOrderJSONRoundTrip(t *testing.T) {
	want := broker.Order{
		OrderID: "1", ClientOrderID: "abc", Instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto},
		Side: broker.SellShort, Type: broker.StopLimit, TimeInForce: broker.GTC, Quantity: d("0.00012345"),
		LimitPrice: d("64000.01"), StopPrice: d("64100"), Status: broker.StatusPartiallyFilled, RawStatus: "OPEN",
		FilledQuantity: d("0.0001"), AvgFillPrice: d("64000.015"), Fees: d("0.3"),
		Fills: []broker.Fill{{ExecID: "e1", Quantity: d("0.0001"), Price: d("64000.015"), Fee: d("0.3")}},
	}
	raw, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{`"side":"sell_short"`, `"type":"stop_limit"`, `"status":"partially_filled"`, `"asset_class":"crypto"`, `"quantity":"0.00012345"`} {
		if !strings.Contains(string(raw), text) {
			t.Errorf("JSON %s lacks %s", raw, text)
		}
	}
	var got broker.Order
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y decimal.Decimal) bool { return x.Equal(y) })); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
	var bad broker.Order
	if err := json.Unmarshal([]byte(`{"side":"sideways"}`), &bad); !errors.Is(err, errors.ErrInvalidOrder) {
		t.Errorf("unknown side in JSON: %v, want ErrInvalidOrder", err)
	}
}

func TestNewClientOrderID(t *testing.T) {
	const n = 100_000
	seen := make(map[string]bool, n)
	for range n {
		id := broker.NewClientOrderID()
		if err := broker.ValidateClientOrderID(id); err != nil {
			t.Fatalf("NewClientOrderID() = %q: %v", id, err)
		}
		if len(id) != broker.MaxClientOrderIDLen {
			t.Fatalf("NewClientOrderID() = %q, want %d characters", id, broker.MaxClientOrderIDLen)
		}
		if seen[id] {
			t.Fatalf("collision after %d ids: %q", len(seen), id)
		}
		seen[id] = true
	}
}

func TestDeriveClientOrderID(t *testing.T) {
	a := broker.DeriveClientOrderID("acct", "AAPL", "42")
	if b := broker.DeriveClientOrderID("acct", "AAPL", "42"); a != b {
		t.Errorf("not deterministic: %q then %q", a, b)
	}
	if err := broker.ValidateClientOrderID(a); err != nil {
		t.Errorf("derived id %q: %v", a, err)
	}
	distinct := map[string][]string{}
	for _, parts := range [][]string{{"acct", "AAPL", "42"}, {"acct", "AAPL", "43"}, {"ab", "c"}, {"a", "bc"}, {"abc"}, {}, {""}, {"", ""}} {
		id := broker.DeriveClientOrderID(parts...)
		if prev, dup := distinct[id]; dup {
			t.Errorf("parts %q and %q give the same id %q", prev, parts, id)
		}
		distinct[id] = parts
	}
	seen := make(map[string]bool, 100_000)
	for i := range 100_000 {
		id := broker.DeriveClientOrderID("bot", fmt.Sprint(i))
		if seen[id] {
			t.Fatalf("derived collision at %d", i)
		}
		seen[id] = true
	}
}

func TestValidateClientOrderID(t *testing.T) {
	for id, ok := range map[string]bool{
		"a": true, "Z9": true, strings.Repeat("x", 20): true, strings.Repeat("x", 128): true,
		"9f1c2a7e-3b4d-4c5e-8f90-1a2b3c4d5e6f": true, "a-b": true, "a_b": true,
		"": false, strings.Repeat("x", 129): false, "a b": false, "ü": false, "a\x00": false,
	} {
		err := broker.ValidateClientOrderID(id)
		if ok != (err == nil) || err != nil && !errors.Is(err, errors.ErrInvalidOrder) {
			t.Errorf("ValidateClientOrderID(%q) = %v, want ok=%v (ErrInvalidOrder otherwise)", id, err, ok)
		}
	}
}

func TestClientOrderIDRule(t *testing.T) {
	etrade := broker.ClientOrderIDRule{MaxLen: 20, Alphanumeric: true}
	coinbase := broker.ClientOrderIDRule{MaxLen: 128}
	none := broker.ClientOrderIDRule{}
	uuid := "9f1c2a7e-3b4d-4c5e-8f90-1a2b3c4d5e6f"
	for _, tc := range []struct {
		rule broker.ClientOrderIDRule
		id   string
		ok   bool
	}{
		{etrade, broker.NewClientOrderID(), true}, {etrade, uuid, false}, {etrade, strings.Repeat("a", 21), false},
		{coinbase, uuid, true}, {coinbase, strings.Repeat("a", 129), false},
		{none, uuid, true},
	} {
		err := tc.rule.Check(tc.id)
		if tc.ok != (err == nil) || err != nil && !errors.Is(err, errors.ErrInvalidOrder) {
			t.Errorf("%+v.Check(%q) = %v, want ok=%v", tc.rule, tc.id, err, tc.ok)
		}
	}
}

func TestStatusTerminal(t *testing.T) {
	terminal := map[broker.Status]bool{broker.StatusFilled: true, broker.StatusCanceled: true,
		broker.StatusReplaced: true, broker.StatusRejected: true, broker.StatusExpired: true}
	for s := broker.StatusUnknown; s <= broker.StatusExpired; s++ {
		if s.Terminal() != terminal[s] {
			t.Errorf("%s.Terminal() = %v", s, s.Terminal())
		}
	}
}

func TestOrderRemaining(t *testing.T) {
	for _, tt := range []struct{ qty, filled, want string }{{"10", "4", "6"}, {"10", "10", "0"}, {"10", "12", "0"}} {
		o := broker.Order{Quantity: d(tt.qty), FilledQuantity: d(tt.filled)}
		if got := o.Remaining(); !got.Equal(d(tt.want)) {
			t.Errorf("Remaining(%s of %s) = %s, want %s", tt.filled, tt.qty, got, tt.want)
		}
	}
}
