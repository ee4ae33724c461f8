package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpExitsZero(t *testing.T) {
	code, _, stderr := runCmd(t, "-h")
	if code != 0 {
		t.Fatalf("-h exited %d", code)
	}
	for _, f := range []string{"-bars", "-png", "-json", "-fast", "-slow", "-stop", "-trail", "-fee-bps", "-slippage-bps", "-bars-per-year"} {
		if !strings.Contains(stderr, f) {
			t.Errorf("-h does not list %s:\n%s", f, stderr)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		says string
	}{
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-png", "", "x", "y"}, "unexpected arguments"},
		{[]string{"-qty", "ten"}, "not a decimal"},
		{[]string{"-qty", "0"}, "-qty must be positive"},
		{[]string{"-cash", "-5"}, "-cash must be positive"},
		{[]string{"-fee-bps", "-1"}, "-fee-bps may not be negative"},
		{[]string{"-every", "-1"}, "-every may not be negative"},
		{[]string{"-interval", "3m"}, `-interval "3m"`},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.says) {
			t.Errorf("%q: exit %d, stderr %q; want 2 saying %q", tt.args, code, stderr, tt.says)
		}
	}
}

func TestRunFailures(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("time,open,high,low,close,volume\n2026-01-05T00:00:00Z,10,9,8,10,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		says string
	}{
		{[]string{"-bars", filepath.Join(dir, "missing.csv")}, "no such file"},
		{[]string{"-bars", bad, "-png", ""}, "line 2, column 3 (high)"},
		{[]string{"-fast", "40", "-slow", "10", "-png", ""}, "windows must be"},
		{[]string{"-volume-fraction", "2", "-png", ""}, "VolumeFraction"},
	}
	for _, tt := range tests {
		code, _, stderr := runCmd(t, tt.args...)
		if code != 1 || !strings.Contains(stderr, tt.says) {
			t.Errorf("%q: exit %d, stderr %q; want 1 saying %q", tt.args, code, stderr, tt.says)
		}
	}
}

// The bundled series runs, prints progress and the report, writes the
// picture and the JSON, and gives the same bytes twice.
func TestBundledRun(t *testing.T) {
	dir := t.TempDir()
	var outs [2]string
	var pngs, jsons [2][]byte
	for i := range outs {
		png, js := filepath.Join(dir, "a.png"), filepath.Join(dir, "a.json")
		code, stdout, stderr := runCmd(t, "-png", png, "-json", js, "-every", "1000")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		outs[i] = strings.ReplaceAll(stdout, dir, "DIR")
		var err error
		if pngs[i], err = os.ReadFile(png); err != nil {
			t.Fatal(err)
		}
		if jsons[i], err = os.ReadFile(js); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"bar   1000 of 2600", "bar   2600 of 2600", "buy and hold", "sharpe", "wrote DIR/a.png"} {
		if !strings.Contains(outs[0], want) {
			t.Errorf("the output does not say %q:\n%s", want, outs[0])
		}
	}
	if outs[0] != outs[1] || !bytes.Equal(pngs[0], pngs[1]) || !bytes.Equal(jsons[0], jsons[1]) {
		t.Error("two runs of the same inputs differ")
	}
	if !bytes.HasPrefix(pngs[0], []byte("\x89PNG")) {
		t.Error("no PNG written")
	}
}
