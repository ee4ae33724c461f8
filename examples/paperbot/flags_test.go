package main

import (
	"bytes"
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arbiontrader/arbion/errors"
)

func noEnv(string) string { return "" }

func TestFlags(t *testing.T) {
	var usage bytes.Buffer
	if _, _, err := parseFlags([]string{"-h"}, noEnv, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp (exit 0)", err)
	}
	for _, want := range []string{envDB, envHTTP, "-steps", "-http"} {
		if !strings.Contains(usage.String(), want) {
			t.Errorf("-h does not list %s:\n%s", want, usage.String())
		}
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"stray"}, `unexpected argument "stray"`},
		{[]string{"-steps", "0"}, "steps must be at least 1"},
		{[]string{"-steps=-5"}, "steps must be at least 1"},
		{[]string{"-stop", "abc"}, "invalid value"},
	} {
		_, _, err := parseFlags(tt.args, noEnv, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.args, err, tt.want)
		}
	}
	env := map[string]string{envDB: "from-env.db", envHTTP: "127.0.0.1:0"}
	cfg, addr, err := parseFlags(nil, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || cfg.DB != "from-env.db" || addr != "127.0.0.1:0" {
		t.Errorf("environment defaults: db %q http %q err %v", cfg.DB, addr, err)
	}
	cfg, _, err = parseFlags([]string{"-db", "flag.db"}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil || cfg.DB != "flag.db" {
		t.Errorf("a flag overrides the environment: db %q err %v", cfg.DB, err)
	}
}

func TestBadDatabasePathIsNamed(t *testing.T) {
	cfg := defaultConfig()
	cfg.DB = filepath.Join(t.TempDir(), "no", "such", "dir", "bot.db")
	_, err := Run(context.Background(), cfg, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), cfg.DB) {
		t.Errorf("bad -db: %v, want an error naming %s", err, cfg.DB)
	}
}
