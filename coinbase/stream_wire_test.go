package coinbase

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/google/go-cmp/cmp"
	"github.com/shopspring/decimal"
)

func streamFixture(t testing.TB, name string) []byte {
	t.Helper()
	return fixture(t, filepath.Join("stream", name))
}

func TestDecodeStreamFixtures(t *testing.T) {
	snapshotOrder := wsOrder{
		OrderID: "YYY", ClientOrderID: "XXX", ProductID: "BTC-USD", OrderSide: "BUY", OrderType: "Limit", Status: "FILLED",
		TimeInForce: "GOOD_UNTIL_CANCELLED", CumulativeQuantity: num{dec("0.01")}, LeavesQuantity: num{dec("0")},
		AvgPrice: num{dec("50000")}, FilledValue: num{dec("500")}, TotalFees: num{dec("2")}, NumberOfFills: num{dec("1")},
		LimitPrice: num{dec("50000")}, CreationTime: stamp{at("2024-06-21T18:29:13.909347Z")},
	}
	updateOrder := wsOrder{
		OrderID: "11111111-2222-4333-8444-555555555555", ClientOrderID: "c0ffee00-0000-4000-8000-000000000001",
		ProductID: "BTC-USD", OrderSide: "BUY", OrderType: "Limit", Status: "OPEN", TimeInForce: "GOOD_UNTIL_CANCELLED",
		CumulativeQuantity: num{dec("0.004")}, LeavesQuantity: num{dec("0.006")}, AvgPrice: num{dec("50000")},
		FilledValue: num{dec("200")}, TotalFees: num{dec("1.2")}, NumberOfFills: num{dec("1")}, LimitPrice: num{dec("50000")},
		CreationTime: stamp{at("2024-06-21T18:29:13.909347Z")},
	}
	ticker := wsTicker{ProductID: "BTC-USD", Price: num{dec("21932.98")}, BestBid: num{dec("21931.98")},
		BestBidQuantity: num{dec("8000.21")}, BestAsk: num{dec("21933.98")}, BestAskQuantity: num{dec("8038.07770938")}}
	for _, tc := range []struct {
		file string
		want wsMessage
	}{
		{"user_snapshot_message.json", wsMessage{Channel: "user", Timestamp: stamp{at("2023-02-09T20:33:57.609931463Z")},
			Events: []wsEvent{{Type: "snapshot", Orders: []wsOrder{snapshotOrder}}}}},
		{"user_update_partial_fill_SCHEMA.json", wsMessage{Channel: "user", Timestamp: stamp{at("2024-06-21T18:30:02.123456789Z")},
			SequenceNum: num{dec("7")}, Events: []wsEvent{{Type: "update", Orders: []wsOrder{updateOrder}}}}},
		{"ticker_message.json", wsMessage{Channel: "ticker", Timestamp: stamp{at("2023-02-09T20:30:37.167359596Z")},
			Events: []wsEvent{{Type: "snapshot", Tickers: []wsTicker{ticker}}}}},
		{"heartbeats_message.json", wsMessage{Channel: "heartbeats", Timestamp: stamp{at("2023-06-23T20:31:26.122969572Z")},
			Events: []wsEvent{{HeartbeatCounter: num{dec("3049")}}}}},
		{"subscriptions_message_thirdparty.json", wsMessage{Channel: "subscriptions", Timestamp: stamp{at("2026-04-07T14:30:00Z")},
			Events: []wsEvent{{}}}},
		// Channels the adapter does not read decode to their envelope.
		{"candles_message.json", wsMessage{Channel: "candles", Timestamp: stamp{at("2023-06-09T20:19:35.39625135Z")}, Events: []wsEvent{{Type: "snapshot"}}}},
		{"level2_snapshot_message.json", wsMessage{Channel: "l2_data", Timestamp: stamp{at("2023-02-09T20:32:50.714964855Z")}, Events: []wsEvent{{Type: "snapshot"}}}},
		{"market_trades_message.json", wsMessage{Channel: "market_trades", Timestamp: stamp{at("2023-02-09T20:19:35.39625135Z")}, Events: []wsEvent{{Type: "snapshot"}}}},
		{"status_message.json", wsMessage{Channel: "status", Timestamp: stamp{at("2023-02-09T20:29:49.753424311Z")}, Events: []wsEvent{{Type: "snapshot"}}}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := decodeStreamMessage(streamFixture(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, decimalEq, cmp.Comparer(func(a, b stamp) bool { return a.Equal(b.Time) })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// the heartbeat counter as the live feed sends it (an integer)
	if m, err := decodeStreamMessage([]byte(`{"channel":"heartbeats","sequence_num":3,"events":[{"heartbeat_counter":3050}]}`)); err != nil ||
		m.Events[0].HeartbeatCounter.IntPart() != 3050 || m.seq() != 3 {
		t.Errorf("integer counter: %+v %v", m, err)
	}
}

// TestSubscribeRequestsMatchFixtures checks the adapter's subscribe frames
// against the documented requests, key for key.
func TestSubscribeRequestsMatchFixtures(t *testing.T) {
	for _, tc := range []struct {
		file string
		msg  wsSubscribe
	}{
		{"subscribe_user_request.json", wsSubscribe{Type: "subscribe", Channel: "user", ProductIDs: []string{"BTC-USD"}, JWT: "XYZ"}},
		{"subscribe_heartbeats_request.json", wsSubscribe{Type: "subscribe", Channel: "heartbeats", JWT: "XYZ"}},
		{"subscribe_level2_request.json", wsSubscribe{Type: "subscribe", Channel: "level2", ProductIDs: []string{"ETH-USD", "ETH-EUR"}, JWT: "exampleJWT"}},
	} {
		var want, got map[string]any
		if err := json.Unmarshal(streamFixture(t, tc.file), &want); err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(tc.msg)
		_ = json.Unmarshal(raw, &got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-fixture +adapter):\n%s", tc.file, diff)
		}
	}
}

func TestStreamOrderMapping(t *testing.T) {
	m, err := decodeStreamMessage(streamFixture(t, "user_update_partial_fill_SCHEMA.json"))
	if err != nil {
		t.Fatal(err)
	}
	when := at("2024-06-21T18:30:02.123456789Z")
	got := streamOrder(m.Events[0].Orders[0], when, broker.StatusNew)
	want := broker.Order{
		OrderID: "11111111-2222-4333-8444-555555555555", ClientOrderID: "c0ffee00-0000-4000-8000-000000000001",
		Instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}, Side: broker.Buy, Type: broker.Limit,
		TimeInForce: broker.GTC, LimitPrice: dec("50000"), Status: broker.StatusPartiallyFilled, RawStatus: "OPEN",
		FilledQuantity: dec("0.004"), AvgFillPrice: dec("50000"), Fees: dec("1.2"), LeavesQuantity: dec("0.006"),
		CreatedAt: at("2024-06-21T18:29:13.909347Z"), UpdatedAt: when,
	}
	if diff := cmp.Diff(want, got, decimalEq); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		raw, typ string
		last     broker.Status
		want     broker.Status
		leaves   bool
	}{
		{"CANCEL_QUEUED", "LIMIT", broker.StatusNew, broker.StatusPendingCancel, true},
		{"FAILED", "Limit", broker.StatusNew, broker.StatusRejected, false},
		{"SOMETHING_NEW", "Limit", broker.StatusPartiallyFilled, broker.StatusPartiallyFilled, true},
		{"OPEN", "MARKET", broker.StatusNew, broker.StatusPartiallyFilled, false}, // leaves may be quote units
	} {
		w := m.Events[0].Orders[0]
		w.Status, w.OrderType = tc.raw, tc.typ
		o := streamOrder(w, when, tc.last)
		if o.Status != tc.want || o.RawStatus != tc.raw || o.LeavesQuantity.IsPositive() != tc.leaves {
			t.Errorf("%s/%s: status %v leaves %s", tc.raw, tc.typ, o.Status, o.LeavesQuantity)
		}
	}
	q := streamQuote(wsTicker{ProductID: "ETH-USD", Price: num{dec("1")}, BestBid: num{dec("0.9")}, BestAsk: num{dec("1.1")}}, when)
	if q.Symbol != "ETH-USD" || !q.Bid.Equal(dec("0.9")) || !q.Ask.Equal(dec("1.1")) || !q.Last.Equal(dec("1")) ||
		!q.Time.Equal(when) || !q.BidSize.IsZero() {
		t.Errorf("quote %+v", q)
	}
}

func FuzzDecodeStreamMessage(f *testing.F) {
	for _, n := range []string{"user_snapshot_message.json", "user_update_partial_fill_SCHEMA.json", "ticker_message.json",
		"heartbeats_message.json", "subscriptions_message_thirdparty.json", "level2_snapshot_message.json"} {
		f.Add(streamFixture(f, n))
	}
	f.Add([]byte(`{"type":"error","message":"authentication failure"}`))
	f.Add([]byte(`{"channel":"user","sequence_num":"1e400","events":[{"type":"update","orders":[{"status":"?","cumulative_quantity":"-1"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeStreamMessage(b)
		if err != nil {
			return
		}
		_ = m.seq()
		for _, ev := range m.Events {
			for _, o := range ev.Orders {
				if s := streamOrder(o, time.Time{}, broker.StatusNew); !s.Status.Valid() || s.RawStatus != o.Status || s.LeavesQuantity.IsNegative() {
					t.Fatalf("order %+v from %+v", s, o)
				}
			}
			for _, tk := range ev.Tickers {
				_ = streamQuote(tk, time.Time{})
			}
		}
	})
}

// BenchmarkDecodeStreamMessage measures decoding one frame and mapping it.
//
//	go test -run '^$' -bench DecodeStreamMessage -benchmem ./coinbase/
func BenchmarkDecodeStreamMessage(b *testing.B) {
	for _, tc := range []struct{ name, file string }{
		{"user_update", "user_update_partial_fill_SCHEMA.json"},
		{"ticker", "ticker_message.json"},
	} {
		raw := streamFixture(b, tc.file)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				m, err := decodeStreamMessage(raw)
				if err != nil {
					b.Fatal(err)
				}
				for _, ev := range m.Events {
					for _, o := range ev.Orders {
						_ = streamOrder(o, m.Timestamp.Time, broker.StatusNew)
					}
					for _, tk := range ev.Tickers {
						_ = streamQuote(tk, m.Timestamp.Time)
					}
				}
			}
		})
	}
}

// TestUserUpdateNeverGoesBackwards feeds the user-channel logic directly:
// a cumulative_quantity lower than the one applied is flagged as a gap and
// not applied; a snapshot never yields a fill event.
func TestUserUpdateNeverGoesBackwards(t *testing.T) {
	key, err := coinbasetest.NewES256Key(testKeyName)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Credentials: Credentials{KeyName: key.Name, PrivateKey: key.Secret}, Clock: clocktest.New(at("2026-03-02T14:30:00Z"))})
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(b, true)
	defer h.cancel()
	f := newFanout[broker.OrderEvent]()
	h.orderSubs[f] = struct{}{}
	s := &session{h: h, lastSeq: -1, lastCount: -1}
	defer func() {
		if s.confirm != nil {
			s.confirm.Stop()
		}
	}()
	order := func(status, cum string) wsOrder {
		return wsOrder{OrderID: "o-1", ProductID: "BTC-USD", OrderType: "Limit", Status: status, CumulativeQuantity: num{dec(cum)}}
	}
	when := at("2026-03-02T14:30:01Z")
	s.userEvent(wsEvent{Type: "snapshot", Orders: []wsOrder{order("OPEN", "0.002")}}, when) // baseline only
	s.userEvent(wsEvent{Type: "update", Orders: []wsOrder{order("OPEN", "0.004")}}, when)   // provisional
	s.userEvent(wsEvent{Type: "update", Orders: []wsOrder{order("OPEN", "0.003")}}, when)   // backwards: gap
	s.userEvent(wsEvent{Type: "update", Orders: []wsOrder{order("OPEN", "0.004")}}, when)   // nothing new
	if diff := cmp.Diff([]broker.OrderEventKind{broker.OrderEventSnapshot, broker.OrderEventGap}, kindsOf(f.queue)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
	if !f.queue[0].Provisional || !f.queue[0].Snapshot.FilledQuantity.Equal(dec("0.004")) || !h.known["o-1"].cum.Equal(dec("0.004")) {
		t.Errorf("provisional %+v, known %+v", f.queue[0], h.known["o-1"])
	}
	if !s.live || len(h.pending) != 1 {
		t.Errorf("live %v, pending %v", s.live, h.pending)
	}
}

func kindsOf(evs []broker.OrderEvent) []broker.OrderEventKind {
	out := make([]broker.OrderEventKind, len(evs))
	for i, ev := range evs {
		out[i] = ev.Kind
	}
	return out
}

// TestHeartbeatCounterJumpIsGap: contiguous sequence numbers but a
// heartbeat missing from the counter still mean frames may be lost.
func TestHeartbeatCounterJumpIsGap(t *testing.T) {
	key, err := coinbasetest.NewES256Key(testKeyName)
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Config{Credentials: Credentials{KeyName: key.Name, PrivateKey: key.Secret}, Clock: clocktest.New(at("2026-03-02T14:30:00Z"))})
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(b, true)
	defer h.cancel()
	f := newFanout[broker.OrderEvent]()
	h.orderSubs[f] = struct{}{}
	s := &session{h: h, lastSeq: -1, lastCount: -1, live: true}
	for i, counter := range []int64{7, 8, 10, 10} {
		m := wsMessage{Channel: "heartbeats", SequenceNum: num{decimal.NewFromInt(int64(i))},
			Events: []wsEvent{{HeartbeatCounter: num{decimal.NewFromInt(counter)}}}}
		if err := s.handle(m); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]broker.OrderEventKind{broker.OrderEventGap}, kindsOf(f.queue)); diff != "" {
		t.Fatalf("events (-want +got):\n%s", diff)
	}
}
