package schwab

import (
	"context"
	"fmt"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

// reviewFaults are "processed, then the answer is spoiled" faults not in
// allFaults: a gateway 5xx after the order system acted (a 503 included:
// Apigee answers 503 when the target drops the connection mid-request) and
// a Location naming another order.
var reviewFaults = []schwabtest.Fault{
	{Kind: schwabtest.FaultServerErrorAfter, Status: 502},
	{Kind: schwabtest.FaultServerErrorAfter, Status: 503},
	{Kind: schwabtest.FaultServerErrorAfter, Status: 504},
	{Kind: schwabtest.FaultWrongLocation},
}

// An order the emulator holds is never reported as not placed, for a place
// and a replace.
func TestReviewWriteProcessedThenSpoiledIsNeverARefusal(t *testing.T) {
	for i, f := range reviewFaults {
		for _, op := range []string{"place", "replace"} {
			t.Run(op+"/"+faultName(f), func(t *testing.T) {
				r := faultRig(t, f)
				route := schwabtest.RoutePlace
				send := func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
					return r.b.PlaceOrder(ctx, req)
				}
				if op == "replace" {
					old, err := r.b.PlaceOrder(context.Background(), limitBuy("AAPL", 10, "40.00"))
					if err != nil {
						t.Fatal(err)
					}
					route = schwabtest.RouteReplace
					send = func(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
						return r.b.ReplaceOrder(ctx, old.OrderID, req)
					}
				}
				req := limitBuy("AAPL", 10, fmt.Sprintf("%d.07", 60+i))
				r.emu.InjectFault(route, f)
				ack, err := send(context.Background(), req)
				wantClassified(t, err)
				held := ordersFor(r, req.LimitPrice)
				switch {
				case len(held) != 1:
					t.Fatalf("the emulator holds %d orders for one processed intent (err %v)", len(held), err)
				case err == nil && held[0].ID != ack.OrderID:
					t.Fatalf("success with id %q, emulator holds %s", ack.OrderID, held[0].ID)
				case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown):
					t.Fatalf("error %q (kind %q) says nothing was done, but the emulator holds %s",
						err, errors.KindOf(err), held[0].ID)
				}
				if _, err := send(context.Background(), req); len(ordersFor(r, req.LimitPrice)) != 1 {
					t.Fatalf("the repeat made a second order (%v)", err)
				}
			})
		}
	}
}

// A 201 whose Location names an order an earlier intent placed (the
// account's oldest, as a TD Ameritrade-era user saw) is not this
// placement's Ack, even with VerifyPlacedOrder off: the id is known to be
// another intent's, so the placement is looked up.
func TestReviewLocationOfAnotherIntentsOrderIsNotTheAck(t *testing.T) {
	f := schwabtest.Fault{Kind: schwabtest.FaultWrongLocation}
	r := faultRig(t, f)
	first, err := r.b.PlaceOrder(context.Background(), limitBuy("AAPL", 10, "41.00"))
	if err != nil {
		t.Fatal(err)
	}
	req := limitBuy("AAPL", 10, "42.07")
	r.emu.InjectFault(schwabtest.RoutePlace, f)
	ack, err := r.b.PlaceOrder(context.Background(), req)
	held := ordersFor(r, req.LimitPrice)
	switch {
	case len(held) != 1:
		t.Fatalf("the emulator holds %d orders for one intent (err %v)", len(held), err)
	case err == nil && ack.OrderID != held[0].ID:
		t.Fatalf("ack names %s (the first intent's is %s), the emulator holds %s", ack.OrderID, first.OrderID, held[0].ID)
	case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown):
		t.Fatalf("error %v says nothing was placed, but the emulator holds %s", err, held[0].ID)
	}
}
