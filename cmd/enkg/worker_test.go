package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/problem"
	"github.com/enkg-go/enkg/remote/natsev"
)

// natsTestServer starts an embedded NATS server on 127.0.0.1 (random port) with a token and
// returns its URL with the token.
func natsTestServer(t *testing.T, token string) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, Authorization: token})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("embedded NATS server not ready")
	}
	t.Cleanup(s.Shutdown)
	return strings.Replace(s.ClientURL(), "nats://", "nats://"+token+"@", 1)
}

// syncBuf is a goroutine-safe log.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestNatsSolveSameAsLocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	u := natsTestServer(t, "tok")
	cfg := solveWriteConfig(t, solveTestConfig)
	sets := []string{"algorithm.enkg.members=16", "algorithm.enkg.steps=6"}
	local := t.TempDir()
	t0 := time.Now()
	if err := runSolve(ctx, solveOptions{config: cfg, sets: sets, out: local}, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Logf("local solve: %v", time.Since(t0))
	// Two workers fetching the configuration over NATS; the solve waits for none.
	wctx, stopWorkers := context.WithCancel(ctx)
	var logs [2]syncBuf
	done := make(chan error, 2)
	for i := range 2 {
		go func() {
			done <- runWorker(wctx, workerOptions{nats: natsFlags{url: u}, workers: 1, wait: 10 * time.Second}, &logs[i])
		}()
	}
	remote := t.TempDir()
	o := solveOptions{config: cfg, sets: sets, out: remote, nats: natsFlags{url: u}, natsInFlight: 4, natsTimeout: 5 * time.Second}
	var slog syncBuf
	if err := runSolve(ctx, o, &slog); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", slog.String())
	t.Logf("NATS solve done: %v", time.Since(t0))
	stopWorkers()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	for _, f := range []string{"ensemble.npy", "mean.npy"} {
		a, err := os.ReadFile(filepath.Join(local, f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(remote, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s over NATS differs from the local solve's", f)
		}
	}
	// No remote worker: the coordinator's own --local-workers serve the members.
	alone := t.TempDir()
	o = solveOptions{config: cfg, sets: sets, out: alone, nats: natsFlags{url: u}, natsInFlight: 2, natsTimeout: 5 * time.Second, localWorkers: 1}
	if err := runSolve(ctx, o, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, filepath.Join(local, "ensemble.npy"), filepath.Join(alone, "ensemble.npy")) {
		t.Error("ensemble.npy with --local-workers only differs from the local solve's")
	}
	all := logs[0].String() + logs[1].String()
	if !strings.Contains(all, "evaluated in") || strings.Contains(all, "tok@") {
		t.Errorf("worker logs (no request logged, or the token shown):\n%s", all)
	}
}

func TestNatsWorkerWrongToken(t *testing.T) {
	u := natsTestServer(t, "right")
	err := runWorker(context.Background(), workerOptions{nats: natsFlags{url: strings.Replace(u, "right@", "wrong@", 1)}, wait: time.Second}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "wrong@") {
		t.Fatalf("wrong token: %v", err)
	}
}

func TestNatsWorkerRefusesOtherConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := natsTestServer(t, "tok")
	c, err := problem.Parse(solveTestConfig)
	if err != nil {
		t.Fatal(err)
	}
	text, _ := c.Marshal()
	cf, err := c.ConfigFingerprint()
	if err != nil {
		t.Fatal(err)
	}
	fp := natsev.Fingerprint(cf, "another version")
	nc, err := natsev.Connect(u, natsev.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	job := natsev.JobInfo{Fingerprint: hex.EncodeToString(fp[:]), ConfigFingerprint: cf, Code: "another version", Config: string(text), In: 256, Out: 64}
	if _, err := natsev.ServeJob(ctx, nc, job); err != nil {
		t.Fatal(err)
	}
	// The configuration given here differs from the coordinator's.
	cfg := solveWriteConfig(t, solveTestConfig)
	err = runWorker(ctx, workerOptions{nats: natsFlags{url: u}, config: cfg, sets: []string{"seed=9"}, wait: 5 * time.Second}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "another configuration") {
		t.Fatalf("other configuration: %v", err)
	}
	// The same configuration from another program version.
	err = runWorker(ctx, workerOptions{nats: natsFlags{url: u}, wait: 5 * time.Second}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "another program version") {
		t.Fatalf("other code version: %v", err)
	}
}

// TestNatsWorkerProcessKilled: a worker process killed (SIGKILL) in the middle of a request
// loses nothing: its requests are sent again to the other worker and the solve's ensemble is
// the local one, byte for byte. The killed worker is this test binary running
// TestNatsWorkerHelper.
func TestNatsWorkerProcessKilled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u := natsTestServer(t, "tok")
	cfg := solveWriteConfig(t, solveTestConfig)
	sets := []string{"algorithm.enkg.members=16", "algorithm.enkg.steps=6"}
	local := t.TempDir()
	if err := runSolve(ctx, solveOptions{config: cfg, sets: sets, out: local}, io.Discard); err != nil {
		t.Fatal(err)
	}
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestNatsWorkerHelper$")
	child.Env = append(os.Environ(), "ENKG_NATS_HELPER=die\n"+u+"\n"+cfg+"\n"+strings.Join(sets, "\n"))
	var cerr syncBuf
	child.Stderr = &cerr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// The child serves before the other worker starts, so that it gets requests.
	for !strings.Contains(cerr.String(), "serving") {
		if ctx.Err() != nil {
			_ = child.Process.Kill()
			t.Fatalf("the child worker did not start:\n%s", cerr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- runWorker(wctx, workerOptions{nats: natsFlags{url: u}, workers: 1, wait: 10 * time.Second}, io.Discard)
	}()
	remote := t.TempDir()
	var slog syncBuf
	o := solveOptions{config: cfg, sets: sets, out: remote, nats: natsFlags{url: u}, natsInFlight: 4, natsTimeout: 300 * time.Millisecond}
	if err := runSolve(ctx, o, &slog); err != nil {
		t.Fatal(err)
	}
	stopWorker()
	if err := <-done; err != nil {
		t.Fatalf("worker: %v", err)
	}
	err := child.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child worker: %v, want killed by a signal\n%s", err, cerr.String())
	}
	if !strings.Contains(slog.String(), "sending again") {
		t.Errorf("nothing re-sent after the worker died:\n%s", slog.String())
	}
	if !sameFile(t, filepath.Join(local, "ensemble.npy"), filepath.Join(remote, "ensemble.npy")) {
		t.Error("ensemble.npy with a worker killed mid-run differs from the local solve's")
	}
}

// TestNatsWorkerExitStatus: `enkg worker` with a wrong token exits with status 1 and says why.
func TestNatsWorkerExitStatus(t *testing.T) {
	u := natsTestServer(t, "right")
	child := exec.Command(os.Args[0], "-test.run=^TestNatsWorkerHelper$")
	child.Env = append(os.Environ(), "ENKG_NATS_HELPER=cli\nworker\n--nats\n"+strings.Replace(u, "right@", "wrong@", 1))
	out, err := child.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "refused the credentials") {
		t.Fatalf("worker with a wrong token: %v, want exit status 1\n%s", err, out)
	}
}

// TestNatsWorkerHelper is the child process of the tests above: "die\nURL\nCONFIG\nSETS…" runs a
// worker (of that configuration) that
// kills itself (SIGKILL) in the middle of its third request; "cli\nARGS…" runs the command
// line as main does; "serve\nURL\nCONFIG\nSETS…" a one-goroutine worker until SIGTERM.
func TestNatsWorkerHelper(t *testing.T) {
	env := os.Getenv("ENKG_NATS_HELPER")
	if env == "" {
		t.Skip("child process of the NATS worker tests")
	}
	args := strings.Split(env, "\n")
	switch args[0] {
	case "die":
		var n atomic.Int64
		workerWrap = func(ev guidance.Evaluator) guidance.Evaluator {
			return dieOn{ev, func() {
				if n.Add(1) == 3 {
					_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
					select {}
				}
			}}
		}
		err := runWorker(context.Background(), workerOptions{nats: natsFlags{url: args[1]}, config: args[2], sets: args[3:], workers: 1, wait: 10 * time.Second}, os.Stderr)
		t.Fatalf("worker returned: %v", err)
	case "serve":
		ctx, stop := signalContext()
		defer stop()
		if err := runWorker(ctx, workerOptions{nats: natsFlags{url: args[1]}, config: args[2], sets: args[3:], workers: 1, wait: 10 * time.Second}, os.Stderr); err != nil {
			t.Fatal(err)
		}
	case "cli":
		rootCmd.SetArgs(args[1:])
		if err := rootCmd.ExecuteContext(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "enkg:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

// dieOn calls hook before each batch.
type dieOn struct {
	guidance.Evaluator
	hook func()
}

func (d dieOn) Forward(ctx context.Context, dst, x *mat.Dense, errs []error) error {
	d.hook()
	return d.Evaluator.Forward(ctx, dst, x, errs)
}

// TestNatsOverheadReport (ENKG_NATS_OVERHEAD=1; not in make test) measures the per-member
// overhead of the NATS path against the local pool on the 64² Navier–Stokes problem of
// configs/navier-stokes-cpu.yaml: J members of prior draws evaluated by a Pool of W
// goroutines here, and by one worker with the same Pool behind an embedded server, rounds
// interleaved; ENKG_NATS_J (32) and ENKG_NATS_ROUNDS (3).
func TestNatsOverheadReport(t *testing.T) {
	if os.Getenv("ENKG_NATS_OVERHEAD") == "" {
		t.Skip("set ENKG_NATS_OVERHEAD=1")
	}
	ctx := context.Background()
	J, rounds := 32, 3
	if v, err := strconv.Atoi(os.Getenv("ENKG_NATS_J")); err == nil {
		J = v
	}
	if v, err := strconv.Atoi(os.Getenv("ENKG_NATS_ROUNDS")); err == nil {
		rounds = v
	}
	cfg, err := problem.Load(filepath.Join("..", "..", "configs", "navier-stokes-cpu.yaml"), []string{"problem.size=64"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := problem.Build(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := guidance.NewPool(p.Guidance.Forward, 0)
	if err != nil {
		t.Fatal(err)
	}
	in, out := pool.InputDim(), pool.OutputDim()
	x := mat.NewDense(J, in, nil)
	if err := p.Guidance.Sampler.Sample(ctx, x, 7); err != nil {
		t.Fatal(err)
	}
	u := natsTestServer(t, "tok")
	fp := natsev.Fingerprint("overhead", "test")
	wnc, err := natsev.Connect(u, natsev.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer wnc.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = natsev.Serve(sctx, wnc, fp, pool, nil) }()
	nc, err := natsev.Connect(u, natsev.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev, err := natsev.New(nc, fp, in, out, natsev.Options{InFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, got := mat.NewDense(J, out, nil), mat.NewDense(J, out, nil)
	var tl, tn []time.Duration
	for r := 0; r < rounds; r++ {
		t0 := time.Now()
		if err := pool.Forward(ctx, want, x, nil); err != nil {
			t.Fatal(err)
		}
		tl = append(tl, time.Since(t0))
		t0 = time.Now()
		if err := ev.Forward(ctx, got, x, nil); err != nil {
			t.Fatal(err)
		}
		tn = append(tn, time.Since(t0))
		if !mat.Equal(got, want) {
			t.Fatal("NATS outputs differ from the pool's")
		}
	}
	slices.Sort(tl)
	slices.Sort(tn)
	ml, mn := tl[len(tl)/2], tn[len(tn)/2]
	st := ev.Stats()
	t.Logf("64² Navier–Stokes, J = %d, %d goroutines, %d rounds (median): local pool %.2f ms/member, NATS (1 worker, in-flight 2, ≤ %d members/message, %d messages/round) %.2f ms/member: overhead %+.2f ms/member (%+.1f %%)",
		J, pool.Workers(), rounds, ms(ml)/float64(J), ev.MaxRows(), st.Sent/int64(rounds), ms(mn)/float64(J),
		(ms(mn)-ms(ml))/float64(J), 100*(ms(mn)/ms(ml)-1))
	t.Logf("local rounds %v, NATS rounds %v", tl, tn)

	// The transport alone: a model of the same dimensions that costs nothing (its output is
	// the first inputs), so the difference is serialisation, copies and messages.
	nullPool, err := guidance.NewPool(func() (operator.Operator, error) { return copyOp{in, out}, nil }, 0)
	if err != nil {
		t.Fatal(err)
	}
	fp0 := natsev.Fingerprint("overhead null", "test")
	go func() { _ = natsev.Serve(sctx, wnc, fp0, nullPool, nil) }()
	ev0, err := natsev.New(nc, fp0, in, out, natsev.Options{InFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	var t0s []time.Duration
	for r := 0; r < 5*rounds; r++ {
		t0 := time.Now()
		if err := ev0.Forward(ctx, got, x, nil); err != nil {
			t.Fatal(err)
		}
		t0s = append(t0s, time.Since(t0))
	}
	slices.Sort(t0s)
	m0 := ms(t0s[len(t0s)/2]) / float64(J)
	t.Logf("transport alone (a model that costs nothing, %d → %d): %.3f ms/member over NATS = %.1f %% of the local pool's %.2f ms/member",
		in, out, m0, 100*m0/(ms(ml)/float64(J)), ms(ml)/float64(J))
}

// copyOp is a model that costs nothing: the first OutputDim inputs.
type copyOp struct{ in, out int }

func (o copyOp) InputDim() int  { return o.in }
func (o copyOp) OutputDim() int { return o.out }
func (o copyOp) Forward(_ context.Context, dst, x []float64) error {
	copy(dst, x)
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// TestNatsScalingReport (ENKG_NATS_SCALING=1; not in make test): one round of J members
// (ENKG_NATS_J, 64) of the 64² Navier–Stokes problem on 1, 2, … ENKG_NATS_PROCS (2) worker
// processes of one goroutine each (this test binary, TestNatsWorkerHelper), median of 3
// rounds after a warm-up, against one process.
func TestNatsScalingReport(t *testing.T) {
	if os.Getenv("ENKG_NATS_SCALING") == "" {
		t.Skip("set ENKG_NATS_SCALING=1")
	}
	ctx := context.Background()
	J, procs := 64, 2
	if v, err := strconv.Atoi(os.Getenv("ENKG_NATS_J")); err == nil {
		J = v
	}
	if v, err := strconv.Atoi(os.Getenv("ENKG_NATS_PROCS")); err == nil {
		procs = v
	}
	cfgFile := filepath.Join("..", "..", "configs", "navier-stokes-cpu.yaml")
	sets := []string{"problem.size=64"}
	cfg, err := problem.Load(cfgFile, sets)
	if err != nil {
		t.Fatal(err)
	}
	p, err := problem.Build(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	op, err := p.Guidance.Forward()
	if err != nil {
		t.Fatal(err)
	}
	in, out := op.InputDim(), op.OutputDim()
	x := mat.NewDense(J, in, nil)
	if err := p.Guidance.Sampler.Sample(ctx, x, 7); err != nil {
		t.Fatal(err)
	}
	fp, _, err := natsFingerprint(cfg)
	if err != nil {
		t.Fatal(err)
	}
	u := natsTestServer(t, "tok")
	nc, err := natsev.Connect(u, natsev.ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var base float64
	for k := 1; k <= procs; k++ {
		var children []*exec.Cmd
		var logs []*syncBuf
		for range k {
			c := exec.Command(os.Args[0], "-test.run=^TestNatsWorkerHelper$")
			c.Env = append(os.Environ(), "ENKG_NATS_HELPER=serve\n"+u+"\n"+cfgFile+"\n"+strings.Join(sets, "\n"))
			lb := &syncBuf{}
			c.Stderr = lb
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			children, logs = append(children, c), append(logs, lb)
		}
		for i, lb := range logs {
			for deadline := time.Now().Add(20 * time.Second); !strings.Contains(lb.String(), "serving"); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("worker %d did not start:\n%s", i, lb.String())
				}
			}
		}
		ev, err := natsev.New(nc, fp, in, out, natsev.Options{InFlight: 2 * k})
		if err != nil {
			t.Fatal(err)
		}
		y := mat.NewDense(J, out, nil)
		var ts []time.Duration
		for r := 0; r < 4; r++ {
			t0 := time.Now()
			if err := ev.Forward(ctx, y, x, nil); err != nil {
				t.Fatal(err)
			}
			if r > 0 {
				ts = append(ts, time.Since(t0))
			}
		}
		_ = ev.Close()
		for _, c := range children {
			_ = c.Process.Signal(syscall.SIGTERM)
			_ = c.Wait()
		}
		slices.Sort(ts)
		m := ms(ts[len(ts)/2])
		if k == 1 {
			base = m
		}
		t.Logf("%d worker process(es): %.0f ms per round of %d members (%.2f ms/member), %.2f× one process", k, m, J, m/float64(J), base/m)
	}
}
