package stoploss

import (
	"testing"

	"github.com/arbiontrader/arbion/errors"
	"github.com/shopspring/decimal"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestPolicyStops(t *testing.T) {
	tests := []struct {
		name      string
		p         Policy
		entry     string
		override  string
		long      bool
		wantStop  string
		wantTP    string
		wantError bool
	}{
		{name: "fixed long", p: Policy{StopPrice: d("90")}, entry: "100", long: true, wantStop: "90"},
		{name: "fixed short", p: Policy{StopPrice: d("110")}, entry: "100", wantStop: "110"},
		{name: "fixed on the wrong side", p: Policy{StopPrice: d("110")}, entry: "100", long: true, wantError: true},
		{name: "distance long", p: Policy{StopDistance: d("2.5")}, entry: "100", long: true, wantStop: "97.5"},
		{name: "distance short", p: Policy{StopDistance: d("2.5")}, entry: "100", wantStop: "102.5"},
		{name: "percent long rounded to tick", p: Policy{StopPercent: d("3")}, entry: "123.45", long: true, wantStop: "119.75"},
		{name: "percent crypto tick", p: Policy{StopPercent: d("3"), Tick: d("0.5")}, entry: "60123", long: true, wantStop: "58319.5"},
		{name: "trail long", p: Policy{TrailAmount: d("4")}, entry: "100", long: true, wantStop: "96"},
		{name: "trail tighter than distance", p: Policy{StopDistance: d("5"), TrailPercent: d("2")}, entry: "100", long: true, wantStop: "98"},
		{name: "distance tighter than trail", p: Policy{StopDistance: d("1"), TrailPercent: d("2")}, entry: "100", wantStop: "101"},
		{name: "entry override", p: Policy{StopDistance: d("5")}, entry: "100", override: "99", long: true, wantStop: "99"},
		{name: "take profit percent long", p: Policy{StopDistance: d("5"), TakeProfitPercent: d("10")}, entry: "100", long: true, wantStop: "95", wantTP: "110"},
		{name: "take profit percent short", p: Policy{StopDistance: d("5"), TakeProfitPercent: d("10")}, entry: "100", wantStop: "105", wantTP: "90"},
		{name: "take profit price", p: Policy{StopDistance: d("5"), TakeProfitPrice: d("120")}, entry: "100", long: true, wantStop: "95", wantTP: "120"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.validate("x"); err != nil {
				t.Fatal(err)
			}
			override := decimal.Zero
			if tt.override != "" {
				override = d(tt.override)
			}
			stop, err := tt.p.initialStop(d(tt.entry), override, tt.long)
			if tt.wantError {
				if err == nil {
					t.Fatalf("stop %s, want an error", stop)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !stop.Equal(d(tt.wantStop)) {
				t.Errorf("stop = %s, want %s", stop, tt.wantStop)
			}
			tp := tt.p.takeProfit(d(tt.entry), decimal.Zero, tt.long)
			want := decimal.Zero
			if tt.wantTP != "" {
				want = d(tt.wantTP)
			}
			if !tp.Equal(want) {
				t.Errorf("take profit = %s, want %s", tp, want)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	bad := map[string]Policy{
		"no stop":            {},
		"two base stops":     {StopPrice: d("1"), StopDistance: d("1")},
		"two trails":         {TrailAmount: d("1"), TrailPercent: d("1")},
		"negative":           {StopDistance: d("-1")},
		"percent 100":        {StopPercent: d("100")},
		"two take-profits":   {StopDistance: d("1"), TakeProfitPrice: d("1"), TakeProfitPercent: d("1")},
		"trail percent 100+": {TrailPercent: d("150")},
	}
	for name, p := range bad {
		t.Run(name, func(t *testing.T) {
			err := p.validate("x")
			var se *errors.StopLossError
			if !errors.Is(err, errors.ErrConfiguration) || !errors.As(err, &se) {
				t.Errorf("validate = %v, want a *StopLossError matching ErrConfiguration", err)
			}
		})
	}
}

func TestRatchetHelpers(t *testing.T) {
	if !tighter(d("95"), d("96"), true).Equal(d("96")) || !tighter(d("105"), d("104"), false).Equal(d("104")) {
		t.Error("tighter picks the stop farther from the market")
	}
	if !breached(d("95"), d("95"), true) || breached(d("95.01"), d("95"), true) ||
		!breached(d("105"), d("105"), false) || breached(d("104.99"), d("105"), false) {
		t.Error("breach is at or through the stop")
	}
	if reached(d("200"), decimal.Zero, true) {
		t.Error("no take-profit is never reached")
	}
}
