package httpx

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/arbiontrader/arbion/broker"
	"github.com/arbiontrader/arbion/clock"
	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/retry"
	"github.com/cenkalti/backoff/v4"
)

// Do sends req through the pipeline (see the package documentation) and
// returns the successful answer, or an error matching an errors.Kind that is
// an *errors.BrokerError.
//
// When the broker answered with an error status, the Response is returned
// too, next to the error, so that an adapter can look at its headers; the
// error is the result. A successful Response's Body may be empty (204, or a
// 201 carrying only a Location header).
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	start := c.clock.Now()
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	resp, attempts, err := c.run(ctx, req, start)
	c.report(ctx, req, resp, attempts, c.clock.Now().Sub(start), err)
	return resp, err
}

// run is the retry loop.
func (c *Client) run(ctx context.Context, req Request, start time.Time) (*Response, int, error) {
	u, lim, err := c.prepare(req)
	if err != nil {
		return nil, 0, err
	}
	bo := newBackoff(c.retry, c.clock)
	spent := 0 // budget tokens this request's retries took
	var prevResp *Response
	var prevErr error // the failure of the last attempt sent, if any
	for attempt := 1; ; attempt++ {
		hreq, err := c.beforeSend(ctx, req, u, lim)
		if err != nil {
			return prevResp, attempt - 1, abandonedRetry(ctx, prevErr, err)
		}
		resp, err := c.attempt(ctx, req, u, hreq)
		if err == nil {
			c.retry.Budget.Refund(max(spent, retry.SuccessRefund))
			resp.Attempts = attempt
			return resp, attempt, nil
		}
		if resp != nil {
			resp.Attempts = attempt
		}
		prevResp, prevErr = resp, err
		wait, ok := c.retryWait(ctx, req, attempt, err, bo, start)
		if !ok {
			return resp, attempt, err
		}
		cost := retry.RetryCost
		if errors.Is(err, errors.ErrTimeout) {
			cost = retry.TimeoutRetryCost
		}
		if !c.retry.Budget.Take(cost) {
			c.logger.LogAttrs(ctx, slog.LevelDebug, "httpx retry budget exhausted",
				slog.String("broker", c.cfg.Broker), slog.String("op", req.Op))
			return resp, attempt, err
		}
		spent += cost
		c.logger.LogAttrs(ctx, slog.LevelDebug, "httpx retry",
			slog.String("broker", c.cfg.Broker), slog.String("op", req.Op),
			slog.Int("attempt", attempt), slog.Duration("wait", wait),
			slog.String("kind", string(errors.KindOf(err))))
		if clock.Sleep(ctx, c.clock, wait) != nil {
			return resp, attempt, err
		}
	}
}

// retryWait decides whether err may be retried and after how long.
func (c *Client) retryWait(ctx context.Context, req Request, attempt int, err error,
	bo *backoff.ExponentialBackOff, start time.Time) (time.Duration, bool) {
	if !req.Idempotent || attempt >= c.retry.MaxAttempts || !errors.Retryable(err) || ctx.Err() != nil {
		return 0, false
	}
	wait := bo.NextBackOff()
	if wait == backoff.Stop {
		return 0, false
	}
	if hint, ok := errors.RetryAfter(err); ok && hint > wait {
		wait = hint
	}
	if c.clock.Now().Sub(start)+wait > c.retry.MaxElapsedTime {
		return 0, false
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return 0, false
	}
	return wait, true
}

// prepare builds the URL and finds the bucket; errors are the caller's.
func (c *Client) prepare(req Request) (*url.URL, limiter, error) {
	if strings.ContainsAny(req.Path, "?#") {
		return nil, nil, c.errorf(req, errors.ErrConfiguration, "httpx: path must not contain a query or fragment; use Request.Query")
	}
	u := c.base.JoinPath(req.Path)
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}
	if req.Bucket == "" {
		return u, nil, nil
	}
	lim, ok := c.limiters[req.Bucket]
	if !ok {
		return nil, nil, c.errorf(req, errors.ErrConfiguration, "httpx: unknown rate-limit bucket "+req.Bucket)
	}
	return u, lim, nil
}

// waitTurn takes a token from lim, waiting on the clock if needed. A wait
// that would outlast ctx's deadline fails at once with ErrRateLimited, and
// the reservation is given back.
func (c *Client) waitTurn(ctx context.Context, req Request, lim limiter) error {
	if lim == nil {
		return nil
	}
	now := c.clock.Now()
	delay, cancel, ok := lim.reserve(now)
	if !ok {
		return c.errorf(req, errors.ErrRateLimited, "client-side rate limit cannot ever admit the request")
	}
	if delay <= 0 {
		return nil
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
		cancel()
		be := c.newError(req, errors.ErrRateLimited, "client-side rate limit: next slot is after the context deadline")
		be.RetryAfter = delay
		return be
	}
	t := c.clock.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		cancel()
		return c.ctxError(req, ctx.Err())
	}
}

// beforeSend checks the context, waits for the rate limit and builds one
// attempt's request; an error means nothing of this attempt was sent.
func (c *Client) beforeSend(ctx context.Context, req Request, u *url.URL, lim limiter) (*http.Request, error) {
	if err := ctx.Err(); err != nil {
		return nil, c.ctxError(req, err)
	}
	if err := c.waitTurn(ctx, req, lim); err != nil {
		return nil, err
	}
	return c.newHTTPRequest(ctx, req, u)
}

// abandonedRetry is the result of a retry given up before it was sent: the
// earlier attempt's failure stands, because that attempt may have reached
// the broker. Reporting only the later, pre-send error (a client-side rate
// limit, an authorization failure) would read as a clear refusal. A context
// that ended stays visible to errors.Is.
func abandonedRetry(ctx context.Context, prev, err error) error {
	var be *errors.BrokerError
	if prev == nil || !errors.As(prev, &be) {
		return err
	}
	out := *be
	out.Message = be.Message + " (retry abandoned before sending: " + err.Error() + ")"
	if ctxErr := ctx.Err(); ctxErr != nil {
		out.Err = errors.Join(be.Err, ctxErr)
	}
	return &out
}

// attempt sends hreq, the request of one attempt of req, and classifies the
// outcome.
func (c *Client) attempt(ctx context.Context, req Request, u *url.URL, hreq *http.Request) (*Response, error) {
	// The trace is attached after Authorize ran, so that a token refresh it
	// made cannot count as this request being sent.
	var tr sendTrace
	hreq = hreq.WithContext(httptrace.WithClientTrace(ctx, tr.clientTrace()))
	hresp, err := c.httpClient.Do(hreq)
	if err != nil {
		return nil, c.transportError(ctx, req, u, err, tr.maybeSent())
	}
	defer hresp.Body.Close()
	body, tooLong, readErr := readCapped(hresp.Body, c.cfg.MaxBodyBytes)
	resp := &Response{
		Status:     hresp.StatusCode,
		Header:     hresp.Header,
		Body:       body,
		RequestID:  requestID(hresp.Header, c.cfg.RequestIDHeader),
		broker:     c.cfg.Broker,
		op:         req.Op,
		idempotent: req.Idempotent,
	}
	if isSuccess(resp.Status) {
		return c.checkSuccess(req, resp, tooLong, readErr)
	}
	resp.Body = nil // never hand out a body the decoder did not see whole
	if readErr == nil && !tooLong {
		resp.Body = body
	}
	return resp, c.statusError(req, resp, body, tooLong, readErr)
}

// newHTTPRequest builds one attempt's *http.Request with a fresh body.
func (c *Client) newHTTPRequest(ctx context.Context, req Request, u *url.URL) (*http.Request, error) {
	var body io.Reader
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body) // NewRequest sets GetBody from it
	}
	hreq, err := http.NewRequestWithContext(ctx, req.Method, u.String(), body)
	if err != nil {
		return nil, c.errorf(req, errors.ErrConfiguration, "httpx: cannot build request: invalid method or URL")
	}
	for k, vs := range req.Header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if len(req.Body) > 0 && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", orDefault(req.ContentType, "application/json"))
	}
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", orDefault(req.Accept, "application/json"))
	}
	if c.cfg.Authorize != nil {
		if err := c.cfg.Authorize(ctx, hreq); err != nil {
			return nil, c.authError(req, err)
		}
	}
	stripIdempotencyKeys(hreq.Header)
	return hreq, nil
}

// stripIdempotencyKeys removes the headers that make Go's transport replay a
// request on its own after a connection failure.
func stripIdempotencyKeys(h http.Header) {
	h.Del("Idempotency-Key")
	h.Del("X-Idempotency-Key")
}

// sendTrace records, from net/http/httptrace, how far one attempt got.
type sendTrace struct {
	traced       atomic.Bool // the transport reports traces (GetConn fired)
	wroteHeaders atomic.Bool
}

func (t *sendTrace) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn:      func(string) { t.traced.Store(true) },
		WroteHeaders: func() { t.wroteHeaders.Store(true) },
	}
}

// maybeSent reports whether the broker may have received the request. The
// transport calls WroteHeaders once the headers are written to the
// connection's buffer, before they are flushed, so without it the broker
// cannot have seen a complete request. A transport that reports no traces
// at all (a custom RoundTripper) proves nothing: the request may have been
// sent.
func (t *sendTrace) maybeSent() bool {
	return !t.traced.Load() || t.wroteHeaders.Load()
}

// report logs the call, tells the observer and remembers a failure.
func (c *Client) report(ctx context.Context, req Request, resp *Response, attempts int, latency time.Duration, err error) {
	status := 0
	if resp != nil {
		status = resp.Status
	}
	kind := errors.KindOf(err)
	if err != nil {
		c.recordError(err)
	}
	if c.logger.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{
			slog.String("broker", c.cfg.Broker), slog.String("op", req.Op),
			slog.String("method", req.Method), slog.String("path", req.Path),
			slog.Int("status", status), slog.Int("attempts", attempts),
			slog.Duration("latency", latency),
		}
		if resp != nil && resp.RequestID != "" {
			attrs = append(attrs, slog.String("request_id", resp.RequestID))
		}
		if err != nil {
			attrs = append(attrs, slog.String("kind", string(kind)), slog.String("error", err.Error()))
		}
		c.logger.LogAttrs(ctx, slog.LevelDebug, "httpx request", attrs...)
	}
	if c.cfg.Observer != nil {
		c.cfg.Observer(ctx, broker.Observation{
			Broker: c.cfg.Broker, Op: req.Op, Method: req.Method, Path: req.Path,
			Bucket: req.Bucket, Status: status, Latency: latency, Attempts: attempts,
			Kind: kind, Err: err,
		})
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
