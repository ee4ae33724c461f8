package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/synthetic-daily.csv from its generator")

// The bundled series is what generateSeries makes: rerun with -update to
// rewrite it after changing the generator.
func TestTestdata(t *testing.T) {
	const path = "testdata/synthetic-daily.csv"
	want := generateSeries()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is not the generator's output: go test ./examples/backtest -run TestTestdata -update", path)
	}
}

// generateSeries makes 2,600 daily bars (weekdays from 2016-01-04, about
// ten years) of a random walk with drift, seeded (PCG 19, 2026), in integer
// cents: each close moves by the sum of four uniform draws in ±120 basis
// points plus 3 of drift, each open gaps up to ±40 basis points from the
// previous close, and the high and low reach up to 80 basis points beyond
// them. Regimes of 120 bars alternate the drift's sign, so the trend
// follower has trends to follow and reversals to lose on.
func generateSeries() []byte {
	rng := rand.New(rand.NewPCG(19, 2026))
	uniform := func(n int64) int64 { return rng.Int64N(2*n+1) - n }
	var buf bytes.Buffer
	buf.WriteString("time,open,high,low,close,volume\n")
	day := time.Date(2016, 1, 4, 0, 0, 0, 0, time.UTC)
	closeC := int64(10_000) // cents
	for i := 0; i < 2600; {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			day = day.AddDate(0, 0, 1)
			continue
		}
		drift := int64(3)
		if (i/120)%3 == 2 {
			drift = -4
		}
		open := move(closeC, uniform(40))
		next := move(open, uniform(120)+uniform(120)+uniform(120)+uniform(120)+drift)
		high := move(max(open, next), rng.Int64N(81))
		low := move(min(open, next), -rng.Int64N(81))
		low = max(low, 1)
		volume := 800_000 + rng.Int64N(1_200_000)
		fmt.Fprintf(&buf, "%s,%s,%s,%s,%s,%d\n", day.Format(time.DateOnly+"T15:04:05Z"),
			cents(open), cents(high), cents(low), cents(next), volume)
		closeC = next
		day = day.AddDate(0, 0, 1)
		i++
	}
	return buf.Bytes()
}

// move returns c moved by bps basis points, rounded to the cent.
func move(c, bps int64) int64 { return (c*(10_000+bps) + 5_000) / 10_000 }

func cents(c int64) string { return fmt.Sprintf("%d.%02d", c/100, c%100) }
