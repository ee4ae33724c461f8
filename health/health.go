// Package health serves a bot's health over HTTP for a host to mount:
// liveness, readiness, startup and a JSON detail view of every check.
//
//	GET /health          JSON: overall status, and each check's state, age and last error
//	GET /health/ready    200 when every readiness check passes, else 503
//	GET /health/live     200 while every liveness check passes, else 503
//	GET /health/startup  200 once started, else 503
//
// Readiness fails closed: a check that errors, panics or does not answer
// within its timeout is red. Error text is redacted before it is served:
// bearer tokens, JWTs, credential query parameters and any configured secret
// never leave the process.
package health

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/internal/redact"
)

// DefaultTimeout bounds one check.
const DefaultTimeout = 2 * time.Second

// Check is one named probe: nil is healthy.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Config configures a [Handler].
type Config struct {
	// Ready are the readiness checks: all must pass for /health/ready.
	Ready []Check
	// Live are the liveness checks (a hung loop, say); none is alive.
	Live []Check
	// Started is the startup probe; nil is started at once.
	Started func() bool
	// Timeout bounds each check; DefaultTimeout when 0.
	Timeout time.Duration
	// Secrets are strings scrubbed from every error served, beyond the
	// shapes redacted always (tokens the host holds, say); shorter than 6
	// bytes they are ignored (they would blank ordinary words).
	Secrets []string
	// Clock times the checks; the real clock when nil.
	Clock clock.Clock
}

// Handler is the http.Handler of the four paths. It is safe for
// concurrent use.
type Handler struct {
	cfg Config
	clk clock.Clock
	mux *http.ServeMux

	scrub redact.Scrubber // Config.Secrets, and the module's credential shapes

	mu    sync.Mutex
	state map[string]*checkState
}

// checkState is what the handler remembers of a check between requests.
type checkState struct {
	lastPass time.Time
	lastErr  string
	lastAt   time.Time
}

// New validates cfg and returns the handler.
func New(cfg Config) (*Handler, error) {
	seen := map[string]bool{}
	for _, c := range append(append([]Check(nil), cfg.Ready...), cfg.Live...) {
		switch {
		case c.Name == "" || c.Func == nil:
			return nil, &errors.BrokerError{Op: "health config", Kind: errors.ErrConfiguration, Message: "health: every check needs a name and a func"}
		case seen[c.Name]:
			return nil, &errors.BrokerError{Op: "health config", Kind: errors.ErrConfiguration, Message: "health: two checks named " + c.Name}
		}
		seen[c.Name] = true
	}
	if cfg.Timeout < 0 {
		return nil, &errors.BrokerError{Op: "health config", Kind: errors.ErrConfiguration, Message: "health: Timeout must not be negative"}
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	h := &Handler{cfg: cfg, clk: clock.Or(cfg.Clock), mux: http.NewServeMux(), state: map[string]*checkState{}}
	h.scrub.Fix(cfg.Secrets...)
	h.mux.HandleFunc("GET /health", h.detail)
	h.mux.HandleFunc("GET /health/ready", h.probe(func(ctx context.Context) bool { return h.pass(h.run(ctx, cfg.Ready)) }))
	h.mux.HandleFunc("GET /health/live", h.probe(func(ctx context.Context) bool { return h.pass(h.run(ctx, cfg.Live)) }))
	h.mux.HandleFunc("GET /health/startup", h.probe(func(context.Context) bool { return h.started() }))
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Result is one check's answer in the detail view.
type Result struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "ready" or "live"
	OK   bool   `json:"ok"`
	// Error is the check's error, redacted; empty when it passed.
	Error string `json:"error,omitempty"`
	// LastPass is when the check last passed; zero if never.
	LastPass time.Time `json:"last_pass,omitzero"`
	// AgeSeconds is how long ago it last passed (-1: never).
	AgeSeconds float64 `json:"age_seconds"`
	// LastError is the last failure's error, redacted, even if it passes now.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	DurationMS  float64   `json:"duration_ms"`
}

// Report is the detail view.
type Report struct {
	Status  string    `json:"status"` // "ok" or "fail"
	Started bool      `json:"started"`
	Time    time.Time `json:"time"`
	Checks  []Result  `json:"checks"`
}

// Check runs every check now and returns the detail view.
func (h *Handler) Check(ctx context.Context) Report {
	rs := append(h.run(ctx, h.cfg.Ready), h.run(ctx, h.cfg.Live)...)
	for i := range rs[len(h.cfg.Ready):] {
		rs[len(h.cfg.Ready)+i].Kind = "live"
	}
	rep := Report{Status: "ok", Started: h.started(), Time: h.clk.Now(), Checks: rs}
	if !h.pass(rs) || !rep.Started {
		rep.Status = "fail"
	}
	return rep
}

func (h *Handler) detail(w http.ResponseWriter, r *http.Request) {
	rep := h.Check(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ok" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(rep)
}

func (h *Handler) probe(ok func(context.Context) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ok(r.Context()) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintln(w, "fail")
			return
		}
		_, _ = fmt.Fprintln(w, "ok")
	}
}

func (h *Handler) started() bool { return h.cfg.Started == nil || h.cfg.Started() }

func (h *Handler) pass(rs []Result) bool {
	for _, r := range rs {
		if !r.OK {
			return false
		}
	}
	return true
}

// run runs the checks concurrently, each bounded by the timeout.
func (h *Handler) run(ctx context.Context, checks []Check) []Result {
	out := make([]Result, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() { out[i] = h.one(ctx, c) })
	}
	wg.Wait()
	return out
}

func (h *Handler) one(ctx context.Context, c Check) Result {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	start := h.clk.Now()
	// Buffered: a check that overruns its timeout is answered red at once;
	// its goroutine ends when the check returns (its context is cancelled).
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("check panicked: %v", p)
			}
		}()
		done <- c.Func(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("no answer within %v", h.cfg.Timeout)
	}
	now := h.clk.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.state[c.Name]
	if st == nil {
		st = &checkState{}
		h.state[c.Name] = st
	}
	res := Result{Name: c.Name, Kind: "ready", OK: err == nil, DurationMS: float64(now.Sub(start).Microseconds()) / 1000}
	if err == nil {
		st.lastPass = now
	} else {
		res.Error = h.redact(err.Error())
		st.lastErr, st.lastAt = res.Error, now
	}
	res.LastPass, res.LastError, res.LastErrorAt = st.lastPass, st.lastErr, st.lastAt
	res.AgeSeconds = -1
	if !st.lastPass.IsZero() {
		res.AgeSeconds = now.Sub(st.lastPass).Seconds()
	}
	return res
}

// credentialParam is a named credential in a query string, a form or JSON
// ("access_token=...", "\"refresh_token\": \"...\""), cut beyond the
// module's redaction shapes (JWTs, bearer tokens, OAuth signatures).
var credentialParam = regexp.MustCompile(`(?i)\b(access_token|refresh_token|id_token|token|client_secret|secret|password|api_key|apikey|key|oauth_token|code|code_verifier)("?\s*[=:]\s*"?)[^\s&",}]+`)

func (h *Handler) redact(s string) string {
	return credentialParam.ReplaceAllString(h.scrub.Scrub(s), "${1}${2}"+redact.Marker)
}
