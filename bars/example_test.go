package bars_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
)

// Read a CSV series, then serve it as a broker.BarSource.
func Example() {
	const csv = `time,open,high,low,close,volume
2026-03-02T14:30:00Z,241.00,242.10,240.80,241.84,51200
2026-03-02T14:31:00Z,241.84,242.00,241.20,241.35,38000
2026-03-02T14:32:00Z,241.35,241.90,241.10,241.77,29950
`
	series, err := bars.Read(strings.NewReader(csv), bars.Options{Symbol: "AAPL", Interval: broker.OneMinute})
	if err != nil {
		fmt.Println(err)
		return
	}
	src, err := bars.NewSeries(series...)
	if err != nil {
		fmt.Println(err)
		return
	}
	from := time.Date(2026, 3, 2, 14, 31, 0, 0, time.UTC)
	got, _ := src.Bars(context.Background(), broker.BarQuery{Symbol: "AAPL", Interval: broker.OneMinute,
		From: from, To: from.Add(time.Hour)})
	for _, b := range got {
		fmt.Println(b.Start.Format(time.TimeOnly), b.Close)
	}

	_, err = bars.Read(strings.NewReader("time,open,high,low,close,volume\n1772461800,10,9,8,10,1\n"),
		bars.Options{Symbol: "AAPL", Interval: broker.OneMinute})
	fmt.Println(err)
	// Output:
	// 14:31:00 241.35
	// 14:32:00 241.77
	// bars: line 2, column 3 (high): high 9 is below the open 10 or the close 10
}
