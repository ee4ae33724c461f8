package floor_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/arbiontrader/arbion/internal/floor"
	"github.com/google/go-cmp/cmp"
)

// TestRecordAndReplay: the recorder keeps what was sent, the adapter's
// request still arrives whole, and the replay sends the same bytes again,
// signed anew.
func TestRecordAndReplay(t *testing.T) {
	var bodies []string
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		auth.Store(r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	rec := &floor.Recorder{Base: srv.Client().Transport}
	client := &http.Client{Transport: rec}
	reqs := rec.Record(func() {
		resp, err := client.Post(srv.URL+"/orders", "application/json", strings.NewReader(`{"qty":1}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	want := []floor.Request{{Method: "POST", URL: srv.URL + "/orders", ContentType: "application/json", Body: []byte(`{"qty":1}`)}}
	if diff := cmp.Diff(want, reqs); diff != "" {
		t.Fatalf("recorded (-want +got):\n%s", diff)
	}
	floor.Replay(t, srv.Client(), reqs, func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") })
	if diff := cmp.Diff([]string{`POST /orders {"qty":1}`, `POST /orders {"qty":1}`}, bodies); diff != "" {
		t.Errorf("server saw (-want +got):\n%s", diff)
	}
	if auth.Load() != "Bearer x" {
		t.Errorf("replay not signed: %v", auth.Load())
	}
}
