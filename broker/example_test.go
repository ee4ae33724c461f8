package broker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/paper"
	"github.com/shopspring/decimal"
)

// A bot talks to any Broker the same way: here the paper broker, observed
// for metrics and with its quotes cached for a minute.
func Example() {
	ctx := context.Background()
	p, err := paper.New(paper.Config{Cash: decimal.NewFromInt(5_000)})
	if err != nil {
		panic(err)
	}
	_ = p.SetPrice("AAPL", decimal.RequireFromString("150.00"))

	calls := map[string]int{}
	observed, _ := broker.WithObserver(p, broker.ObserverFunc(func(_ context.Context, ev broker.Observation) {
		calls[ev.Op+" "+string(ev.Kind)]++
	}))
	var b broker.Broker
	b, _ = broker.NewQuoteCache(observed, time.Minute)

	q, _ := b.Quotes(ctx, "AAPL")
	fmt.Println("AAPL last", q[0].Last)

	req := broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Buy,
		Type:          broker.Limit,
		Quantity:      decimal.NewFromInt(50),
		LimitPrice:    decimal.RequireFromString("149.00"),
		TimeInForce:   broker.Day,
	}
	_, err = b.PlaceOrder(ctx, req)
	var be *errors.BrokerError
	if errors.Is(err, errors.ErrInsufficientFunds) && errors.As(err, &be) {
		fmt.Println("refused by", be.Broker+":", be.Message)
	}

	req.Quantity = decimal.NewFromInt(20)
	ack, err := b.PlaceOrder(ctx, req)
	if err != nil {
		panic(err)
	}
	o, _ := b.GetOrder(ctx, ack.OrderID)
	fmt.Println(o.Side, o.Quantity, o.Instrument, "@", o.LimitPrice, o.Status)

	_, _ = b.Quotes(ctx, "AAPL") // served from the cache
	fmt.Println(calls)
	// Output:
	// AAPL last 150
	// refused by paper: order needs 7450, buying power is 5000
	// buy 20 AAPL @ 149 new
	// map[get order :1 place order :1 place order insufficient funds:1 quotes :1]
}

// Validate names every field that is wrong.
func ExampleOrderRequest_Validate() {
	req := broker.OrderRequest{
		ClientOrderID: "has a space",
		Instrument:    broker.Instrument{Symbol: "AAPL", AssetClass: broker.Equity},
		Side:          broker.Sell,
		Type:          broker.StopLimit,
		Quantity:      decimal.NewFromInt(-5),
		StopPrice:     decimal.RequireFromString("140"),
		TimeInForce:   broker.GTC,
	}
	err := req.Validate()
	fmt.Println(errors.Is(err, errors.ErrInvalidOrder))
	fmt.Println(err)
	// Output:
	// true
	// order validate (client id has a space, AAPL): invalid order: client_order_id has a character that is not printable ASCII (or is a space): invalid order
	// order validate (client id has a space, AAPL): invalid order: quantity must be positive, got -5
	// order validate (client id has a space, AAPL): invalid order: limit_price must be positive for a stop_limit order, got 0
}

// DeriveClientOrderID gives every replica the same id for the same intent.
func ExampleDeriveClientOrderID() {
	a := broker.DeriveClientOrderID("account-1", "AAPL", "signal-42")
	b := broker.DeriveClientOrderID("account-1", "AAPL", "signal-42")
	fmt.Println(a == b, len(a), broker.ValidateClientOrderID(a) == nil)
	// Output: true 20 true
}
