package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/pde"
)

// nsSimulateOptions are the flags of `enkg ns simulate`.
type nsSimulateOptions struct {
	in, out  string
	time     float64
	re       float64
	forcing  string
	dt       float64
	l1, l2   float64
	workers  int
	stride   int
	quiet    bool
	interval time.Duration // progress line interval
}

func init() {
	o := nsSimulateOptions{interval: 2 * time.Second}
	nsCmd := &cobra.Command{
		Use:   "ns",
		Short: "2-D incompressible Navier–Stokes on the periodic rectangle (vorticity form)",
	}
	sim := &cobra.Command{
		Use:   "simulate --in W0.npy --out W.npy [--time T] [--re RE] [--forcing kolmogorov|none|F.npy] [--dt DT] [--workers N]",
		Short: "Evolve vorticity fields to time T (one field or a stack, in parallel)",
		Long: `Evolve the vorticity w of the 2-D incompressible Navier–Stokes equations

  ∂w/∂t + u·∇w = (1/Re)·Δw + f,   −Δψ = w,   u = (∂ψ/∂y, −∂ψ/∂x)

on the periodic rectangle [0, L1) × [0, L2) from the initial fields in --in to time --time,
with the pseudo-spectral scheme of the EnKG paper's solver (2/3 dealiasing, Heun predictor–
corrector with Crank–Nicolson viscosity, adaptive step dt = min(0.5h/max|u|, 0.5h²/μ),
h = 1/max(Nx, Ny)) or a fixed step --dt.

--in holds one field of shape (Nx, Ny) or a stack of shape (K, Nx, Ny) of any real numpy dtype
(float64, float32 or an integer type, converted to float64), with w[i, j] the vorticity at
x = i·L1/Nx (axis 0), y = j·L2/Ny (axis 1); Nx and Ny must be even. --out receives float64
fields of the same shape (with --stride s, of shape (⌈Nx/s⌉, ⌈Ny/s⌉): every s-th point along
both axes, the paper's observation for s = 2). Each field of a stack takes its own time steps,
on --workers goroutines; results do not depend on the number of workers.

Units: lengths in the units of L1, L2 (default 2π), time in the same units with unit
velocity scale; the viscosity is 1/Re. The default forcing is Kolmogorov forcing
f = −4·cos(4·2πy/L2) (−4cos(4y) on the 2π-periodic square, varying along axis 1).`,
		Example: `  enkg ns simulate --in w0.npy --out w1.npy --time 1 --re 200
  enkg ns simulate --in stack.npy --out stack_T5.npy --time 5 --workers 2
  enkg ns simulate --in tg.npy --out tg_T1.npy --time 1 --re 100 --forcing none --dt 1e-3`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runNSSimulate(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := sim.Flags()
	f.StringVar(&o.in, "in", "", "input .npy: initial vorticity, shape (Nx, Ny) or (K, Nx, Ny) (required)")
	f.StringVar(&o.out, "out", "", "output .npy: vorticity at time T, float64, same shape (required)")
	f.Float64Var(&o.time, "time", 1, "final time T (≥ 0, time units)")
	f.Float64Var(&o.re, "re", 200, "Reynolds number Re (> 0; viscosity 1/Re)")
	f.StringVar(&o.forcing, "forcing", "kolmogorov", "forcing: kolmogorov (−4cos(4·2πy/L2)), none, or a .npy file of shape (Nx, Ny)")
	f.Float64Var(&o.dt, "dt", 0, "fixed time step (time units); 0 selects the adaptive CFL step")
	f.Float64Var(&o.l1, "l1", 2*math.Pi, "domain length L1 along axis 0 (x)")
	f.Float64Var(&o.l2, "l2", 2*math.Pi, "domain length L2 along axis 1 (y)")
	f.IntVar(&o.workers, "workers", 0, "parallel workers for a stack (0: all cores)")
	f.IntVar(&o.stride, "stride", 1, "keep every stride-th point along both axes of the output (numpy w[..., ::s, ::s]; 2 gives the paper's observation)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress lines on stderr")
	nsCmd.AddCommand(sim)
	rootCmd.AddCommand(nsCmd)
}

// runNSSimulate is the body of `enkg ns simulate`.
func runNSSimulate(ctx context.Context, o nsSimulateOptions, stderr io.Writer) error {
	if o.in == "" || o.out == "" {
		return fmt.Errorf("ns simulate: --in and --out are required")
	}
	if !(o.time >= 0) || math.IsInf(o.time, 0) {
		return fmt.Errorf("ns simulate: --time must be finite and ≥ 0, got %g", o.time)
	}
	if !(o.re > 0) || math.IsInf(o.re, 0) {
		return fmt.Errorf("ns simulate: --re must be finite and > 0, got %g", o.re)
	}
	if !(o.dt >= 0) || math.IsInf(o.dt, 0) {
		return fmt.Errorf("ns simulate: --dt must be finite and ≥ 0 (0: adaptive), got %g", o.dt)
	}
	if !(o.l1 > 0) || math.IsInf(o.l1, 0) || !(o.l2 > 0) || math.IsInf(o.l2, 0) {
		return fmt.Errorf("ns simulate: --l1 and --l2 must be finite and > 0, got %g, %g", o.l1, o.l2)
	}
	if o.stride < 1 {
		return fmt.Errorf("ns simulate: --stride must be ≥ 1, got %d", o.stride)
	}
	if o.workers < 0 {
		return fmt.Errorf("ns simulate: --workers must be ≥ 0 (0: all cores), got %d", o.workers)
	}
	forcingFile := ""
	if f := strings.ToLower(o.forcing); f != "kolmogorov" && f != "none" && f != "" {
		forcingFile = o.forcing
	}
	if err := atomicfile.CheckOutput(o.out, o.in, forcingFile); err != nil {
		return fmt.Errorf("ns simulate: --out: %w", err)
	}
	a, err := datasets.LoadNPY(o.in)
	if err != nil {
		return fmt.Errorf("ns simulate: reading --in: %w", err)
	}
	if a.Data == nil {
		return fmt.Errorf("ns simulate: --in %s must hold real numbers, got dtype %s", o.in, a.Dtype)
	}
	var k, nx, ny int
	switch len(a.Shape) {
	case 2:
		k, nx, ny = 1, a.Shape[0], a.Shape[1]
	case 3:
		k, nx, ny = a.Shape[0], a.Shape[1], a.Shape[2]
	default:
		return fmt.Errorf("ns simulate: --in %s has shape %v, want (Nx, Ny) or (K, Nx, Ny)", o.in, a.Shape)
	}
	if k == 0 {
		return fmt.Errorf("ns simulate: --in %s holds no fields (shape %v)", o.in, a.Shape)
	}
	set := pde.Settings{L1: o.l1, L2: o.l2, Re: o.re, Dt: o.dt}
	switch strings.ToLower(o.forcing) {
	case "kolmogorov", "":
	case "none":
		set.NoForcing = true
	default:
		fa, err := datasets.LoadNPY(o.forcing)
		if err != nil {
			return fmt.Errorf("ns simulate: --forcing is neither kolmogorov, none nor a readable .npy file: %w", err)
		}
		if fa.Data == nil || len(fa.Shape) != 2 || fa.Shape[0] != nx || fa.Shape[1] != ny {
			return fmt.Errorf("ns simulate: --forcing %s has shape %v (dtype %s), want real (%d, %d)", o.forcing, fa.Shape, fa.Dtype, nx, ny)
		}
		set.Forcing = fa.Data
	}
	workers := min(parallel.Workers(o.workers), k)
	// The input and output stacks, and one solver per worker (NewEnsemble checks those too).
	need := 16*float64(len(a.Data)) + float64(workers)*pde.SolverMemory(nx, ny, o.dt == 0)
	if err := memlimit.Check(fmt.Sprintf("ns simulate: %d field(s) of %d×%d on %d worker(s)", k, nx, ny, workers), need); err != nil {
		return err
	}
	p := &nsProgress{w: stderr, every: o.interval, start: time.Now(), quiet: o.quiet, total: float64(k) * o.time}
	if k == 1 {
		set.Progress = func(t float64) { p.set(t) }
	}
	ens, err := pde.NewEnsemble(nx, ny, &set, workers)
	if err != nil {
		return fmt.Errorf("ns simulate: %w", err)
	}
	if k > 1 {
		ens.OnMemberDone = func(int) { p.add(o.time) }
	}
	out := make([]float64, len(a.Data))
	if err := ens.Solve(ctx, out, a.Data, o.time); err != nil {
		return fmt.Errorf("ns simulate: %w", err)
	}
	shape := a.Shape
	if o.stride > 1 {
		out, shape = nsSubsample(out, k, nx, ny, o.stride), append([]int(nil), a.Shape...)
		shape[len(shape)-2], shape[len(shape)-1] = (nx+o.stride-1)/o.stride, (ny+o.stride-1)/o.stride
	}
	if err := checkFinite("ns simulate: --out "+o.out, shape, out); err != nil {
		return err
	}
	if err := datasets.SaveNPY(o.out, shape, out); err != nil {
		return fmt.Errorf("ns simulate: writing --out: %w", err)
	}
	steps := ens.Steps()
	lo, hi, sum := steps[0], steps[0], 0
	for _, s := range steps {
		lo, hi, sum = min(lo, s), max(hi, s), sum+s
	}
	stepInfo := fmt.Sprintf("%d steps", lo)
	if k > 1 {
		stepInfo = fmt.Sprintf("steps min %d, mean %.1f, max %d", lo, float64(sum)/float64(k), hi)
	}
	mode := "adaptive"
	if o.dt > 0 {
		mode = fmt.Sprintf("dt=%g", o.dt)
	}
	fmt.Fprintf(stderr, "ns simulate: %d field(s) %d×%d to T=%g (Re=%g, forcing %s, %s, %d workers): %s, %.2f s; wrote %v to %s\n",
		k, nx, ny, o.time, o.re, o.forcing, mode, workers, stepInfo, time.Since(p.start).Seconds(), shape, o.out)
	return nil
}

// nsSubsample returns w[:, ::s, ::s] of a stack of k nx×ny fields.
func nsSubsample(w []float64, k, nx, ny, s int) []float64 {
	mx, my := (nx+s-1)/s, (ny+s-1)/s
	out := make([]float64, 0, k*mx*my)
	for m := 0; m < k; m++ {
		f := w[m*nx*ny : (m+1)*nx*ny]
		for i := 0; i < nx; i += s {
			for j := 0; j < ny; j += s {
				out = append(out, f[i*ny+j])
			}
		}
	}
	return out
}

// nsProgress prints a progress line on stderr at most every `every`.
type nsProgress struct {
	mu          sync.Mutex
	w           io.Writer
	every       time.Duration
	start, last time.Time
	quiet       bool
	done, total float64
}

func (p *nsProgress) add(dt float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += dt
	p.report()
}

func (p *nsProgress) set(t float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = t
	p.report()
}

func (p *nsProgress) report() {
	if p.quiet || p.total <= 0 {
		return
	}
	now := time.Now()
	if now.Sub(p.start) < p.every || now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	frac := p.done / p.total
	el := now.Sub(p.start).Seconds()
	eta := ""
	if frac > 0 {
		eta = fmt.Sprintf(", about %.0f s left", el*(1-frac)/frac)
	}
	fmt.Fprintf(p.w, "ns simulate: %5.1f%% of simulated time done, %.0f s elapsed%s\n", 100*frac, el, eta)
}
