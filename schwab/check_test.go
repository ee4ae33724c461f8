package schwab

import (
	"context"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
	"github.com/shopspring/decimal"
)

func TestCheckOrderRefusesWhatSchwabRefuses(t *testing.T) {
	r := newRig(t, schwabtest.Config{}, nil)
	r.clock.SetAutoAdvance(true)
	ctx := context.Background()
	working, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 10, "90.00"))
	if err != nil {
		t.Fatal(err)
	}
	stop := func(ext bool) broker.OrderRequest {
		req := limitBuy("AAPL", 10, "0")
		req.Side, req.Type, req.LimitPrice, req.StopPrice, req.ExtendedHours = broker.Sell, broker.Stop, decimal.Zero, decimal.RequireFromString("80.00"), ext
		return req
	}
	with := func(mod func(*broker.OrderRequest)) broker.OrderRequest {
		req := limitBuy("AAPL", 10, "90.00")
		mod(&req)
		return req
	}
	tests := []struct {
		name      string
		req       broker.OrderRequest
		wantField string // "" means accepted
	}{
		{"day limit", limitBuy("AAPL", 10, "90.00"), ""},
		{"FOK equity", with(func(r *broker.OrderRequest) { r.TimeInForce = broker.FOK }), ""},
		{"GTC equity", with(func(r *broker.OrderRequest) { r.TimeInForce = broker.GTC }), ""},
		{"IOC equity", with(func(r *broker.OrderRequest) { r.TimeInForce = broker.IOC }), "time_in_force"},
		{"extended-hours limit", with(func(r *broker.OrderRequest) { r.ExtendedHours = true }), ""},
		{"extended-hours market", with(func(r *broker.OrderRequest) {
			r.Type, r.LimitPrice, r.ExtendedHours = broker.Market, decimal.Zero, true
		}), "extended_hours"},
		{"protective stop, regular hours", stop(false), ""},
		{"protective stop, extended hours", stop(true), "extended_hours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.b.CheckOrder(tt.req)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("CheckOrder: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, errors.ErrNotSupported) || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("CheckOrder: %v, want ErrNotSupported naming %s", err, tt.wantField)
			}
			places, replaces := r.emu.Count(schwabtest.RoutePlace), r.emu.Count(schwabtest.RouteReplace)
			if _, err := r.b.PlaceOrder(ctx, tt.req); !errors.Is(err, errors.ErrNotSupported) {
				t.Errorf("PlaceOrder: %v, want ErrNotSupported", err)
			}
			if _, err := r.b.ReplaceOrder(ctx, working.OrderID, tt.req); !errors.Is(err, errors.ErrNotSupported) {
				t.Errorf("ReplaceOrder: %v, want ErrNotSupported", err)
			}
			if p, q := r.emu.Count(schwabtest.RoutePlace)-places, r.emu.Count(schwabtest.RouteReplace)-replaces; p != 0 || q != 0 {
				t.Errorf("%d place and %d replace requests reached Schwab, want 0", p, q)
			}
		})
	}
}
