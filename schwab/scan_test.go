package schwab

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

// exactDecimal compares decimals by value AND exponent: the scanner must
// give the very decimals encoding/json gives.
var exactDecimal = cmp.Comparer(func(a, b decimal.Decimal) bool {
	return a.Equal(b) && a.Exponent() == b.Exponent()
})

var orderFixtures = []string{"order_filled_market_equity.json", "order_canceled_limit_equity.json",
	"order_trigger_multileg_filled_tda_era.json", "order_request_trigger_oco_bracket.json",
	"order_request_limit_buy_equity.json", "order_request_oco_limit_and_stop_limit.json",
	"order_request_trailing_stop.json"}

// scannerCases are payloads the scanner must decode (true) or hand to
// encoding/json (false).
var scannerCases = []struct {
	name    string
	body    string
	handled bool
}{
	{"empty object", `{}`, true},
	{"whitespace everywhere", " {\n\t\"status\" :\r \"NEW\" , \"quantity\": 2 }\n", true},
	{"unknown values validated and skipped", `{"x":{"a":[1,-2.5e-3,0,"q\n\u00e9\/",true,false,null,{}]},"status":"NEW"}`, true},
	{"nulls keep zero values", `{"status":null,"quantity":null,"cancelable":null,"orderLegCollection":null,"enteredTime":null,"orderId":null}`, true},
	{"empty and null elements", `{"orderLegCollection":[],"orderActivityCollection":[null],"childOrderStrategies":[{},null]}`, true},
	{"numbers as strings", `{"quantity":"10","price":"1.25","orderId":"123"}`, true},
	{"exponent number", `{"price":1.5E+2}`, true},
	{"time as an object is zero", `{"enteredTime":{"a":1}}`, true},
	{"nested children", `{"childOrderStrategies":[{"childOrderStrategies":[{"status":"FILLED","price":1}]}]}`, true},
	{"top-level null", `null`, false},
	{"top-level array", `[]`, false},
	{"trailing data", `{"status":"NEW"} {}`, false},
	{"trailing comma", `{"status":"NEW",}`, false},
	{"unterminated", `{"status":"NEW"`, false},
	{"duplicate field", `{"status":"NEW","status":"FILLED"}`, false},
	{"field in other case", `{"Status":"FILLED"}`, false},
	{"field by unicode folding", `{"ſession":"NORMAL"}`, false},
	{"escaped key", `{"st\u0061tus":"NEW"}`, false},
	{"escaped string", `{"status":"FIL\u004cED"}`, false},
	{"non-ASCII string", `{"tag":"café"}`, false},
	{"string field given a number", `{"status":5}`, false},
	{"bool field given a string", `{"cancelable":"yes"}`, false},
	{"slice field given an object", `{"orderLegCollection":{}}`, false},
	{"struct field given a string", `{"orderLegCollection":[{"instrument":"AAPL"}]}`, false},
	{"absurd exponent", `{"quantity":"1e999999"}`, false},
	{"id neither number nor string", `{"orderId":true}`, false},
	{"leading zero", `{"x":[01]}`, false},
	{"bare minus", `{"x":-}`, false},
	{"fraction without digits", `{"x":1.}`, false},
	{"bad escape in a skipped string", `{"x":"\q"}`, false},
	{"control character in a string", "{\"x\":\"a\tb\"}", false},
	{"too deep", `{"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, false},
}

func TestOrderScannerAgreesWithEncodingJSON(t *testing.T) {
	type tc struct {
		name    string
		body    []byte
		handled bool
	}
	var cases []tc
	for _, name := range orderFixtures {
		cases = append(cases, tc{name, fixture(t, name), true})
	}
	for _, c := range scannerCases {
		cases = append(cases, tc{c.name, []byte(c.body), c.handled})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var fast wireOrder
			if got := scanOrder(c.body, &fast); got != c.handled {
				t.Fatalf("scanOrder handled = %v, want %v", got, c.handled)
			}
			if c.handled {
				compareWithEncodingJSON(t, c.body, fast)
			}
			// Either way decodeOrder gives encoding/json's answer.
			var slow wireOrder
			jerr := json.Unmarshal(c.body, &slow)
			o, err := decodeOrder(c.body)
			if (err != nil) != (jerr != nil) {
				t.Fatalf("decodeOrder error %v, encoding/json error %v", err, jerr)
			}
			if err == nil {
				if d := cmp.Diff(slow.toOrder(), o, exactDecimal); d != "" {
					t.Errorf("decodeOrder differs from encoding/json (-json +decodeOrder):\n%s", d)
				}
			}
		})
	}
}

func TestOrderListScannerAgreesWithEncodingJSON(t *testing.T) {
	filled, canceled := fixture(t, "order_filled_market_equity.json"), fixture(t, "order_canceled_limit_equity.json")
	tests := []struct {
		name    string
		body    string
		handled bool
	}{
		{"two orders", "[" + string(filled) + ",\n" + string(canceled) + "]", true},
		{"empty", ` [ ] `, true},
		{"null element", `[null,{}]`, true},
		{"null", `null`, false},
		{"an object", string(filled), false},
		{"an element encoding/json must judge", `[{"Status":"NEW"}]`, false},
		{"trailing data", `[] []`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fast []wireOrder
			if got := scanOrderList([]byte(tt.body), &fast); got != tt.handled {
				t.Fatalf("scanOrderList handled = %v, want %v", got, tt.handled)
			}
			if tt.handled {
				compareListWithEncodingJSON(t, []byte(tt.body), fast)
			}
			list, err := decodeOrderList([]byte(tt.body))
			var slow []wireOrder
			if jerr := json.Unmarshal([]byte(tt.body), &slow); (err != nil) != (jerr != nil) {
				t.Fatalf("decodeOrderList error %v, encoding/json error %v", err, jerr)
			}
			if d := cmp.Diff(slow, list, exactDecimal); err == nil && d != "" {
				t.Errorf("decodeOrderList differs from encoding/json (-json +decodeOrderList):\n%s", d)
			}
		})
	}
}

func compareListWithEncodingJSON(t *testing.T, body []byte, fast []wireOrder) {
	t.Helper()
	var slow []wireOrder
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("the scanner accepted a list encoding/json refuses (%v): %q", err, body)
	}
	if d := cmp.Diff(slow, fast, exactDecimal); d != "" {
		t.Fatalf("list scanner differs from encoding/json (-json +scanner) on %q:\n%s", body, d)
	}
}

func compareWithEncodingJSON(t *testing.T, body []byte, fast wireOrder) {
	t.Helper()
	var slow wireOrder
	if err := json.Unmarshal(body, &slow); err != nil {
		t.Fatalf("the scanner accepted what encoding/json refuses (%v): %q", err, body)
	}
	if d := cmp.Diff(slow, fast, exactDecimal); d != "" {
		t.Fatalf("scanner differs from encoding/json (-json +scanner) on %q:\n%s", body, d)
	}
}

// FuzzOrderScanner: wherever the scanner decodes a payload (an order, or
// the same bytes as a list of orders), encoding/json decodes it too, to the
// same value.
func FuzzOrderScanner(f *testing.F) {
	for _, name := range orderFixtures {
		f.Add(fixture(f, name))
	}
	for _, c := range scannerCases {
		f.Add([]byte(c.body))
	}
	f.Add([]byte(`[{"status":"NEW","quantity":1},null,{}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast wireOrder
		if scanOrder(body, &fast) {
			compareWithEncodingJSON(t, body, fast)
		}
		var list []wireOrder
		if scanOrderList(body, &list) {
			compareListWithEncodingJSON(t, body, list)
		}
	})
}
