package stoplosstest_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/stoploss"
	"github.com/arbiontrader/arbion/stoploss/stoplosstest"
)

// TestMemoryStoreContract and TestMemoryLockContract are the tests a store's
// or a lock's package writes: the contract, on fresh values per check. A
// lock is given as two handles on one lock, as two replicas hold it.
func TestMemoryStoreContract(t *testing.T) {
	stoplosstest.StoreContract(t, func(*testing.T) stoploss.Store { return stoploss.NewMemoryStore() })
}

func TestMemoryLockContract(t *testing.T) {
	stoplosstest.LockContract(t, func(*testing.T) (stoploss.Lock, stoploss.Lock) {
		l := stoploss.NewMemoryLock()
		return l, l
	})
}

// TestLockPerReplicaContract gives each replica its own in-process lock, the
// mistake of running several replicas on the default lock. It fails, as it
// must, so it runs only when Example asks for it.
func TestLockPerReplicaContract(t *testing.T) {
	if os.Getenv(exampleChild) == "" {
		t.Skip("run by Example only: these locks break the contract on purpose")
	}
	stoplosstest.LockContract(t, func(*testing.T) (stoploss.Lock, stoploss.Lock) {
		return stoploss.NewMemoryLock(), stoploss.NewMemoryLock()
	})
}

// The contracts need a *testing.T, so they run in tests (the three above);
// here each is run in a child process of this test binary, and the checks
// that failed are printed. The in-memory store and lock keep the contract;
// one lock per replica lets both replicas act at once.
func Example() {
	for _, test := range []string{"TestMemoryStoreContract", "TestMemoryLockContract", "TestLockPerReplicaContract"} {
		fmt.Printf("%s: %s\n", test, verdict(test))
	}
	// Output:
	// TestMemoryStoreContract: ok
	// TestMemoryLockContract: ok
	// TestLockPerReplicaContract: FAIL exclusive one-winner
}

// exampleChild is set in the environment of the child process Example runs.
const exampleChild = "ARBION_STOPLOSSTEST_EXAMPLE"

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
