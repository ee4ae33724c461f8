package etradetest

import (
	"io"
	"net/http"
)

// notFoundPage is the HTML 404 E*TRADE's front end is assumed to answer for
// a path it does not route (etrade.md §11).
const notFoundPage = `<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>` +
	`<p>The requested URL was not found on this server.</p></body></html>`

// handleUnknownMarket answers every /v1/market path the Market API does not
// have, price history above all (marketdata.md §3.1: the v1 Market API has
// lookup, quote, optionchains and optionexpiredate, and nothing for past
// prices), with the HTML 404, so that no client grows a history call the
// real API would refuse.
func (s *Server) handleUnknownMarket(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, notFoundPage)
}
