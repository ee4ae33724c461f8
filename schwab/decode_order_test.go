package schwab

import (
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// exactDecimal compares decimals by value AND exponent: a price decoded
// from "22.7299" keeps its four places.
var exactDecimal = cmp.Comparer(func(a, b decimal.Decimal) bool {
	return a.Equal(b) && a.Exponent() == b.Exponent()
})

// orderShape is what TestDecodeOrderPayloads asserts of an accepted payload.
type orderShape struct {
	OrderID, RawStatus   string
	Quantity, LimitPrice decimal.Decimal
}

// orderPayloads are edge cases of the Order object's JSON: accepted ones
// with the values they must give, refused ones that must be
// ErrMalformedResponse (never a panic, never a half-filled order).
var orderPayloads = []struct {
	name string
	body string
	want *orderShape // nil: refused
}{
	{"empty object", `{}`, &orderShape{}},
	{"whitespace everywhere", " {\n\t\"status\" :\r \"NEW\" , \"quantity\": 2 }\n", &orderShape{RawStatus: "NEW", Quantity: dec("2")}},
	{"unknown values skipped", `{"x":{"a":[1,-2.5e-3,0,"q\n\u00e9\/",true,false,null,{}]},"status":"NEW"}`, &orderShape{RawStatus: "NEW"}},
	{"nulls keep zero values", `{"status":null,"quantity":null,"cancelable":null,"orderLegCollection":null,"enteredTime":null,"orderId":null}`, &orderShape{}},
	{"empty and null elements", `{"orderLegCollection":[],"orderActivityCollection":[null],"childOrderStrategies":[{},null]}`, &orderShape{}},
	{"numbers as strings", `{"quantity":"10","price":"1.25","orderId":"123"}`, &orderShape{OrderID: "123", Quantity: dec("10"), LimitPrice: dec("1.25")}},
	{"numeric id kept as written", `{"orderId":1002345678901}`, &orderShape{OrderID: "1002345678901"}},
	{"places kept", `{"price":22.7299,"quantity":1.0}`, &orderShape{Quantity: dec("1.0"), LimitPrice: dec("22.7299")}},
	{"exponent number", `{"price":1.5E+2}`, &orderShape{LimitPrice: dec("1.5E+2")}},
	{"time as an object is zero", `{"enteredTime":{"a":1}}`, &orderShape{}},
	{"escapes decoded", `{"st\u0061tus":"FIL\u004cED"}`, &orderShape{RawStatus: "FILLED"}},
	{"top-level null is an empty order", `null`, &orderShape{}},
	{"deep unknown value", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, &orderShape{}},
	{"top-level array", `[]`, nil},
	{"trailing data", `{"status":"NEW"} {}`, nil},
	{"trailing comma", `{"status":"NEW",}`, nil},
	{"unterminated", `{"status":"NEW"`, nil},
	{"string field given a number", `{"status":5}`, nil},
	{"bool field given a string", `{"cancelable":"yes"}`, nil},
	{"slice field given an object", `{"orderLegCollection":{}}`, nil},
	{"struct field given a string", `{"orderLegCollection":[{"instrument":"AAPL"}]}`, nil},
	{"absurd exponent", `{"quantity":"1e999999"}`, nil},
	{"overlong number", `{"quantity":"` + strings.Repeat("9", maxNumLen+1) + `"}`, nil},
	{"id neither number nor string", `{"orderId":true}`, nil},
	{"leading zero", `{"x":[01]}`, nil},
	{"bare minus", `{"x":-}`, nil},
	{"fraction without digits", `{"x":1.}`, nil},
	{"bad escape in a skipped string", `{"x":"\q"}`, nil},
	{"control character in a string", "{\"x\":\"a\tb\"}", nil},
}

func TestDecodeOrderPayloads(t *testing.T) {
	for _, tt := range orderPayloads {
		t.Run(tt.name, func(t *testing.T) {
			o, err := decodeOrder([]byte(tt.body))
			if tt.want == nil {
				if !errors.Is(err, errors.ErrMalformedResponse) {
					t.Fatalf("decodeOrder(%q) error = %v, want ErrMalformedResponse", tt.body, err)
				}
				var be *errors.BrokerError
				if !errors.As(err, &be) || be.Broker != Name || be.Op != "decode order" {
					t.Errorf("error %v is not a schwab decode BrokerError", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeOrder(%q): %v", tt.body, err)
			}
			got := orderShape{OrderID: o.OrderID, RawStatus: o.RawStatus, Quantity: o.Quantity, LimitPrice: o.LimitPrice}
			if d := cmp.Diff(*tt.want, got, exactDecimal); d != "" {
				t.Errorf("decodeOrder(%q) (-want +got):\n%s", tt.body, d)
			}
		})
	}
}

func TestDecodeOrderList(t *testing.T) {
	filled, canceled := fixture(t, "order_filled_market_equity.json"), fixture(t, "order_canceled_limit_equity.json")
	tests := []struct {
		name    string
		body    string
		wantIDs []string // nil with wantErr
		wantErr bool
	}{
		{"two orders", "[" + string(filled) + ",\n" + string(canceled) + "]", []string{"1004055538153", "0"}, false},
		{"empty", ` [ ] `, []string{}, false},
		{"null element", `[null,{}]`, []string{"", ""}, false},
		{"null", `null`, []string{}, false},
		{"an object", string(filled), nil, true},
		{"trailing data", `[] []`, nil, true},
		{"a bad element", `[{},{"status":5}]`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := decodeOrderList([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("decodeOrderList error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			ids := []string{}
			for _, w := range list {
				ids = append(ids, w.toOrder().OrderID)
			}
			if d := cmp.Diff(tt.wantIDs, ids); d != "" {
				t.Errorf("order ids (-want +got):\n%s", d)
			}
		})
	}
}
