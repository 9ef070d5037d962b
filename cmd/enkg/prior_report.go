package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/diffusion/report"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/problem"
)

// priorReportOptions are the flags of `enkg prior report`.
type priorReportOptions struct {
	weights, config, data, train, out, title string
	count, trainCount, samples, steps, draws int
	workers, shown                           int
	sigmas                                   []float64
	length                                   float64
	seed                                     uint64
	vorticity, force                         bool
}

func init() {
	var o priorReportOptions
	cmd := &cobra.Command{
		Use:   "report --weights W.npz --config C.json --data HELDOUT.h5|.npy --train TRAIN.h5|.npy --out DIR",
		Short: "Quality report of a trained prior: denoising against the Wiener filter, samples, spectrum, histogram",
		Long: `Measure a trained one-channel U-Net prior of periodic fields (physical units, e.g. the vorticity
priors of 'enkg prior train') against held-out fields (package diffusion/report):

  denoising   MSE per pixel of D(x + σε; σ) on --count held-out fields for σ = f·std (std: the
              training fields' pixel standard deviation, f in --sigmas), against the best
              stationary Gaussian denoiser — the Wiener filter with the 2-D power spectrum and
              constant mean fitted to the training fields (diffusion.FitSpectralGaussian) — and
              against the same filter with a mean per pixel; the same noise for all, standard
              errors over fields. Issue 12's criterion: ratio ≤ 0.8 at every σ in [0.5, 4]·std.
  samples     --samples draws (EDM Heun sampler, --steps steps, σ ∈ [0.002, 80]·the
              description's normalisation std) beside held-out fields.
  spectrum    radially averaged ½|f̂|² per shell of integer |k| (and, with --vorticity, the
              kinetic energy spectrum Z(k)/k²) of samples and data.
  histogram   pixel-value densities and moments (kurtosis; 3 for a Gaussian).

--data and --train: HDF5 files of 'enkg data ns' (dataset "fields", (N, R, R)) or .npy stacks
(N, R, R); they must differ, and HDF5 files with the same seed are refused (not held out).
Writes into DIR (empty or absent unless --force): denoise.csv/.md/.png, samples.png/.npy,
spectrum.csv/.png, histogram.csv/.png, report.json and, last, report.md; each atomically.`,
		Example: `  enkg data ns --n 10000 --res 64 --spinup 5 --re 200 --seed 0 --out data/ns64-train.h5
  enkg data ns --n 256 --res 64 --spinup 5 --re 200 --seed 1000 --out data/ns64-heldout.h5
  enkg prior report --weights priors/ns64/weights.npz --config priors/ns64/config.json \
      --data data/ns64-heldout.h5 --train data/ns64-train.h5 --out priors/ns64/report`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return priorReport(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.weights, "weights", "", "network weights (.npz)")
	f.StringVar(&o.config, "config", "", "model description (.json)")
	f.StringVar(&o.data, "data", "", "held-out fields (.h5 of 'enkg data ns' or .npy (N, R, R))")
	f.StringVar(&o.train, "train", "", "training fields, for the Wiener filter and the field std (.h5 or .npy)")
	f.StringVar(&o.out, "out", "", "output directory")
	f.StringVar(&o.title, "title", "", "title of report.md (default: from --weights)")
	f.IntVar(&o.count, "count", 256, "held-out fields used (0: all)")
	f.IntVar(&o.trainCount, "train-count", 0, "training fields used for the Wiener fit (0: all)")
	f.IntVar(&o.samples, "samples", 64, "prior samples")
	f.IntVar(&o.steps, "steps", report.DefaultSteps, "Heun steps of the sampler")
	f.IntVar(&o.draws, "draws", 1, "noise draws per held-out field and σ")
	f.IntVar(&o.shown, "shown", 8, "fields and samples drawn in samples.png")
	f.Float64SliceVar(&o.sigmas, "sigmas", report.DefaultSigmaFactors, "noise levels σ/std")
	f.Float64Var(&o.length, "length", 2*math.Pi, "side of the periodic domain (wavenumbers of the spectrum)")
	f.BoolVar(&o.vorticity, "vorticity", true, "the fields are vorticity: add the kinetic energy spectrum")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the noise draws and the samples")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: GOMAXPROCS)")
	f.BoolVar(&o.force, "force", false, "write into a non-empty output directory, replacing the report files there")
	for _, n := range []string{"weights", "config", "data", "train", "out"} {
		_ = cmd.MarkFlagRequired(n)
	}
	priorCmd.AddCommand(cmd)
}

func priorReport(cmd *cobra.Command, o priorReportOptions) error {
	switch {
	case o.count < 0 || o.trainCount < 0:
		return fmt.Errorf("prior report: --count %d and --train-count %d must be ≥ 0 (0: all)", o.count, o.trainCount)
	case o.samples < 1 || o.steps < 1 || o.draws < 1 || o.shown < 0:
		return fmt.Errorf("prior report: --samples %d, --steps %d and --draws %d must be ≥ 1, --shown %d ≥ 0", o.samples, o.steps, o.draws, o.shown)
	}
	if err := priorReportCheckOut(o); err != nil {
		return fmt.Errorf("prior report: --out: %w", err)
	}
	m, err := loadPriorModel(o.weights, o.config, o.workers)
	if err != nil {
		return err
	}
	spec := m.Spec()
	if c := spec.Network.InChannels; c != 1 {
		return fmt.Errorf("prior report: the network has %d channels; the report is for one-channel fields", c)
	}
	if a, b := filepath.Clean(o.data), filepath.Clean(o.train); a == b {
		return fmt.Errorf("prior report: --data and --train are the same file %s: the held-out fields must not be training fields", o.data)
	}
	held, err := problem.ReadDataset(o.data, o.count)
	if err != nil {
		return fmt.Errorf("prior report: --data: %w", err)
	}
	train, err := problem.ReadDataset(o.train, o.trainCount)
	if err != nil {
		return fmt.Errorf("prior report: --train: %w", err)
	}
	if held.HasSeed && train.HasSeed && held.Seed == train.Seed {
		return fmt.Errorf("prior report: --data %s and --train %s were generated with the same seed %d: the held-out fields are training fields", o.data, o.train, held.Seed)
	}
	r := spec.Network.ImgResolution
	for _, d := range []struct {
		flag string
		ds   *problem.Dataset
	}{{"--data", held}, {"--train", train}} {
		if d.ds.Nx != r || d.ds.Ny != r {
			return fmt.Errorf("prior report: %s: fields of %d×%d, the network takes %d×%d", d.flag, d.ds.Nx, d.ds.Ny, r, r)
		}
	}
	unit := spec.Normalization.Std
	if unit == 0 {
		unit = 1
	}
	s := report.Settings{Nx: r, Ny: r, Length: o.length, SigmaFactors: o.sigmas, Draws: o.draws, Samples: o.samples,
		Sampler: &diffusion.Sampler{Formulation: diffusion.EDM{SigmaMin: 0.002 * unit, SigmaMax: 80 * unit, Rho: 7}, Steps: o.steps,
			Solver: diffusion.Heun, Workers: o.workers},
		SigmaUnit: unit, Vorticity: o.vorticity, Shown: o.shown, Seed: o.seed, Progress: cmd.ErrOrStderr()}
	if o.shown == 0 {
		s.Shown = -1 // none
	}
	res, err := report.Run(cmd.Context(), m, train.Fields, held.Fields, s)
	if err != nil {
		return fmt.Errorf("prior report: %w", err)
	}
	title := o.title
	if title == "" {
		title = "Quality report: " + o.weights
	}
	if err := res.Write(o.out, title); err != nil {
		return fmt.Errorf("prior report: %w", err)
	}
	verdict := "fails"
	if res.Goal {
		verdict = "meets the goal"
	} else if res.Pass {
		verdict = "passes"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "worst network/Wiener MSE ratio over σ ∈ [%g, %g]·std: %.3f (criterion ≤ %g: %s); kurtosis data %.3f, samples %.3f → %s\n",
		report.CriterionLo, report.CriterionHi, res.MaxRatio, report.CriterionMax, verdict, res.DataMoments.Kurtosis, res.SampleMoments.Kurtosis,
		filepath.Join(o.out, "report.md"))
	return nil
}

// priorReportCheckOut refuses a non-empty output directory without --force, a path that is
// not a directory, and report files that are inputs.
func priorReportCheckOut(o priorReportOptions) error {
	st, err := os.Stat(o.out)
	switch {
	case os.IsNotExist(err):
		return nil
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s exists and is not a directory", o.out)
	}
	ents, err := os.ReadDir(o.out)
	if err != nil {
		return err
	}
	if len(ents) > 0 && !o.force {
		return fmt.Errorf("%s is not empty (%d entries): choose a new directory or pass --force to replace the report files", o.out, len(ents))
	}
	for _, name := range report.Files {
		if err := atomicfile.CheckOutput(filepath.Join(o.out, name), o.weights, o.config, o.data, o.train); err != nil {
			return err
		}
	}
	return nil
}
