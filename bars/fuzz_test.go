package bars_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/bars"
	"github.com/arbiontrader/arbion/broker"
)

// FuzzRead: any input either reads into bars that keep the layout's rules or
// is refused with a *RowError; it never panics.
func FuzzRead(f *testing.F) {
	f.Add("time,open,high,low,close,volume\n2026-03-02T09:30:00-05:00,10.00,10.50,9.90,10.25,1200\n")
	f.Add("symbol,interval,time,open,high,low,close,volume\nBTC-USD,1h,1772461800,100,101,99,100,0.5\nBTC-USD,1h,1772465400,100,100.2,100,100.1,0\n")
	f.Add("time,open,high,low,close,volume\n1772461800,\"1\n0\",1,1,1,1\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := bars.Read(strings.NewReader(in), bars.Options{Symbol: "X", Interval: broker.OneMinute})
		if err != nil {
			var re *bars.RowError
			if !errors.As(err, &re) || !errors.Is(err, bars.ErrMalformedBars) {
				t.Fatalf("error %v is not a *RowError", err)
			}
			return
		}
		if _, err := bars.NewSeries(got...); err != nil {
			t.Fatalf("Read gave bars NewSeries refuses: %v", err)
		}
	})
}
