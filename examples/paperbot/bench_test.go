package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/store/sqlstore"
	"github.com/arbiontrader/arbion/store/sqlstore/sqlite"
)

// BenchmarkStep measures one paperbot step (price, runner step on the
// SQLite stores, strategy, stops) after a history of H steps, for each H
// in ARBION_BENCH_HISTORY (comma separated; default 2000): flat across H is
// the goal, a cost that grows with the orders ever placed is a bug.
//
//	ARBION_BENCH_HISTORY=2000,20000,200000 go test -run XXX -bench Step -benchtime 2000x ./examples/paperbot
func BenchmarkStep(b *testing.B) {
	sizes := os.Getenv("ARBION_BENCH_HISTORY")
	if sizes == "" {
		sizes = "2000"
	}
	for _, s := range strings.Split(sizes, ",") {
		h, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || h < 0 {
			b.Fatalf("ARBION_BENCH_HISTORY: %q is not a step count", s)
		}
		b.Run(fmt.Sprintf("history=%d", h), func(b *testing.B) { benchStep(b, h) })
	}
}

func benchStep(b *testing.B, history int) {
	ctx := context.Background()
	cfg := defaultConfig()
	cfg.DB, cfg.ProgressEvery = filepath.Join(b.TempDir(), "bench.db"), 0
	db, err := sqlite.Open(ctx, cfg.DB)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, _, err := loadProgress(ctx, db, cfg); err != nil {
		b.Fatal(err)
	}
	lease, err := db.Lease(sqlstore.LeaseConfig{})
	if err != nil {
		b.Fatal(err)
	}
	ld, err := lease.Lead(ctx, account)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = ld.Release() }()
	bt, err := newBot(cfg, &bytes.Buffer{}, ld)
	if err != nil {
		b.Fatal(err)
	}
	defer bt.runner.Close()
	if err := bt.runner.Start(ctx); err != nil {
		b.Fatal(err)
	}
	bt.swap(db.FencedOrders(ld), db.FencedProtections(ld))
	i := 0
	for ; i < history; i++ {
		if err := bt.step(ctx, i+1); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		i++
		if err := bt.step(ctx, i); err != nil {
			b.Fatal(err)
		}
		if err := saveProgress(ctx, db, i); err != nil {
			b.Fatal(err)
		}
	}
}
