package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/arbiontrader/arbion/errors"
)

// StatusKind is the fallback classification of an HTTP error status, used
// when the adapter's decoder cannot tell (an HTML page, an empty body, an
// unknown shape). Decoders may call it for their own default.
func StatusKind(status int) errors.Kind {
	switch {
	case status == http.StatusUnauthorized:
		return errors.ErrUnauthenticated
	case status == http.StatusForbidden:
		return errors.ErrPermissionDenied
	case status == http.StatusNotFound:
		return errors.ErrOrderNotFound
	case status == http.StatusMethodNotAllowed || status == http.StatusNotImplemented:
		return errors.ErrNotSupported
	case status == http.StatusRequestTimeout:
		return errors.ErrTimeout
	case status == http.StatusTooManyRequests:
		return errors.ErrRateLimited
	case status >= 400 && status < 500:
		return errors.ErrInvalidOrder
	case status >= 500 && status < 600:
		return errors.ErrBrokerUnavailable
	default: // 1xx and 3xx are not answers a broker API gives
		return errors.ErrMalformedResponse
	}
}

// requestIDHeaders are tried, in order, after Config.RequestIDHeader.
var requestIDHeaders = [...]string{
	"X-Request-Id", "Request-Id", "X-Correlation-Id", "Correlation-Id",
	"X-Amzn-Requestid", "X-Amz-Request-Id", "Cf-Ray",
}

// requestID returns the broker's request id from h, if any.
func requestID(h http.Header, preferred string) string {
	if preferred != "" {
		if v := h.Get(preferred); v != "" {
			return v
		}
	}
	for _, name := range requestIDHeaders {
		if v := h.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// ParseRetryAfter reads a Retry-After value, in seconds or as an HTTP-date
// (relative to now). It reports false for an absent or unreadable value; a
// date in the past is a wait of zero.
func ParseRetryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs < 0 || secs > int64(24*time.Hour/time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func isSuccess(status int) bool { return status >= 200 && status < 300 }

// readCapped reads all of r, but at most limit bytes; tooLong reports a body
// longer than limit (whose bytes are then dropped).
func readCapped(r io.Reader, limit int64) (body []byte, tooLong bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r, limit+1))
	if int64(len(body)) > limit {
		return nil, true, nil
	}
	return body, false, err
}

// checkSuccess validates a 2xx answer: complete, within the cap, of the
// expected content type.
func (c *Client) checkSuccess(req Request, resp *Response, tooLong bool, readErr error) (*Response, error) {
	switch {
	case readErr != nil:
		// The broker answered 2xx, so a write was done; only the body is lost.
		be := c.answerLost(req, resp, errors.ErrNetwork, "answer body lost while reading", readErr)
		return nil, be
	case tooLong:
		be := c.answerLost(req, resp, errors.ErrMalformedResponse,
			fmt.Sprintf("answer body exceeds the %d-byte cap", c.cfg.MaxBodyBytes), nil)
		return nil, be
	case len(resp.Body) > 0 && !contentTypeMatches(resp.Header.Get("Content-Type"), req.Accept):
		be := c.answerLost(req, resp, errors.ErrMalformedResponse,
			"unexpected content type "+strconv.Quote(mediaType(resp.Header.Get("Content-Type"))), nil)
		return nil, be
	}
	return resp, nil
}

// answerLost reports a 2xx answer that cannot be used. For a request that is
// not idempotent the broker has acted, so the outcome is unknown to us.
func (c *Client) answerLost(req Request, resp *Response, kind errors.Kind, msg string, cause error) *errors.BrokerError {
	be := c.newError(req, kind, msg)
	be.HTTPStatus = resp.Status
	be.RequestID = resp.RequestID
	be.Err = cause
	if !req.Idempotent {
		be.Kind = errors.ErrOutcomeUnknown
		be.Err = joinCause(kind, cause)
	}
	return be
}

func contentTypeMatches(header, accept string) bool {
	if accept == AcceptAny {
		return true
	}
	want := mediaType(orDefault(accept, "application/json"))
	got := mediaType(header)
	if got == want {
		return true
	}
	return want == "application/json" && strings.HasPrefix(got, "application/") && strings.HasSuffix(got, "+json")
}

func mediaType(v string) string {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return mt
}

// statusError turns a non-2xx answer into a classified *errors.BrokerError.
func (c *Client) statusError(req Request, resp *Response, body []byte, tooLong bool, readErr error) *errors.BrokerError {
	var be *errors.BrokerError
	if c.cfg.DecodeError != nil && !tooLong && readErr == nil {
		be = c.cfg.DecodeError(resp.Status, resp.Header, body)
	}
	if be == nil {
		be = &errors.BrokerError{}
	}
	if be.Kind == "" {
		be.Kind = StatusKind(resp.Status)
	}
	if be.Message == "" && be.Code == "" {
		be.Message = http.StatusText(resp.Status)
	}
	switch {
	case tooLong:
		be.Err = fmt.Errorf("error body exceeds the %d-byte cap", c.cfg.MaxBodyBytes)
	case readErr != nil:
		be.Err = readErr
	}
	c.fill(be, req)
	be.HTTPStatus = resp.Status
	if be.RequestID == "" {
		be.RequestID = resp.RequestID
	}
	if be.RetryAfter == 0 && (resp.Status == http.StatusTooManyRequests || resp.Status >= 500) {
		be.RetryAfter, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
	}
	if !req.Idempotent && (notAnAnswer(resp.Status) || mayHaveActed(resp.Status) && be.Kind == errors.ErrBrokerUnavailable) {
		be.Err = joinCause(be.Kind, be.Err)
		be.Kind = errors.ErrOutcomeUnknown
	}
	return be
}

// notAnAnswer reports a status that is neither success nor error: a 1xx,
// a 3xx (redirects are never followed; a 303 is the classic answer to a POST
// that created something) or one outside the HTTP range. Whatever the
// decoder makes of it, a write that got one may have been carried out.
func notAnAnswer(status int) bool {
	return status < 400 || status >= 600
}

// mayHaveActed reports whether a server error status leaves open whether the
// broker carried out the request: a 500, or a gateway's 502/503/504 while the
// backend may still be working (a gateway such as Apigee answers 503 when
// the backend drops the connection mid-request). Only 501 is a refusal
// before any work.
func mayHaveActed(status int) bool {
	return status >= 500 && status != http.StatusNotImplemented
}

// transportError classifies a failure of http.Client.Do: no answer received.
func (c *Client) transportError(ctx context.Context, req Request, u *url.URL, err error, sent bool) *errors.BrokerError {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err // its string would carry the URL with its query
	}
	kind := errors.ErrNetwork
	if ctxErr := ctx.Err(); ctxErr != nil {
		cause = ctxErr
		kind = ctxKind(ctxErr)
	} else if ue != nil && ue.Timeout() {
		kind = errors.ErrTimeout
	}
	target := req.Method + " " + c.redactURL(u)
	if sent && !req.Idempotent {
		be := c.newError(req, errors.ErrOutcomeUnknown,
			target+": request may have reached the broker and its answer was lost; resolve by lookup, do not resend")
		be.Err = joinCause(kind, cause)
		return be
	}
	msg := target + ": request failed"
	if !sent {
		msg = target + ": request not sent"
	}
	be := c.newError(req, kind, msg)
	be.Err = cause
	return be
}

// ctxError is the error for a context that ended while nothing was in flight.
func (c *Client) ctxError(req Request, err error) *errors.BrokerError {
	be := c.newError(req, ctxKind(err), "request not sent")
	be.Err = err
	return be
}

// ctxKind: a deadline is a timeout; a cancellation, which the caller asked
// for, is reported as a network-level failure wrapping context.Canceled.
func ctxKind(err error) errors.Kind {
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.ErrTimeout
	}
	return errors.ErrNetwork
}

// authError wraps a failure of Config.Authorize, keeping its kind.
func (c *Client) authError(req Request, err error) *errors.BrokerError {
	kind := errors.KindOf(err)
	if kind == "" {
		kind = errors.ErrUnauthenticated
	}
	be := c.newError(req, kind, "cannot authorize request")
	be.Err = err
	return be
}

// newError returns a BrokerError for req with the pipeline's fields set.
func (c *Client) newError(req Request, kind errors.Kind, msg string) *errors.BrokerError {
	be := &errors.BrokerError{Kind: kind, Message: msg}
	c.fill(be, req)
	return be
}

func (c *Client) errorf(req Request, kind errors.Kind, msg string) error {
	return c.newError(req, kind, msg)
}

func (c *Client) fill(be *errors.BrokerError, req Request) {
	if be.Broker == "" {
		be.Broker = c.cfg.Broker
	}
	if be.Op == "" {
		be.Op = req.Op
	}
}

// joinCause wraps cause so that it also matches kind with errors.Is.
func joinCause(kind errors.Kind, cause error) error {
	if cause == nil || errors.Is(cause, kind) {
		if cause == nil {
			return kind
		}
		return cause
	}
	return fmt.Errorf("%w: %w", kind, cause)
}

// DecodeJSON decodes the body into v, reading numbers as json.Number so that
// no amount passes through float64. An empty or undecodable body is an
// *errors.BrokerError matching errors.ErrMalformedResponse; for a request
// that was not idempotent it matches errors.ErrOutcomeUnknown too (the
// broker acted; what it did is unknown), so an adapter cannot mistake it for
// a failure that is safe to resend. The error never quotes the body.
func (r *Response) DecodeJSON(v any) error {
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.UseNumber()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = fmt.Errorf("trailing data after the JSON value")
	}
	if err == io.EOF {
		err = fmt.Errorf("empty body")
	}
	if err == nil {
		return nil
	}
	be := &errors.BrokerError{
		Broker: r.broker, Op: r.op, HTTPStatus: r.Status, RequestID: r.RequestID,
		Kind: errors.ErrMalformedResponse, Message: "cannot decode answer", Err: err,
	}
	if !r.idempotent {
		be.Kind = errors.ErrOutcomeUnknown
		be.Err = joinCause(errors.ErrMalformedResponse, err)
	}
	return be
}
