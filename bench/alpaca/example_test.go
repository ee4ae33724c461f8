package alpaca

import (
	"fmt"
)

// The reference client reads the documented order from the loopback
// server the benchmarks use.
func Example() {
	srv := newServer()
	defer srv.Close()
	o, err := newClient(srv).GetOrder("61e69015-8549-4bfd-b9c3-01e75843f47d")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Symbol, o.Side, o.Qty, o.Status)
	// Output: AAPL buy 1 accepted
}
