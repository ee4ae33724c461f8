package health_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/arbiontrader/arbion/errors"
	"github.com/arbiontrader/arbion/health"
)

// A host mounts the handler beside its own routes.
func Example() {
	h, _ := health.New(health.Config{Ready: []health.Check{
		{Name: "store", Func: func(context.Context) error { return nil }},
		{Name: "broker", Func: func(context.Context) error { return errors.New("token=SECRET rejected") }},
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health/ready", nil))
	fmt.Println(rec.Code)
	rep := h.Check(context.Background())
	fmt.Println(rep.Status, rep.Checks[1].Name, rep.Checks[1].Error)
	// Output:
	// 503
	// fail broker token=REDACTED rejected
}
