package etrade

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
)

// spoilPlace lets a place (or change place) reach the emulator, which
// places the order, and then hands the adapter another answer: what a
// gateway or proxy in front of E*TRADE may send after the backend acted.
type spoilPlace struct {
	next   http.RoundTripper
	status int
	header http.Header
	body   string
}

func (s *spoilPlace) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/place.json") {
		return resp, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return &http.Response{StatusCode: s.status, Header: s.header.Clone(),
		Body: io.NopCloser(strings.NewReader(s.body)), Request: req}, nil
}

// An order the emulator placed is never reported as not placed, whatever
// the answer that reached the adapter instead of E*TRADE's.
func TestReviewPlaceDoneThenSpoiledAnswerIsNeverARefusal(t *testing.T) {
	html := http.Header{"Content-Type": {"text/html"}}
	for _, tt := range []struct {
		name string
		rt   spoilPlace
	}{
		{"303 see other", spoilPlace{status: http.StatusSeeOther, header: http.Header{"Location": {"/v1/accounts/x/orders"}}}},
		{"302 to a login page", spoilPlace{status: http.StatusFound, header: http.Header{"Location": {"https://us.etrade.com/login"}}}},
		{"503 gateway page", spoilPlace{status: http.StatusServiceUnavailable, header: html, body: "<html><body>Service Unavailable</body></html>"}},
		{"504 gateway page", spoilPlace{status: http.StatusGatewayTimeout, header: html, body: "<html><body>Gateway Timeout</body></html>"}},
		{"200 html", spoilPlace{status: http.StatusOK, header: html, body: "<html><body>OK</body></html>"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt := tt.rt
			e := newEnv(t, envOptions{tune: func(c *Config) { c.HTTPClient = &http.Client{Transport: &rt} }})
			rt.next = e.srv.Client().Transport
			req := limitBuy("AAPL", "100.00")
			ack, err := e.b.PlaceOrder(t.Context(), req)
			placed := ordersFor(e.srv, req.ClientOrderID)
			switch {
			case len(placed) != 1:
				t.Fatalf("%d orders at the emulator, want 1 (err %v)", len(placed), err)
			case err == nil && ack.OrderID != strconv.FormatInt(placed[0].OrderID, 10):
				t.Fatalf("ack names %s, the emulator holds %d", ack.OrderID, placed[0].OrderID)
			case err != nil && !errors.Is(err, errors.ErrOutcomeUnknown):
				t.Fatalf("PlaceOrder = %v (kind %q) while the order lives at E*TRADE", err, errors.KindOf(err))
			}
			if _, err := e.b.PlaceOrder(t.Context(), req); len(ordersFor(e.srv, req.ClientOrderID)) != 1 {
				t.Fatalf("the repeat made a second order (%v)", err)
			}
		})
	}
}
