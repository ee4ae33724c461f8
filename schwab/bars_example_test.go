package schwab_test

import (
	"context"
	"fmt"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/schwab"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

// ExampleBroker_Bars reads a morning of five-minute bars, pre-market
// included, from the emulator; the bar forming at the clock comes last,
// marked provisional.
func ExampleBroker_Bars() {
	clock := clocktest.New(time.Date(2026, 3, 2, 15, 2, 30, 0, time.UTC)) // 10:02:30 ET
	emu := schwabtest.New(schwabtest.Config{Clock: clock})
	defer emu.Close()
	tokens := emu.IssueTokens()
	b, err := schwab.New(schwab.Config{
		AccountNumber: "12345678",
		AccessToken:   func(context.Context) (string, error) { return tokens.AccessToken, nil },
		BaseURL:       emu.URL(),
		HTTPClient:    emu.Client(),
		Clock:         clock,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("intervals:", b.Capabilities().BarIntervals)
	bars, err := b.Bars(context.Background(), broker.BarQuery{Symbol: "AAPL", Interval: broker.FiveMinutes,
		From: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC),
		ExtendedHours: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	first, last := bars[0], bars[len(bars)-1]
	fmt.Println(len(bars), "bars from", first.Start.Format(time.Kitchen), "UTC to", last.Start.Format(time.Kitchen), "UTC")
	fmt.Println("last provisional:", last.Provisional, "first provisional:", first.Provisional)
	_, err = b.Bars(context.Background(), broker.BarQuery{Symbol: "AAPL", Interval: broker.OneHour,
		From: first.Start, To: last.End()})
	fmt.Println(err)
	// Output:
	// intervals: [1m 5m 10m 15m 30m 1d 1w 1mo]
	// 37 bars from 12:00PM UTC to 3:00PM UTC
	// last provisional: true first provisional: false
	// schwab: price history: no "1h" bars: Schwab serves 1, 5, 10, 15 and 30 minute, daily, weekly and monthly bars
}
