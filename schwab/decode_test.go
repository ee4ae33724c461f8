package schwab

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

func TestStatusMapping(t *testing.T) {
	// Every status of the spec's §6.11, as docs/ORDER_STATES.md maps it.
	tests := []struct {
		raw          string
		unfilled     broker.Status
		partlyFilled broker.Status
	}{
		{"AWAITING_PARENT_ORDER", broker.StatusNew, broker.StatusPartiallyFilled},
		{"AWAITING_CONDITION", broker.StatusNew, broker.StatusPartiallyFilled},
		{"AWAITING_STOP_CONDITION", broker.StatusNew, broker.StatusPartiallyFilled},
		{"AWAITING_MANUAL_REVIEW", broker.StatusNew, broker.StatusPartiallyFilled},
		{"ACCEPTED", broker.StatusNew, broker.StatusPartiallyFilled},
		{"PENDING_ACTIVATION", broker.StatusNew, broker.StatusPartiallyFilled},
		{"QUEUED", broker.StatusNew, broker.StatusPartiallyFilled},
		{"WORKING", broker.StatusNew, broker.StatusPartiallyFilled},
		{"NEW", broker.StatusNew, broker.StatusPartiallyFilled},
		{"AWAITING_RELEASE_TIME", broker.StatusNew, broker.StatusPartiallyFilled},
		{"PENDING_ACKNOWLEDGEMENT", broker.StatusNew, broker.StatusPartiallyFilled},
		{"PENDING_RECALL", broker.StatusNew, broker.StatusPartiallyFilled},
		{"PENDING_CANCEL", broker.StatusPendingCancel, broker.StatusPendingCancel},
		{"PENDING_REPLACE", broker.StatusPendingReplace, broker.StatusPendingReplace},
		{"AWAITING_UR_OUT", broker.StatusPendingReplace, broker.StatusPendingReplace},
		{"FILLED", broker.StatusFilled, broker.StatusFilled},
		{"CANCELED", broker.StatusCanceled, broker.StatusCanceled},
		{"EXPIRED", broker.StatusExpired, broker.StatusExpired},
		{"REPLACED", broker.StatusReplaced, broker.StatusReplaced},
		{"REJECTED", broker.StatusRejected, broker.StatusRejected},
		{"UNKNOWN", broker.StatusUnknown, broker.StatusUnknown},
		{"SOMETHING_SCHWAB_ADDS_LATER", broker.StatusUnknown, broker.StatusUnknown},
		{"", broker.StatusUnknown, broker.StatusUnknown},
	}
	for _, tt := range tests {
		if got, _ := mapStatus(tt.raw, decimal.Zero); got != tt.unfilled {
			t.Errorf("mapStatus(%q, 0) = %s, want %s", tt.raw, got, tt.unfilled)
		}
		if got, _ := mapStatus(tt.raw, decimal.NewFromInt(3)); got != tt.partlyFilled {
			t.Errorf("mapStatus(%q, 3) = %s, want %s", tt.raw, got, tt.partlyFilled)
		}
	}
	if len(statusMap) != len(tests)-2 {
		t.Errorf("statusMap has %d entries, the table tests %d", len(statusMap), len(tests)-2)
	}
	if broker.StatusUnknown.Terminal() {
		t.Error("an unknown status must not end an order")
	}
}

func TestUnknownStatusKeepsRawStatus(t *testing.T) {
	body := bytes.Replace(fixture(t, "order_filled_market_equity.json"), []byte(`"FILLED"`), []byte(`"PARTIALLY_DONE_V2"`), 1)
	o, err := decodeOrder(body)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != broker.StatusUnknown || o.RawStatus != "PARTIALLY_DONE_V2" || !o.FilledQuantity.Equal(dec("1")) {
		t.Errorf("order = status %s raw %q filled %s", o.Status, o.RawStatus, o.FilledQuantity)
	}
}

func TestAveragePriceExact(t *testing.T) {
	tests := []struct {
		fills []broker.Fill
		want  string
	}{
		{nil, "0"},
		{[]broker.Fill{{Quantity: dec("1"), Price: dec("22.7299")}}, "22.7299"},
		{[]broker.Fill{{Quantity: dec("5"), Price: dec("100.00")}, {Quantity: dec("5"), Price: dec("99.99")}}, "99.995"},
		// 0.1 + 0.2 in float64 is 0.30000000000000004; in decimal it is 0.15 each.
		{[]broker.Fill{{Quantity: dec("1"), Price: dec("0.1")}, {Quantity: dec("1"), Price: dec("0.2")}}, "0.15"},
		// 1/3: rounded to 16 places.
		{[]broker.Fill{{Quantity: dec("2"), Price: dec("1")}, {Quantity: dec("1"), Price: dec("2")}}, "1.3333333333333333"},
	}
	for _, tt := range tests {
		if got := averagePrice(tt.fills); !got.Equal(dec(tt.want)) {
			t.Errorf("averagePrice(%v) = %s, want %s", tt.fills, got, tt.want)
		}
	}
}

func TestExecIDFallbackIsStable(t *testing.T) {
	// Without activity ids, the key must not change when Schwab prepends a
	// newer activity.
	one := `{"orderId":1,"status":"WORKING","quantity":10,"filledQuantity":3,"orderLegCollection":[{"legId":1,"instruction":"BUY","quantity":10,"instrument":{"symbol":"A","assetType":"EQUITY"}}],
	"orderActivityCollection":[%s]}`
	a1 := `{"activityType":"EXECUTION","executionType":"FILL","quantity":3,"executionLegs":[{"legId":1,"quantity":3,"price":10.5,"time":"2025-01-02T15:00:00+0000"}]}`
	a2 := `{"activityType":"EXECUTION","executionType":"FILL","quantity":2,"executionLegs":[{"legId":1,"quantity":2,"price":10.4,"time":"2025-01-02T15:00:05+0000"}]}`
	first, err := decodeOrder([]byte(strings.Replace(one, "%s", a1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	second, err := decodeOrder([]byte(strings.Replace(one, "%s", a2+","+a1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Fills) != 1 || len(second.Fills) != 2 || first.Fills[0].ExecID != second.Fills[0].ExecID ||
		second.Fills[0].ExecID == second.Fills[1].ExecID {
		t.Errorf("exec ids: first %v, second %v", first.Fills, second.Fills)
	}
}

func gzipped(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(s))
	_ = zw.Close()
	return buf.Bytes()
}

// TestGatewayDetailKeptApart: errors[].detail is BrokerError.Detail, not
// appended to Message.
func TestGatewayDetailKeptApart(t *testing.T) {
	be := decodeError(401, http.Header{}, []byte(`{"errors":[{"id":"e","status":401,"title":"Unauthorized","detail":"Client not authorized"}]}`))
	if be.Detail != "Client not authorized" || strings.Contains(be.Message, "Client not authorized") || be.Code != "Unauthorized" {
		t.Errorf("code %q, message %q, detail %q", be.Code, be.Message, be.Detail)
	}
}

func TestDecodeErrorShapes(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    []byte
		kind    errors.Kind
		code    string
		message string // substring
	}{
		{"trader message and errors", 400, []byte(`{"message":"A validation error occurred","errors":["price is required"]}`),
			errors.ErrInvalidOrder, "", "price is required"},
		{"invalid account number", 400, []byte(`{"message":"Invalid account number"}`),
			errors.ErrConfiguration, codeInvalidAccount, "Invalid account number"},
		{"buying power", 400, []byte(`{"message":"Order rejected: insufficient buying power"}`),
			errors.ErrInsufficientFunds, "", "buying power"},
		{"missing auth header at market data", 400,
			[]byte(`{"errors":[{"id":"a","status":"400","title":"Bad Request","detail":"Missing header","source":{"header":"Authorization"}}]}`),
			errors.ErrUnauthenticated, "Bad Request", "Missing header"},
		{"bad fields parameter", 400,
			[]byte(`{"errors":[{"id":"b","status":"400","title":"Bad Request","detail":"Invalid field","source":{"parameter":"fields"}}]}`),
			errors.ErrInvalidOrder, "Bad Request", "Invalid field"},
		{"forbidden", 403, []byte(`{"message":"Forbidden"}`), errors.ErrPermissionDenied, "", "Forbidden"},
		{"order not found json", 404, []byte(`{"message":"Order not found"}`), errors.ErrOrderNotFound, "", "Order not found"},
		{"symbol 404 string status", 404, []byte(`{"errors":[{"id":"c","status":"404","title":"Not Found"}]}`),
			errors.ErrOrderNotFound, "Not Found", ""},
		{"gateway text 404 is an outage", 404,
			[]byte("404 Not Found: Requested route ('traderapi-accounts.apigx-origin.schwab.com') does not exist."),
			errors.ErrBrokerUnavailable, "", "Requested route"},
		{"rate limited empty", 429, nil, errors.ErrRateLimited, "", "Too Many Requests"},
		{"rate limited html", 429, []byte("<html>slow down</html>"), errors.ErrRateLimited, "", "slow down"},
		{"server error json", 500, []byte(`{"errors":[{"id":"d","status":500,"title":"Internal Server Error"}]}`),
			errors.ErrBrokerUnavailable, "Internal Server Error", ""},
		{"whitelabel html", 500, []byte("<html><body><h1>Whitelabel Error Page</h1></body></html>"),
			errors.ErrBrokerUnavailable, "", "Whitelabel Error Page"},
		{"access denied html 401", 401, []byte("<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD></HTML>"),
			errors.ErrBrokerUnavailable, "", "Access Denied"},
		{"empty 503", 503, nil, errors.ErrBrokerUnavailable, "", "Service Unavailable"},
		{"apigee fault", 500, []byte(`{"fault":{"faultstring":"Body buffer overflow","detail":{"errorcode":"protocol.http.TooBigBody"}}}`),
			errors.ErrBrokerUnavailable, "protocol.http.TooBigBody", "Body buffer overflow"},
		{"oauth invalid client", 401, []byte(`{"error":"invalid_client","error_description":"client authentication failed"}`),
			errors.ErrUnauthenticated, "invalid_client", "client authentication failed"},
		{"gzip 401", 401, gzipped(`{"errors":[{"id":"e","status":401,"title":"Unauthorized","detail":"Client not authorized"}]}`),
			errors.ErrUnauthenticated, "Unauthorized", "Client not authorized"},
		{"truncated json", 400, []byte(`{"message":"cut`), errors.ErrBrokerUnavailable, "", `{"message":"cut`},
		{"unknown shape", 400, []byte(`{"weird":true}`), errors.ErrInvalidOrder, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := decodeError(tt.status, http.Header{}, tt.body)
			if be.Kind != tt.kind || be.Code != tt.code || !strings.Contains(be.Message+" "+be.Detail, tt.message) || be.HTTPStatus != tt.status {
				t.Errorf("decodeError = %+v, want kind %q code %q message ~%q", fieldsOf(be), tt.kind, tt.code, tt.message)
			}
			if !errors.Is(be, tt.kind) {
				t.Errorf("errors.Is(%v, %q) is false", be, tt.kind)
			}
		})
	}
}

func FuzzDecodeOrder(f *testing.F) {
	for _, name := range []string{"order_filled_market_equity.json", "order_canceled_limit_equity.json",
		"order_trigger_multileg_filled_tda_era.json", "order_request_trigger_oco_bracket.json"} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"orderId":"x","quantity":"1e999999","orderActivityCollection":[{"activityType":"EXECUTION","executionType":"FILL","quantity":0}]}`))
	for _, p := range orderPayloads {
		f.Add([]byte(p.body))
	}
	f.Add([]byte(`[{"status":"NEW","quantity":1},null,{}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		// The same bytes as a list (GET .../orders): an error or orders,
		// never a panic.
		if list, err := decodeOrderList(body); err == nil {
			for _, w := range list {
				if s := w.toOrder().Status; !s.Valid() {
					t.Fatalf("list element with invalid status %d", s)
				}
			}
		}
		o, err := decodeOrder(body)
		if err != nil {
			if !errors.Is(err, errors.ErrMalformedResponse) {
				t.Fatalf("error %v is not ErrMalformedResponse", err)
			}
			return
		}
		if !o.Status.Valid() {
			t.Fatalf("invalid status %d", o.Status)
		}
		for _, fl := range o.Fills {
			if !fl.Quantity.IsPositive() {
				t.Fatalf("fill %q with quantity %s", fl.ExecID, fl.Quantity)
			}
		}
		if o.Status.Terminal() != slicesContains([]string{"FILLED", "CANCELED", "EXPIRED", "REPLACED", "REJECTED"}, o.RawStatus) {
			t.Fatalf("raw status %q mapped to %s", o.RawStatus, o.Status)
		}
	})
}

func slicesContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func FuzzDecodeError(f *testing.F) {
	for _, name := range []string{"error_400_message_only.json", "error_401_errors_array.json", "oauth_error_refresh_token_invalid.json"} {
		f.Add(400, fixture(f, name))
	}
	f.Add(500, []byte("<html>Whitelabel Error Page</html>"))
	f.Add(429, []byte{})
	f.Add(401, gzipped(`{"errors":[{"status":401}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		be := decodeError(status, http.Header{}, body)
		if be == nil || be.Kind == "" || be.Broker != Name {
			t.Fatalf("decodeError(%d) = %+v: every answer must be classified", status, be)
		}
		if len(be.Message) > 4*maxErrorText && !strings.HasPrefix(string(bytes.TrimSpace(body)), "{") {
			t.Fatalf("raw text kept unbounded: %d bytes", len(be.Message))
		}
	})
}
