package order_test

import (
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/google/go-cmp/cmp"
)

func TestExecutionFullFillAtOnce(t *testing.T) {
	e := newEnv(t, paper.Config{FeeBps: dec("10")})
	o := e.submit(t, marketBuy(aapl, "7"))
	wantStatus(t, o, broker.StatusFilled)
	wantDec(t, "filled", o.FilledQuantity, "7")
	wantDec(t, "average price", o.AvgFillPrice, "100")
	wantDec(t, "fees", o.Fees, "0.7") // 10 bps of 700
	wantDec(t, "remaining", o.Remaining(), "0")
	if len(o.Fills) != 1 || o.Fills[0].ExecID == "" {
		t.Errorf("fills = %+v, want one with an execution id", o.Fills)
	}
}

func TestExecutionSeveralPartialFillsThroughReconcile(t *testing.T) {
	e := newEnv(t, paper.Config{FeeBps: dec("5"), MinFee: dec("0.01")})
	o := e.submit(t, limitBuy("10", "99"))
	steps := []struct {
		qty, px                 string
		wantFilled, wantAvg     string
		wantFees, wantRemaining string
		wantStatus              broker.Status
	}{
		// fee = max(5 bps of notional, 0.01)
		{"3", "98.97", "3", "98.97", "0.148455", "7", broker.StatusPartiallyFilled},
		{"0.5", "98.99", "3.5", "98.9728571428571429", "0.1732025", "6.5", broker.StatusPartiallyFilled},
		{"6.5", "98.9", "10", "98.9255", "0.4946275", "0", broker.StatusFilled},
	}
	for i, s := range steps {
		e.execute(t, o.BrokerOrderID, s.qty, s.px)
		e.reconcile(t)
		got := e.get(t, o.LocalID)
		wantStatus(t, got, s.wantStatus)
		wantDec(t, "filled", got.FilledQuantity, s.wantFilled)
		wantDec(t, "average price", got.AvgFillPrice, s.wantAvg)
		wantDec(t, "fees", got.Fees, s.wantFees)
		wantDec(t, "remaining", got.Remaining(), s.wantRemaining)
		if len(got.Fills) != i+1 {
			t.Errorf("step %d: %d fills recorded, want %d", i, len(got.Fills), i+1)
		}
	}
}

// TestExecutionAveragePriceToTheLastDecimalPlace checks the quantity-weighted
// mean exactly: terminating means are exact, the others are rounded half up
// at AvgPricePlaces places, and the exact sum is kept in Notional.
func TestExecutionAveragePriceToTheLastDecimalPlace(t *testing.T) {
	tests := []struct {
		name         string
		fills        [][2]string // quantity, price
		wantAvg      string      // exactly, as printed
		wantNotional string
	}{
		{"terminating", [][2]string{{"1", "100.01"}, {"3", "100.02"}}, "100.0175", "400.07"},
		{"repeating", [][2]string{{"1", "100.01"}, {"2", "100.02"}, {"4", "99.995"}},
			"100.0042857142857143", "700.03"},
		{"crypto satoshis", [][2]string{{"0.00000001", "60000.01"}, {"0.12345678", "59999.99"}},
			"59999.99000000162", "7407.4061654323"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, paper.Config{})
			o := e.submit(t, order.Request{OrderRequest: broker.OrderRequest{Instrument: btc, Side: broker.Buy,
				Type: broker.Limit, Quantity: dec("100"), LimitPrice: dec("1"), TimeInForce: broker.GTC}})
			var err error
			for i, f := range tc.fills {
				o, err = e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID,
					Fill: broker.Fill{ExecID: string(rune('a' + i)), Quantity: dec(f[0]), Price: dec(f[1])}})
				if err != nil {
					t.Fatal(err)
				}
			}
			wantDec(t, "notional", o.Notional, tc.wantNotional)
			if o.AvgFillPrice.String() != tc.wantAvg {
				t.Errorf("average price = %s, want %s", o.AvgFillPrice, tc.wantAvg)
			}
		})
	}
}

func TestExecutionFeesAreSummedOverFills(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	for i, fee := range []string{"0.01", "1.005", "0", "-0.002"} { // a rebate is negative
		var err error
		o, err = e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, BrokerOrderID: o.BrokerOrderID,
			Fill: broker.Fill{ExecID: string(rune('a' + i)), Quantity: dec("1"), Price: dec("90"), Fee: dec(fee)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	wantDec(t, "fees", o.Fees, "1.013")
}

func TestApplyDuplicateFillChangesNothing(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	fill := order.Event{Kind: order.EventFill, BrokerOrderID: o.BrokerOrderID,
		Fill: broker.Fill{ExecID: "E1", Quantity: dec("4"), Price: dec("90")}}
	once, err := e.tracker.Apply(t.Context(), fill)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := e.tracker.Apply(t.Context(), fill)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(once, twice, cmpOrder); diff != "" {
		t.Errorf("the duplicate changed the order (-once +twice):\n%s", diff)
	}
	wantDec(t, "filled", twice.FilledQuantity, "4")
}

func TestApplyReorderedEventsReachTheSameRecord(t *testing.T) {
	events := []order.Event{
		{Kind: order.EventFill, Fill: broker.Fill{ExecID: "E1", Quantity: dec("4"), Price: dec("90")}},
		{Kind: order.EventCancelRequested},
		{Kind: order.EventFill, Fill: broker.Fill{ExecID: "E2", Quantity: dec("1"), Price: dec("89.5")}},
		{Kind: order.EventCancelConfirmed},
	}
	final := func(order []int) order.Order {
		e := newEnv(t, paper.Config{})
		o := e.submit(t, limitBuy("10", "90"))
		for _, i := range order {
			ev := events[i]
			ev.LocalID = o.LocalID
			if _, err := e.tracker.Apply(t.Context(), ev); err != nil {
				t.Fatal(err)
			}
		}
		return e.get(t, o.LocalID)
	}
	inOrder := final([]int{0, 1, 2, 3})
	// The cancel confirmation overtakes both fills; the fills come late.
	reordered := final([]int{1, 3, 2, 0, 2, 3})
	for _, o := range []order.Order{inOrder, reordered} {
		wantStatus(t, o, broker.StatusCanceled)
		wantDec(t, "filled", o.FilledQuantity, "5")
		wantDec(t, "average price", o.AvgFillPrice, "89.9")
	}
}

func TestApplyOverfillIsRefusedFlaggedAndNotClamped(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	_, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID,
		Fill: broker.Fill{ExecID: "E1", Quantity: dec("8"), Price: dec("90")}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventFill, LocalID: o.LocalID,
		Fill: broker.Fill{ExecID: "E2", Quantity: dec("3"), Price: dec("90")}})
	wantKind(t, err, errors.ErrOverfill)
	var oe *errors.OrderError
	if !errors.As(err, &oe) || oe.LocalID != o.LocalID {
		t.Errorf("error %v does not name the order", err)
	}
	wantStatus(t, got, broker.StatusPartiallyFilled)
	wantDec(t, "filled", got.FilledQuantity, "8")
	if !got.NeedsAttention || got.AttentionReason == "" || len(got.Fills) != 1 {
		t.Errorf("attention %v %q, %d fills; want flagged, 1 fill", got.NeedsAttention, got.AttentionReason, len(got.Fills))
	}
}

func TestApplyStatusReportSynthesisesDeterministicFillFromCumulativeQuantity(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	report := func(filled, avg, fees string, fills ...broker.Fill) order.Event {
		return order.Event{Kind: order.EventStatusReport, Snapshot: broker.Order{
			OrderID: o.BrokerOrderID, Status: broker.StatusPartiallyFilled, RawStatus: "WORKING",
			Quantity: dec("10"), FilledQuantity: dec(filled), AvgFillPrice: dec(avg), Fees: dec(fees), Fills: fills}}
	}
	got, err := e.tracker.Apply(t.Context(), report("4", "89.5", "0.4"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Fills) != 1 || got.Fills[0].ExecID == "" {
		t.Fatalf("fills = %+v, want one synthetic fill", got.Fills)
	}
	if !order.IsProvisional(got.Fills[0]) {
		t.Errorf("synthetic fill %s is not marked provisional", got.Fills[0].ExecID)
	}
	again, _ := e.tracker.Apply(t.Context(), report("4", "89.5", "0.4"))
	if again.Version != got.Version {
		t.Error("the same cumulative snapshot twice changed the record")
	}
	// A later snapshot lists the fills with their real ids: the confirmed
	// fills replace the provisional 4, and the new 2 are applied.
	got, err = e.tracker.Apply(t.Context(), report("6", "89.6", "0.6",
		broker.Fill{ExecID: "R1", Quantity: dec("4"), Price: dec("89.5"), Fee: dec("0.4")},
		broker.Fill{ExecID: "R2", Quantity: dec("2"), Price: dec("89.8"), Fee: dec("0.2")}))
	if err != nil {
		t.Fatal(err)
	}
	wantDec(t, "filled", got.FilledQuantity, "6")
	wantDec(t, "average price", got.AvgFillPrice, "89.6")
	wantDec(t, "fees", got.Fees, "0.6")
	var ids []string
	for _, f := range got.Fills {
		ids = append(ids, f.ExecID)
	}
	if diff := cmp.Diff([]string{"R1", "R2"}, ids); diff != "" {
		t.Errorf("fills (-want +got):\n%s", diff)
	}
	wantStatus(t, got, broker.StatusPartiallyFilled)
}

func TestApplyStatusReportWithUnknownBrokerStatusKeepsTheLastKnown(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	got, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventStatusReport, Snapshot: broker.Order{
		OrderID: o.BrokerOrderID, Status: broker.StatusUnknown, RawStatus: "SOMETHING_NEW",
		Quantity: dec("10"), FilledQuantity: dec("2"), AvgFillPrice: dec("89.5")}})
	if err != nil {
		t.Fatal(err)
	}
	// The fills the snapshot shows are applied; the unknown status is kept
	// raw and moves nothing.
	wantStatus(t, got, broker.StatusPartiallyFilled)
	wantDec(t, "filled", got.FilledQuantity, "2")
	if got.RawStatus != "SOMETHING_NEW" || got.Terminal() {
		t.Errorf("raw status %q, terminal %v", got.RawStatus, got.Terminal())
	}
}

// TestApplyStatusReportContradictingTheRecordAppliesFillsAndFlags: a broker
// reporting "rejected" for an order with fills cannot be taken; the fills
// it shows are still applied, the status part is refused and flagged.
func TestApplyStatusReportContradictingTheRecordAppliesFillsAndFlags(t *testing.T) {
	e := newEnv(t, paper.Config{})
	o := e.submit(t, limitBuy("10", "90"))
	got, err := e.tracker.Apply(t.Context(), order.Event{Kind: order.EventStatusReport, Snapshot: broker.Order{
		OrderID: o.BrokerOrderID, Status: broker.StatusRejected, RawStatus: "REJECTED", Quantity: dec("10"),
		FilledQuantity: dec("3"), AvgFillPrice: dec("90"),
		Fills: []broker.Fill{{ExecID: "R1", Quantity: dec("3"), Price: dec("90")}}}})
	wantKind(t, err, errors.ErrInvalidTransition)
	wantStatus(t, got, broker.StatusPartiallyFilled)
	wantDec(t, "filled", got.FilledQuantity, "3")
	if !got.NeedsAttention {
		t.Error("the contradiction was not flagged")
	}
}
