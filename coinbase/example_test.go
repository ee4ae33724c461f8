package coinbase_test

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
	"github.com/shopspring/decimal"
)

// Example places a limit buy against the emulator with a CDP API key, lets
// the emulator fill it, and reads it back.
func Example() {
	srv := coinbasetest.NewServer(coinbasetest.Config{})
	defer srv.Close()
	key, err := coinbasetest.NewES256Key("organizations/example-org/apiKeys/example-key")
	if err != nil {
		panic(err)
	}
	srv.RegisterKey(key)

	b, err := coinbase.New(coinbase.Config{
		Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
		BaseURL:     srv.URL(), // https://api.coinbase.com by default
	})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	ack, err := b.PlaceOrder(ctx, broker.OrderRequest{
		ClientOrderID: broker.NewClientOrderID(),
		Instrument:    broker.Instrument{Symbol: "BTC-USD", AssetClass: broker.Crypto},
		Side:          broker.Buy,
		Type:          broker.Limit,
		Quantity:      decimal.RequireFromString("0.0100000001"), // rounded down to base_increment
		LimitPrice:    decimal.RequireFromString("60000.004"),    // rounded down to the tick: a buy pays no more
		TimeInForce:   broker.GTC,
	})
	if err != nil {
		panic(err)
	}
	if err := srv.Fill(ack.OrderID, decimal.RequireFromString("0.01"), decimal.RequireFromString("60000")); err != nil {
		panic(err)
	}
	o, err := b.GetOrder(ctx, ack.OrderID)
	if err != nil {
		panic(err)
	}
	fmt.Println(o.Status, o.Quantity, "@", o.LimitPrice, "fills:", len(o.Fills), "fees:", o.Fees)
	fmt.Println("credentials print as:", coinbase.Credentials{KeyName: "k", PrivateKey: key.Secret})
	// Output:
	// filled 0.01 @ 60000 fills: 1 fees: 2.4
	// credentials print as: coinbase.Credentials{KeyName: "k", PrivateKey: REDACTED}
}
