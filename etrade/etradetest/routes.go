package etradetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// result is what an API handler produces: a JSON body (nil with status 204
// for "no content") or an Error.
type result struct {
	status int
	body   any
	err    *apiError
}

// apiError is an E*TRADE Error body.
type apiError struct {
	status  int
	code    int
	message string
}

func ok(body any) result { return result{status: http.StatusOK, body: body} }

func noContent() result { return result{status: http.StatusNoContent} }

func fail(status, code int, message string) result {
	return result{err: &apiError{status: status, code: code, message: message}}
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) mux() *http.ServeMux {
	m := http.NewServeMux()
	for _, method := range []string{"GET", "POST"} {
		m.HandleFunc(method+" /oauth/request_token", s.counted(OpRequestToken, s.handleRequestToken))
		m.HandleFunc(method+" /oauth/access_token", s.counted(OpAccessToken, s.handleAccessToken))
	}
	m.HandleFunc("GET /oauth/renew_access_token", s.counted(OpRenew, s.handleRenew))
	m.HandleFunc("GET /oauth/revoke_access_token", s.counted(OpRevoke, s.handleRevoke))
	m.HandleFunc("GET /e/t/etws/authorize", s.handleAuthorize)

	both := func(method, path string, op Op, bucket string, h func(*http.Request) result) {
		m.HandleFunc(method+" "+path, s.api(op, bucket, h))
		m.HandleFunc(method+" "+path+".json", s.api(op, bucket, h))
	}
	both("GET", "/v1/accounts/list", OpAccounts, "accounts", s.listAccounts)
	both("GET", "/v1/accounts/{k}/balance", OpBalance, "accounts", s.balance)
	both("GET", "/v1/accounts/{k}/portfolio", OpPortfolio, "accounts", s.portfolio)
	m.HandleFunc("GET /v1/market/quote/{symbols}", s.api(OpQuote, "market", s.quote))
	m.HandleFunc("GET /v1/market/{rest...}", s.handleUnknownMarket) // no price history (history.go)
	both("GET", "/v1/accounts/{k}/orders", OpListOrders, "orders", s.listOrders)
	m.HandleFunc("GET /v1/accounts/{k}/orders/{id}", s.api(OpGetOrder, "orders", s.getOrder))
	both("POST", "/v1/accounts/{k}/orders/preview", OpPreview, "orders", s.preview)
	both("POST", "/v1/accounts/{k}/orders/place", OpPlace, "orders", s.place)
	both("PUT", "/v1/accounts/{k}/orders/cancel", OpCancel, "orders", s.cancel)
	both("PUT", "/v1/accounts/{k}/orders/{id}/change/preview", OpChangePreview, "orders", s.changePreview)
	both("PUT", "/v1/accounts/{k}/orders/{id}/change/place", OpChangePlace, "orders", s.changePlace)
	return m
}

func (s *Server) counted(op Op, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.state.calls[op]++
		s.mu.Unlock()
		h(w, r)
	}
}

// api wraps a /v1 handler: call count, signature and token checks, rate
// limit, faults, and the answer in the format asked for.
func (s *Server) api(op Op, bucket string, h func(*http.Request) result) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// Read the body first: net/http notices a client that hangs up (and
		// ends r.Context) only once the body is consumed.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.state.calls[op]++
		if !s.authorizeAPI(w, r) {
			s.mu.Unlock()
			return
		}
		if s.cfg.EnforceRateLimits && !s.state.buckets[bucket].take(s.now()) {
			s.mu.Unlock()
			writeRateLimitPage(w)
			return
		}
		fault, hasFault := s.takeFault(op)
		if hasFault && s.applyPreFault(w, r, fault) {
			s.mu.Unlock()
			return
		}
		if hasFault && fault == FaultLatency {
			s.mu.Unlock()
			if s.sleep(r.Context()) != nil {
				return // the client gave up: nothing was done
			}
			s.mu.Lock()
		}
		res := h(r)
		s.mu.Unlock()
		if hasFault && fault.after() && res.err == nil {
			if s.applyAfterFault(w, r, fault, res) {
				return
			}
		}
		s.write(w, r, res)
	}
}

// applyAfterFault fails the answer of work that was done.
func (s *Server) applyAfterFault(w http.ResponseWriter, r *http.Request, f Fault, res result) bool {
	switch f {
	case FaultCommitThen500:
		writeAPIError(w, r, http.StatusInternalServerError, 100, serviceUnavailable)
	case FaultCommitThenDrop:
		dropConnection(w)
	case FaultCommitThenTruncate:
		body, _ := json.Marshal(res.body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
	case FaultCommitThenLatency:
		if s.sleep(r.Context()) != nil {
			return true // the client gave up before the answer
		}
		return false
	default:
		return false
	}
	return true
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, res result) {
	switch {
	case res.err != nil:
		writeAPIError(w, r, res.err.status, res.err.code, res.err.message)
	case res.status == http.StatusNoContent:
		w.WriteHeader(http.StatusNoContent)
	case wantsJSON(r):
		writeJSON(w, res.status, res.body)
	default:
		writeXML(w, res.status, res.body)
	}
}

// accountOK checks the path's accountIdKey. Caller holds s.mu.
func (s *Server) accountOK(r *http.Request) *apiError {
	if r.PathValue("k") != s.cfg.AccountIDKey {
		return &apiError{status: http.StatusBadRequest, code: 102, message: "Please enter valid account key."}
	}
	return nil
}

// bucket is a token bucket on the server clock.
type bucket struct {
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
}

func newBuckets() map[string]*bucket {
	return map[string]*bucket{
		"accounts": {rate: 2, burst: 2, tokens: 2},
		"market":   {rate: 4, burst: 4, tokens: 4},
		"orders":   {rate: 2, burst: 2, tokens: 2},
	}
}

func (b *bucket) take(now time.Time) bool {
	if !b.last.IsZero() {
		b.tokens += now.Sub(b.last).Seconds() * b.rate
		if b.tokens > b.burst {
			b.tokens = b.burst
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// trimJSON strips a ".json" suffix from a path value.
func trimJSON(s string) string { return strings.TrimSuffix(s, ".json") }
