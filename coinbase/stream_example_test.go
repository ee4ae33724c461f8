package coinbase_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/shopspring/decimal"
)

// ExampleBroker_StreamOrders follows one order on the user channel: the
// fill arrives first as a provisional snapshot (cumulative totals only),
// then as the order fetched by REST with its executions.
func ExampleBroker_StreamOrders() {
	srv := coinbasetest.NewServer(coinbasetest.Config{})
	defer srv.Close()
	key, err := coinbasetest.NewES256Key("organizations/example-org/apiKeys/example-key")
	if err != nil {
		panic(err)
	}
	srv.RegisterKey(key)
	b, err := coinbase.New(coinbase.Config{
		Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
		BaseURL:     srv.URL(),
		Stream: coinbase.StreamConfig{ // Coinbase's hosts by default
			UserURL: srv.UserStreamURL(), MarketURL: srv.MarketStreamURL(), ConfirmDelay: 10 * time.Millisecond},
	})
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := b.StreamOrders(ctx)
	if err != nil {
		panic(err)
	}
	quotes, err := b.StreamQuotes(ctx, "BTC-USD")
	if err != nil {
		panic(err)
	}
	q := <-quotes.Quotes()
	fmt.Println("quote", q.Symbol, q.Bid, q.Ask)

	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{ClientOrderID: broker.NewClientOrderID(),
		Instrument: broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto}, Side: broker.Buy, Type: broker.Limit,
		Quantity: decimal.RequireFromString("0.01"), LimitPrice: decimal.RequireFromString("60000"), TimeInForce: broker.GTC})
	if err != nil {
		panic(err)
	}
	if err := srv.Fill(ack.OrderID, decimal.RequireFromString("0.004"), decimal.RequireFromString("60000")); err != nil {
		panic(err)
	}
	for range 3 {
		ev := <-events.Events()
		line := []string{ev.Kind.String()}
		if ev.Kind == broker.OrderEventSnapshot {
			line = append(line, fmt.Sprint("provisional=", ev.Provisional), "filled="+ev.Snapshot.FilledQuantity.String(),
				fmt.Sprint("fills=", len(ev.Snapshot.Fills)))
		}
		fmt.Println(strings.Join(line, " "))
	}
	// Output:
	// quote BTC-USD 101716.47 101722.02
	// accepted
	// snapshot provisional=true filled=0.004 fills=0
	// snapshot provisional=false filled=0.004 fills=1
}
