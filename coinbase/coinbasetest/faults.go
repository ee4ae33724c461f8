package coinbasetest

import (
	"net/http"
	"strings"
	"time"
)

// FaultKind is a failure the emulator can inject into a response.
type FaultKind int

// Faults. "Before" faults answer without processing the request (nothing
// changes at the emulator); "after" faults process it (an order is accepted,
// a cancel done) and then spoil the answer, which is what makes a write's
// outcome unknown to the client.
const (
	// FaultServerErrorHTML answers Status (default 503) with an HTML page,
	// before processing.
	FaultServerErrorHTML FaultKind = iota + 1
	// FaultServerErrorJSON answers Status (default 500) with a JSON error
	// body, before processing.
	FaultServerErrorJSON
	// FaultServerErrorAfterAccept processes the request, then answers
	// Status (default 502) with an HTML page.
	FaultServerErrorAfterAccept
	// FaultDropAfterAccept processes the request, then closes the
	// connection without an answer.
	FaultDropAfterAccept
	// FaultTruncatedJSONAfterAccept processes the request, then sends a 200
	// whose JSON body is cut in half.
	FaultTruncatedJSONAfterAccept
	// FaultHTMLOn200AfterAccept processes the request, then answers 200 with
	// an HTML page instead of JSON.
	FaultHTMLOn200AfterAccept
	// FaultLatency waits Delay on the emulator's clock (or until the client
	// gives up) and then processes the request normally, even if the client
	// is gone.
	FaultLatency
	// FaultRateLimitHTML answers 429 with Coinbase's HTML page, padded past
	// 4 KiB, before processing; RetryAfter, if set, is sent as Retry-After.
	FaultRateLimitHTML
	// FaultUnauthorized answers 401 text/plain "Unauthorized" to a valid
	// token, before processing (the intermittent 401 of ISS-132).
	FaultUnauthorized
	// FaultRejectOrder answers a create with HTTP 200 success:false carrying
	// FailureReason (new_order_failure_reason and error) and
	// PreviewFailureReason; nothing is created.
	FaultRejectOrder
	// FaultEcho answers Status (default 401) with Body as text/plain, before
	// processing, every "{authorization}" in it replaced by the request's
	// Authorization header: a server that quotes the credentials it was
	// sent, so that tests can prove the client scrubs them.
	FaultEcho
)

// Fault is one injected failure. It applies to the next Times requests
// (default 1) whose method and path match (an empty Method or Path matches
// any), after letting the first Skip of them through untouched.
type Fault struct {
	Kind                 FaultKind
	Method               string // e.g. "POST"
	Path                 string // e.g. coinbasetest.APIPrefix + "/orders"
	Times                int
	Status               int
	Delay                time.Duration
	RetryAfter           string
	FailureReason        string
	PreviewFailureReason string
	// Skip is how many matching requests pass before the fault applies
	// (a listing that fails on its third page: Skip 2).
	Skip int
	// Body is FaultEcho's answer.
	Body string
}

type faultState struct {
	Fault
	left, skip int
}

// InjectFault arms a fault.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := f.Times
	if n <= 0 {
		n = 1
	}
	s.faults = append(s.faults, &faultState{Fault: f, left: n, skip: f.Skip})
}

// ClearFaults disarms every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// PendingFaults returns how many armed fault uses are left.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.left
	}
	return n
}

func (s *Server) takeFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == method) && (f.Path == "" || f.Path == path) {
			if f.skip > 0 {
				f.skip--
				return nil
			}
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			out := f.Fault
			return &out
		}
	}
	return nil
}

// before reports whether the fault answers without processing.
func (f *Fault) before() bool {
	switch f.Kind {
	case FaultServerErrorHTML, FaultServerErrorJSON, FaultRateLimitHTML, FaultUnauthorized, FaultEcho:
		return true
	}
	return false
}

func (f *Fault) status(def int) int {
	if f.Status != 0 {
		return f.Status
	}
	return def
}

func (f *Fault) preResponse() response {
	switch f.Kind {
	case FaultServerErrorHTML:
		return htmlPage(f.status(http.StatusServiceUnavailable))
	case FaultServerErrorJSON:
		return apiError(f.status(http.StatusInternalServerError), "INTERNAL", "internal error")
	case FaultRateLimitHTML:
		return htmlTooManyRequests()
	default:
		return unauthorized
	}
}

// rateLimitPrefix is the start of the HTML page Coinbase answers 429 with
// (fixture error_responses.json, body_text_prefix).
const rateLimitPrefix = "<html>\n  <head>\n    <title>Coinbase</title>\n    <meta name=\"robots\" content=\"noindex\">"

func htmlTooManyRequests() response {
	page := rateLimitPrefix + "\n  </head>\n  <body>\n" + strings.Repeat("    <div class=\"cb\"></div>\n", 160) + "  </body>\n</html>\n"
	return response{status: http.StatusTooManyRequests, contentType: "text/html", body: []byte(page)}
}

func htmlPage(status int) response {
	page := "<!DOCTYPE html><html><head><title>" + http.StatusText(status) + "</title></head><body><h1>" +
		http.StatusText(status) + "</h1></body></html>"
	return response{status: status, contentType: "text/html; charset=utf-8", body: []byte(page)}
}

// write sends resp, spoiled by an "after" fault if one applies.
func (s *Server) write(w http.ResponseWriter, resp response, f *Fault) {
	if f != nil && !f.before() && resp.status == http.StatusOK {
		switch f.Kind {
		case FaultServerErrorAfterAccept:
			resp = htmlPage(f.status(http.StatusBadGateway))
		case FaultDropAfterAccept:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler)
		case FaultTruncatedJSONAfterAccept:
			resp.body = resp.body[:len(resp.body)/2]
		case FaultHTMLOn200AfterAccept:
			resp = htmlPage(http.StatusOK)
		}
	}
	if f != nil && f.Kind == FaultRateLimitHTML && f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	w.Header().Set("Content-Type", resp.contentType)
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}
