package pde

import (
	"context"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/internal/memlimit"
)

// taylorGreen returns w = Σ a_m cos(k·x) for a set of modes sharing one |k|², an exact
// steady-shape solution of the unforced equation: ψ ∝ w, so u·∇w = 0 and
// w(t) = w(0)·exp(−|k|² t/Re).
func taylorGreen(nx, ny int, l1, l2 float64, modes [][3]float64) []float64 {
	w := make([]float64, nx*ny)
	for i := 0; i < nx; i++ {
		x := float64(i) * l1 / float64(nx)
		for j := 0; j < ny; j++ {
			y := float64(j) * l2 / float64(ny)
			for _, m := range modes { // amplitude, m1, m2: a·cos(2πm1x/L1)·cos(2πm2y/L2)
				w[i*ny+j] += m[0] * math.Cos(2*math.Pi*m[1]*x/l1) * math.Cos(2*math.Pi*m[2]*y/l2)
			}
		}
	}
	return w
}

// cnDecay returns the factor by which the discrete scheme damps a mode with Laplacian
// eigenvalue −k2 when the nonlinear term vanishes: the predictor–corrector step then reduces
// to Crank–Nicolson, r = (1 − ½λdt)/(1 + ½λdt) per step, λ = k2/Re.
func cnDecay(k2, re float64, dts []float64) float64 {
	f := 1.0
	lam := k2 / re
	for _, dt := range dts {
		f *= (1 - 0.5*dt*lam) / (1 + 0.5*dt*lam)
	}
	return f
}

// cnError bounds the Crank–Nicolson error of that mode against the exact decay.
func cnError(k2, re float64, dts []float64) float64 {
	t := 0.0
	for _, dt := range dts {
		t += dt
	}
	return math.Abs(cnDecay(k2, re, dts) - math.Exp(-k2*t/re))
}

// roundoff is the rounding budget of n steps on a field of amplitude amp: 2 ulps per step.
func roundoff(amp float64, dts []float64) float64 {
	return 2 * float64(len(dts)) * 0x1p-52 * amp
}

// TestTaylorGreenExact compares the unforced solve of w0 = 2cos(x)cos(y) with the exact
// decay w0·exp(−2T/Re), for fixed and adaptive steps, and with the reference exact file.
func TestTaylorGreenExact(t *testing.T) {
	exact := load(t, "d_exact.npy").Data
	w0 := taylorGreen(64, 64, 2*math.Pi, 2*math.Pi, [][3]float64{{2, 1, 1}})
	if d := maxAbsDiff(w0, load(t, "d_w0.npy").Data); d > 1e-14 {
		t.Fatalf("initial field differs from d_w0.npy by %.3g", d)
	}
	for _, dt := range []float64{1e-3, 0} {
		s, err := NewSolver(64, 64, &Settings{Re: 100, NoForcing: true, Dt: dt})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(w0))
		if err := s.Solve(context.Background(), got, w0, 1); err != nil {
			t.Fatal(err)
		}
		dts := s.Stats().Dts
		exactT, discrete := make([]float64, len(w0)), make([]float64, len(w0))
		for i := range w0 {
			exactT[i] = w0[i] * math.Exp(-2.0/100)
			discrete[i] = w0[i] * cnDecay(2, 100, dts)
		}
		// The discrete solution is the Crank–Nicolson product to rounding; it differs from
		// the exact decay by the Crank–Nicolson error, ≈ 2·(λ³dt²T/12), 1.5e-12 for
		// dt = 1e-3 (the published solver shows 1.46e-12 too).
		eDisc, eExact := maxAbsDiff(got, discrete), maxAbsDiff(got, exactT)
		round := roundoff(2, dts)
		bound := 2*cnError(2, 100, dts) + round
		t.Logf("dt %v: %d steps, max error vs discrete CN %.3g, vs exact %.3g (CN bound %.3g)", dt, len(dts), eDisc, eExact, bound)
		if eDisc > round {
			t.Errorf("dt %v: max error vs the discrete Crank–Nicolson solution %.3g > %.3g", dt, eDisc, round)
		}
		if eExact > bound {
			t.Errorf("dt %v: max error vs exact %.3g > Crank–Nicolson bound %.3g", dt, eExact, bound)
		}
		if dt != 0 {
			if d := maxAbsDiff(got, exact); d > bound {
				t.Errorf("vs d_exact.npy: %.3g > %.3g", d, bound)
			}
		}
	}
}

// TestNonSquareAnalytic solves a two-mode eigenfunction of the Laplacian on a non-square
// domain with a non-square grid. The nonlinear term vanishes only if the x and y derivatives
// use 2π/L1 and 2π/L2 respectively (the published code's L1 in the y term makes it non-zero,
// which this test detects: see TestNonSquareDetectsPublishedBug).
func TestNonSquareAnalytic(t *testing.T) {
	const re, T = 50.0, 0.5
	cases := []struct {
		nx, ny int
		l1, l2 float64
		modes  [][3]float64
		k2     float64 // |k|² of the modes
	}{
		// L1 = 2π, L2 = π: cos(2x) and cos(2y) both have |k|² = 4; plus the mixed mode.
		{64, 32, 2 * math.Pi, math.Pi, [][3]float64{{3, 2, 0}, {2, 0, 1}}, 4},
		// L1 = 3, L2 = 1.5 (not multiples of π), Nx ≠ Ny with equal spacing.
		{48, 24, 3, 1.5, [][3]float64{{1, 2, 0}, {-2, 0, 1}}, math.Pow(2*math.Pi*2/3, 2)},
		// L1 = L2 but Nx ≠ Ny.
		{32, 64, 2 * math.Pi, 2 * math.Pi, [][3]float64{{1, 3, 4}, {2, 5, 0}, {1, 0, 5}}, 25},
	}
	for _, c := range cases {
		w0 := taylorGreen(c.nx, c.ny, c.l1, c.l2, c.modes)
		s, err := NewSolver(c.nx, c.ny, &Settings{L1: c.l1, L2: c.l2, Re: re, NoForcing: true, Dt: 1e-3})
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(w0))
		if err := s.Solve(context.Background(), got, w0, T); err != nil {
			t.Fatal(err)
		}
		dts := s.Stats().Dts
		amp := 0.0
		for _, m := range c.modes {
			amp += math.Abs(m[0])
		}
		discrete, exact := make([]float64, len(w0)), make([]float64, len(w0))
		for i := range w0 {
			discrete[i] = w0[i] * cnDecay(c.k2, re, dts)
			exact[i] = w0[i] * math.Exp(-c.k2*T/re)
		}
		eDisc, eExact := maxAbsDiff(got, discrete), maxAbsDiff(got, exact)
		round := roundoff(amp, dts)
		bound := amp*cnError(c.k2, re, dts) + round
		t.Logf("%dx%d L=(%.3g,%.3g): max error vs discrete CN %.3g, vs exact %.3g (CN bound %.3g)", c.nx, c.ny, c.l1, c.l2, eDisc, eExact, bound)
		if eDisc > round {
			t.Errorf("%dx%d L=(%.3g,%.3g): max error vs discrete Crank–Nicolson solution %.3g > %.3g", c.nx, c.ny, c.l1, c.l2, eDisc, round)
		}
		if eExact > bound {
			t.Errorf("%dx%d L=(%.3g,%.3g): max error vs exact %.3g > bound %.3g", c.nx, c.ny, c.l1, c.l2, eExact, bound)
		}
	}
}

// TestNonSquareDetectsPublishedBug shows that the analytic case of TestNonSquareAnalytic is
// sensitive to the y-derivative scale: with 2π/L1 in the y term (the published code), the
// error is large.
func TestNonSquareDetectsPublishedBug(t *testing.T) {
	const re, T = 50.0, 0.5
	w0 := taylorGreen(64, 32, 2*math.Pi, math.Pi, [][3]float64{{3, 2, 0}, {2, 0, 1}})
	s, err := NewSolver(64, 32, &Settings{L1: 2 * math.Pi, L2: math.Pi, Re: re, NoForcing: true, Dt: 1e-3})
	if err != nil {
		t.Fatal(err)
	}
	// Emulate the published nonlinear term: the k2 factor of −i(k1·F[u_x w] + k2·F[u_y w])
	// uses 2π/L1 instead of 2π/L2 (the velocities keep 2π/L2).
	bug := *s
	bug.e2 = make([]float64, len(s.e2))
	for j := range bug.e2 {
		bug.e2[j] = s.d2[j] * s.l2 / s.l1
	}
	got := make([]float64, len(w0))
	if err := bug.Solve(context.Background(), got, w0, T); err != nil {
		t.Fatal(err)
	}
	decay := math.Exp(-4 * T / re)
	want := make([]float64, len(w0))
	for i := range w0 {
		want[i] = w0[i] * decay
	}
	if e := maxAbsDiff(got, want); e < 1e-3 {
		t.Errorf("a wrong y-derivative scale gave error %.3g: the analytic test would not detect it", e)
	} else {
		t.Logf("wrong y-derivative scale: max error %.3g (correct solver: < 1e-10)", e)
	}
}

// TestSecondOrderInTime measures the convergence order of the fixed-step scheme on a
// nonlinear, forced flow against a solve with a 16× smaller step.
func TestSecondOrderInTime(t *testing.T) {
	in := load(t, "b_seed100_w0.npy")
	nx, ny := in.Shape[0], in.Shape[1]
	const T = 0.2
	solve := func(dt float64) []float64 {
		s, err := NewSolver(nx, ny, &Settings{Re: 200, Dt: dt})
		if err != nil {
			t.Fatal(err)
		}
		w := make([]float64, nx*ny)
		if err := s.Solve(context.Background(), w, in.Data, T); err != nil {
			t.Fatal(err)
		}
		return w
	}
	dts := []float64{0.02, 0.01, 0.005}
	ref := solve(dts[len(dts)-1] / 16)
	var errs []float64
	for _, dt := range dts {
		errs = append(errs, relL2(solve(dt), ref))
	}
	for k := 1; k < len(errs); k++ {
		order := math.Log2(errs[k-1] / errs[k])
		t.Logf("dt %.4g → %.4g: errors %.3g → %.3g, order %.3f", dts[k-1], dts[k], errs[k-1], errs[k], order)
		if order < 1.9 || order > 2.15 {
			t.Errorf("observed order %.3f, want 2", order)
		}
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	bad := []struct {
		nx, ny int
		s      *Settings
		want   string
	}{
		{63, 64, nil, "even"},
		{64, 2, nil, "even"},
		{0, 64, nil, "even"},
		{-4, 64, nil, "even"},
		{1 << 14, 64, nil, "even"},
		{64, 64, &Settings{Re: 0}, "Re"},
		{64, 64, &Settings{Re: -1}, "Re"},
		{64, 64, &Settings{Re: math.NaN()}, "Re"},
		{64, 64, &Settings{Re: math.Inf(1)}, "Re"},
		{64, 64, &Settings{Re: 100, L1: -1}, "L1"},
		{64, 64, &Settings{Re: 100, L2: math.NaN()}, "L1"},
		{64, 64, &Settings{Re: 100, Dt: -1e-3}, "Dt"},
		{64, 64, &Settings{Re: 100, Dt: math.NaN()}, "Dt"},
		{64, 64, &Settings{Re: 100, Forcing: make([]float64, 10)}, "forcing has length"},
		{64, 64, &Settings{Re: 100, Forcing: make([]float64, 64*64), NoForcing: true}, "NoForcing"},
		{64, 64, &Settings{Re: 100, CheckEvery: -1}, "CheckEvery"},
	}
	for _, b := range bad {
		_, err := NewSolver(b.nx, b.ny, b.s)
		if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("NewSolver(%d, %d, %+v): err = %v, want ErrInput mentioning %q", b.nx, b.ny, b.s, err, b.want)
		}
	}
	f := make([]float64, 64*64)
	f[7] = math.Inf(-1)
	if _, err := NewSolver(64, 64, &Settings{Re: 1, Forcing: f}); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "forcing[7]") {
		t.Errorf("non-finite forcing: %v", err)
	}

	s, err := NewSolver(16, 16, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, 256)
	for _, c := range []struct {
		dst, w0 []float64
		T       float64
		want    string
	}{
		{w, w[:100], 1, "length"},
		{w[:10], w, 1, "length"},
		{w, w, -1, "T = -1"},
		{w, w, math.NaN(), "T = NaN"},
		{w, w, math.Inf(1), "T = +Inf"},
	} {
		if err := s.Solve(ctx, c.dst, c.w0, c.T); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Solve: err = %v, want ErrInput mentioning %q", err, c.want)
		}
	}
	w0 := make([]float64, 256)
	w0[17] = math.NaN()
	if err := s.Solve(ctx, w, w0, 1); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "initial vorticity[17]") {
		t.Errorf("NaN input: %v", err)
	}
}

// TestBlowUp: an enormous fixed step makes the explicit nonlinear term blow up; the error
// names the time.
func TestBlowUp(t *testing.T) {
	in := load(t, "b_seed100_w0.npy")
	s, err := NewSolver(64, 64, &Settings{Re: 200, Dt: 5})
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, 64*64)
	err = s.Solve(context.Background(), w, in.Data, 1e6)
	if !errors.Is(err, ErrBlowUp) || !strings.Contains(err.Error(), "at t = ") {
		t.Fatalf("err = %v, want ErrBlowUp naming the time", err)
	}
	t.Log(err)
	// A huge initial field gives max|u| = Inf → a zero adaptive step.
	big := make([]float64, 64*64)
	for i := range big {
		big[i] = math.MaxFloat64 * float64(i%3-1)
	}
	s2, _ := NewSolver(64, 64, nil)
	if err := s2.Solve(context.Background(), w, big, 1); !errors.Is(err, ErrBlowUp) {
		t.Fatalf("huge input: err = %v, want ErrBlowUp", err)
	}
}

func TestCancel(t *testing.T) {
	in := load(t, "b_seed100_w0.npy")
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	s, err := NewSolver(64, 64, &Settings{Re: 200, CheckEvery: 4, Progress: func(float64) {
		calls++
		if calls == 2 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, 64*64)
	if err := s.Solve(ctx, w, in.Data, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if st := s.Stats(); st.Steps != 12 {
		t.Errorf("stopped after %d steps, want 12 (checked every 4)", st.Steps)
	}
}

// TestZeroTime: T = 0 takes no step and returns irfft2(rfft2(w0)) = w0 to rounding.
func TestZeroTime(t *testing.T) {
	in := load(t, "b_seed100_w0.npy")
	s, _ := NewSolver(64, 64, nil)
	w := make([]float64, 64*64)
	if err := s.Solve(context.Background(), w, in.Data, 0); err != nil {
		t.Fatal(err)
	}
	if s.Stats().Steps != 0 || maxAbsDiff(w, in.Data) > 1e-13 {
		t.Errorf("T = 0: %d steps, difference %.3g", s.Stats().Steps, maxAbsDiff(w, in.Data))
	}
}

// TestNoAllocs: after the first solve, Solve allocates nothing.
func TestNoAllocs(t *testing.T) {
	in := load(t, "b_seed100_w0.npy")
	s, _ := NewSolver(64, 64, nil)
	w := make([]float64, 64*64)
	ctx := context.Background()
	if err := s.Solve(ctx, w, in.Data, 0.2); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		if err := s.Solve(ctx, w, in.Data, 0.2); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per solve of %d steps, want 0", allocs, s.Stats().Steps)
	}
}

// TestMaskRanges: the per-row ranges used by the time step describe the 2/3 mask exactly.
func TestMaskRanges(t *testing.T) {
	for _, g := range [][2]int{{128, 128}, {64, 16}, {16, 64}, {6, 4}, {48, 24}} {
		s, err := NewSolver(g[0], g[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < s.nx; i++ {
			for j := 0; j < s.nh; j++ {
				in := j >= s.lo[i] && j < s.hi[i]
				if in != (s.mask[i*s.nh+j] == 1) {
					t.Fatalf("%v: row %d col %d: range says %v, mask %v", g, i, j, in, s.mask[i*s.nh+j])
				}
			}
		}
	}
}

// TestStepCap: issue 15 — with an extreme forcing the adaptive step collapsed and Solve ran
// for ever, keeping every dt. Now the step count is capped (Settings.MaxSteps) and the
// error names the time, the step and dt.
func TestStepCap(t *testing.T) {
	const n = 16
	f := Kolmogorov(n, n, 0)
	for i := range f {
		f[i] *= 1e16
	}
	s, err := NewSolver(n, n, &Settings{Re: 200, Forcing: f})
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float64, n*n)
	err = s.Solve(context.Background(), w, make([]float64, n*n), 1)
	if !errors.Is(err, ErrStepCap) || errors.Is(err, ErrBlowUp) || !strings.Contains(err.Error(), "past the cap of 10000000 steps") ||
		!strings.Contains(err.Error(), "at t = 0 ") || !strings.Contains(err.Error(), "dt = ") {
		t.Fatalf("err = %v, want the step-cap error naming t and dt", err)
	}
	t.Log(err)
	// A small cap stops a normal solve part-way, with its time.
	s, _ = NewSolver(n, n, &Settings{Re: 200, MaxSteps: 10})
	in := taylorGreen(n, n, 2*math.Pi, 2*math.Pi, [][3]float64{{3, 1, 2}})
	err = s.Solve(context.Background(), w, in, 10)
	if !errors.Is(err, ErrStepCap) || !strings.Contains(err.Error(), "cap of 10 steps") {
		t.Fatalf("err = %v", err)
	}
	if st := s.Stats(); st.Steps > 10 {
		t.Fatalf("%d steps taken past a cap of 10", st.Steps)
	}
	// Fixed steps that cannot reach T within the cap fail before the first step.
	s, _ = NewSolver(n, n, &Settings{Re: 200, Dt: 1e-9})
	if err := s.Solve(context.Background(), w, in, 1); !errors.Is(err, ErrStepCap) || s.Stats().Steps != 0 {
		t.Fatalf("fixed dt 1e-9: err = %v after %d steps", err, s.Stats().Steps)
	}
	if _, err := NewSolver(n, n, &Settings{Re: 200, MaxSteps: -1}); !errors.Is(err, ErrInput) {
		t.Fatalf("MaxSteps −1: err = %v", err)
	}
}

// TestSolverMemory: the estimate covers what NewSolver allocates, and an ensemble past the
// memory limit is refused before anything is allocated (issue 15).
func TestSolverMemory(t *testing.T) {
	for _, adaptive := range []bool{true, false} {
		set := &Settings{Re: 200}
		if !adaptive {
			set.Dt = 1e-3
		}
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		s, err := NewSolver(256, 128, set)
		runtime.ReadMemStats(&b)
		if err != nil {
			t.Fatal(err)
		}
		got, est := float64(b.TotalAlloc-a.TotalAlloc), SolverMemory(256, 128, adaptive)
		if got > est || got < 0.7*est {
			t.Errorf("adaptive %v: allocated %.0f bytes, estimate %.0f", adaptive, got, est)
		}
		runtime.KeepAlive(s)
	}
	t.Setenv(memlimit.Env, "1M")
	if _, err := NewEnsemble(64, 64, nil, 4); !errors.Is(err, memlimit.ErrTooLarge) || !strings.Contains(err.Error(), "4 Navier–Stokes solver(s) of 64×64") {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewSolver(MaxSize, MaxSize, nil); !errors.Is(err, memlimit.ErrTooLarge) {
		t.Fatalf("err = %v", err)
	}
}
