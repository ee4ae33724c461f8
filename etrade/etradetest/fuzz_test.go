package etradetest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseOrderRequest: the emulator reads any request body without
// panicking, JSON or XML.
func FuzzParseOrderRequest(f *testing.F) {
	for _, name := range []string{"orders_preview_request.json", "orders_place_request.json"} {
		b, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(`<PlaceOrderRequest><PreviewIds><previewId>1</previewId></PreviewIds><Order><Instrument/></Order></PlaceOrderRequest>`), true)
	f.Fuzz(func(t *testing.T, body []byte, isXML bool) {
		for _, root := range []string{"PreviewOrderRequest", "PlaceOrderRequest"} {
			_, _ = parseOrderRequest(body, isXML, root)
		}
	})
}
