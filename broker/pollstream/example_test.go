package pollstream_test

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/broker/pollstream"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// A broker that pushes nothing (here the paper broker, standing for
// E*TRADE) streams quotes through a polling source.
func ExampleSource_StreamQuotes() {
	b, err := paper.New(paper.Config{})
	if err != nil {
		panic(err)
	}
	_ = b.SetPrice("AAPL", decimal.RequireFromString("187.25"))
	src, err := pollstream.New(pollstream.Config{Broker: b})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	qs, err := src.StreamQuotes(ctx, "AAPL")
	if err != nil {
		panic(err)
	}
	q := <-qs.Quotes()
	fmt.Println(q.Symbol, q.Last, qs.Status().Live, src.Requests().Quotes)
	// Output: AAPL 187.25 true 1
}
