package coinbase

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOrderConfigDecode: each variant lands in its field; a key the adapter
// does not know, or knows only in another case, is reported so that the
// order's shape is refused rather than read as something else.
func TestOrderConfigDecode(t *testing.T) {
	limit := &wireLimit{BaseSize: &num{dec("0.5")}, LimitPrice: num{dec("100")}}
	tests := []struct {
		name    string
		body    string
		want    wireOrderConfig
		shapeOK bool
	}{
		{"known variant", `{"limit_limit_gtc":{"base_size":"0.5","limit_price":"100"}}`,
			wireOrderConfig{LimitGTC: limit}, true},
		{"null variant beside a known one", `{"limit_limit_gtc":{"base_size":"0.5","limit_price":"100"},"limit_limit_gtd":null}`,
			wireOrderConfig{LimitGTC: limit}, true},
		{"unknown variant", `{"twap_limit_gtd":{"base_size":"1"}}`,
			wireOrderConfig{unknownFields: []string{"twap_limit_gtd"}}, false},
		{"known name in another case", `{"LIMIT_LIMIT_GTC":{"base_size":"0.5","limit_price":"100"}}`,
			wireOrderConfig{LimitGTC: limit, unknownFields: []string{"LIMIT_LIMIT_GTC"}}, false},
		{"two variants", `{"limit_limit_gtc":{"base_size":"0.5","limit_price":"100"},"limit_limit_fok":{"base_size":"0.5","limit_price":"100"}}`,
			wireOrderConfig{LimitGTC: limit, LimitFOK: limit}, false},
		{"empty", `{}`, wireOrderConfig{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got wireOrderConfig
			if err := json.Unmarshal([]byte(tt.body), &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got, cmp.AllowUnexported(wireOrderConfig{}), decimalEq); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
			if _, ok := got.shape(); ok != tt.shapeOK {
				t.Errorf("shape ok = %v, want %v", ok, tt.shapeOK)
			}
		})
	}
	var bad wireOrderConfig
	if err := json.Unmarshal([]byte(`{"limit_limit_gtc":{"limit_price":"abc"}}`), &bad); err == nil {
		t.Error("a variant with a malformed price decoded without an error")
	}
}
