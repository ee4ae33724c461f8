package crossover_test

import (
	"fmt"

	"github.com/arbiontrader/arbion/strategy/crossover"
)

// The signal of the last bar: a cross of the 1-bar mean above the 3-bar
// mean between the last two bars.
func ExampleSignalOf() {
	fmt.Println(crossover.SignalOf(barsOf(5, 4, 3, 9), 1, 3))
	fmt.Println(crossover.SignalOf(barsOf(5, 4, 3, 9, 10), 1, 3))
	// Output:
	// go long
	// hold
}
