package schwab

import (
	"context"
	"net/http"
	"testing"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/internal/floor"
	"github.com/arbiontrader/arbion/schwab/schwabtest"
)

// floorRig is an adapter whose requests can be recorded, its limits off so
// that the figure measures the pipeline rather than the limiter.
func floorRig(b *testing.B) (*rig, *floor.Recorder, func(*http.Request)) {
	rec := &floor.Recorder{}
	r := newRig(b, schwabtest.Config{OrderRateLimit: -1}, func(c *Config) {
		c.RequestsPerMinute, c.OrderRequestsPerMinute, c.OrdersPerDay = -1, -1, -1
		rec.Base = c.HTTPClient.Transport
		c.HTTPClient = &http.Client{Transport: rec}
	})
	ctx := context.Background()
	if _, err := r.b.Account(ctx); err != nil { // hash looked up, token loaded
		b.Fatal(err)
	}
	tok, err := r.src.Token(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bearer := func(req *http.Request) { req.Header.Set("Authorization", "Bearer "+tok.AccessToken) }
	return r, rec, bearer
}

// BenchmarkFloor measures PlaceOrder and GetOrder against the same requests
// sent bare with the bearer token, interleaved in one loop.
//
//	go test -run '^$' -bench Floor ./schwab/
func BenchmarkFloor(b *testing.B) {
	ctx := context.Background()
	b.Run("place", func(b *testing.B) {
		r, rec, bearer := floorRig(b)
		req := limitBuy("AAPL", 1, "10.00")
		sent := rec.Record(func() {
			if _, err := r.b.PlaceOrder(ctx, req); err != nil {
				b.Fatal(err)
			}
		})
		floor.Interleave(b, func() {
			req.ClientOrderID = broker.NewClientOrderID()
			if _, err := r.b.PlaceOrder(ctx, req); err != nil {
				b.Fatal(err)
			}
		}, func() { floor.Replay(b, r.emu.Client(), sent, bearer) })
	})
	b.Run("get", func(b *testing.B) {
		r, rec, bearer := floorRig(b)
		ack, err := r.b.PlaceOrder(ctx, limitBuy("AAPL", 1, "10.00"))
		if err != nil {
			b.Fatal(err)
		}
		sent := rec.Record(func() {
			if _, err := r.b.GetOrder(ctx, ack.OrderID); err != nil {
				b.Fatal(err)
			}
		})
		floor.Interleave(b, func() {
			if _, err := r.b.GetOrder(ctx, ack.OrderID); err != nil {
				b.Fatal(err)
			}
		}, func() { floor.Replay(b, r.emu.Client(), sent, bearer) })
	})
}
