package main

import (
	"context"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/stoploss"
	"github.com/shopspring/decimal"
)

// TestSupervisorProtectsACoinbasePosition runs arbion's order tracker and
// stop-loss supervisor over the Coinbase adapter and emulator: the
// supervisor must choose a native stop-limit (Coinbase spot has no
// stop-market), send it STOP_DOWN, trail it by editing it in place (same
// order id, stop_price moved), and see the stop-out when it fills.
func TestSupervisorProtectsACoinbasePosition(t *testing.T) {
	ctx := context.Background()
	d := decimal.RequireFromString
	srv := coinbasetest.NewServer(coinbasetest.Config{})
	defer srv.Close()
	key, err := coinbasetest.NewES256Key("organizations/bot/apiKeys/supervisor")
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterKey(key)
	b, err := coinbase.New(coinbase.Config{Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
		BaseURL: srv.URL(), HTTPClient: srv.Client(), RequestsPerSecond: 1000, CostBasisFromFills: true})
	if err != nil {
		t.Fatal(err)
	}
	tracker, err := order.NewTracker(order.Config{Broker: b, Account: "cb"})
	if err != nil {
		t.Fatal(err)
	}
	sup, err := stoploss.New(stoploss.Config{Account: "cb", Broker: b, Orders: tracker,
		DefaultPolicy: stoploss.Policy{TrailPercent: decimal.NewFromInt(2)}})
	if err != nil {
		t.Fatal(err)
	}
	defer sup.Close()
	var events []string
	record := func(rep stoploss.Report, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("supervisor: %v", err)
		}
		for _, e := range rep.Events {
			events = append(events, e.Kind.String()+" "+e.StopPrice.String()+" "+fmtErr(e.Err))
		}
	}
	setPrice := func(p string) {
		if err := srv.SetQuote("BTC-USD", d(p), d(p).Add(d("0.5")), d(p)); err != nil {
			t.Fatal(err)
		}
	}

	setPrice("100000")
	if _, err := tracker.Submit(ctx, order.Request{OrderRequest: broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(), Instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto},
		Side: broker.Buy, Type: broker.Market, Quantity: d("0.01"), TimeInForce: broker.IOC,
	}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tracker.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	record(sup.HandleUpdates(ctx))
	stops := func() []coinbasetest.OrderRecord {
		var out []coinbasetest.OrderRecord
		for _, o := range srv.Orders() {
			if o.Configuration == "stop_limit_stop_limit_gtc" {
				out = append(out, o)
			}
		}
		return out
	}
	placed := stops()
	if len(placed) != 1 || placed[0].StopDirection != "STOP_DIRECTION_STOP_DOWN" || placed[0].Side != "SELL" {
		t.Fatalf("protective orders at the emulator: %+v (events %v)", placed, events)
	}

	setPrice("105000")
	if _, err := tracker.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	record(sup.Sweep(ctx))
	trailed := stops()
	if len(trailed) != 1 || trailed[0].OrderID != placed[0].OrderID || !trailed[0].StopPrice.GreaterThan(placed[0].StopPrice) {
		t.Fatalf("after the rise: %+v (events %v)", trailed, events)
	}

	setPrice("108000") // a second rise: trailed again, by a second edit in place
	if _, err := tracker.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	record(sup.Sweep(ctx))
	again := stops()
	if len(again) != 1 || again[0].OrderID != placed[0].OrderID || !again[0].StopPrice.GreaterThan(trailed[0].StopPrice) {
		t.Fatalf("after the second rise: %+v (events %v)", again, events)
	}
	trailed = again

	setPrice("100000") // through the stop: the market fills it
	if err := srv.Fill(trailed[0].OrderID, d("0.01"), trailed[0].StopPrice); err != nil {
		t.Fatal(err)
	}
	if _, err := tracker.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	record(sup.Sweep(ctx))
	t.Logf("events: %v", events)
	// The position is flat and nothing else was sent (no emergency close of
	// a position the stop already closed).
	if n := len(srv.Orders()); n != 2 {
		t.Errorf("%d orders at the emulator, want the entry and the stop", n)
	}
	if btc, hold := srv.Balance("BTC"); !btc.IsZero() || !hold.IsZero() {
		t.Errorf("BTC left: %s available, %s held", btc, hold)
	}
	if events[len(events)-1] != "position closed 0 " {
		t.Errorf("events %v, want the position closed last", events)
	}
	// The fill of the stop, edited in place twice, counts as its stop-out.
	if n := sup.Totals().StopOuts(); n != 1 {
		t.Errorf("stop-outs counted: %d, want 1 (events %v)", n, events)
	}
	for _, e := range events {
		if strings.HasPrefix(e, "failed") || strings.HasPrefix(e, "escalated") {
			t.Errorf("supervisor event %q", e)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
