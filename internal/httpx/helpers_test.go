package httpx_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/clock/clocktest"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/httpx"
)

// epoch is a whole second, so that HTTP-dates (second precision) are exact.
var epoch = time.Date(2026, 3, 2, 14, 30, 0, 0, time.UTC)

// decodeTestError is an adapter-style error decoder: a JSON body
// {"code":..,"message":..} is decoded; anything else is left to the
// pipeline's fallback by status.
func decodeTestError(status int, _ http.Header, body []byte) *errors.BrokerError {
	var wire struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &wire) != nil || (wire.Code == "" && wire.Message == "") {
		return nil
	}
	be := &errors.BrokerError{Code: wire.Code, Message: wire.Message}
	switch wire.Code {
	case "INSUFFICIENT_FUNDS":
		be.Kind = errors.ErrInsufficientFunds
	case "TOKEN_EXPIRED":
		be.Kind = errors.ErrTokenExpired
	}
	return be
}

// hits counts the requests a test server received and when, on the clock.
type hits struct {
	mu    sync.Mutex
	clock clock.Clock
	times []time.Time
	reqs  []*http.Request
	body  [][]byte
}

func (h *hits) record(r *http.Request, body []byte) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.clock != nil {
		h.times = append(h.times, h.clock.Now())
	}
	h.reqs = append(h.reqs, r)
	h.body = append(h.body, body)
	return len(h.reqs)
}

func (h *hits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.reqs)
}

// newClient builds a Client on srv with an auto-advancing fake clock.
func newClient(t testing.TB, srv *httptest.Server, mutate func(*httpx.Config)) (*httpx.Client, *clocktest.Fake) {
	t.Helper()
	clock := clocktest.NewAuto(epoch)
	cfg := httpx.Config{
		Broker:      "testbroker",
		BaseURL:     srv.URL + "/v1",
		HTTPClient:  srv.Client(),
		DecodeError: decodeTestError,
		Clock:       clock,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	if fc, ok := cfg.Clock.(*clocktest.Fake); ok {
		clock = fc
	}
	c, err := httpx.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, clock
}

func brokerError(t *testing.T, err error) *errors.BrokerError {
	t.Helper()
	var be *errors.BrokerError
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not a *errors.BrokerError", err, err)
	}
	return be
}

type jsonNumber = json.Number

// waitABit yields while a test polls for a state another goroutine reaches
// (a timer being armed); it never sleeps.
func waitABit() { runtime.Gosched() }
