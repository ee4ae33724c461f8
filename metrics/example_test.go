package metrics_test

import (
	"context"
	"fmt"

	"github.com/arbiontrader/arbion/metrics"
	sdk "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The host brings the OpenTelemetry SDK (here with a manual reader; a
// Prometheus exporter in examples/prometheus) and hands arbion the provider.
func Example() {
	reader := sdk.NewManualReader()
	m, _ := metrics.New(sdk.NewMeterProvider(sdk.WithReader(reader)))
	m.Refused(context.Background(), []string{"max daily loss"})

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, sm := range rm.ScopeMetrics {
		for _, x := range sm.Metrics {
			sum := x.Data.(metricdata.Sum[int64])
			fmt.Println(x.Name, sum.DataPoints[0].Value)
		}
	}
	// Output: arbion.risk.refusals 1
}
