package schwabtest

import (
	"net/http"
	"time"
)

// Route names one emulated endpoint, for fault injection and inspection.
type Route string

// The emulated routes.
const (
	RouteAuthorize      Route = "authorize"       // GET /v1/oauth/authorize
	RouteToken          Route = "token"           // POST /v1/oauth/token
	RouteAccountNumbers Route = "account-numbers" // GET /trader/v1/accounts/accountNumbers
	RouteAccounts       Route = "accounts"        // GET /trader/v1/accounts[/{hash}]
	RoutePlace          Route = "place"           // POST /trader/v1/accounts/{hash}/orders
	RouteGet            Route = "get"             // GET /trader/v1/accounts/{hash}/orders/{id}
	RouteList           Route = "list"            // GET /trader/v1/accounts/{hash}/orders, /trader/v1/orders
	RouteCancel         Route = "cancel"          // DELETE /trader/v1/accounts/{hash}/orders/{id}
	RouteReplace        Route = "replace"         // PUT /trader/v1/accounts/{hash}/orders/{id}
	RouteQuotes         Route = "quotes"          // GET /marketdata/v1/quotes
	RoutePreview        Route = "preview"         // POST /trader/v1/accounts/{hash}/previewOrder
)

// FaultKind is what goes wrong with one request.
type FaultKind int

// Fault kinds. "Processed" means the emulator carried the request out (an
// order was created, cancelled or replaced) before the fault hit the answer.
const (
	// FaultServerError answers Status (default 500) with a JSON error body;
	// the request is NOT processed.
	FaultServerError FaultKind = iota + 1
	// FaultServerErrorAfter processes the request, then answers Status
	// (default 500) with a JSON error body.
	FaultServerErrorAfter
	// FaultLatency waits Delay on the emulator's clock (whether or not the
	// client is still there), then processes the request normally.
	FaultLatency
	// FaultDropAfterAccept processes the request, then closes the connection
	// without an answer.
	FaultDropAfterAccept
	// FaultNoLocation processes a place or replace and answers 201 without a
	// Location header (other routes: answered normally).
	FaultNoLocation
	// FaultHTMLError answers Status (default 500) with an HTML error page
	// (Spring "Whitelabel Error Page"); the request is NOT processed.
	FaultHTMLError
	// FaultTruncatedJSON processes the request and cuts its JSON answer in
	// the middle (an empty answer becomes a cut JSON object).
	FaultTruncatedJSON
	// FaultRateLimited answers 429 without processing.
	FaultRateLimited
	// FaultTextNotFound answers 404 with the gateway's plain-text "route does
	// not exist" body, without processing (an outage, not a missing order).
	FaultTextNotFound
	// FaultPathOnlyLocation processes a place or replace and answers 201
	// with a path-only Location (/trader/v1/accounts/{hash}/orders/{id}).
	FaultPathOnlyLocation
	// FaultWrongLocation processes a place or replace and answers 201 with
	// the Location of another order of the account (the oldest), as a TD
	// Ameritrade-era user once saw.
	FaultWrongLocation
)

// String names the fault kind.
func (k FaultKind) String() string {
	switch k {
	case FaultServerError:
		return "server-error"
	case FaultServerErrorAfter:
		return "server-error-after"
	case FaultLatency:
		return "latency"
	case FaultDropAfterAccept:
		return "drop-after-accept"
	case FaultNoLocation:
		return "no-location"
	case FaultHTMLError:
		return "html-error"
	case FaultTruncatedJSON:
		return "truncated-json"
	case FaultRateLimited:
		return "rate-limited"
	case FaultTextNotFound:
		return "text-not-found"
	case FaultPathOnlyLocation:
		return "path-only-location"
	case FaultWrongLocation:
		return "wrong-location"
	}
	return "fault(?)"
}

// Fault is one injected failure.
type Fault struct {
	Kind   FaultKind
	Status int // HTTP status for FaultServerError, FaultServerErrorAfter, FaultHTMLError; default 500
	// Delay is the wait for FaultLatency, on the emulator's clock.
	Delay time.Duration
}

// FaultFunc decides per request whether to inject a fault; nil means none.
type FaultFunc func(r *http.Request) *Fault

// InjectFault queues faults for route: each later request to that route takes
// the next one, until the queue is empty.
func (s *Server) InjectFault(route Route, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

// SetFaultFunc installs fn for route (nil removes it). Queued faults are
// taken first.
func (s *Server) SetFaultFunc(route Route, fn FaultFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fn == nil {
		delete(s.faultFuncs, route)
		return
	}
	s.faultFuncs[route] = fn
}

func (s *Server) nextFault(route Route, r *http.Request) *Fault {
	s.mu.Lock()
	if q := s.faults[route]; len(q) > 0 {
		f := q[0]
		s.faults[route] = q[1:]
		s.mu.Unlock()
		return &f
	}
	fn := s.faultFuncs[route]
	s.mu.Unlock()
	if fn != nil {
		return fn(r)
	}
	return nil
}
