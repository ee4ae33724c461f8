package coinbase_test

import (
	"context"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/coinbase"
	"github.com/arbiontrader/arbion/coinbase/coinbasetest"
)

// start is the fake clocks' origin: a fixed instant so runs are repeatable.
var start = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// env is an adapter wired to an emulator on one fake clock.
type env struct {
	srv   *coinbasetest.Server
	b     *coinbase.Broker
	clock *clocktest.Fake
	key   coinbasetest.TestKey
}

// newEnv starts an emulator and an adapter with an ES256 key. The clock
// auto-advances on waits (backoff, rate limiter) unless manual is set.
func newEnv(t testing.TB, scfg coinbasetest.Config, manual bool, mod func(*coinbase.Config)) *env {
	t.Helper()
	clock := clocktest.NewAuto(start)
	if manual {
		clock = clocktest.New(start)
	}
	scfg.Clock = clock
	srv := coinbasetest.NewServer(scfg)
	t.Cleanup(srv.Close)
	key, err := coinbasetest.NewES256Key("organizations/org-1/apiKeys/key-1")
	if err != nil {
		t.Fatal(err)
	}
	srv.RegisterKey(key)
	cfg := coinbase.Config{
		Credentials: coinbase.Credentials{KeyName: key.Name, PrivateKey: key.Secret},
		BaseURL:     srv.URL(),
		HTTPClient:  srv.Client(),
		Clock:       clock,
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := coinbase.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, b: b, clock: clock, key: key}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}
