package restart_test

import (
	"os"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
)

// TestReadmeCapabilityTable checks the README's table of what each broker
// supports against each adapter's Capabilities and optional interfaces, so
// that it cannot drift.
func TestReadmeCapabilityTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	var header []string
	for _, line := range strings.Split(string(readme), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) > 0 && cells[0] == "capability" {
			header = cells
			continue
		}
		if cells[0] == "---" {
			continue // the separator row
		}
		if header != nil && len(cells) == len(header) {
			rows[cells[0]] = cells
		}
		if header != nil && len(cells) != len(header) {
			header = nil
		}
	}
	rigs := map[string]func(*testing.T) rig{"paper": newPaperRig, "schwab": newSchwabRig,
		"coinbase": newCoinbaseRig, "etrade": newEtradeRig}
	if len(rows) == 0 {
		t.Fatal("no capability table in the README")
	}
	for col, name := range header {
		if col == 0 {
			continue
		}
		newRig, ok := rigs[name]
		if !ok {
			t.Errorf("README column %q names no broker", name)
			continue
		}
		b := newRig(t).connect(t)
		for what, cells := range rows {
			want, ok := capability(b, what)
			if !ok {
				t.Errorf("README row %q is not a known capability", what)
				continue
			}
			if got := cells[col] == "yes"; got != want {
				t.Errorf("README says %s %q is %s; the adapter says %v", name, what, cells[col], want)
			}
		}
	}
}

// capability reads one row of the table off a broker.
func capability(b broker.Broker, what string) (bool, bool) {
	c := b.Capabilities()
	has := func(ac broker.AssetClass) bool {
		for _, a := range c.AssetClasses {
			if a == ac {
				return true
			}
		}
		return false
	}
	switch what {
	case "equities":
		return has(broker.Equity), true
	case "options":
		return has(broker.Option), true
	case "crypto":
		return has(broker.Crypto), true
	case "native stop":
		return c.NativeStop, true
	case "stop-limit":
		return c.StopLimit, true
	case "trailing stop":
		return c.TrailingStop, true
	case "good till cancelled":
		return c.GTC, true
	case "replace":
		return c.Replace, true
	case "fractional":
		return c.Fractional, true
	case "idempotent client order id":
		return c.IdempotentClientOrderID, true
	case "lost-order lookup":
		_, ok := broker.Find[broker.OrderFinder](b)
		return ok, true
	case "order history":
		_, ok := broker.Find[broker.OrderLister](b)
		return ok, true
	case "local refusal check":
		_, ok := broker.Find[broker.OrderChecker](b)
		return ok, true
	case "preview":
		_, ok := broker.Find[broker.Previewer](b)
		return ok, true
	case "order stream":
		_, ok := broker.Find[broker.OrderStreamer](b)
		return ok && c.OrderStream, true
	case "quote stream":
		_, ok := broker.Find[broker.QuoteStreamer](b)
		return ok && c.QuoteStream, true
	case "price history":
		_, ok := broker.Find[broker.BarSource](b)
		return ok, true
	}
	return false, false
}

// TestReadmeQuickstart: the README's first program is examples/quickstart's
// run function, word for word.
func TestReadmeQuickstart(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../examples/quickstart/main.go")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	start := strings.Index(code, "\nfunc run(")
	end := strings.Index(code[start:], "\n}\n")
	if start < 0 || end < 0 {
		t.Fatal("no run function in examples/quickstart/main.go")
	}
	if fn := code[start+1 : start+end+3]; !strings.Contains(string(readme), fn) {
		t.Errorf("README's first program differs from examples/quickstart's run:\n%s", fn)
	}
}
