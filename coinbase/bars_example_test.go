package coinbase_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
)

// ExampleBroker_Bars reads a day of one-minute candles: 1440 buckets, more
// than one request holds, fetched in pages and merged oldest first.
func ExampleBroker_Bars() {
	srv := coinbasetest.NewServer(coinbasetest.Config{Candles: coinbasetest.CandlesConfig{Dense: true}})
	defer srv.Close()
	key, err := coinbasetest.NewES256Key("organizations/example-org/apiKeys/example-key")
	if err != nil {
		panic(err)
	}
	srv.RegisterKey(key)
	b, err := coinbase.New(coinbase.Config{
		Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
		BaseURL:     srv.URL(),
	})
	if err != nil {
		panic(err)
	}
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	bars, err := b.Bars(context.Background(), broker.BarQuery{Symbol: "BTC-USD", Interval: broker.OneMinute,
		From: day, To: day.Add(24 * time.Hour)})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(bars), "bars,", bars[0].Start.Format(time.TimeOnly), "to", bars[len(bars)-1].Start.Format(time.TimeOnly))
	fmt.Println("intervals:", b.Capabilities().BarIntervals)
	// Output:
	// 1440 bars, 00:00:00 to 23:59:00
	// intervals: [1m 5m 15m 30m 1h 2h 4h 6h 1d]
}
