package natsev

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
)

// startServer starts an embedded NATS server on 127.0.0.1 at a random port.
func startServer(t *testing.T, token string) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		Authorization: token, MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(5 * time.Second) {
		t.Fatal("embedded NATS server not ready")
	}
	t.Cleanup(s.Shutdown)
	u := s.ClientURL()
	if token != "" {
		u = strings.Replace(u, "nats://", "nats://"+token+"@", 1)
	}
	return u
}

// toy is a nonlinear forward model that fails on members whose first input is negative
// and gives a NaN when it is exactly 0.5.
type toy struct{ in, out int }

func (o toy) InputDim() int  { return o.in }
func (o toy) OutputDim() int { return o.out }
func (o toy) Forward(_ context.Context, dst, x []float64) error {
	if x[0] < 0 {
		return errors.New("toy: negative first input")
	}
	for j := range dst {
		s := 0.0
		for i, v := range x {
			s += math.Sin(v*float64(j+1)) / float64(i+1)
		}
		dst[j] = s
	}
	if x[0] == 0.5 {
		dst[0] = math.NaN()
	}
	return nil
}

func toyPool(t *testing.T, in, out, workers int) *guidance.Pool {
	t.Helper()
	p, err := guidance.NewPool(func() (operator.Operator, error) { return toy{in, out}, nil }, workers)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func toyBatch(r, in int) *mat.Dense {
	x := mat.NewDense(r, in, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < in; j++ {
			x.Set(i, j, math.Cos(float64(7*i+j)))
		}
	}
	x.Set(3, 0, -1)
	x.Set(5, 0, 0.5)
	return x
}

// startWorker serves fp with a toy pool on its own connection until ctx is done; with
// dieAfter > 0 the worker's connection closes without replying on its dieAfter-th request.
func startWorker(ctx context.Context, t *testing.T, u string, fp [32]byte, in, out int, dieAfter int64) chan error {
	t.Helper()
	nc, err := Connect(u, ConnOptions{Name: "test worker"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var ev guidance.Evaluator = toyPool(t, in, out, 2)
	if dieAfter > 0 {
		ev = &dying{Evaluator: ev, nc: nc, after: dieAfter}
	}
	// Serve's first log line says it has subscribed: wait for it, so that a test's
	// requests do not all go to the workers that happened to start first.
	done, ready := make(chan error, 1), make(chan struct{})
	var once sync.Once
	logf := func(f string, a ...any) {
		t.Logf(f, a...)
		once.Do(func() { close(ready) })
	}
	go func() { done <- Serve(ctx, nc, fp, ev, logf) }()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("worker: %v", err)
	case <-ctx.Done():
		t.Fatal("worker did not subscribe")
	}
	return done
}

// dying closes its connection in the middle of its after-th request.
type dying struct {
	guidance.Evaluator
	nc    *nats.Conn
	after int64
	n     atomic.Int64
}

func (d *dying) Forward(ctx context.Context, dst, x *mat.Dense, errs []error) error {
	if d.n.Add(1) == d.after {
		d.nc.Close()
		return errors.New("killed")
	}
	return d.Evaluator.Forward(ctx, dst, x, errs)
}

func checkSame(t *testing.T, got, want *mat.Dense, gerr, werr []error) {
	t.Helper()
	for i := range werr {
		if (gerr[i] == nil) != (werr[i] == nil) {
			t.Fatalf("member %d: error %v, local pool %v", i, gerr[i], werr[i])
		}
		if werr[i] != nil {
			if errors.Is(werr[i], operator.ErrNonFinite) != errors.Is(gerr[i], operator.ErrNonFinite) {
				t.Fatalf("member %d: error %v, local pool %v", i, gerr[i], werr[i])
			}
			continue
		}
		g, w := got.RawRowView(i), want.RawRowView(i)
		for j := range w {
			if math.Float64bits(g[j]) != math.Float64bits(w[j]) {
				t.Fatalf("member %d output %d: %v, local pool %v", i, j, g[j], w[j])
			}
		}
	}
}

func TestNatsEvaluatorSameAsPool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := startServer(t, "s3cret")
	const r, in, out = 50, 3000, 7 // 24 KB a member: several messages of the 64 KiB limit below
	fp := Fingerprint("cfg", "test")
	w1 := startWorker(ctx, t, u, fp, in, out, 0)
	w2 := startWorker(ctx, t, u, fp, in, out, 0)
	nc, err := Connect(u, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev, err := New(nc, fp, in, out, Options{MaxPayload: 64 << 10, InFlight: 3, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if ev.MaxRows() != 2 {
		t.Fatalf("%d rows per message, want 2", ev.MaxRows())
	}
	x := toyBatch(r, in)
	want, werr := mat.NewDense(r, out, nil), make([]error, r)
	if err := toyPool(t, in, out, 3).Forward(ctx, want, x, werr); err != nil {
		t.Fatal(err)
	}
	got, gerr := mat.NewDense(r, out, nil), make([]error, r)
	if err := ev.Forward(ctx, got, x, gerr); err != nil {
		t.Fatal(err)
	}
	checkSame(t, got, want, gerr, werr)
	// errs == nil: the first failed member is the error.
	err = ev.Forward(ctx, mat.NewDense(r, out, nil), x, nil)
	var me *guidance.MemberError
	if !errors.As(err, &me) || me.Member != 3 {
		t.Fatalf("without errs: %v, want member 3's failure", err)
	}
	st := ev.Stats()
	if st.Sent != 50 || st.Resent != 0 || st.Replies != 50 {
		t.Fatalf("stats %+v, want 25 requests per batch, none re-sent", st)
	}
	cancel()
	for _, w := range []chan error{w1, w2} {
		if err := <-w; err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
}

func TestNatsWorkerKilledMidRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := startServer(t, "")
	const r, in, out = 40, 5, 4
	fp := Fingerprint("cfg", "test")
	dead := startWorker(ctx, t, u, fp, in, out, 2)
	startWorker(ctx, t, u, fp, in, out, 0)
	nc, err := Connect(u, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var logs atomic.Int64
	ev, err := New(nc, fp, in, out, Options{InFlight: 4, Timeout: 300 * time.Millisecond,
		Logf: func(f string, a ...any) { logs.Add(1); t.Logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	x := toyBatch(r, in)
	want, werr := mat.NewDense(r, out, nil), make([]error, r)
	if err := toyPool(t, in, out, 1).Forward(ctx, want, x, werr); err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		got, gerr := mat.NewDense(r, out, nil), make([]error, r)
		if err := ev.Forward(ctx, got, x, gerr); err != nil {
			t.Fatal(err)
		}
		checkSame(t, got, want, gerr, werr)
	}
	select {
	case err := <-dead:
		if err == nil {
			t.Fatal("the killed worker's Serve returned nil")
		}
	case <-ctx.Done():
		t.Fatal("the killed worker's Serve did not return")
	}
	if st := ev.Stats(); st.Resent == 0 {
		t.Fatalf("stats %+v: nothing re-sent after a worker died", st)
	}
}

func TestNatsNoWorkersMemberFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := startServer(t, "")
	nc, err := Connect(u, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev, err := New(nc, Fingerprint("a", "b"), 2, 2, Options{Timeout: 50 * time.Millisecond, Tries: 3})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 4)
	if err := ev.Forward(ctx, mat.NewDense(4, 2, nil), mat.NewDense(4, 2, nil), errs); err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		var me *guidance.MemberError
		if !errors.As(e, &me) || me.Member != i {
			t.Fatalf("member %d: %v, want a member failure", i, e)
		}
	}
	if st := ev.Stats(); st.Resent != 2*st.Sent || st.NoWorker == 0 {
		t.Fatalf("stats %+v, want every request sent 3 times and the server's no-responders notices", st)
	}
}

func TestNatsWrongTokenRefused(t *testing.T) {
	u := startServer(t, "right")
	bad := strings.Replace(u, "right@", "wrong@", 1)
	_, err := Connect(bad, ConnOptions{})
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), "wrong@") {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := Connect(strings.Replace(u, "right@", "", 1), ConnOptions{}); err == nil {
		t.Fatal("no token: connected")
	}
	nc, err := Connect(u, ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	if got := Redact("nats://tok@h:1,nats://h:2"); got != "nats://***@h:1,nats://h:2" {
		t.Fatalf("Redact: %s", got)
	}
}
