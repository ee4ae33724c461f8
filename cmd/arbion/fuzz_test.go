package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile: any config file is read or refused with an error, never a
// panic; seeds from the documented layout.
func FuzzConfigFile(f *testing.F) {
	f.Add(`{"broker":"schwab","schwab":{"account":"12345678"}}`)
	f.Add(`{"broker":"etrade","etrade":{"account":"-h06qS59IOXHUSjq3xhGVE","sandbox":true}}`)
	f.Add(`{"schwab":{"app_secret":"x"}}`)
	f.Add(`{"broker":1}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, content string) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		c := &cli{ctx: context.Background(), env: func(k string) string {
			return map[string]string{"ARBION_CONFIG_DIR": dir}[k]
		}}
		_, _ = c.loadConfig()
	})
}

// FuzzCDPKeyFile: a CDP key file is read or refused, never a panic, and a
// refusal never quotes the key.
func FuzzCDPKeyFile(f *testing.F) {
	f.Add(`{"name":"organizations/o/apiKeys/k","privateKey":"-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n"}`)
	f.Add(`{"id":"k","privateKey":"c2VlZA=="}`)
	f.Add(`{"name":"n"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "key.json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readCDPKey(path); err != nil && len(content) > 20 && strings.Contains(err.Error(), content) {
			t.Errorf("the error quotes the file: %v", err)
		}
	})
}

// FuzzArgs: any command line ends with an exit code, never a panic, without
// a broker configured (nothing can be sent).
func FuzzArgs(f *testing.F) {
	for _, seed := range []string{"place buy 1 AAPL --limit 1", "place buy -3 AAPL", "quote", "orders --since x", "bars A --interval 9m", "help", "emulator nyse"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Fields(line)
		if len(args) > 0 && args[0] == "emulator" {
			return // it serves until cancelled
		}
		dir := t.TempDir()
		env := map[string]string{"ARBION_CONFIG_DIR": dir, "ARBION_DATA_DIR": dir}
		var out bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &out, &out, func(k string) string { return env[k] })
		if code < exitOK || code > exitOutcomeUnknown {
			t.Errorf("exit %d", code)
		}
	})
}
