package ordertest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/order/ordertest"
)

// TestMemoryStoreContract is the test a store's package writes: the
// contract, on a fresh store per check.
func TestMemoryStoreContract(t *testing.T) {
	ordertest.StoreContract(t, func(*testing.T) order.Store { return order.NewMemoryStore() })
}

// TestNewestFirstStoreContract runs the contract on a store that lists an
// account's orders of a symbol newest first. It fails, as it must, so it
// runs only when Example asks for it.
func TestNewestFirstStoreContract(t *testing.T) {
	if os.Getenv(exampleChild) == "" {
		t.Skip("run by Example only: this store breaks the contract on purpose")
	}
	ordertest.StoreContract(t, func(*testing.T) order.Store { return newestFirst{order.NewMemoryStore()} })
}

// newestFirst reverses BySymbol, a mistake a SQL store makes with ORDER BY
// created_at DESC.
type newestFirst struct{ *order.MemoryStore }

func (s newestFirst) BySymbol(ctx context.Context, account, symbol string) ([]order.Order, error) {
	list, err := s.MemoryStore.BySymbol(ctx, account, symbol)
	slices.Reverse(list)
	return list, err
}

// The contract needs a *testing.T, so it runs in a test (the two above);
// here each of them is run in a child process of this test binary, and the
// checks that failed are printed. The in-memory store keeps the contract;
// the newest-first one is caught by the checks that list by symbol.
func Example() {
	for _, test := range []string{"TestMemoryStoreContract", "TestNewestFirstStoreContract"} {
		fmt.Printf("%s: %s\n", test, verdict(test))
	}
	// Output:
	// TestMemoryStoreContract: ok
	// TestNewestFirstStoreContract: FAIL BySymbolListsOldestFirst LookupsAndListingsReturnOnlyTheAccountsRecords
}

// exampleChild is set in the environment of the child process Example runs.
const exampleChild = "ARBION_ORDERTEST_EXAMPLE"

// verdict runs one test of this binary in a child process and returns "ok"
// or "FAIL" with the subtests that failed.
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
