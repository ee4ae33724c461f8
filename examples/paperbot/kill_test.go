package main

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// envInt reads a test size from the environment.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

// summaryOf is the summary block of a run's output, without the line that
// says where it resumed.
func summaryOf(out string) string {
	i := strings.Index(out, "summary: ")
	if i < 0 {
		return ""
	}
	return resumedNote.ReplaceAllString(out[i:], "")
}

var resumedNote = regexp.MustCompile(` \(resumed after step \d+\)`)

// TestKilledBotResumes builds paperbot, kills it with SIGKILL at random
// moments (ARBION_KILL_POINTS of them, default 3; the seed is logged, and
// ARBION_KILL_SEED replays one), restarts it each time on the same
// database, and checks that every restart resumes and that the run ends
// with the same books as an uninterrupted one.
func TestKilledBotResumes(t *testing.T) {
	points := envInt(t, "ARBION_KILL_POINTS", 3)
	steps := envInt(t, "ARBION_KILL_STEPS", 1500)
	seed := uint64(envInt(t, "ARBION_KILL_SEED", int(time.Now().UnixNano()%1_000_000)))
	t.Logf("%d kill points over %d steps, ARBION_KILL_SEED=%d", points, steps, seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	dir := t.TempDir()
	bin := filepath.Join(dir, "paperbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	args := func(db string) []string {
		return []string{"-steps", strconv.Itoa(steps), "-seed", "4", "-every", "0", "-lease-ttl", "1s", "-db", db}
	}
	run := func(db string) (string, error) {
		var out bytes.Buffer
		cmd := exec.Command(bin, args(db)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	whole := filepath.Join(dir, "whole.db")
	wantOut, took, err := killSomewhere(t, exec.Command(bin, args(whole)...), time.Hour)
	if err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, wantOut)
	}

	killed := filepath.Join(dir, "killed.db")
	kills, adopted := 0, 0
	for k := range points {
		// On average each run trades half of 1/points of the whole before
		// it is killed, so that the kill points spread over the first half
		// of the run and nearly every run is killed.
		limit := int64(took) / int64(points)
		text, _, err := killSomewhere(t, exec.Command(bin, args(killed)...), time.Duration(rng.Int64N(limit+1)))
		adopted += strings.Count(text, "replayed and adopted")
		if strings.Contains(text, "paperbot:") {
			t.Fatalf("run %d failed before it was killed:\n%s", k, text)
		}
		if err == nil {
			// It finished before the kill came: the next one starts on a done run.
			continue
		}
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
			t.Fatalf("run %d: %v (want killed by a signal)\n%s", k, err, text)
		}
		kills++
	}
	gotOut, err := run(killed)
	if err != nil {
		t.Fatalf("the last restart: %v\n%s", err, gotOut)
	}
	if points > 0 && !strings.Contains(gotOut, "resumed after step") {
		t.Errorf("the last restart did not resume:\n%s", gotOut)
	}
	adopted += strings.Count(gotOut, "replayed and adopted")
	t.Logf("%d of %d runs were killed before they finished; %d restarts found a step cut off half-way", kills, points, adopted)
	if diff := cmp.Diff(summaryOf(wantOut), summaryOf(gotOut)); diff != "" || summaryOf(wantOut) == "" {
		t.Errorf("the killed and restarted run differs from the uninterrupted one (-whole +killed)\n%s", diff)
	}
	if diff := cmp.Diff(ordersIn(t, whole), ordersIn(t, killed)); diff != "" {
		t.Errorf("orders (-whole +killed)\n%s", diff)
	}
}

// killSomewhere starts cmd and kills it with SIGKILL after delay counted
// from the moment it starts trading (its line "trading ..." or "resumed
// ..."), so that the kill lands in the steps rather than in the wait for a
// killed predecessor's lease. It returns the output, how long it traded
// and cmd's exit.
func killSomewhere(t *testing.T, cmd *exec.Cmd, delay time.Duration) (string, time.Duration, error) {
	t.Helper()
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var timer *time.Timer
	var began time.Time
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if timer == nil && (strings.HasPrefix(line, "trading ") || strings.HasPrefix(line, "resumed ")) {
			began = time.Now()
			timer = time.AfterFunc(delay, func() { _ = cmd.Process.Kill() })
		}
	}
	err = cmd.Wait()
	if timer == nil {
		return out.String(), 0, err
	}
	timer.Stop()
	return out.String(), time.Since(began), err
}

// TestTerminatedBotStopsBetweenSteps sends SIGTERM at random moments: the
// bot finishes the step in flight as the account's leader, saves it, says
// where it stopped and exits 130; the restart resumes after exactly that
// step, with nothing cut off half-way.
func TestTerminatedBotStopsBetweenSteps(t *testing.T) {
	points := envInt(t, "ARBION_TERM_POINTS", 3)
	dir := t.TempDir()
	bin := filepath.Join(dir, "paperbot")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "term.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 2))
	stopped := regexp.MustCompile(`interrupted after step (\d+);`)
	resumed := regexp.MustCompile(`resumed after step (\d+) from`)
	last := ""
	for k := range points {
		cmd := exec.Command(bin, "-steps", "1000000", "-seed", "3", "-every", "0", "-lease-ttl", "1s", "-db", db)
		text, _, err := signalSomewhere(t, cmd, time.Duration(200+rng.IntN(300))*time.Millisecond)
		if last != "" {
			if m := resumed.FindStringSubmatch(text); m == nil || m[1] != last || strings.Contains(text, "cut off") {
				t.Fatalf("run %d after a stop at step %s:\n%s", k, last, text)
			}
		}
		m := stopped.FindStringSubmatch(text)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 || m == nil {
			t.Fatalf("run %d: %v, want exit 130 after a SIGTERM\n%s", k, err, text)
		}
		last = m[1]
	}
}

// signalSomewhere is killSomewhere with SIGTERM.
func signalSomewhere(t *testing.T, cmd *exec.Cmd, delay time.Duration) (string, time.Duration, error) {
	t.Helper()
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	var timer *time.Timer
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if timer == nil && (strings.HasPrefix(line, "trading ") || strings.HasPrefix(line, "resumed ")) {
			timer = time.AfterFunc(delay, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
		}
	}
	err = cmd.Wait()
	if timer != nil {
		timer.Stop()
	}
	return out.String(), 0, err
}
