package live_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
	"github.com/arbiontrader/arbion/live"
	"github.com/arbiontrader/arbion/order"
	"github.com/arbiontrader/arbion/paper"
	"github.com/arbiontrader/arbion/risk"
)

// failingOpen is a memory store whose Open fails while broken is set.
type failingOpen struct {
	*order.MemoryStore
	broken bool
}

func (s *failingOpen) Open(ctx context.Context, account string) ([]order.Order, error) {
	if s.broken {
		return nil, &errors.OrderError{Kind: errors.ErrStorage, Reason: "database gone"}
	}
	return s.MemoryStore.Open(ctx, account)
}

// Each readiness check goes red on its own failure, and only it.
func TestEachCheckRed(t *testing.T) {
	w := newWorld(t)
	store := &failingOpen{MemoryStore: order.NewMemoryStore()}
	r, err := live.New(w.config(store, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{HeartbeatWithin: 5 * time.Minute})})
	if err != nil {
		t.Fatal(err)
	}
	red := func() map[string]bool {
		out := map[string]bool{}
		for _, c := range h.Check(context.Background()).Checks {
			if !c.OK {
				out[c.Name] = true
			}
		}
		return out
	}
	expect := func(when string, want ...string) {
		t.Helper()
		got := red()
		if len(got) != len(want) {
			t.Errorf("%s: red %v, want %v", when, got, want)
			return
		}
		for _, n := range want {
			if !got[n] {
				t.Errorf("%s: red %v, want %v", when, got, want)
			}
		}
	}
	expect("before the first sweep", "supervisor")
	step(t, r)
	expect("after a step")
	w.clk.Advance(6 * time.Minute)
	expect("sweeps overdue", "supervisor")
	step(t, r)
	store.broken = true
	expect("store failing", "store")
	store.broken = false
	if err := r.Engine().SetState(context.Background(), risk.Halted, "operator"); err != nil {
		t.Fatal(err)
	}
	expect("halted", "trading")
}

// healthPaper is paper reporting the adapter health the test sets.
type healthPaper struct {
	*paper.Broker
	h broker.Health
}

func (p *healthPaper) Health(context.Context) broker.Health { return p.h }

// The broker check reads the adapter's health: unreachable,
// unauthenticated, an access token or a login about to expire are red, and
// the error served never shows a token.
func TestBrokerCheckReadsAdapterHealth(t *testing.T) {
	const secret = "SENTINEL-ACCESS-TOKEN-42"
	w := newWorld(t)
	now := w.clk.Now()
	leak := &errors.BrokerError{Kind: errors.ErrUnauthenticated, Message: "401 for Bearer " + secret}
	cases := []struct {
		name string
		h    broker.Health
		red  bool
	}{
		{"healthy", broker.Health{Broker: "x", Reachable: true, Authenticated: true, TokenExpiry: now.Add(time.Hour)}, false},
		{"unreachable", broker.Health{Broker: "x", Authenticated: true, LastError: leak}, true},
		{"unauthenticated", broker.Health{Broker: "x", Reachable: true, LastError: leak}, true},
		{"token expiring", broker.Health{Broker: "x", Reachable: true, Authenticated: true, TokenExpiry: now.Add(30 * time.Second)}, true},
		{"login expiring", broker.Health{Broker: "x", Reachable: true, Authenticated: true, LoginExpiry: now.Add(time.Hour)}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := w.config(nil, nil, nil)
			cfg.Broker = &healthPaper{Broker: w.paper, h: c.h}
			r, err := live.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			h, err := health.New(health.Config{Ready: r.Checks(live.CheckConfig{})})
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
			body := rec.Body.String()
			var brokerRed bool
			for _, res := range h.Check(context.Background()).Checks {
				if res.Name == "broker" {
					brokerRed = !res.OK
				}
			}
			if brokerRed != c.red {
				t.Errorf("broker check red = %v, want %v: %s", brokerRed, c.red, body)
			}
			if strings.Contains(body, secret) {
				t.Errorf("the detail view shows the token: %s", body)
			}
		})
	}
}
