// Package alpaca measures alpaca-trade-api-go, the best-known Go broker
// client, the way arbion's adapters are measured: PlaceOrder and GetOrder
// against a loopback server, interleaved in one loop with a bare net/http
// request of the same bytes carrying the same authentication headers. Its
// ratio is the outside reference for arbion's adapter overhead
// (BENCHMARKS.md). It is a module of its own so that arbion does not
// depend on alpaca's client.
package alpaca
