package coinbase

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock"
)

func TestRequestedMapsAliases(t *testing.T) {
	b := &Broker{cfg: Config{Clock: clock.Real()}, products: productCache{ttl: time.Hour, entries: map[string]productEntry{
		"SOL-USD": {product: Product{ID: "SOL-USD", AliasTo: []string{"SOL-USDC"}}, known: true, at: time.Now()},
		"BTC-USD": {product: Product{ID: "BTC-USD"}, known: true, at: time.Now()},
	}}}
	batch := []string{"BTC-USD", "SOL-USD"}
	for id, want := range map[string]string{"BTC-USD": "BTC-USD", "SOL-USD": "SOL-USD", "SOL-USDC": "SOL-USD", "ETH-USD": ""} {
		got, ok := b.requested(context.Background(), batch, id)
		if got != want || ok != (want != "") {
			t.Errorf("requested(%s) = %q %v, want %q", id, got, ok, want)
		}
	}
}
