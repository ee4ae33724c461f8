package brokertest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/broker/brokertest"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// TestPaperConformance is the test an adapter's package writes: the suite
// against its broker. Here the paper broker, whose Execute method stands in
// for the market; an emulator-backed adapter passes a Fill that drives the
// emulator's order book.
func TestPaperConformance(t *testing.T) {
	b := newPaper(t)
	brokertest.Run(t, harness(b, b))
}

// TestResendPlacesTwiceConformance runs the suite on a broker that places a
// resent request (same client order id) as a new order, as an adapter
// that makes up an id per attempt would. It fails, as it must, so it runs
// only when Example asks for it.
func TestResendPlacesTwiceConformance(t *testing.T) {
	if os.Getenv(exampleChild) == "" {
		t.Skip("run by Example only: this broker breaks the contract on purpose")
	}
	b := newPaper(t)
	brokertest.Run(t, harness(&resendPlacesTwice{Broker: b, sent: map[string]bool{}}, b))
}

// resendPlacesTwice gives a client order id it has seen a fresh one.
type resendPlacesTwice struct {
	*paper.Broker
	mu   sync.Mutex
	sent map[string]bool
}

func (b *resendPlacesTwice) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Ack, error) {
	b.mu.Lock()
	if b.sent[req.ClientOrderID] {
		req.ClientOrderID = broker.NewClientOrderID()
	}
	b.sent[req.ClientOrderID] = true
	b.mu.Unlock()
	return b.Broker.PlaceOrder(ctx, req)
}

func newPaper(t *testing.T) *paper.Broker {
	b, err := paper.New(paper.Config{QuoteBatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, sym := range []string{"AAPL", "MSFT", "SPY"} {
		if err := b.SetPrice(sym, decimal.NewFromInt(100)); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// harness is the suite's description of b, whose market is p.
func harness(b broker.Broker, p *paper.Broker) brokertest.Harness {
	return brokertest.Harness{
		Broker:          b,
		Instrument:      broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Quantity:        decimal.NewFromInt(10),
		RestingLimitBuy: decimal.RequireFromString("90.00"),
		Fill:            p.Execute,
		QuoteSymbols:    []string{"AAPL", "MSFT", "SPY"}, // more than QuoteBatchSize
	}
}

// The suite needs a *testing.T, so it runs in a test (the two above); here
// each is run in a child process of this test binary, and the checks that
// failed are printed. Paper passes; a broker that places a resent request
// again is caught.
func Example() {
	for _, test := range []string{"TestPaperConformance", "TestResendPlacesTwiceConformance"} {
		fmt.Printf("%s: %s\n", test, verdict(test))
	}
	// Output:
	// TestPaperConformance: ok
	// TestResendPlacesTwiceConformance: FAIL idempotent-client-order-id
}

// exampleChild is set in the environment of the child process Example runs.
const exampleChild = "ARBION_BROKERTEST_EXAMPLE"

// verdict runs one test of this binary in a child process and returns "ok"
// or "FAIL" with the checks that failed.
func verdict(test string) string {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), exampleChild+"=1")
	out, err := cmd.CombinedOutput()
	failed := regexp.MustCompile(`--- FAIL: `+test+`/(\S+)`).FindAllStringSubmatch(string(out), -1)
	if err == nil && len(failed) == 0 && strings.Contains(string(out), "--- PASS: "+test) {
		return "ok"
	}
	names := []string{"FAIL"}
	for _, m := range failed {
		names = append(names, m[1])
	}
	if len(failed) == 0 {
		names = append(names, "(no subtest failed: "+fmt.Sprint(err)+")")
	}
	return strings.Join(names, " ")
}
