package coinbase

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkDecodeOrder decodes a get-order answer the way GetOrder does (one
// json.Decoder pass with json.Number) and maps it to a broker.Order: each
// fixture as stored (indented) and compacted, as Coinbase sends it.
func BenchmarkDecodeOrder(b *testing.B) {
	for _, name := range []string{"get_order_filled_limit.json", "get_order_open_limit.json"} {
		indented := fixture(b, name)
		var compact bytes.Buffer
		if err := json.Compact(&compact, indented); err != nil {
			b.Fatal(err)
		}
		short := strings.TrimSuffix(strings.TrimPrefix(name, "get_order_"), ".json")
		b.Run(short+"/indented", func(b *testing.B) { benchmarkDecodeOrder(b, indented) })
		b.Run(short+"/compact", func(b *testing.B) { benchmarkDecodeOrder(b, compact.Bytes()) })
	}
}

func benchmarkDecodeOrder(b *testing.B, body []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		var w wireGetOrder
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&w); err != nil {
			b.Fatal(err)
		}
		if w.Order == nil {
			b.Fatal("no order in the answer")
		}
		if o, _ := orderFromWire(*w.Order); o.OrderID == "" {
			b.Fatal("order without an id")
		}
	}
}
