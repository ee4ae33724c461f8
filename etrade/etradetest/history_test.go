package etradetest_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/etrade/etradetest"
)

// Every price-history path a client might guess is a 404 HTML page, signed
// or not; the quote route still answers.
func TestNoPriceHistory(t *testing.T) {
	c := newClient(t, etradetest.Config{})
	for _, path := range []string{"/v1/market/pricehistory", "/v1/market/pricehistory.json?symbol=IBM",
		"/v1/market/history/IBM", "/v1/market/chart.json", "/v1/market/bars?symbol=IBM&interval=1d", "/v1/market/candles"} {
		status, ctype, body := c.do("GET", path, nil)
		if status != http.StatusNotFound || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(string(body), "Not Found") {
			t.Errorf("GET %s: %d %s %s", path, status, ctype, body)
		}
	}
	if status, _, body := c.do("GET", "/v1/market/quote/IBM.json", nil); status == http.StatusNotFound {
		t.Errorf("quote route shadowed: %d %s", status, body)
	}
}
