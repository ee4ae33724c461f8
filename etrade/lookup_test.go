package etrade

import (
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/etrade/etradetest"
	"github.com/google/go-cmp/cmp"
)

// spread places n limit buys of AAPL at 100.00 (identical fields) one
// minute apart, returning the ids oldest first.
func spread(t *testing.T, e *env, clock *clocktest.Fake, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		ack, err := e.b.PlaceOrder(t.Context(), limitBuy("AAPL", "100.00"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ack.OrderID)
		clock.Advance(time.Minute)
	}
	return ids
}

func orderIDs(os []broker.Order) []string {
	out := []string{}
	for _, o := range os {
		out = append(out, o.OrderID)
	}
	return out
}

// TestFindOrderMatchesFieldsInTheWindow: E*TRADE never echoes the client
// order id, so every order with the request's fields placed in the window
// is a candidate (oldest first), found over every page; the request is not
// validated (an invalid one is looked up, never answered not-found); a
// failed page is an error, not a short answer.
func TestFindOrderMatchesFieldsInTheWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		from, to int // minutes after t0
		mod      func(*broker.OrderRequest)
		fail     bool
		account  string
		want     []int // indexes of the candidates
		kind     errors.Kind
	}{
		{name: "whole window", from: 0, to: 10, want: []int{0, 1, 2, 3, 4}},
		{name: "part of the day", from: 1, to: 3, want: []int{1, 2, 3}},
		{name: "other fields", from: 0, to: 10, mod: func(r *broker.OrderRequest) { r.Side = broker.Sell }, want: []int{}},
		{name: "invalid request still looked up", from: 0, to: 10, want: []int{0, 1, 2, 3, 4},
			mod: func(r *broker.OrderRequest) { r.ClientOrderID = "not valid!" }},
		{name: "page two fails", from: 0, to: 10, fail: true, kind: errors.ErrBrokerUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := clocktest.NewAuto(t0)
			e := newEnv(t, envOptions{clock: clock, server: etradetest.Config{MaxPageSize: 2}})
			ids := spread(t, e, clock, 5)
			req := limitBuy("AAPL", "100.00")
			if tc.mod != nil {
				tc.mod(&req)
			}
			if tc.fail {
				e.srv.InjectFault(etradetest.OpListOrders, etradetest.FaultNone)
				for range 5 {
					e.srv.InjectFault(etradetest.OpListOrders, etradetest.FaultServerError)
				}
			}
			res, err := e.b.FindOrder(t.Context(), broker.FindQuery{Account: tc.account, Request: req,
				From: t0.Add(time.Duration(tc.from) * time.Minute), To: t0.Add(time.Duration(tc.to) * time.Minute)})
			if tc.kind != "" {
				if !errors.Is(err, tc.kind) || res.Complete || len(res.Candidates) != 0 {
					t.Fatalf("FindOrder: %+v %v, want an error matching %s", res, err, tc.kind)
				}
				return
			}
			if err != nil || !res.Complete {
				t.Fatalf("FindOrder: %+v %v", res, err)
			}
			want := []string{}
			for _, i := range tc.want {
				want = append(want, ids[i])
			}
			if diff := cmp.Diff(want, orderIDs(res.Candidates)); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
		})
	}
}

// TestOrdersListsEveryPage: Orders pages to the end with the status,
// symbol and date filters, oldest first; a failed page (OpenOrders too)
// is ErrIncompleteListing, never a short list.
func TestOrdersListsEveryPage(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	clock := clocktest.NewAuto(t0)
	e := newEnv(t, envOptions{clock: clock, server: etradetest.Config{MaxPageSize: 2}})
	ids := spread(t, e, clock, 6)
	got, err := e.b.OpenOrders(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids, orderIDs(got)); diff != "" {
		t.Errorf("open (-want +got):\n%s", diff)
	}
	got, err = e.b.Orders(t.Context(), broker.OrderQuery{Symbol: "AAPL", From: t0.Add(time.Minute), To: t0.Add(4 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids[1:4], orderIDs(got)); diff != "" {
		t.Errorf("window (-want +got):\n%s", diff)
	}
	e.srv.InjectFault(etradetest.OpListOrders, etradetest.FaultNone)
	for range 5 {
		e.srv.InjectFault(etradetest.OpListOrders, etradetest.FaultServerError)
	}
	if got, err := e.b.OpenOrders(t.Context()); !errors.Is(err, errors.ErrIncompleteListing) || got != nil {
		t.Errorf("OpenOrders with a failed page: %d orders, %v", len(got), err)
	}
}

// TestCheckOrderRefusesBeforeSending: IOC/FOK and the extended session are
// for limit orders only (pyetrade's documentation); a sub-dollar limit
// with 4 decimals is accepted. Refusals send nothing.
func TestCheckOrderRefusesBeforeSending(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name string
		mod  func(*broker.OrderRequest)
		kind errors.Kind
	}{
		{"market IOC", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.TimeInForce = broker.Market, dec("0"), broker.IOC
		}, errors.ErrNotSupported},
		{"stop FOK", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.StopPrice, r.TimeInForce = broker.Stop, dec("0"), dec("90"), broker.FOK
		}, errors.ErrNotSupported},
		{"extended stop", func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.StopPrice, r.ExtendedHours = broker.Stop, dec("0"), dec("90"), true
		}, errors.ErrNotSupported},
		{"limit IOC", func(r *broker.OrderRequest) { r.TimeInForce = broker.IOC }, ""},
		{"extended limit", func(r *broker.OrderRequest) { r.ExtendedHours = true }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := limitBuy("AAPL", "100.00")
			tc.mod(&req)
			err := e.b.CheckOrder(req)
			if tc.kind == "" && err != nil || tc.kind != "" && !errors.Is(err, tc.kind) {
				t.Fatalf("CheckOrder: %v, want %q", err, tc.kind)
			}
			before := e.srv.Calls(etradetest.OpPreview)
			if _, err := e.b.PlaceOrder(t.Context(), req); tc.kind != "" && !errors.Is(err, tc.kind) {
				t.Errorf("PlaceOrder: %v", err)
			}
			if tc.kind != "" && e.srv.Calls(etradetest.OpPreview) != before {
				t.Error("a refused request reached the emulator")
			}
		})
	}
	if err := e.b.CheckOrder(limitBuy("AAPL", "0.1234")); err != nil {
		t.Errorf("sub-dollar limit with 4 decimals: %v", err)
	}
}
