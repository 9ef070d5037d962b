package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/enkg-go/enkg/problem"
)

// solveMetrics reads the complete flag and the forward count of metrics.json.
func solveMetrics(t *testing.T, dir string) (complete bool, forward int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Complete bool `json:"complete"`
		Counts   struct {
			Forward int64 `json:"forward"`
		} `json:"counts"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"forward_failed": 0`)) {
		t.Errorf("metrics.json does not count failed members:\n%s", b)
	}
	return m.Complete, m.Counts.Forward
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err1 := os.ReadFile(a)
	y, err2 := os.ReadFile(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	return bytes.Equal(x, y)
}

// TestSolveResume: a solve interrupted after 3 steps keeps its checkpoint; the same command
// with --resume continues from step 4 (finished steps are not recomputed) to the ensemble.npy
// and counts of an uninterrupted solve, and removes the checkpoint; a checkpoint of another
// configuration and --resume of a method that cannot resume are refused.
func TestSolveResume(t *testing.T) { solveResume(t, "enkg") }

// TestSolveResumeEKI is TestSolveResume for EKI (iterations instead of sampling steps).
func TestSolveResumeEKI(t *testing.T) { solveResume(t, "eki") }

func solveResume(t *testing.T, alg string) {
	t.Cleanup(func() { solveAfterCheckpoint = nil })
	cfg := solveWriteConfig(t, solveTestConfig)
	sets := []string{"algorithm.name=" + alg, "algorithm.enkg.members=8", "algorithm.enkg.steps=6", "algorithm.enkg.threshold_start=0", "problem.size=8"}
	ref := filepath.Join(t.TempDir(), "ref")
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: ref, sets: sets}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ref, problem.CheckpointFile)); !os.IsNotExist(err) {
		t.Errorf("%s: checkpoint left after a complete solve: %v", alg, err)
	}
	_, refForward := solveMetrics(t, ref)

	out := filepath.Join(t.TempDir(), "run")
	ctx, cancel := context.WithCancel(context.Background())
	solveAfterCheckpoint = func(step int) {
		if step == 3 {
			cancel()
		}
	}
	err := runSolve(ctx, solveOptions{config: cfg, out: out, sets: sets}, io.Discard)
	cancel()
	if err == nil || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "--resume") {
		t.Fatalf("%s: interrupted solve: %v", alg, err)
	}
	if complete, _ := solveMetrics(t, out); complete {
		t.Errorf("%s: interrupted solve marked complete", alg)
	}
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: out, sets: sets}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "--resume") {
		t.Errorf("%s: rerun without --resume: %v", alg, err)
	}
	// Another configuration does not resume this checkpoint.
	other := solveOptions{config: cfg, out: out, sets: append(append([]string(nil), sets...), "seed=9"), resume: true}
	if err := runSolve(context.Background(), other, io.Discard); !errors.Is(err, problem.ErrCheckpoint) {
		t.Errorf("%s: resuming with another seed: %v", alg, err)
	}
	var steps []int
	solveAfterCheckpoint = func(step int) { steps = append(steps, step) }
	var log bytes.Buffer
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: out, sets: sets, resume: true}, &log); err != nil {
		t.Fatal(err)
	}
	solveAfterCheckpoint = nil
	if len(steps) == 0 || steps[0] != 4 {
		t.Errorf("%s: resumed solve checkpointed steps %v, want from 4 on", alg, steps)
	}
	if !strings.Contains(log.String(), "resuming") {
		t.Errorf("%s: log %q", alg, log.String())
	}
	if !sameFile(t, filepath.Join(ref, "ensemble.npy"), filepath.Join(out, "ensemble.npy")) {
		t.Errorf("%s: resumed ensemble.npy differs from the uninterrupted one", alg)
	}
	if complete, forward := solveMetrics(t, out); !complete || forward != refForward {
		t.Errorf("%s: resumed metrics: complete %v, %d forward evaluations, want %d", alg, complete, forward, refForward)
	}
	if _, err := os.Stat(filepath.Join(out, problem.CheckpointFile)); !os.IsNotExist(err) {
		t.Errorf("%s: checkpoint left after the resumed solve completed: %v", alg, err)
	}
	log.Reset()
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: out, sets: sets, resume: true}, &log); err != nil ||
		!strings.Contains(log.String(), "already holds the complete results") {
		t.Errorf("%s: --resume of a complete solve: %v, %q", alg, err, log.String())
	}
}

// TestSolveResumeRefusals: --resume into an empty directory starts afresh; a method without
// checkpoints and --resume with --force are refused.
func TestSolveResumeRefusals(t *testing.T) {
	cfg := solveWriteConfig(t, solveTestConfig)
	var msg bytes.Buffer
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: t.TempDir(), sets: []string{"algorithm.enkg.steps=3"}, resume: true}, &msg); err != nil {
		t.Errorf("--resume into an empty directory: %v", err)
	}
	if !strings.Contains(msg.String(), "starting from the beginning") {
		t.Errorf("--resume into an empty directory starts without saying so:\n%s", msg.String())
	}
	err := runSolve(context.Background(), solveOptions{config: cfg, out: t.TempDir(), sets: []string{"algorithm.name=dps"}, resume: true}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cannot be resumed") {
		t.Errorf("--resume with dps: %v", err)
	}
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: t.TempDir(), resume: true, force: true}, io.Discard); err == nil {
		t.Error("--resume with --force accepted")
	}
}

// TestSolveSIGTERM: a solve process that receives SIGTERM (what timeout and batch schedulers
// send) stops like on Ctrl-C, saving its partial results and checkpoint, and --resume then
// finishes it bit-identically. The child is this test binary running
// TestSolveSIGTERMHelper.
func TestSolveSIGTERM(t *testing.T) {
	cfg := solveWriteConfig(t, solveTestConfig)
	sets := []string{"algorithm.enkg.members=8", "algorithm.enkg.steps=40"}
	out := filepath.Join(t.TempDir(), "run")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSolveSIGTERMHelper$")
	cmd.Env = append(os.Environ(), "ENKG_SOLVE_HELPER="+cfg+"\n"+out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(out, problem.CheckpointFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no checkpoint after 20 s:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child: %v (want exit status 3: stopped by the signal)\n%s", err, stderr.String())
	}
	if complete, _ := solveMetrics(t, out); complete {
		t.Fatal("a solve stopped by SIGTERM is marked complete")
	}
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: out, sets: sets, resume: true}, io.Discard); err != nil {
		t.Fatal(err)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	if err := runSolve(context.Background(), solveOptions{config: cfg, out: ref, sets: sets}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, filepath.Join(ref, "ensemble.npy"), filepath.Join(out, "ensemble.npy")) {
		t.Error("ensemble.npy after SIGTERM and --resume differs from the uninterrupted one")
	}
}

// TestSolveSIGTERMHelper is the child process of TestSolveSIGTERM: `enkg solve` with the
// command's signal handling, slowed to 20 ms per step so that the signal arrives mid-run.
func TestSolveSIGTERMHelper(t *testing.T) {
	env := os.Getenv("ENKG_SOLVE_HELPER")
	if env == "" {
		t.Skip("child process of TestSolveSIGTERM")
	}
	cfg, out, _ := strings.Cut(env, "\n")
	ctx, stop := signalContext()
	defer stop()
	solveAfterCheckpoint = func(int) { time.Sleep(20 * time.Millisecond) }
	err := runSolve(ctx, solveOptions{config: cfg, out: out, sets: []string{"algorithm.enkg.members=8", "algorithm.enkg.steps=40"}}, os.Stderr)
	if errors.Is(err, context.Canceled) {
		os.Exit(3)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestSecondSignal: the first SIGTERM cancels the command's context and says so on stderr;
// a second one ends a process that is still busy (here: saving for 60 s) at once.
func TestSecondSignal(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "cancelled")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSignalHelper$")
	cmd.Env = append(os.Environ(), "ENKG_SIGNAL_HELPER="+marker)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	wait := func(what string, ok func() bool) {
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after 20 s:\n%s", what, stderr.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ready := marker + ".ready"
	wait("ready file", func() bool { _, err := os.Stat(ready); return err == nil })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wait("cancellation", func() bool { _, err := os.Stat(marker); return err == nil })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Errorf("child: %v, want it ended by the second signal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second SIGTERM did not end the process")
	}
	if !strings.Contains(stderr.String(), "stopping cleanly (a second Ctrl-C or SIGTERM ends the program at once)") {
		t.Errorf("stderr does not announce the first signal:\n%s", stderr.String())
	}
}

// TestSecondSignalHelper is the child process of TestSecondSignal.
func TestSecondSignalHelper(t *testing.T) {
	marker := os.Getenv("ENKG_SIGNAL_HELPER")
	if marker == "" {
		t.Skip("child process of TestSecondSignal")
	}
	ctx, stop := signalContext()
	defer stop()
	if err := os.WriteFile(marker+".ready", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Second)
}
