package pde

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/spectral"
)

// MaxSize is the largest supported grid size along either axis.
const MaxSize = 1 << 13

// DefaultMaxSteps is the default of Settings.MaxSteps: 10⁷ steps, some 1000 times what the
// published settings take (64² to T = 5 at Re = 200: about 10⁴ adaptive steps).
const DefaultMaxSteps = 10_000_000

// SolverMemory returns the bytes a Solver for nx×ny fields allocates up front: spectra and
// workspaces (with the two extra spectra of the adaptive step when adaptive), the forcing
// and the FFT plan. An Ensemble needs it once per worker.
func SolverMemory(nx, ny int, adaptive bool) float64 {
	n := float64(nx) * float64(ny/2+1) // half spectrum
	g := float64(nx) * float64(ny)
	spectra := 6.0 // fh, wh, n1, cw, cq, cv
	if adaptive {
		spectra += 2 // cqf, cvf
	}
	// Spectra, per-mode tables, rw/rq/rv and the forcing, the plan's buffers; 5 % and
	// 64 KiB for the twiddle factors and per-row tables.
	return 1.05*(16*spectra*n+8*4*n+8*4*g+16*3*n) + 64<<10
}

// ErrBlowUp reports a solve whose vorticity became non-finite (NaN or ±Inf), or whose
// adaptive step underflowed.
var ErrBlowUp = errors.New("navier–stokes solution blew up")

// ErrStepCap reports a solve that would need more time steps than Settings.MaxSteps: a
// collapsing adaptive step (an extreme forcing, a blow-up in progress), a final time too
// long for the grid, or a fixed step too small.
var ErrStepCap = errors.New("navier–stokes solve needs more time steps than its cap")

// ErrInput reports an invalid argument (sizes, parameters, input fields).
var ErrInput = errors.New("invalid navier–stokes input")

// Settings configures a Solver. The zero value of every field except Re selects the
// documented default; DefaultSettings returns the settings of the EnKG Navier–Stokes
// problem.
type Settings struct {
	// L1, L2 are the domain lengths along axis 0 (x) and axis 1 (y). Zero means 2π.
	L1, L2 float64

	// Re is the Reynolds number (the viscosity is 1/Re). It must be positive and finite;
	// there is no implicit default (DefaultSettings uses 200).
	Re float64

	// Forcing is the steady forcing f on the grid (length Nx·Ny, row-major, f[i*Ny+j]).
	// Nil selects the Kolmogorov forcing f = −4cos(4·2πy/L2) (see Kolmogorov) unless
	// NoForcing is set. The slice is copied by NewSolver.
	Forcing []float64

	// NoForcing solves the unforced equation. Forcing must then be nil.
	NoForcing bool

	// Dt is a fixed time step if positive. Zero selects the adaptive step
	// dt = min(0.5h/max|u|, 0.5h²/μ) of the published solver (see the package doc).
	Dt float64

	// MaxSteps caps the number of time steps of one solve; zero means DefaultMaxSteps.
	// A solve whose step count would pass it (steps taken plus the steps the remaining
	// time needs at the current dt) stops with an error wrapping ErrStepCap that names the
	// time, the step and dt: an adaptive step that collapses (an extreme forcing, a
	// blow-up in progress) then fails fast instead of running for ever. Every step size is
	// kept (Stats.Dts), so the cap also bounds that memory (8 bytes a step).
	MaxSteps int

	// CheckEvery is the number of steps between two checks of the context passed to
	// Solve (and between two calls of Progress). Zero means 8.
	CheckEvery int

	// Progress, if not nil, is called with the current time every CheckEvery steps of a
	// solve, on the goroutine running Solve (in an Ensemble, concurrently from every
	// worker). It must be cheap and must not call back into the Solver.
	Progress func(t float64)
}

// DefaultSettings returns the settings of the EnKG Navier–Stokes problem: the 2π-periodic
// square, Re = 200, Kolmogorov forcing −4cos(4y), adaptive steps.
func DefaultSettings() Settings {
	return Settings{L1: 2 * math.Pi, L2: 2 * math.Pi, Re: 200}
}

// Stats describes the last solve of a Solver.
type Stats struct {
	// Steps is the number of time steps taken.
	Steps int
	// Dts lists every step size (len(Dts) = Steps). It aliases memory of the Solver and is
	// overwritten by the next Solve; copy it to keep it.
	Dts []float64
}

// Solver integrates the vorticity equation for one field on a fixed Nx×Ny grid. It owns
// its FFT plan and all workspaces: after the first solve, Solve allocates nothing.
// A Solver must be used by one goroutine at a time; use Ensemble for stacks of fields.
type Solver struct {
	nx, ny, nh int
	l1, l2, re float64
	dt         float64 // fixed step, 0 for adaptive
	every      int
	maxSteps   int
	progress   func(float64)
	h, mu      float64

	plan *spectral.Plan

	// Per-mode tables (length nx*nh) and per-row / per-column derivative factors.
	gg     []float64 // G/Re
	inv    []float64 // 1/(1 + ½dt·G/Re) of the current step
	invLap []float64 // 1/G, 1 at [0,0]
	mask   []float64 // 2/3 dealiasing mask (0 or 1)
	lo, hi []int     // per row: the mask keeps modes lo ≤ j < hi
	frow   []bool    // per row: whether F[f] has a non-zero entry in the row
	d1     []float64 // (2π/L1)·k1, Nyquist 0, length nx
	d2     []float64 // (2π/L2)·k2, Nyquist 0, length nh (velocity)
	e2     []float64 // the same for ∂/∂y of the nonlinear term (a separate table so that
	// tests can emulate the published code's 2π/L1 there)

	fh []complex128 // F[f] (zeros without forcing: adding +0 changes no value)

	// Workspaces.
	wh, n1     []complex128
	cw, cq, cv []complex128 // dealiased ŵ, û_x, û_y
	cqf, cvf   []complex128 // un-dealiased û_x, û_y (adaptive step)
	rw, rq, rv []float64
	dts        []float64
	steps      int
}

// NewSolver returns a solver for nx×ny fields. s may be nil for DefaultSettings().
// nx and ny must be even, at least 4 and at most MaxSize.
func NewSolver(nx, ny int, s *Settings) (*Solver, error) {
	set := DefaultSettings()
	if s != nil {
		set = *s
	}
	if err := checkGrid(nx, ny); err != nil {
		return nil, err
	}
	if set.L1 == 0 {
		set.L1 = 2 * math.Pi
	}
	if set.L2 == 0 {
		set.L2 = 2 * math.Pi
	}
	if !(set.L1 > 0) || math.IsInf(set.L1, 0) || !(set.L2 > 0) || math.IsInf(set.L2, 0) {
		return nil, fmt.Errorf("pde: domain lengths L1 = %v, L2 = %v must be positive and finite: %w", set.L1, set.L2, ErrInput)
	}
	if !(set.Re > 0) || math.IsInf(set.Re, 0) {
		return nil, fmt.Errorf("pde: Reynolds number Re = %v must be positive and finite: %w", set.Re, ErrInput)
	}
	if !(set.Dt >= 0) || math.IsInf(set.Dt, 0) {
		return nil, fmt.Errorf("pde: time step Dt = %v must be ≥ 0 and finite (0: adaptive): %w", set.Dt, ErrInput)
	}
	if set.MaxSteps < 0 {
		return nil, fmt.Errorf("pde: MaxSteps = %d must be ≥ 0 (0: %d): %w", set.MaxSteps, DefaultMaxSteps, ErrInput)
	}
	if set.MaxSteps == 0 {
		set.MaxSteps = DefaultMaxSteps
	}
	if err := memlimit.Check(fmt.Sprintf("pde: a Navier–Stokes solver of %d×%d", nx, ny), SolverMemory(nx, ny, set.Dt == 0)); err != nil {
		return nil, err
	}
	if set.CheckEvery < 0 {
		return nil, fmt.Errorf("pde: CheckEvery = %d must be ≥ 0: %w", set.CheckEvery, ErrInput)
	}
	if set.CheckEvery == 0 {
		set.CheckEvery = 8
	}
	if set.NoForcing && set.Forcing != nil {
		return nil, fmt.Errorf("pde: both NoForcing and a Forcing field are set: %w", ErrInput)
	}
	var forcing []float64
	if !set.NoForcing {
		if set.Forcing == nil {
			forcing = Kolmogorov(nx, ny, set.L2)
		} else {
			if len(set.Forcing) != nx*ny {
				return nil, fmt.Errorf("pde: forcing has length %d, want %d×%d = %d: %w", len(set.Forcing), nx, ny, nx*ny, ErrInput)
			}
			if err := checkFinite("forcing", set.Forcing); err != nil {
				return nil, err
			}
			forcing = append([]float64(nil), set.Forcing...)
		}
	}
	plan, err := spectral.NewPlan(nx, ny)
	if err != nil {
		return nil, fmt.Errorf("pde: %w", err)
	}
	nh := ny/2 + 1
	n := nx * nh
	sv := &Solver{
		nx: nx, ny: ny, nh: nh,
		l1: set.L1, l2: set.L2, re: set.Re, dt: set.Dt, every: set.CheckEvery, progress: set.Progress, maxSteps: set.MaxSteps,
		plan: plan,
		gg:   make([]float64, n), inv: make([]float64, n),
		lo: make([]int, nx), hi: make([]int, nx), frow: make([]bool, nx),
		invLap: make([]float64, n), mask: make([]float64, n), fh: make([]complex128, n),
		d1: make([]float64, nx), d2: make([]float64, nh), e2: make([]float64, nh),
		wh: make([]complex128, n), n1: make([]complex128, n),
		cw: make([]complex128, n), cq: make([]complex128, n), cv: make([]complex128, n),
		rw: make([]float64, nx*ny), rq: make([]float64, nx*ny), rv: make([]float64, nx*ny),
	}
	if set.Dt == 0 {
		sv.cqf = make([]complex128, n)
		sv.cvf = make([]complex128, n)
	}
	sv.tables()
	// μ and h of the adaptive step, in the published order of operations.
	sv.h = 1.0 / float64(max(nx, ny))
	xi := 1.0
	if forcing != nil {
		m := 0.0
		for _, f := range forcing {
			m = math.Max(m, math.Abs(f))
		}
		xi = math.Sqrt(m)
		plan.Forward(sv.fh, forcing)
		for k, f := range sv.fh {
			if f != 0 {
				sv.frow[k/nh] = true
			}
		}
	}
	sv.mu = (1.0 / set.Re) * xi * math.Pow(set.L1/(2*math.Pi), 3.0/4.0) * math.Pow(set.L2/(2*math.Pi), 3.0/4.0)
	return sv, nil
}

func checkGrid(nx, ny int) error {
	if nx < 4 || ny < 4 || nx%2 != 0 || ny%2 != 0 || nx > MaxSize || ny > MaxSize {
		return fmt.Errorf("pde: grid %d×%d unsupported: sizes must be even, ≥ 4 and ≤ %d: %w", nx, ny, MaxSize, ErrInput)
	}
	return nil
}

// tables fills the wavenumber tables of the published scheme.
func (s *Solver) tables() {
	nx, ny, nh := s.nx, s.ny, s.nh
	c1, c2 := 2*math.Pi/s.l1, 2*math.Pi/s.l2
	g1 := (4 * math.Pi * math.Pi) / (s.l1 * s.l1)
	g2 := (4 * math.Pi * math.Pi) / (s.l2 * s.l2)
	cut := float64(nx)/3*(float64(nx)/3) + float64(ny)/3*(float64(ny)/3)
	rinv := 1.0 / s.re
	for i := 0; i < nx; i++ {
		k1 := float64(i) // Laplacian/mask wavenumber: −nx/2 at Nyquist
		if i >= nx/2 {
			k1 = float64(i - nx)
		}
		if i == nx/2 {
			s.d1[i] = 0
		} else {
			s.d1[i] = c1 * k1
		}
		for j := 0; j < nh; j++ {
			k2 := float64(j)
			g := g1*(k1*k1) + g2*(k2*k2)
			k := i*nh + j
			s.gg[k] = rinv * g
			if k == 0 {
				s.invLap[k] = 1
			} else {
				s.invLap[k] = 1 / g
			}
			if k1*k1+k2*k2 <= cut {
				s.hi[i] = j + 1 // k2² grows with j: the kept modes are a prefix
				if k != 0 {
					s.mask[k] = 1
				}
			}
		}
	}
	s.lo[0] = 1 // the mean is masked too
	for j := 0; j < nh; j++ {
		if j == ny/2 {
			s.d2[j] = 0
		} else {
			s.d2[j] = c2 * float64(j)
		}
	}
	copy(s.e2, s.d2)
}

// Nx returns the grid size along axis 0.
func (s *Solver) Nx() int { return s.nx }

// Ny returns the grid size along axis 1.
func (s *Solver) Ny() int { return s.ny }

// Stats returns the step count and step sizes of the last solve.
func (s *Solver) Stats() Stats { return Stats{Steps: s.steps, Dts: s.dts[:s.steps]} }

// Solve integrates the initial vorticity w0 (length Nx·Ny) to time T ≥ 0 and writes the
// vorticity at T into dst (length Nx·Ny; dst may alias w0). It returns an error wrapping
// ErrInput for bad arguments, ErrBlowUp (naming the time) when the solution becomes
// non-finite, ErrStepCap (naming the time, step and dt) when it would need more than
// Settings.MaxSteps steps, and ctx.Err() when ctx is cancelled (checked every CheckEvery
// steps).
func (s *Solver) Solve(ctx context.Context, dst, w0 []float64, T float64) error {
	s.steps = 0
	s.dts = s.dts[:0]
	n := s.nx * s.ny
	if len(w0) != n || len(dst) != n {
		return fmt.Errorf("pde: field lengths w0 %d, dst %d, want %d×%d = %d: %w", len(w0), len(dst), s.nx, s.ny, n, ErrInput)
	}
	if !(T >= 0) || math.IsInf(T, 0) {
		return fmt.Errorf("pde: final time T = %v must be ≥ 0 and finite: %w", T, ErrInput)
	}
	if err := checkFinite("initial vorticity", w0); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.plan.Forward(s.wh, w0)
	adaptive := s.dt == 0
	s.prepare(adaptive)
	dt := s.dt
	if adaptive {
		dt = s.timeStep()
	}
	t := 0.0
	for t < T {
		cur := dt
		if t+dt > T {
			cur = T - t
		}
		if !(cur > 0) || t+cur == t {
			return fmt.Errorf("pde: time step %g at t = %g after %d steps (max|u| = %g): %w", cur, t, s.steps, s.maxSpeed(), ErrBlowUp)
		}
		if left := (T - t) / cur; float64(s.steps)+left > float64(s.maxSteps) {
			speed := ""
			if adaptive {
				speed = fmt.Sprintf(", max|u| = %g", s.maxSpeed())
			}
			return fmt.Errorf("pde: time step dt = %g at t = %g (step %d%s) needs about %.3g more steps to reach T = %g, past the cap of %d steps (Settings.MaxSteps): %w",
				cur, t, s.steps, speed, math.Ceil(left), T, s.maxSteps, ErrStepCap)
		}
		finite := s.step(cur, adaptive)
		t += cur
		s.steps++
		s.dts = append(s.dts, cur)
		if !finite {
			return fmt.Errorf("pde: non-finite vorticity at t = %g (step %d, dt = %g): %w", t, s.steps, cur, ErrBlowUp)
		}
		if adaptive {
			dt = s.timeStep()
		}
		if s.steps%s.every == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if s.progress != nil {
				s.progress(t)
			}
		}
	}
	s.plan.Inverse(dst, s.wh)
	return nil
}

// prepare fills cw, cq, cv (dealiased ŵ and its velocity spectra) and, for the adaptive
// step, cqf, cvf (velocity spectra of the un-dealiased ŵ) from s.wh.
func (s *Solver) prepare(adaptive bool) {
	nh := s.nh
	for i := 0; i < s.nx; i++ {
		d1 := s.d1[i]
		row := i * nh
		wh := s.wh[row : row+nh]
		mask, il := s.mask[row:row+nh], s.invLap[row:row+nh]
		cw, cq, cv := s.cw[row:row+nh], s.cq[row:row+nh], s.cv[row:row+nh]
		for j, w := range wh {
			d := complex(real(w)*mask[j], imag(w)*mask[j])
			cw[j] = d
			pr, pi := il[j]*real(d), il[j]*imag(d)
			a := s.d2[j]
			cq[j] = complex(-a*pi, a*pr)
			cv[j] = complex(d1*pi, -d1*pr)
		}
		if adaptive {
			cqf, cvf := s.cqf[row:row+nh], s.cvf[row:row+nh]
			for j, w := range wh {
				pr, pi := il[j]*real(w), il[j]*imag(w)
				a := s.d2[j]
				cqf[j] = complex(-a*pi, a*pr)
				cvf[j] = complex(d1*pi, -d1*pr)
			}
		}
	}
}

// nonlinearFFTs evaluates the physical-space products from cw, cq, cv and leaves
// F[u_x w] in cq and F[u_y w] in cv.
func (s *Solver) nonlinearFFTs() {
	s.plan.Inverse(s.rw, s.cw)
	s.plan.Inverse(s.rq, s.cq)
	s.plan.Inverse(s.rv, s.cv)
	rw, rq, rv := s.rw, s.rq[:len(s.rw)], s.rv[:len(s.rw)]
	for k, w := range rw {
		rq[k] *= w
		rv[k] *= w
	}
	s.plan.Forward(s.cq, s.rq)
	s.plan.Forward(s.cv, s.rv)
}

// step advances s.wh by dt, assuming prepare (or the previous step) filled cw, cq, cv
// (and cqf, cvf if adaptive). It leaves them ready for the next step and reports whether
// the new ŵ is finite.
//
// The dealiasing mask of row i keeps the modes lo[i] ≤ j < hi[i] (a prefix of the row,
// without the mean); masked modes are written as zeros, which is what the published
// multiplication by the 0/1 mask gives up to the sign of zero.
func (s *Solver) step(dt float64, adaptive bool) bool {
	nh := s.nh
	hdt := 0.5 * dt
	// N1 = N(ŵ); predictor w̃, prepared for N2.
	s.nonlinearFFTs()
	for i := 0; i < s.nx; i++ {
		d1 := s.d1[i]
		row := i * nh
		wh := s.wh[row : row+nh]
		n := len(wh)
		n1, fh, inv := s.n1[row:row+n], s.fh[row:row+n], s.inv[row:row+n]
		gg, il := s.gg[row:row+n], s.invLap[row:row+n]
		cw, cq, cv := s.cw[row:row+n], s.cq[row:row+n], s.cv[row:row+n]
		d2, e2 := s.d2[:n], s.e2[:n]
		lo, hi, forced := s.lo[i], s.hi[i], s.frow[i]
		for j, w := range wh {
			// N1 = −i·(d1·F[u_x w] + e2·F[u_y w]) + F[f]
			p, q := cq[j], cv[j]
			b := e2[j]
			sr := d1*real(p) + b*real(q)
			si := d1*imag(p) + b*imag(q)
			nr, ni := si, -sr
			if forced {
				nr += real(fh[j])
				ni += imag(fh[j])
			}
			n1[j] = complex(nr, ni)
			g := gg[j]
			hg := 0.5 * g
			iv := 1 / (1.0 + hdt*g)
			inv[j] = iv
			if j < lo || j >= hi {
				cw[j], cq[j], cv[j] = 0, 0, 0
				continue
			}
			dr := (real(w) + dt*(nr-hg*real(w))) * iv
			di := (imag(w) + dt*(ni-hg*imag(w))) * iv
			cw[j] = complex(dr, di)
			pr, pi := il[j]*dr, il[j]*di
			a := d2[j]
			cq[j] = complex(-a*pi, a*pr)
			cv[j] = complex(d1*pi, -d1*pr)
		}
	}
	// N2 = N(w̃); corrector, prepared for the next step.
	s.nonlinearFFTs()
	sum := 0.0
	for i := 0; i < s.nx; i++ {
		d1 := s.d1[i]
		row := i * nh
		wh := s.wh[row : row+nh]
		n := len(wh)
		n1, fh, inv := s.n1[row:row+n], s.fh[row:row+n], s.inv[row:row+n]
		gg, il := s.gg[row:row+n], s.invLap[row:row+n]
		cw, cq, cv := s.cw[row:row+n], s.cq[row:row+n], s.cv[row:row+n]
		d2, e2 := s.d2[:n], s.e2[:n]
		lo, hi, forced := s.lo[i], s.hi[i], s.frow[i]
		for j, w := range wh {
			p, q := cq[j], cv[j]
			b := e2[j]
			sr := d1*real(p) + b*real(q)
			si := d1*imag(p) + b*imag(q)
			nr, ni := si, -sr
			if forced {
				nr += real(fh[j])
				ni += imag(fh[j])
			}
			m1 := n1[j]
			hg, iv := 0.5*gg[j], inv[j]
			wr := (real(w) + dt*(0.5*(real(m1)+nr)-hg*real(w))) * iv
			wi := (imag(w) + dt*(0.5*(imag(m1)+ni)-hg*imag(w))) * iv
			wh[j] = complex(wr, wi)
			sum += wr + wi
			if j < lo || j >= hi {
				cw[j], cq[j], cv[j] = 0, 0, 0
				continue
			}
			cw[j] = complex(wr, wi)
			pr, pi := il[j]*wr, il[j]*wi
			a := d2[j]
			cq[j] = complex(-a*pi, a*pr)
			cv[j] = complex(d1*pi, -d1*pr)
		}
		if adaptive {
			cqf, cvf := s.cqf[row:row+n], s.cvf[row:row+n]
			for j, w := range wh {
				pr, pi := il[j]*real(w), il[j]*imag(w)
				a := d2[j]
				cqf[j] = complex(-a*pi, a*pr)
				cvf[j] = complex(d1*pi, -d1*pr)
			}
		}
	}
	return !math.IsNaN(sum) && !math.IsInf(sum, 0)
}

// maxSpeed returns max|u| of the un-dealiased field from cqf, cvf (adaptive mode only).
func (s *Solver) maxSpeed() float64 {
	if s.cqf == nil {
		return math.NaN()
	}
	s.plan.Inverse(s.rq, s.cqf)
	s.plan.Inverse(s.rv, s.cvf)
	m := 0.0
	rv := s.rv[:len(s.rq)]
	for k, q := range s.rq {
		v := rv[k]
		u2 := q*q + v*v
		if u2 > m || u2 != u2 {
			m = u2
		}
	}
	return math.Sqrt(m)
}

// timeStep returns the adaptive step from cqf, cvf.
func (s *Solver) timeStep() float64 {
	m := s.maxSpeed()
	if m == 0 {
		return 0.5 * (s.h * s.h) / s.mu
	}
	return math.Min(0.5*s.h/m, 0.5*(s.h*s.h)/s.mu)
}

func checkFinite(what string, v []float64) error {
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("pde: %s[%d] = %v is not finite: %w", what, i, f, ErrInput)
		}
	}
	return nil
}

// Kolmogorov returns the forcing f(x, y) = −4cos(4·2πy/L2) on the nx×ny grid
// (f[i*ny+j] = −4cos(4·(2π/L2)·y_j), y_j = j·L2/ny; L2 = 0 means 2π). On the standard
// 2π-periodic domain this is the forcing −4cos(4y) of the EnKG Navier–Stokes problem.
func Kolmogorov(nx, ny int, l2 float64) []float64 {
	if l2 == 0 {
		l2 = 2 * math.Pi
	}
	f := make([]float64, nx*ny)
	step := l2 / float64(ny)
	c := 2 * math.Pi / l2
	for j := 0; j < ny; j++ {
		f[j] = -4 * math.Cos(4.0*(c*(float64(j)*step)))
	}
	for i := 1; i < nx; i++ {
		copy(f[i*ny:(i+1)*ny], f[:ny])
	}
	return f
}
