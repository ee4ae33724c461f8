package schwab

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/shopspring/decimal"
)

func streamFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "stream", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func eastern(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// decodeActivityFrame maps every ACCT_ACTIVITY item of a frame, as the
// session does (without its dedup).
func decodeActivityFrame(t testing.TB, body []byte) []activityOutcome {
	t.Helper()
	f, err := decodeFrame(body)
	if err != nil {
		t.Fatal(err)
	}
	var out []activityOutcome
	for _, d := range f.Data {
		for _, raw := range d.Content {
			it, err := decodeActivityItem(raw)
			if err != nil {
				t.Fatal(err)
			}
			o, err := mapActivity(it, d.Timestamp, eastern(t))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, o)
		}
	}
	return out
}

var ignored = activityOutcome{Ignored: true}

func event(ev broker.OrderEvent) activityOutcome { return activityOutcome{Event: &ev} }

// Every captured ACCT_ACTIVITY batch decodes to the events of
// streaming.md §4.1: routing messages change nothing, the fill carries its
// execution and the order's cumulative quantity, times are US Eastern.
func TestDecodeActivityFixtures(t *testing.T) {
	dec9 := time.Date(2025, 12, 9, 19, 11, 0, 0, time.UTC) // 14:11 EST
	const masked = "#############"
	cases := []struct {
		file string
		want []activityOutcome
	}{
		{"acct_activity_order_placed.json", []activityOutcome{ignored,
			event(broker.OrderEvent{Kind: broker.OrderEventAccepted, OrderID: masked, RawStatus: "OrderAccepted", Time: dec9}),
			ignored}},
		{"acct_activity_order_routed.json", []activityOutcome{ignored, ignored}},
		{"acct_activity_order_fill_completed.json", []activityOutcome{event(broker.OrderEvent{
			Kind: broker.OrderEventFill, OrderID: "########", RawStatus: "OrderFillCompleted",
			Time: time.Date(2025, 3, 20, 17, 43, 45, 620e6, time.UTC), // 13:43:45.620 EDT
			Fill: broker.Fill{ExecID: "20250320-EST-ngOMS-########", Quantity: dec("1"), Price: dec("213.4091"),
				Fee: decimal.Zero, Time: time.Date(2025, 3, 20, 17, 43, 45, 620e6, time.UTC)},
			Snapshot: broker.Order{OrderID: "########", Instrument: broker.Instrument{Symbol: "AAPL"}, Side: broker.Buy,
				Quantity: dec("1"), LimitPrice: dec("213.5"), FilledQuantity: dec("1"), LeavesQuantity: decimal.Zero,
				AvgFillPrice: dec("213.4091"), LastFillAt: time.Date(2025, 3, 20, 17, 43, 45, 620e6, time.UTC)},
		})}},
		{"acct_activity_cancel_accepted.json", []activityOutcome{event(broker.OrderEvent{
			Kind: broker.OrderEventCancelRequested, OrderID: masked, RawStatus: "CancelAccepted", Time: dec9})}},
		{"acct_activity_cancel_routed_urout.json", []activityOutcome{ignored, ignored, ignored, event(broker.OrderEvent{
			Kind: broker.OrderEventCanceled, OrderID: masked, RawStatus: "OrderUROutCompleted", Time: dec9,
			Snapshot: broker.Order{LeavesQuantity: decimal.Zero}})}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got := decodeActivityFrame(t, streamFixture(t, tc.file))
			if diff := cmp.Diff(tc.want, got, decimalEqual, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Messages no capture shows (shapes from community code) and the unknown.
func TestMapActivityAssumedShapes(t *testing.T) {
	item := func(typ, inner string) activityItem { return activityItem{Type: typ, Data: inner} }
	cases := []struct {
		name string
		it   activityItem
		want activityOutcome
	}{
		{"replace via CancelAccepted", item("CancelAccepted", `{"SchwabOrderID":1001,"BaseEvent":{"EventType":"CancelAccepted","CancelAcceptedEvent":{"LegCancelRequestInfoList":[{"ChangedNewSchwabOrderId":"1002"}]}}}`),
			event(broker.OrderEvent{Kind: broker.OrderEventReplaced, OrderID: "1001", NewOrderID: "1002", RawStatus: "CancelAccepted"})},
		{"ChangeCreated", item("ChangeCreated", `{"SchwabOrderID":"1002","BaseEvent":{"EventType":"ChangeCreated","ChangeCreatedEventEquityOrder":{"ParentSchwabOrderID":"1001"}}}`),
			event(broker.OrderEvent{Kind: broker.OrderEventReplaced, OrderID: "1001", NewOrderID: "1002", RawStatus: "ChangeCreated"})},
		{"SystemReject", item("OrderUROutCompleted", `{"SchwabOrderID":"7","BaseEvent":{"EventType":"OrderUROutCompleted","OrderUROutCompletedEvent":{"OutCancelType":"SystemReject","ValidationDetail":[{"NgOMSRuleName":"BuyingPower","NgOMSRuleDescription":"insufficient"}],"LeavesQuantity":{"signScale":12}}}}`),
			event(broker.OrderEvent{Kind: broker.OrderEventRejected, OrderID: "7", Reason: "BuyingPower insufficient", RawStatus: "OrderUROutCompleted",
				Snapshot: broker.Order{LeavesQuantity: decimal.Zero}})},
		{"OrderExpired", item("OrderExpired", `{"SchwabOrderID":"8","BaseEvent":{"EventType":"OrderExpired","OrderExpiredEvent":{"ExpirationType":"DayOrderExpiry","LeavesQuantity":{"signScale":12}}}}`),
			event(broker.OrderEvent{Kind: broker.OrderEventExpired, OrderID: "8", RawStatus: "OrderExpired", Snapshot: broker.Order{LeavesQuantity: decimal.Zero}})},
		{"zero-leg fill", item("OrderFillCompleted", `{"SchwabOrderID":"9","BaseEvent":{"OrderFillCompletedEventOrderLegQuantityInfo":{}}}`),
			activityOutcome{Lookup: "9"}},
		{"unknown type", item("OrderMonitorUpdated", `{"SchwabOrderID":"10","BaseEvent":{}}`), activityOutcome{Lookup: "10"}},
		{"ERROR", item("ERROR", "EXPIRED_KEY"), activityOutcome{Resubscribe: true}},
		{"TD-era type", item("OrderEntryRequest", ""), activityOutcome{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mapActivity(tc.it, 0, eastern(t))
			if tc.name == "TD-era type" {
				if err == nil {
					t.Errorf("an empty payload must be an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, decimalEqual, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestBclDecimal(t *testing.T) {
	cases := []struct {
		in   string
		want string
		set  bool
	}{
		{`{"lo":"1000000","signScale":12}`, "1", true},
		{`{"lo":"220470000","signScale":12}`, "220.47", true},
		{`{"lo":"220470000","signScale":13}`, "-220.47", true},
		{`{"signScale":12}`, "0", true},
		{`{"lo":"200"}`, "200", true},
		{`{}`, "0", false},
		{`{"lo":"1","hi":1,"signScale":0}`, "18446744073709551617", true},
	}
	for _, tc := range cases {
		var n bclNum
		if err := json.Unmarshal([]byte(tc.in), &n); err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !n.Equal(dec(tc.want)) || n.Set != tc.set {
			t.Errorf("%s = %s (set %v); want %s (set %v)", tc.in, n.Decimal, n.Set, tc.want, tc.set)
		}
	}
	for _, bad := range []string{`{"lo":"-1","signScale":12}`, `{"lo":"1","signScale":200}`, `{"lo":1.5}`, `[]`} {
		var n bclNum
		if err := json.Unmarshal([]byte(bad), &n); err == nil {
			t.Errorf("%s decoded to %s; want an error", bad, n.Decimal)
		}
	}
}

// LEVELONE captures decode by the guide's field tables, one per service;
// the guide's own §1.3 example (TD-era numbering) is refused rather than
// misread: its field 34 is a price, not a time.
func TestDecodeLevelOneFixtures(t *testing.T) {
	ms := func(v int64) time.Time { return time.UnixMilli(v).UTC() }
	q := func(sym, bid, ask, last, bs, as, ls string, at time.Time) broker.StreamQuote {
		return broker.StreamQuote{Quote: broker.Quote{Symbol: sym, Bid: dec(bid), Ask: dec(ask), Last: dec(last), Time: at},
			BidSize: dec(bs), AskSize: dec(as), LastSize: dec(ls)}
	}
	cases := []struct {
		file    string
		want    []broker.StreamQuote
		wantErr bool
	}{
		{file: "data_levelone_equities_all_fields.json", want: []broker.StreamQuote{
			q("MSFT", "417.01", "417.08", "417.09", "1", "0", "10", ms(1715777955574)),
			q("GOOG", "172.75", "172.77", "172.7786", "0", "1", "15", ms(1715777954819))}},
		{file: "data_levelone_equities_guide.json", want: []broker.StreamQuote{
			q("SCHW", "76.08", "76.49", "76.44", "3", "1", "0", time.Time{}),
			q("AAPL", "183.75", "183.8", "183.8", "1", "2", "0", time.Time{}),
			q("SPY", "512.3", "512.32", "511.29", "8", "1", "0", time.Time{})}},
		{file: "data_levelone_options_all_fields.json", want: []broker.StreamQuote{
			q("GOOG  240517C00070000", "102.15", "103.75", "103.07", "20", "20", "1", ms(1715786878997)),
			q("MSFT  240517C00160000", "259.9", "262.1", "255.53", "52", "51", "1", ms(1715786912341))}},
		{file: "data_levelone_equities_guide_1_3.json", wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			f, err := decodeFrame(streamFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []broker.StreamQuote
			none := func(string) broker.StreamQuote { return broker.StreamQuote{} }
			for _, d := range f.Data {
				for _, raw := range d.Content {
					sq, err := mergeLevelOne(d.Service, raw, none)
					if err != nil {
						if !tc.wantErr {
							t.Fatal(err)
						}
						return
					}
					got = append(got, sq)
				}
			}
			if tc.wantErr {
				t.Fatalf("decoded %+v; want an error", got)
			}
			if diff := cmp.Diff(tc.want, got, decimalEqual); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A partial LEVELONE item changes only the fields it carries.
func TestMergeLevelOnePartial(t *testing.T) {
	prev := broker.StreamQuote{Quote: broker.Quote{Symbol: "AAPL", Bid: dec("1.00"), Ask: dec("1.02"), Last: dec("1.01"),
		Time: time.UnixMilli(1000).UTC()}, BidSize: dec("3"), AskSize: dec("4"), LastSize: dec("5")}
	got, err := mergeLevelOne(svcEquities, json.RawMessage(`{"key":"AAPL","2":1.03,"34":2000}`),
		func(string) broker.StreamQuote { return prev })
	if err != nil {
		t.Fatal(err)
	}
	want := prev
	want.Ask, want.Time = dec("1.03"), time.UnixMilli(2000).UTC()
	if diff := cmp.Diff(want, got, decimalEqual); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Control frames: heartbeat, LOGIN answers, SUBS answer, a notice, and the
// userPreference body in both shapes.
func TestDecodeControlFixtures(t *testing.T) {
	type ctl struct {
		Heartbeat      bool
		Codes, Notices []int
	}
	cases := map[string]ctl{
		"heartbeat_notify.json":              {Heartbeat: true},
		"login_response_success.json":        {Codes: []int{0}},
		"login_response_denied.json":         {Codes: []int{3}},
		"logout_response.json":               {Codes: []int{0}},
		"subs_response_success.json":         {Codes: []int{0}},
		"notify_stop_streaming_tda_era.json": {Notices: []int{30}},
	}
	for file, want := range cases {
		f, err := decodeFrame(streamFixture(t, file))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var got ctl
		for _, r := range f.Response {
			got.Codes = append(got.Codes, r.Content.code())
		}
		for _, n := range f.Notify {
			if n.Heartbeat != "" {
				got.Heartbeat = true
			} else {
				got.Notices = append(got.Notices, n.Content.code())
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", file, diff)
		}
	}
	if _, err := decodeFrame([]byte("Failed to parse")); err == nil {
		t.Error("a frame that is not JSON must be an error")
	}
	body := streamFixture(t, "user_preference.json")
	want := streamerInfo{URL: "wss://streamer-api.schwab.com/ws",
		CustomerID: "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
		CorrelID:   "XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX", Channel: "N9", FunctionID: "APIAPP"}
	for _, b := range [][]byte{body, append(append([]byte("["), body...), ']')} {
		got, err := decodeUserPreference(b)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
	if _, err := decodeUserPreference([]byte(`{"streamerInfo":[]}`)); err == nil {
		t.Error("no streamerInfo must be an error")
	}
}

// The requests the adapter sends have the guide's shape.
func TestStreamRequestsMatchFixtures(t *testing.T) {
	cases := []struct {
		file string
		req  stRequest
	}{
		{"login_request.json", stRequest{Service: "ADMIN", Command: "LOGIN", RequestID: "1", CustomerID: "Someone",
			CorrelID: "5be0b7e7-5b8b-4fd3-9bed-7f49106cfe96", Parameters: map[string]string{"Authorization": "Access Token",
				"SchwabClientChannel": "N9", "SchwabClientFunctionId": "APIAPP"}}},
		{"acct_activity_subs_request.json", stRequest{Service: "ACCT_ACTIVITY", Command: "SUBS", RequestID: "2",
			CustomerID: "Someone", CorrelID: "f308b89-19a7-2d18-4a0a-1c5e7120336",
			Parameters: map[string]string{"keys": activityKey, "fields": "0,1,2,3"}}},
	}
	for _, tc := range cases {
		ours, err := json.Marshal(stRequests{Requests: []stRequest{tc.req}})
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(ours, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(streamFixture(t, tc.file), &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-fixture +ours):\n%s", tc.file, diff)
		}
	}
}

// decodeAll runs every decoder over one frame, as the session would.
func decodeAll(b []byte) {
	f, err := decodeFrame(b)
	if err != nil {
		return
	}
	loc := time.UTC
	for _, d := range f.Data {
		for _, raw := range d.Content {
			switch d.Service {
			case svcActivity:
				if it, err := decodeActivityItem(raw); err == nil {
					_, _ = mapActivity(it, d.Timestamp, loc)
				}
			default:
				_, _ = mergeLevelOne(d.Service, raw, func(string) broker.StreamQuote { return broker.StreamQuote{} })
			}
		}
	}
}

func FuzzDecodeStreamMessage(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "stream"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if filepath.Ext(e.Name()) == ".json" {
			f.Add(streamFixture(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) { decodeAll(b) })
}

func BenchmarkDecodeStreamMessage(b *testing.B) {
	loc := eastern(b)
	b.Run("acct_activity_fill", func(b *testing.B) {
		body := streamFixture(b, "acct_activity_order_fill_completed.json")
		b.ReportAllocs()
		for b.Loop() {
			f, err := decodeFrame(body)
			if err != nil {
				b.Fatal(err)
			}
			it, err := decodeActivityItem(f.Data[0].Content[0])
			if err != nil {
				b.Fatal(err)
			}
			if o, err := mapActivity(it, f.Data[0].Timestamp, loc); err != nil || o.Event == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("levelone_equities", func(b *testing.B) {
		body := streamFixture(b, "data_levelone_equities_guide.json")
		last := func(string) broker.StreamQuote { return broker.StreamQuote{} }
		b.ReportAllocs()
		for b.Loop() {
			f, err := decodeFrame(body)
			if err != nil {
				b.Fatal(err)
			}
			for _, raw := range f.Data[0].Content {
				if _, err := mergeLevelOne(svcEquities, raw, last); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
