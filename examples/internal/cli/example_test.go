package cli_test

import (
	"context"
	"fmt"
	"os"

	"github.com/arbiontrader/arbion/examples/internal/cli"
)

// A program parses its flags, runs, and lets Exit report the outcome and
// choose the exit status; main passes it to os.Exit.
func Example() {
	p := cli.Program{Name: "hello", Summary: "Greets.", Env: []cli.Env{{Name: "HELLO_NAME", Help: "who to greet"}}}
	run := func(args ...string) int {
		fs := p.FlagSet()
		times := fs.Int("times", 1, "greetings, at least 1")
		err := p.Parse(fs, args)
		if err == nil && *times < 1 {
			err = cli.Usagef("-times %d: must be at least 1", *times)
		}
		for i := 0; err == nil && i < *times; i++ {
			fmt.Println("hello")
		}
		return p.Exit(context.Background(), err, fs, os.Stdout, os.Stdout)
	}
	fmt.Println("exit", run("-times", "2"))
	fmt.Println("exit", run("-times", "0"))
	fmt.Println("exit", run("world"))
	fmt.Println("exit", run("-h"))
	// Output:
	// hello
	// hello
	// exit 0
	// hello: -times 0: must be at least 1
	// Run 'hello -h' for usage.
	// exit 2
	// hello: unexpected argument "world" (hello takes flags only)
	// Run 'hello -h' for usage.
	// exit 2
	// Usage: hello [flags]
	//
	// Greets.
	//
	// Flags:
	//   -times int
	//     	greetings, at least 1 (default 1)
	//
	// Environment:
	//   HELLO_NAME  who to greet
	// exit 0
}
