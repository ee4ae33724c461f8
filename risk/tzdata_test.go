package risk_test

// The New York trading-day tests need the IANA time zone database. Embedding
// it in the test binary (not in the package) makes them run the same on a
// machine without /usr/share/zoneinfo, instead of being skipped there.
import _ "time/tzdata"
