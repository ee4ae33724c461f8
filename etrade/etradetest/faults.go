package etradetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/arbiontrader/arbion/clock"
)

// Op names an endpoint, for fault injection and call counts.
type Op string

// The endpoints.
const (
	OpRequestToken  Op = "request_token"
	OpAccessToken   Op = "access_token"
	OpRenew         Op = "renew_access_token"
	OpRevoke        Op = "revoke_access_token"
	OpAccounts      Op = "accounts_list"
	OpBalance       Op = "balance"
	OpPortfolio     Op = "portfolio"
	OpQuote         Op = "quote"
	OpListOrders    Op = "orders_list"
	OpGetOrder      Op = "order_detail"
	OpPreview       Op = "orders_preview"
	OpPlace         Op = "orders_place"
	OpCancel        Op = "orders_cancel"
	OpChangePreview Op = "orders_change_preview"
	OpChangePlace   Op = "orders_change_place"
)

// Fault is a failure the server plays on the next request of an Op.
type Fault int

// The faults. "Before" faults answer without doing the work; "after" faults
// do the work (an order placed stays placed) and then fail the answer.
const (
	// FaultServerError (before): 500 with Error code 100 "not currently
	// available", JSON or XML as asked.
	FaultServerError Fault = iota + 1
	// FaultServerErrorXML (before): 500 with the XML body of
	// error_service_unavailable.xml, whatever was asked.
	FaultServerErrorXML
	// FaultAuthMessage500 (before): 500 XML <Error><message>Unauthorized
	// request - invalid Consumer key and/or session token</message></Error>
	// without a code (pyetrade #79).
	FaultAuthMessage500
	// FaultRateLimitPage (before): HTTP 400 text/html "Number of requests
	// exceeded the rate limit set".
	FaultRateLimitPage
	// FaultHTMLErrorPage (before): 502 text/html gateway page.
	FaultHTMLErrorPage
	// FaultLatency (before): wait Latency on the injected clock (Config.Clock)
	// before handling; a client that gives up first leaves nothing done.
	FaultLatency
	// FaultCommitThen500 (after): 500 code 100.
	FaultCommitThen500
	// FaultCommitThenDrop (after): the connection is closed without an answer.
	FaultCommitThenDrop
	// FaultCommitThenTruncate (after): 200 with the JSON cut in half.
	FaultCommitThenTruncate
	// FaultCommitThenLatency (after): wait Latency on the injected clock
	// before answering; a client that gives up first never learns the outcome.
	FaultCommitThenLatency
	// FaultMalformedAccessToken (OpAccessToken only): the docs' sample body
	// with its invalid percent-escapes.
	FaultMalformedAccessToken
	// FaultNone lets the request through untouched: queued before another
	// fault, it makes that one hit a later request (a listing's third page).
	FaultNone
)

// Latency is how long FaultLatency and FaultCommitThenLatency wait.
const Latency = time.Minute

// String names the fault, for test output.
func (f Fault) String() string {
	names := map[Fault]string{
		FaultServerError: "server error", FaultServerErrorXML: "server error XML",
		FaultAuthMessage500: "auth message 500", FaultRateLimitPage: "rate-limit page",
		FaultHTMLErrorPage: "HTML error page", FaultLatency: "latency",
		FaultCommitThen500: "commit then 500", FaultCommitThenDrop: "commit then drop",
		FaultCommitThenTruncate: "commit then truncated JSON", FaultCommitThenLatency: "commit then latency",
		FaultMalformedAccessToken: "malformed access token", FaultNone: "none",
	}
	if n, ok := names[f]; ok {
		return n
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// after reports whether the fault lets the work happen.
func (f Fault) after() bool {
	return f == FaultCommitThen500 || f == FaultCommitThenDrop || f == FaultCommitThenTruncate || f == FaultCommitThenLatency
}

// InjectFault makes the next request of op fail with f. Faults queue: n
// calls inject f for the next n requests.
func (s *Server) InjectFault(op Op, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.faults[op] = append(s.state.faults[op], f)
}

// takeFault pops the next fault of op. Caller holds s.mu.
func (s *Server) takeFault(op Op) (Fault, bool) {
	q := s.state.faults[op]
	if len(q) == 0 {
		return 0, false
	}
	s.state.faults[op] = q[1:]
	return q[0], true
}

const rateLimitPage = `<html><head><title>Rate Limit</title></head><body><p>Number of requests exceeded the rate limit set</p></body></html>`

const serviceUnavailable = "The requested service is not currently available, please try after sometime."

// applyPreFault answers a "before" fault and reports true when it did.
func (s *Server) applyPreFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch f {
	case FaultServerError:
		writeAPIError(w, r, http.StatusInternalServerError, 100, serviceUnavailable)
	case FaultServerErrorXML:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<Error>\n    <code>100</code>\n    <message>"+serviceUnavailable+"</message>\n</Error>")
	case FaultAuthMessage500:
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<Error><message>Unauthorized request - invalid Consumer key and/or session token</message></Error>")
	case FaultRateLimitPage:
		writeRateLimitPage(w)
	case FaultHTMLErrorPage:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")
	default:
		return false
	}
	return true
}

func writeRateLimitPage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusBadRequest)
	io.WriteString(w, rateLimitPage)
}

// dropConnection closes the client's connection without an answer.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler) // net/http closes the connection quietly
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func (s *Server) sleep(ctx context.Context) error { return clock.Sleep(ctx, s.cfg.Clock, Latency) }
