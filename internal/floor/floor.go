// Package floor measures an adapter call against its floor: the bare
// net/http requests of the same bytes to the same loopback server, carrying
// the authentication the broker demands (a bearer token, a fresh ES256 JWT,
// an OAuth 1.0a signature). What the adapter costs beyond the floor is its
// own overhead: pipeline, limiter, mapping, bookkeeping.
//
// The adapter's requests are recorded once through a [Recorder] transport
// and replayed by [Replay]; [Interleave] times both sides in one loop,
// alternating which goes first, and reports the ratio.
package floor

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Request is one recorded request: what the floor sends again.
type Request struct {
	Method      string
	URL         string
	ContentType string
	Accept      string
	Body        []byte
}

// Recorder is an http.RoundTripper that records the requests passing
// through it while recording is on.
type Recorder struct {
	Base http.RoundTripper // the transport requests go on to

	mu   sync.Mutex
	on   bool
	reqs []Request
}

// RoundTrip records req when recording is on, then sends it on.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	on := r.on
	r.mu.Unlock()
	if on {
		rec := Request{Method: req.Method, URL: req.URL.String(), ContentType: req.Header.Get("Content-Type"),
			Accept: req.Header.Get("Accept")}
		if req.Body != nil {
			body, err := io.ReadAll(req.Body)
			req.Body.Close()
			if err != nil {
				return nil, err
			}
			rec.Body = body
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, rec)
		r.mu.Unlock()
	}
	return r.Base.RoundTrip(req)
}

// Record runs call with recording on and returns the requests it sent.
func (r *Recorder) Record(call func()) []Request {
	r.mu.Lock()
	r.on, r.reqs = true, nil
	r.mu.Unlock()
	call()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.reqs
}

// Replay sends reqs through client one after the other, each authenticated
// by sign, and reads every answer whole; an error status fails tb.
func Replay(tb testing.TB, client *http.Client, reqs []Request, sign func(*http.Request)) {
	for _, rec := range reqs {
		var body io.Reader
		if rec.Body != nil {
			body = bytes.NewReader(rec.Body)
		}
		req, err := http.NewRequest(rec.Method, rec.URL, body)
		if err != nil {
			tb.Fatal(err)
		}
		if rec.ContentType != "" {
			req.Header.Set("Content-Type", rec.ContentType)
		}
		if rec.Accept != "" {
			req.Header.Set("Accept", rec.Accept)
		}
		sign(req)
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			tb.Fatalf("floor %s %s: %d", rec.Method, rec.URL, resp.StatusCode)
		}
	}
}

// Interleave runs adapter and floor b.N times each, alternating which goes
// first so that neither always meets the warmer connection, and reports
// both means and their ratio (adapter/floor) as benchmark metrics.
func Interleave(b *testing.B, adapter, floor func()) {
	var adapterTime, floorTime time.Duration
	timed := func(f func(), sum *time.Duration) {
		t := time.Now()
		f()
		*sum += time.Since(t)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i++; i%2 == 0 {
			timed(adapter, &adapterTime)
			timed(floor, &floorTime)
		} else {
			timed(floor, &floorTime)
			timed(adapter, &adapterTime)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(adapterTime.Nanoseconds())/n, "adapter-ns/op")
	b.ReportMetric(float64(floorTime.Nanoseconds())/n, "floor-ns/op")
	b.ReportMetric(float64(adapterTime)/float64(floorTime), "ratio")
}
