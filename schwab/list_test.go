package schwab

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/google/go-cmp/cmp"
)

// crowdedRig is a rig whose emulator lists at most max orders at once,
// holding n identical working limit buys entered gap apart.
func crowdedRig(t *testing.T, maxResults, n int, gap time.Duration) (*rig, broker.OrderRequest, []string) {
	t.Helper()
	r := newRig(t, schwabtest.Config{MaxResults: maxResults}, func(c *Config) { c.ListMaxResults = maxResults })
	r.clock.SetAutoAdvance(true) // the client-side limiters pace the split listing on the fake clock
	req := limitBuy("AAPL", 10, "90.00")
	var ids []string
	for range n {
		req.ClientOrderID = broker.NewClientOrderID()
		ack, err := r.b.PlaceOrder(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.OrderID)
		r.clock.Advance(gap)
	}
	return r, req, ids
}

func TestListingsBeyondMaxResultsAreComplete(t *testing.T) {
	ctx := context.Background()
	r, req, ids := crowdedRig(t, 4, 11, time.Minute)
	start := testStart

	orders, err := r.b.Orders(ctx, broker.OrderQuery{From: start.Add(-time.Hour)})
	if err != nil {
		t.Fatalf("Orders: %v", err)
	}
	if diff := cmp.Diff(ids, orderIDs(orders)); diff != "" {
		t.Errorf("Orders beyond maxResults (-want +got)\n%s", diff)
	}
	open, err := r.b.OpenOrders(ctx)
	if err != nil {
		t.Fatalf("OpenOrders: %v", err)
	}
	if diff := cmp.Diff(ids, orderIDs(open)); diff != "" {
		t.Errorf("OpenOrders beyond maxResults (-want +got)\n%s", diff)
	}
	res, err := r.b.FindOrder(ctx, broker.FindQuery{Request: req, From: start, To: r.clock.Now()})
	if err != nil {
		t.Fatalf("FindOrder: %v", err)
	}
	if !res.Complete {
		t.Errorf("FindOrder over %d orders with maxResults 4: Complete = false", len(ids))
	}
	if diff := cmp.Diff(ids, orderIDs(res.Candidates)); diff != "" {
		t.Errorf("FindOrder candidates, oldest first (-want +got)\n%s", diff)
	}
}

func TestListingCutShortIsAnError(t *testing.T) {
	ctx := context.Background()
	// Six orders in one second: no window split can separate them.
	r, req, _ := crowdedRig(t, 4, 6, 0)

	if _, err := r.b.Orders(ctx, broker.OrderQuery{}); !errors.Is(err, errors.ErrIncompleteListing) {
		t.Errorf("Orders of a cut listing: %v, want ErrIncompleteListing", err)
	}
	if open, err := r.b.OpenOrders(ctx); !errors.Is(err, errors.ErrIncompleteListing) {
		t.Errorf("OpenOrders of a cut listing: %d orders, %v; want ErrIncompleteListing", len(open), err)
	}
	res, err := r.b.FindOrder(ctx, broker.FindQuery{Request: req, From: testStart, To: testStart.Add(time.Second)})
	if err != nil || res.Complete {
		t.Errorf("FindOrder of a cut listing: complete %v, %v; want an incomplete result", res.Complete, err)
	}
}

func TestOrdersQuery(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	place := func(req broker.OrderRequest) string {
		t.Helper()
		ack, err := r.b.PlaceOrder(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		r.clock.Advance(time.Minute)
		return ack.OrderID
	}
	aapl := place(limitBuy("AAPL", 10, "90.00"))
	msft := place(limitBuy("MSFT", 10, "90.00"))
	gone := place(limitBuy("AAPL", 10, "80.00"))
	if err := r.b.CancelOrder(ctx, gone); err != nil {
		t.Fatal(err)
	}
	r.emu.Settle()
	later := r.clock.Now()
	late := place(limitBuy("AAPL", 10, "70.00"))

	tests := []struct {
		name    string
		q       broker.OrderQuery
		want    []string
		wantErr errors.Kind
	}{
		{"all", broker.OrderQuery{}, []string{aapl, msft, gone, late}, ""},
		{"open", broker.OrderQuery{Filter: broker.FilterOpen}, []string{aapl, msft, late}, ""},
		{"canceled", broker.OrderQuery{Filter: broker.FilterCanceled}, []string{gone}, ""},
		{"filled", broker.OrderQuery{Filter: broker.FilterFilled}, nil, ""},
		{"symbol", broker.OrderQuery{Symbol: "MSFT"}, []string{msft}, ""},
		{"before later", broker.OrderQuery{To: later}, []string{aapl, msft, gone}, ""},
		{"from later", broker.OrderQuery{From: later}, []string{late}, ""},
		{"beyond a year", broker.OrderQuery{From: testStart.Add(-366 * 24 * time.Hour)}, nil, errors.ErrInvalidOrder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := r.b.Orders(ctx, tt.q)
			if tt.wantErr != "" {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Orders: %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, orderIDs(got)); diff != "" {
				t.Errorf("Orders (-want +got)\n%s", diff)
			}
		})
	}
}

func TestFindOrderReportsCandidates(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	twin := limitBuy("AAPL", 10, "91.00")
	var twins []string
	for range 2 {
		twin.ClientOrderID = broker.NewClientOrderID()
		ack, err := r.b.PlaceOrder(ctx, twin)
		if err != nil {
			t.Fatal(err)
		}
		twins = append(twins, ack.OrderID)
		r.clock.Advance(time.Second)
	}
	now := r.clock.Now()
	window := func(req broker.OrderRequest) broker.FindQuery {
		return broker.FindQuery{Request: req, From: testStart.Add(-time.Minute), To: now.Add(time.Minute)}
	}
	refused := twin
	refused.Quantity = refused.Quantity.Neg()
	tests := []struct {
		name    string
		q       broker.FindQuery
		want    []string
		wantErr errors.Kind
	}{
		// Two orders fit: both are reported (before: ErrOrderNotFound).
		{"ambiguous", window(twin), twins, ""},
		// Asked again: a lookup never claims what it found.
		{"again", window(twin), twins, ""},
		{"never sent", window(limitBuy("AAPL", 10, "92.00")), nil, ""},
		// Never validated: it reports what Schwab holds, which is nothing.
		{"refused request", window(refused), nil, ""},
		{"outside the window", broker.FindQuery{Request: twin, From: now.Add(time.Hour), To: now.Add(2 * time.Hour)}, nil, ""},
		{"this account", broker.FindQuery{Account: testAccount, Request: twin, From: testStart, To: now}, twins, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.b.FindOrder(ctx, tt.q)
			if tt.wantErr != "" {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("FindOrder: %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !res.Complete {
				t.Error("Complete = false on a small account")
			}
			if diff := cmp.Diff(tt.want, orderIDs(res.Candidates)); diff != "" {
				t.Errorf("candidates (-want +got)\n%s", diff)
			}
		})
	}
	// The placements are still this adapter's: GetOrder names their
	// ClientOrderIDs, which a claiming lookup would have overwritten.
	for _, id := range twins {
		if o, err := r.b.GetOrder(ctx, id); err != nil || o.ClientOrderID == "" {
			t.Errorf("GetOrder(%s) = client id %q, %v", id, o.ClientOrderID, err)
		}
	}
}

func TestIntentMemoryIsBounded(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, schwabtest.Config{}, func(c *Config) { c.IntentRetention = time.Hour })
	r.clock.SetAutoAdvance(true)
	for range 3 {
		if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "90.00")); err != nil {
			t.Fatal(err)
		}
	}
	r.clock.Advance(2 * time.Hour)
	if _, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "89.00")); err != nil {
		t.Fatal(err)
	}
	r.b.ordersMu.Lock()
	intents, claimed := len(r.b.byClient), len(r.b.claimed)
	r.b.ordersMu.Unlock()
	if intents != 1 || claimed != 1 {
		t.Errorf("after the retention, %d intents and %d claimed ids remembered, want 1 and 1 (the latest)", intents, claimed)
	}
}

func orderIDs(orders []broker.Order) []string {
	var ids []string
	for _, o := range orders {
		ids = append(ids, o.OrderID)
	}
	return slices.Clip(ids)
}
