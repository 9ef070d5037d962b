package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/pde"
	"github.com/enkg-go/enkg/rng"
	"github.com/enkg-go/enkg/spectral"
)

// dataNSOptions are the flags of `enkg data ns`.
type dataNSOptions struct {
	n         int
	res       int
	spinup    float64
	re        float64
	seed      uint64
	alpha     float64
	tau       float64
	dt        float64
	out       string
	workers   int
	float32   bool
	deflate   int
	checksum  bool
	overwrite bool
	quiet     bool
	// restart is the advice when the existing --out cannot be resumed (empty: use
	// --overwrite or another --out); the demo, which has no such flags, sets its own.
	restart string
}

// dataNSAfterWrite, when set (tests), is called after member i is written.
var dataNSAfterWrite func(i int)

// dataCmd is the parent of the dataset generators (`enkg data ns`, `enkg data blackhole`, …);
// a package-level value so that sibling files can register under it in any init order.
var dataCmd = &cobra.Command{
	Use:   "data",
	Short: "Generate training datasets (HDF5)",
}

func init() {
	var o dataNSOptions
	ns := &cobra.Command{
		Use:   "ns --n N --res R --spinup T --re RE --seed S --out ns.h5",
		Short: "Generate Navier–Stokes vorticity fields: GRF initial conditions spun up to time T",
		Long: `Generate N vorticity fields of the forced 2-D Navier–Stokes flow on [0, 2π)², the training
data of the Navier–Stokes prior: member i starts from a Gaussian random field
w0 ~ GRF(alpha, tau) drawn from the rng stream (seed, i) (the field 'enkg grf sample --seed S'
draws as field i), and is solved to time T (--spinup, in the time units of the equation)
at Reynolds number RE with the Kolmogorov forcing −4cos(4y) (the pde package's solver;
adaptive CFL step unless --dt).

The output is an HDF5 file with dataset "fields" of shape (N, R, R) (float64, or float32
with --float32), chunked one member per chunk, and attributes recording how it was made
(nx, ny, l1, l2, re, spinup_time, grf_alpha, grf_tau, grf_sigma, forcing, dt, seed,
member_rng, created_by, enkg_version). Members are computed in parallel and written as
they finish; "fields_done" marks the members written. If the run is interrupted (Ctrl-C),
running the same command again continues it without recomputing finished members (the
settings must match the file's attributes). The result does not depend on --workers.

Read it in Python with:  h5py.File("ns.h5")["fields"][i]`,
		Example: `  enkg data ns --n 64 --res 64 --spinup 5 --re 200 --seed 0 --out data/ns64.h5
  enkg data ns --n 10000 --res 128 --spinup 5 --re 200 --seed 1 --float32 --out ns128.h5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataNS(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := ns.Flags()
	f.IntVar(&o.n, "n", 0, "number of fields N (required)")
	f.IntVar(&o.res, "res", 0, "grid points R along each axis, even, ≥ 4 (required)")
	f.Float64Var(&o.spinup, "spinup", 5, "time T each field is integrated for (equation time units)")
	f.Float64Var(&o.re, "re", 200, "Reynolds number (viscosity 1/Re)")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the initial fields (member i uses stream (seed, i))")
	f.Float64Var(&o.alpha, "alpha", 2.5, "GRF smoothness exponent alpha of the initial fields")
	f.Float64Var(&o.tau, "tau", 7, "GRF inverse correlation length tau of the initial fields")
	f.Float64Var(&o.dt, "dt", 0, "fixed time step (0: adaptive CFL step of the published solver)")
	f.StringVar(&o.out, "out", "", "output HDF5 file (required); an existing one is resumed")
	f.IntVar(&o.workers, "workers", 0, "parallel workers (0: all cores)")
	f.BoolVar(&o.float32, "float32", false, "store float32 (half the size)")
	f.IntVar(&o.deflate, "deflate", 0, "shuffle+deflate compression level 1–9 (0: none; turbulent fields compress little)")
	f.BoolVar(&o.checksum, "checksum", true, "Fletcher-32 checksum per member, so corruption is detected on read")
	f.BoolVar(&o.overwrite, "overwrite", false, "replace an existing --out instead of resuming it (never a file another process has open)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	dataCmd.AddCommand(ns)

	var infoName string
	info := &cobra.Command{
		Use:   "info FILE.h5",
		Short: "Print the shape, progress and attributes of a fields dataset",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDataInfo(args[0], infoName, cmd.OutOrStdout())
		},
	}
	info.Flags().StringVar(&infoName, "name", h5.DefaultName, "dataset name")
	dataCmd.AddCommand(info)

	var ex dataExportOptions
	export := &cobra.Command{
		Use:   "export FILE.h5 --out FIELDS.npy [--first I] [--count K]",
		Short: "Copy members of a fields dataset to a .npy stack (K, Nx, Ny), float64",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ex.in = args[0]
			return runDataExport(ex, cmd.ErrOrStderr())
		},
	}
	ef := export.Flags()
	ef.StringVar(&ex.name, "name", h5.DefaultName, "dataset name")
	ef.StringVar(&ex.out, "out", "", "output .npy file (required)")
	ef.IntVar(&ex.first, "first", 0, "first member")
	ef.IntVar(&ex.count, "count", -1, "number of members, ≥ 1 (-1: all from --first)")
	dataCmd.AddCommand(export)
	rootCmd.AddCommand(dataCmd)
}

// runDataInfo is the body of `enkg data info`.
func runDataInfo(path, name string, stdout io.Writer) error {
	f, err := h5.Open(path, name)
	if err != nil {
		return fmt.Errorf("data info: %w", err)
	}
	defer f.Close()
	n, nx, ny := f.Shape()
	pending, err := f.Pending()
	if err != nil {
		return fmt.Errorf("data info: %w", err)
	}
	attrs, err := f.Attrs()
	if err != nil {
		return fmt.Errorf("data info: %w", err)
	}
	names, _ := f.AttrNames()
	fmt.Fprintf(stdout, "%s: dataset %q of %d fields %d×%d, %d written, %d pending\n", path, f.Name(), n, nx, ny, n-len(pending), len(pending))
	for _, k := range names {
		fmt.Fprintf(stdout, "  %s = %v\n", k, attrs[k])
	}
	return nil
}

// dataExportOptions are the flags of `enkg data export`.
type dataExportOptions struct {
	in, name, out string
	first, count  int
}

// runDataExport is the body of `enkg data export`.
func runDataExport(o dataExportOptions, stderr io.Writer) error {
	if o.out == "" {
		return errors.New("data export: --out is required")
	}
	if o.first < 0 {
		return fmt.Errorf("data export: --first must be ≥ 0, got %d", o.first)
	}
	if o.count < -1 || o.count == 0 {
		return fmt.Errorf("data export: --count must be ≥ 1, or -1 for every member from --first; got %d", o.count)
	}
	if err := atomicfile.CheckOutput(o.out, o.in); err != nil {
		return fmt.Errorf("data export: --out: %w", err)
	}
	f, err := h5.Open(o.in, o.name)
	if err != nil {
		return fmt.Errorf("data export: %w", err)
	}
	defer f.Close()
	n, nx, ny := f.Shape()
	if n == 0 {
		return fmt.Errorf("data export: %s holds no members", o.in)
	}
	if o.first >= n {
		return fmt.Errorf("data export: --first %d is past the last member: %s holds %d (members 0–%d)", o.first, o.in, n, n-1)
	}
	if o.count == -1 {
		o.count = n - o.first
	}
	if o.count > n-o.first {
		return fmt.Errorf("data export: --first %d --count %d asks for members %d–%d: %s holds %d (members 0–%d)", o.first, o.count, o.first, o.first+o.count-1, o.in, n, n-1)
	}
	if err := memlimit.Check(fmt.Sprintf("data export: %d fields of %d×%d", o.count, nx, ny), 8*float64(o.count)*float64(nx)*float64(ny)); err != nil {
		return err
	}
	mask, err := f.DoneMask()
	if err != nil {
		return fmt.Errorf("data export: %w", err)
	}
	for i := o.first; i < o.first+o.count; i++ {
		if !mask[i] {
			return fmt.Errorf("data export: member %d of %s has not been generated yet (resume the generator first)", i, o.in)
		}
	}
	data := make([]float64, o.count*nx*ny)
	if err := f.ReadMembers(data, o.first, o.count); err != nil {
		return fmt.Errorf("data export: %w", err)
	}
	if err := checkFinite("data export: --out "+o.out, []int{o.count, nx, ny}, data); err != nil {
		return fmt.Errorf("%w (the dataset holds it)", err)
	}
	if err := datasets.SaveNPY(o.out, []int{o.count, nx, ny}, data); err != nil {
		return fmt.Errorf("data export: %w", err)
	}
	fmt.Fprintf(stderr, "data export: wrote %d fields %d×%d to %s\n", o.count, nx, ny, o.out)
	return nil
}

// dataNSAttrs are the attributes `enkg data ns` records; a resumed file must match them.
func dataNSAttrs(o dataNSOptions, g *spectral.GRF) map[string]any {
	s := g.Settings()
	return map[string]any{
		"nx":          int64(o.res),
		"ny":          int64(o.res),
		"l1":          s.L1,
		"l2":          s.L2,
		"re":          o.re,
		"spinup_time": o.spinup,
		"grf_alpha":   s.Alpha,
		"grf_tau":     s.Tau,
		"grf_sigma":   s.Sigma,
		"forcing":     "kolmogorov: f = -4cos(4y)",
		"dt":          o.dt,
		"seed":        int64(o.seed),
		"member_rng":  "rng.Stream(seed, i): math/rand/v2 PCG; xi of shape (nx, ny, 2) in C order",
		"created_by":  "enkg data ns",
	}
}

// dataNSChecked lists the attributes that must match for a resume.
var dataNSChecked = []string{"nx", "ny", "l1", "l2", "re", "spinup_time", "grf_alpha", "grf_tau", "grf_sigma", "forcing", "dt", "seed"}

func enkgVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Path + " " + bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
	}
	return v
}

// runDataNS is the body of `enkg data ns`.
func runDataNS(ctx context.Context, o dataNSOptions, stderr io.Writer) error {
	switch {
	case o.out == "":
		return errors.New("data ns: --out is required")
	case o.n <= 0:
		return fmt.Errorf("data ns: --n must be ≥ 1, got %d", o.n)
	case o.res < 4 || o.res%2 != 0 || o.res > pde.MaxSize:
		return fmt.Errorf("data ns: --res must be even, ≥ 4 and ≤ %d, got %d", pde.MaxSize, o.res)
	case !(o.spinup >= 0) || math.IsInf(o.spinup, 0):
		return fmt.Errorf("data ns: --spinup must be finite and ≥ 0, got %g", o.spinup)
	case !(o.re > 0) || math.IsInf(o.re, 0):
		return fmt.Errorf("data ns: --re must be finite and > 0, got %g", o.re)
	case !(o.dt >= 0) || math.IsInf(o.dt, 0):
		return fmt.Errorf("data ns: --dt must be finite and ≥ 0, got %g", o.dt)
	case o.seed > math.MaxInt64:
		return fmt.Errorf("data ns: --seed must be < 2^63 (it is stored as an int64 attribute), got %d", o.seed)
	}
	if err := atomicfile.CheckOutput(o.out); err != nil {
		return fmt.Errorf("data ns: --out: %w", err)
	}
	g, err := spectral.NewGRF(o.res, o.res, spectral.GRFSettings{Alpha: o.alpha, Tau: o.tau})
	if err != nil {
		return fmt.Errorf("data ns: %w", err)
	}
	settings := pde.DefaultSettings()
	settings.Re = o.re
	settings.Dt = o.dt
	if _, err := pde.NewSolver(o.res, o.res, &settings); err != nil {
		return fmt.Errorf("data ns: %w", err)
	}
	attrs := dataNSAttrs(o, g)

	out := dataOutput{
		cmd: "data ns", noun: "fields", out: o.out, n: o.n, res: o.res,
		settings: h5.Settings{Float32: o.float32, Deflate: o.deflate, Checksum: o.checksum, Overwrite: o.overwrite},
		attrs:    attrs,
		checked:  dataNSChecked,
		workers:  o.workers,
		quiet:    o.quiet,
		restart:  o.restart,
		// A solver, a sampler, the initial field and the member buffer of Generate.
		memPerWorker: pde.SolverMemory(o.res, o.res, o.dt == 0) + spectral.GRFMemory(o.res, o.res) + 16*float64(o.res)*float64(o.res),
	}
	f, pending, workers, err := dataOpen(out, stderr)
	if f == nil {
		return err
	}
	solvers := make([]*pde.Solver, workers)
	grfs := make([]*spectral.GRF, workers)
	w0s := make([][]float64, workers)
	for k := range workers {
		if solvers[k], err = pde.NewSolver(o.res, o.res, &settings); err != nil {
			f.Close()
			return fmt.Errorf("data ns: %w", err)
		}
		if grfs[k], err = spectral.NewGRF(o.res, o.res, g.Settings()); err != nil {
			f.Close()
			return fmt.Errorf("data ns: %w", err)
		}
		w0s[k] = make([]float64, o.res*o.res)
	}
	elapsed, err := dataGenerate(ctx, out, f, workers, len(pending), func(ctx context.Context, worker, i int, dst []float64) error {
		grfs[worker].Sample(w0s[worker], rng.Stream(o.seed, i))
		return solvers[worker].Solve(ctx, dst, w0s[worker], o.spinup)
	}, dataNSAfterWrite, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "data ns: wrote %d fields %d×%d (Re=%g, T=%g) to %s (%d computed in %.1fs)\n",
		o.n, o.res, o.res, o.re, o.spinup, o.out, len(pending), elapsed.Seconds())
	return nil
}
