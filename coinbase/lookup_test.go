package coinbase_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/google/go-cmp/cmp"
)

const listPath = coinbasetest.APIPrefix + "/orders/historical/batch"

// placeSpread places n limit buys one minute apart on the emulator's clock
// and returns their requests and ids, oldest first.
func placeSpread(t *testing.T, e *env, n int) ([]broker.OrderRequest, []string) {
	t.Helper()
	var reqs []broker.OrderRequest
	var ids []string
	for i := range n {
		req := limitBuy("0.01", fmt.Sprintf("%d", 40000+i))
		ack, err := e.b.PlaceOrder(ctx(t), req)
		if err != nil {
			t.Fatal(err)
		}
		reqs, ids = append(reqs, req), append(ids, ack.OrderID)
		e.clock.Advance(time.Minute)
	}
	return reqs, ids
}

func listRequests(srv *coinbasetest.Server) []coinbasetest.RequestRecord {
	var out []coinbasetest.RequestRecord
	for _, r := range srv.Requests() {
		if r.Path == listPath {
			out = append(out, r)
		}
	}
	return out
}

func ids(os []broker.Order) []string {
	out := []string{}
	for _, o := range os {
		out = append(out, o.OrderID)
	}
	return out
}

// TestFindOrderScansTheWholeWindow: the lookup lists exactly the window
// (start_date/end_date), pages to the end of the cursor whatever the
// number of orders (no depth cap), and is Complete only then; a page that
// fails is an error, never a short answer; the request is not validated.
func TestFindOrderScansTheWholeWindow(t *testing.T) {
	tests := []struct {
		name     string
		target   int // index of the order looked for, -1: an id never placed
		from, to int // the window, in minutes after start
		mod      func(*broker.OrderRequest)
		fault    *coinbasetest.Fault
		account  string
		want     int // candidates
		kind     errors.Kind
	}{
		{name: "oldest of many pages", target: 0, from: 0, to: 8, want: 1},
		{name: "newest", target: 6, from: 0, to: 8, want: 1},
		{name: "never placed, window covered", target: -1, from: 0, to: 8, want: 0},
		{name: "outside the window", target: 0, from: 3, to: 8, want: 0},
		{name: "invalid request is still looked up", target: 2, from: 0, to: 8, want: 1,
			mod: func(r *broker.OrderRequest) { r.Quantity, r.Instrument.Symbol = d("-1"), "" }},
		{name: "page three fails", target: 0, from: 0, to: 8, kind: errors.ErrBrokerUnavailable,
			fault: &coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorJSON, Method: "GET", Path: listPath, Skip: 2, Times: 10}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, coinbasetest.Config{}, true, func(c *coinbase.Config) {
				c.OrdersPageSize, c.Retry.Disabled = 2, true
			})
			reqs, placed := placeSpread(t, e, 7)
			req := limitBuy("0.01", "40000")
			if tc.target >= 0 {
				req = reqs[tc.target]
			}
			if tc.mod != nil {
				tc.mod(&req)
			}
			if tc.fault != nil {
				e.srv.InjectFault(*tc.fault)
			}
			before := len(listRequests(e.srv))
			res, err := e.b.FindOrder(ctx(t), broker.FindQuery{Account: tc.account, Request: req,
				From: start.Add(time.Duration(tc.from) * time.Minute), To: start.Add(time.Duration(tc.to) * time.Minute)})
			if tc.kind != "" {
				if !errors.Is(err, tc.kind) || res.Complete || len(res.Candidates) != 0 {
					t.Fatalf("FindOrder: %+v %v, want an error matching %s", res, err, tc.kind)
				}
				return
			}
			if err != nil || !res.Complete || len(res.Candidates) != tc.want {
				t.Fatalf("FindOrder: %+v %v, want %d candidates, complete", res, err, tc.want)
			}
			if tc.want == 1 && res.Candidates[0].OrderID != placed[tc.target] {
				t.Errorf("found %s, want %s", res.Candidates[0].OrderID, placed[tc.target])
			}
			lists := listRequests(e.srv)[before:]
			if wantStart := start.Add(time.Duration(tc.from) * time.Minute).Format(time.RFC3339); lists[0].Query.Get("start_date") != wantStart || lists[0].Query.Get("end_date") == "" {
				t.Errorf("window sent: %v, want start_date %s", lists[0].Query, wantStart)
			}
			if tc.from == 0 && len(lists) < 4 {
				t.Errorf("%d pages read for 7 orders by 2, want every page", len(lists))
			}
			for _, l := range lists[1:] {
				if l.Query.Get("cursor") == "" || l.Query.Get("start_date") != lists[0].Query.Get("start_date") {
					t.Errorf("page query %v lost the cursor or the window", l.Query)
				}
			}
		})
	}
}

// TestOrdersPagesWithFilters: Orders keeps the status, window and product
// filters on every page, reads every page, answers oldest first, and a
// failed page is ErrIncompleteListing (keeping the cause's kind).
func TestOrdersPagesWithFilters(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, true, func(c *coinbase.Config) { c.OrdersPageSize, c.Retry.Disabled = 2, true })
	_, placed := placeSpread(t, e, 8)
	for _, id := range placed[:3] {
		if err := e.srv.Fill(id, d("0.01"), d("40000")); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range placed[3:5] {
		if err := e.b.CancelOrder(ctx(t), id); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		q        broker.OrderQuery
		want     []string
		statuses []string
	}{
		{"all", broker.OrderQuery{}, placed, nil},
		{"open", broker.OrderQuery{Filter: broker.FilterOpen}, placed[5:], []string{"OPEN"}},
		{"filled", broker.OrderQuery{Filter: broker.FilterFilled, Symbol: "BTC-USD"}, placed[:3], []string{"FILLED"}},
		{"canceled", broker.OrderQuery{Filter: broker.FilterCanceled}, placed[3:5], []string{"CANCELLED", "EXPIRED"}},
		{"window", broker.OrderQuery{From: start.Add(2 * time.Minute), To: start.Add(6 * time.Minute)}, placed[2:6], nil},
		{"open in a window", broker.OrderQuery{Filter: broker.FilterOpen, From: start.Add(6 * time.Minute)}, placed[6:], []string{"OPEN"}},
		{"other symbol", broker.OrderQuery{Symbol: "ETH-USD"}, []string{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(listRequests(e.srv))
			got, err := e.b.Orders(ctx(t), tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Errorf("orders (-want +got):\n%s", diff)
			}
			lists := listRequests(e.srv)[before:]
			for i, l := range lists {
				if diff := cmp.Diff(tc.statuses, l.Query["order_status"]); diff != "" {
					t.Errorf("page %d statuses (-want +got):\n%s", i, diff)
				}
				if tc.q.Symbol != "" && l.Query.Get("product_ids") != tc.q.Symbol {
					t.Errorf("page %d lost product_ids: %v", i, l.Query)
				}
				if i > 0 && l.Query.Get("cursor") == "" {
					t.Errorf("page %d has no cursor", i)
				}
			}
			if len(tc.want) > 2 && len(lists) < 2 {
				t.Errorf("%d pages for %d orders by 2", len(lists), len(tc.want))
			}
		})
	}
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorJSON, Method: "GET", Path: listPath, Skip: 1, Times: 10})
	got, err := e.b.Orders(ctx(t), broker.OrderQuery{})
	if !errors.Is(err, errors.ErrIncompleteListing) || !errors.Is(err, errors.ErrBrokerUnavailable) || got != nil {
		t.Errorf("second page fails: %d orders, %v; want ErrIncompleteListing", len(got), err)
	}
	e.srv.ClearFaults()
	e.srv.InjectFault(coinbasetest.Fault{Kind: coinbasetest.FaultServerErrorJSON, Method: "GET", Path: listPath, Skip: 1, Times: 10})
	if open, err := e.b.OpenOrders(ctx(t)); !errors.Is(err, errors.ErrIncompleteListing) || open != nil {
		t.Errorf("OpenOrders with a failed page: %d orders, %v", len(open), err)
	}
}

// TestEditRules: CheckOrder holds the place rules; CheckReplace and
// ReplaceOrder refuse, before sending, the edits Coinbase documents as
// refused (a limit that is not GTC); a stop-limit edit and an edit whose
// ClientOrderID would not do for a new order pass; the emulator refuses
// the same edit raw.
func TestEditRules(t *testing.T) {
	e := newEnv(t, coinbasetest.Config{}, false, nil)
	gtd := limitBuy("0.01", "50000")
	gtd.TimeInForce = broker.Day
	if err := e.b.CheckOrder(gtd); err != nil {
		t.Errorf("CheckOrder of a Day limit placement: %v (a placement is fine)", err)
	}
	if err := e.b.CheckReplace(gtd); !errors.Is(err, errors.ErrNotSupported) || !strings.Contains(err.Error(), "time_in_force") {
		t.Errorf("CheckReplace of a Day limit: %v, want ErrNotSupported naming time_in_force", err)
	}
	ack, err := e.b.PlaceOrder(ctx(t), gtd)
	if err != nil {
		t.Fatal(err)
	}
	edits := func() int {
		n := 0
		for _, r := range e.srv.Requests() {
			if strings.HasSuffix(r.Path, "/orders/edit") {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name string
		req  broker.OrderRequest
	}{
		{"request says Day", gtd},
		{"request says GTC, the order is GTD", limitBuy("0.02", "49000")},
	} {
		if _, err := e.b.ReplaceOrder(ctx(t), ack.OrderID, tc.req); !errors.Is(err, errors.ErrNotSupported) {
			t.Errorf("%s: %v, want ErrNotSupported", tc.name, err)
		}
	}
	if n := edits(); n != 0 {
		t.Errorf("%d edits reached the emulator", n)
	}
	// A stop-limit edit passes, and so does an edit with a client order id
	// no new order could use: an edit does not send it.
	stop := broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(), Instrument: btc(), Side: broker.Sell,
		Type: broker.StopLimit, Quantity: d("0.01"), LimitPrice: d("39000"), StopPrice: d("40000"), TimeInForce: broker.GTC}
	e.srv.SetBalance("BTC", d("1"))
	sack, err := e.b.PlaceOrder(ctx(t), stop)
	if err != nil {
		t.Fatal(err)
	}
	stop.ClientOrderID, stop.StopPrice, stop.LimitPrice = "not/a valid id for a new order", d("41000"), d("40000")
	if err := e.b.CheckReplace(stop); err != nil {
		t.Errorf("CheckReplace of a stop-limit: %v", err)
	}
	if _, err := e.b.ReplaceOrder(ctx(t), sack.OrderID, stop); err != nil {
		t.Errorf("ReplaceOrder of a stop-limit with an unused odd client id: %v", err)
	}
	if n := edits(); n != 1 {
		t.Errorf("%d edits reached the emulator, want 1", n)
	}
}
