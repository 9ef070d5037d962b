package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/demo"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/guidance"
)

// demoOptions are the flags of `enkg demo`.
type demoOptions struct {
	s        demo.Settings
	dataSeed uint64
	data     string
	out      string
	quiet    bool
	neural   string // directory of a trained U-Net prior (weights.npz, config.json); "" or absent: none
}

func init() {
	o := demoOptions{s: demo.DefaultSettings()}
	cmd := &cobra.Command{
		Use:   "demo [--data DIR] [--out DIR]",
		Short: "Run the flagship Navier–Stokes inverse problem end to end (EnKG vs EKI)",
		Long: `Run the Navier–Stokes inverse problem of the EnKG paper at CPU scale, end to end:

  1. training set: --train vorticity fields, GRF(2.5, 7) initial conditions spun up for
     --spinup time units at Re = --re on a --res² grid ('enkg data ns'), cached in --data
     as HDF5 (a second run reuses it; an interrupted one resumes);
  2. prior: a stationary (spectral) Gaussian fitted to the training fields divided by 10,
     saved in --data as .npz and reused;
  3. truth: a held-out field (field 0 of 'enkg data ns --seed TRUTH-SEED'), observed after
     --t time units on every --stride-th point with Gaussian noise of std --noise;
  4. EnKG (J = --members, N = --steps, --updates per guided step) and EKI with the same J
     and the same number of forward-model evaluations;
  5. a table (relative L2 error of the mean, data misfit, evaluations, wall time), and
     figures (PNG), arrays (.npy), summary.json and README.txt in --out.

Everything is reproducible from the seeds, and independent of the number of workers.`,
		Example: `  enkg demo --data data --out out/demo
  enkg demo --members 128 --steps 30 --out out/demo-large`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "data", "directory of the cached training set and prior")
	f.StringVar(&o.out, "out", "out/demo", "output directory")
	f.IntVar(&o.s.Res, "res", o.s.Res, "grid points per axis")
	f.Float64Var(&o.s.Re, "re", o.s.Re, "Reynolds number")
	f.Float64Var(&o.s.Spinup, "spinup", o.s.Spinup, "spin-up time of the training fields and the truth")
	f.Float64Var(&o.s.T, "t", o.s.T, "time between the unknown state and the observation")
	f.IntVar(&o.s.Stride, "stride", o.s.Stride, "observe every stride-th point along both axes")
	f.Float64Var(&o.s.Noise, "noise", o.s.Noise, "observation noise standard deviation (vorticity units)")
	f.IntVar(&o.s.Train, "train", o.s.Train, "number of training fields")
	f.BoolVar(&o.s.FieldMean, "field-mean", o.s.FieldMean, "fit a mean per pixel (default: one constant)")
	f.IntVar(&o.s.Members, "members", o.s.Members, "ensemble size J (EnKG and EKI)")
	f.IntVar(&o.s.Steps, "steps", o.s.Steps, "EnKG sampling steps N")
	f.IntVar(&o.s.Updates, "updates", o.s.Updates, "EnKG Kalman updates per guided step")
	f.Float64Var(&o.s.Guide, "scale", o.s.Guide, "EnKG guidance scale")
	f.Float64Var(&o.s.SigmaMax, "sigma-max", o.s.SigmaMax, "largest noise level of EnKG's schedule (normalised space)")
	f.Float64Var(&o.s.EKIScale, "eki-scale", o.s.EKIScale, "EKI step scale")
	f.Uint64Var(&o.s.Seed, "seed", o.s.Seed, "seed of the ensembles and the observation noise")
	f.Uint64Var(&o.dataSeed, "data-seed", 0, "seed of the training set")
	f.Uint64Var(&o.s.TruthSeed, "truth-seed", o.s.TruthSeed, "seed of the held-out truth (must differ from --data-seed)")
	f.IntVar(&o.s.Workers, "workers", 0, "parallel workers (0: all cores)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bars")
	f.StringVar(&o.neural, "neural", "priors/ns64", "directory of the trained neural prior (weights.npz, config.json): adds the row EnKG (neural) when present; \"\" to skip")
	rootCmd.AddCommand(cmd)
}

// demoDataPath is the cache file of the training set.
func demoDataPath(dir string, s demo.Settings, seed uint64) string {
	return filepath.Join(dir, fmt.Sprintf("ns%d_re%s_t%s_n%d_seed%d.h5", s.Res, ftoa(s.Re), ftoa(s.Spinup), s.Train, seed))
}

// demoPriorPath is the cache file of the prior fitted to that training set.
func demoPriorPath(dir string, s demo.Settings, seed uint64) string {
	mean := ""
	if s.FieldMean {
		mean = "_fieldmean"
	}
	return filepath.Join(dir, fmt.Sprintf("prior_spectral_ns%d_re%s_t%s_n%d_seed%d_scale%s%s.npz", s.Res, ftoa(s.Re), ftoa(s.Spinup), s.Train, seed, ftoa(s.Scale), mean))
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// demoCheckFlags applies the rule for zero and negative flags that every enkg command
// follows: a flag whose help gives a meaning to 0 (--workers 0: all cores, --noise 0: no noise,
// seeds) takes it, any other zero or negative value is an error naming the flag. (The demo
// package's Settings.Resolve reads 0 as "default"; on the command line the defaults are the
// flags' own, so an explicit 0 was silently replaced.)
func demoCheckFlags(s demo.Settings) error {
	ints := []struct {
		flag string
		v    int
	}{{"res", s.Res}, {"stride", s.Stride}, {"train", s.Train}, {"members", s.Members}, {"steps", s.Steps}, {"updates", s.Updates}}
	for _, f := range ints {
		if f.v <= 0 {
			return fmt.Errorf("demo: --%s must be ≥ 1, got %d", f.flag, f.v)
		}
	}
	floats := []struct {
		flag string
		v    float64
	}{{"re", s.Re}, {"spinup", s.Spinup}, {"t", s.T}, {"scale", s.Guide}, {"sigma-max", s.SigmaMax}, {"eki-scale", s.EKIScale}}
	for _, f := range floats {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("demo: --%s must be finite and > 0, got %g", f.flag, f.v)
		}
	}
	if !(s.Noise >= 0) || math.IsInf(s.Noise, 0) {
		return fmt.Errorf("demo: --noise must be finite and ≥ 0 (0: no noise), got %g", s.Noise)
	}
	if s.Workers < 0 {
		return fmt.Errorf("demo: --workers must be ≥ 0 (0: all cores), got %d", s.Workers)
	}
	return nil
}

// runDemo is the body of `enkg demo`.
func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	start := time.Now()
	if err := demoCheckFlags(o.s); err != nil {
		return err
	}
	if o.s.TruthSeed == o.dataSeed {
		return fmt.Errorf("demo: --truth-seed %d equals --data-seed: the truth would be a training field", o.s.TruthSeed)
	}
	o.s.DataSeed = o.dataSeed
	if w, c := filepath.Join(o.neural, "weights.npz"), filepath.Join(o.neural, "config.json"); o.neural != "" && fileExists(w) && fileExists(c) {
		o.s.NeuralWeights, o.s.NeuralConfig = w, c
	}
	s, err := o.s.Resolve()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.data, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	stages := map[string]float64{}
	stage := func(name string, t0 time.Time) { stages[name] = time.Since(t0).Seconds() }
	fmt.Fprintf(stderr, "== enkg demo: Navier–Stokes %d², Re = %g — EnKG vs EKI at equal forward-model budget\n", s.Res, s.Re)

	// 1. Training set (cached, resumable).
	t0 := time.Now()
	dataPath := demoDataPath(o.data, s, o.dataSeed)
	fmt.Fprintf(stderr, "-- 1. training set: %d fields → %s\n", s.Train, dataPath)
	if err := runDataNS(ctx, dataNSOptions{n: s.Train, res: s.Res, spinup: s.Spinup, re: s.Re, seed: o.dataSeed,
		alpha: 2.5, tau: 7, out: dataPath, workers: s.Workers, checksum: true, quiet: o.quiet,
		restart: "delete it (or use another --data directory) to start over"}, stderr); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	stage("dataset", t0)

	// 2. Prior (cached).
	t0 = time.Now()
	priorPath := demoPriorPath(o.data, s, o.dataSeed)
	prior, fitted, err := demoPrior(priorPath, dataPath, s)
	if err != nil {
		return err
	}
	if fitted {
		fmt.Fprintf(stderr, "-- 2. prior: spectral Gaussian fitted to %d fields (w/%g) → %s\n", s.Train, s.Scale, priorPath)
	} else {
		fmt.Fprintf(stderr, "-- 2. prior: reusing %s\n", priorPath)
	}
	stage("prior", t0)

	// 3. Truth and observation.
	t0 = time.Now()
	truth, err := demo.Truth(ctx, s)
	if err != nil {
		return err
	}
	y, err := demo.Observe(ctx, truth, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "-- 3. truth: held-out field (seed %d); observation %g time unit(s) later, stride %d, noise σ = %g\n",
		s.TruthSeed, s.T, s.Stride, s.Noise)
	stage("truth", t0)

	// 4. EnKG and EKI.
	t0 = time.Now()
	fmt.Fprintf(stderr, "-- 4. EnKG (J = %d, N = %d, %d updates) and EKI (J = %d, same forward budget)\n", s.Members, s.Steps, s.Updates, s.Members)
	var progress demo.Progress
	if !o.quiet {
		progress = func(string) guidance.Recorder { return guidance.NewProgress(stderr) }
	}
	rep, err := demo.Run(ctx, s, prior, truth, y, progress)
	if err != nil {
		return err
	}
	stage("solve", t0)

	// 5. Outputs.
	t0 = time.Now()
	inputs := map[string]string{"dataset": dataPath, "prior": priorPath}
	if err := rep.Write(o.out, inputs, stages, time.Since(start).Seconds()); err != nil {
		return err
	}
	stage("outputs", t0)
	fmt.Fprintln(stdout)
	rep.WriteTable(stdout)
	fmt.Fprintf(stdout, "\nDone in %.0f s. Outputs in %s: figures (*.png), arrays (*.npy), summary.json; README.txt explains each file.\n",
		time.Since(start).Seconds(), o.out)
	fmt.Fprintf(stdout, "Cached for the next run: %s, %s\n", dataPath, priorPath)
	return nil
}

// demoPrior loads the cached prior, or fits it to the training set and saves it. It reports
// whether it fitted.
func demoPrior(priorPath, dataPath string, s demo.Settings) (*diffusion.SpectralGaussian, bool, error) {
	if _, err := os.Stat(priorPath); err == nil {
		p, err := diffusion.LoadPrior(priorPath)
		if err != nil {
			return nil, false, fmt.Errorf("demo: cached prior %s: %w (delete it to refit)", priorPath, err)
		}
		sg, ok := p.(*diffusion.SpectralGaussian)
		if nx, ny := sgGrid(sg); !ok || nx != s.Res || ny != s.Res {
			return nil, false, fmt.Errorf("demo: cached prior %s is not a %d×%d spectral Gaussian (delete it to refit)", priorPath, s.Res, s.Res)
		}
		return sg, false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	f, err := h5.Open(dataPath, h5.DefaultName)
	if err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	n, nx, ny := f.Shape()
	if nx != s.Res || ny != s.Res || n != s.Train {
		return nil, false, fmt.Errorf("demo: %s holds (%d, %d, %d) fields, want (%d, %d, %d)", dataPath, n, nx, ny, s.Train, s.Res, s.Res)
	}
	data := mat.NewDense(n, nx*ny, nil)
	if err := f.ReadMembers(data.RawMatrix().Data, 0, n); err != nil {
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	sg, err := demo.FitPrior(data, s)
	if err != nil {
		return nil, false, err
	}
	if err := diffusion.SavePrior(priorPath, sg); err != nil { // atomic: temporary file and rename
		return nil, false, fmt.Errorf("demo: %w", err)
	}
	return sg, true, nil
}

func sgGrid(sg *diffusion.SpectralGaussian) (int, int) {
	if sg == nil {
		return 0, 0
	}
	return sg.Grid()
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
