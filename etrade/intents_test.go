package etrade

import (
	"strconv"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
)

// TestIntentsPrunedOldestFirst: placed intents older than FindWindow are
// forgotten as new ones are claimed; an unresolved one is kept however old.
func TestIntentsPrunedOldestFirst(t *testing.T) {
	clk := clocktest.New(t0bench)
	b := &Broker{cfg: Config{FindWindow: time.Hour}, clock: clk, intents: map[string]*intent{}}
	claim := func(id string, state intentState) {
		t.Helper()
		in, dup := b.claim(id, reqOrder{})
		if dup != nil {
			t.Fatalf("claim %s: already held", id)
		}
		b.mu.Lock()
		in.sentAt = clk.Now()
		b.mu.Unlock()
		b.setState(in, state, 1)
	}
	for i := range 5 {
		claim("placed-"+strconv.Itoa(i), intentPlaced)
		clk.Advance(time.Minute)
	}
	claim("lost", intentUnknown)
	clk.Advance(time.Hour) // every intent above is now past the window
	claim("new", intentPlaced)
	for i := range 5 {
		if _, held := b.intents["placed-"+strconv.Itoa(i)]; held {
			t.Errorf("placed-%d kept past FindWindow", i)
		}
	}
	if _, held := b.intents["lost"]; !held {
		t.Error("an unresolved intent was forgotten: a resend could duplicate the order")
	}
	if _, held := b.intents["new"]; !held || len(b.placed) != 1 {
		t.Errorf("new intent held %t, placed queue %d, want true and 1", held, len(b.placed))
	}
}
