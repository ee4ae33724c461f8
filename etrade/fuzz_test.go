package etrade

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// seedFixtures adds every testdata file to the corpus.
func seedFixtures(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"OrdersResponse":{"Order":[{"orderId":1,"OrderDetail":[]}]}}`))
	f.Add([]byte(`{"OrdersResponse":{"Order":[{"orderId":"x"}]}}`))
	f.Add([]byte(`{"PreviewOrderResponse":{"PreviewIds":[{"previewId":1e400}]}}`))
}

// FuzzDecoders feeds arbitrary bytes to every body decoder and the mapping:
// errors are fine, panics are not.
func FuzzDecoders(f *testing.F) {
	seedFixtures(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		if orders, _, err := decodeOrders(body); err == nil {
			for _, w := range orders {
				orderOf(w)
			}
		}
		_, _ = decodeAccountList(body)
		_, _ = decodeBalance(body)
		_, _, _ = decodePortfolio(body)
		if quotes, _, err := decodeQuotes(body); err == nil {
			for _, q := range quotes {
				quoteOf(q)
			}
		}
		_, _ = decodePreview(body)
		_, _ = decodePlace(body)
		_, _ = decodeCancel(body)
		_, _ = decodeTokenResponse(body)
	})
}

// FuzzDecodeError classifies arbitrary error bodies without panicking and
// always names the broker.
func FuzzDecodeError(f *testing.F) {
	seedFixtures(f)
	f.Add([]byte("<html>Number of requests exceeded the rate limit set</html>"))
	f.Add([]byte(`<Error><code>0</code><message>oauth_problem=token_expired</message></Error>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, status := range []int{400, 401, 500} {
			be := decodeError(status, http.Header{"Www-Authenticate": {string(body)}}, body)
			if be == nil || be.Broker != brokerName {
				t.Fatalf("decodeError(%d) = %+v", status, be)
			}
		}
	})
}
