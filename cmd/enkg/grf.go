package main

import (
	"context"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/spectral"
)

// grfSampleOptions are the flags of `enkg grf sample`.
type grfSampleOptions struct {
	res     int
	alpha   float64
	tau     float64
	sigma   float64 // 0: tau^(alpha−1)
	length  float64
	n       int
	seed    uint64
	seedSet bool
	xi      string
	out     string
	workers int
}

func init() {
	var o grfSampleOptions
	grfCmd := &cobra.Command{
		Use:   "grf",
		Short: "Gaussian random fields on the periodic square",
	}
	sample := &cobra.Command{
		Use:   "sample --res N --out W0.npy [--alpha A --tau T --sigma S --n K] [--seed S | --xi XI.npy]",
		Short: "Sample Gaussian random fields (initial vorticities of the Navier–Stokes problem)",
		Long: `Sample mean-zero Gaussian random fields with covariance sigma²·(−Δ + tau²)^(−alpha) on the
periodic square [0, L)², exactly as InverseBench's GaussianRF2d:

  w = Im(ifft2(√λ ⊙ (ξ₀ + iξ₁))),
  √λ[k1,k2] = N²·sigma·√(2/L²)·((2π/L)²(k1² + k2²) + tau²)^(−alpha/2)   (half of the modes kept),

with ξ standard normals of shape (N, N, 2). ξ is drawn from a seeded math/rand/v2 PCG stream
(field j of a batch uses stream (seed, j), so results do not depend on --workers), or read
from --xi (shape (N, N, 2) or (K, N, N, 2), e.g. the a_seed*_xi.npy reference files).

The output is float64 .npy of shape (N, N) for K = 1 and (K, N, N) otherwise; w[i, j] is the
value at x = i·L/N (axis 0), y = j·L/N (axis 1).`,
		Example: `  enkg grf sample --res 128 --seed 0 --out w0.npy
  enkg grf sample --res 64 --n 32 --seed 7 --out w0_batch.npy
  enkg grf sample --xi a_seed0_xi.npy --out w0.npy`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.seedSet = cmd.Flags().Changed("seed")
			return runGRFSample(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := sample.Flags()
	f.IntVar(&o.res, "res", 0, "grid points N along each axis, ≥ 4 (required unless --xi is given)")
	f.Float64Var(&o.alpha, "alpha", 2.5, "smoothness exponent alpha (dimensionless)")
	f.Float64Var(&o.tau, "tau", 7, "inverse correlation length tau (wavenumber, 1/length units of L)")
	f.Float64Var(&o.sigma, "sigma", 0, "amplitude sigma (0 means tau^(alpha−1), the published default)")
	f.Float64Var(&o.length, "length", 2*math.Pi, "domain length L along both axes")
	f.IntVar(&o.n, "n", 0, "number of fields K (default 1, or the batch size of --xi)")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the normal draws (default 0; not with --xi)")
	f.StringVar(&o.xi, "xi", "", "read the standard normals ξ from this .npy file instead of drawing them")
	f.StringVar(&o.out, "out", "", "output .npy file (required)")
	f.IntVar(&o.workers, "workers", 0, "parallel workers (0: all cores)")
	grfCmd.AddCommand(sample)
	rootCmd.AddCommand(grfCmd)
}

// runGRFSample is the body of `enkg grf sample`.
func runGRFSample(ctx context.Context, o grfSampleOptions, stderr io.Writer) error {
	if o.out == "" {
		return fmt.Errorf("grf sample: --out is required")
	}
	if o.n < 0 {
		return fmt.Errorf("grf sample: --n must be ≥ 1, got %d", o.n)
	}
	if o.res < 0 || (o.res > 0 && o.res < 4) {
		return fmt.Errorf("grf sample: --res must be ≥ 4 (smaller grids keep no Fourier mode: every field would be zero), got %d", o.res)
	}
	if o.workers < 0 {
		return fmt.Errorf("grf sample: --workers must be ≥ 0 (0: all cores), got %d", o.workers)
	}
	if err := atomicfile.CheckOutput(o.out, o.xi); err != nil {
		return fmt.Errorf("grf sample: --out: %w", err)
	}
	var xi *datasets.Array
	if o.xi != "" {
		if o.seedSet {
			return fmt.Errorf("grf sample: give either --seed or --xi, not both")
		}
		var err error
		if xi, err = datasets.LoadNPY(o.xi); err != nil {
			return fmt.Errorf("grf sample: reading --xi: %w", err)
		}
		if xi.Complex != nil || xi.Data == nil {
			return fmt.Errorf("grf sample: --xi %s must hold real numbers, got dtype %s", o.xi, xi.Dtype)
		}
		sh := xi.Shape
		var k, n1, n2 int
		switch len(sh) {
		case 3:
			k, n1, n2 = 1, sh[0], sh[1]
		case 4:
			k, n1, n2 = sh[0], sh[1], sh[2]
		}
		if (len(sh) != 3 && len(sh) != 4) || sh[len(sh)-1] != 2 || n1 != n2 || n1 == 0 || k == 0 {
			return fmt.Errorf("grf sample: --xi %s has shape %v, want (N, N, 2) or (K, N, N, 2)", o.xi, sh)
		}
		if o.res != 0 && o.res != n1 {
			return fmt.Errorf("grf sample: --res %d does not match --xi of shape %v", o.res, sh)
		}
		if o.n != 0 && o.n != k {
			return fmt.Errorf("grf sample: --n %d does not match --xi of shape %v", o.n, sh)
		}
		for i, v := range xi.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("grf sample: --xi %s holds a non-finite value at flat index %d", o.xi, i)
			}
		}
		o.res, o.n = n1, k
	}
	if o.res == 0 {
		return fmt.Errorf("grf sample: --res is required (or give --xi)")
	}
	if o.n == 0 {
		o.n = 1
	}
	if !(o.length > 0) || math.IsInf(o.length, 0) {
		return fmt.Errorf("grf sample: --length must be finite and > 0, got %g", o.length)
	}
	if !(o.alpha > 0) || math.IsInf(o.alpha, 0) {
		return fmt.Errorf("grf sample: --alpha must be finite and > 0, got %g", o.alpha)
	}
	if !(o.tau > 0) || math.IsInf(o.tau, 0) {
		return fmt.Errorf("grf sample: --tau must be finite and > 0, got %g", o.tau)
	}
	if o.sigma < 0 || math.IsNaN(o.sigma) || math.IsInf(o.sigma, 0) {
		return fmt.Errorf("grf sample: --sigma must be finite and ≥ 0, got %g", o.sigma)
	}
	// The output stack, the sampler and one scratch per extra worker.
	w := min(parallel.Workers(o.workers), o.n)
	need := 8*float64(o.n)*float64(o.res)*float64(o.res) + spectral.GRFMemory(o.res, o.res) + float64(w)*spectral.GRFWorkerMemory(o.res, o.res)
	if err := memlimit.Check(fmt.Sprintf("grf sample: %d field(s) of %d×%d", o.n, o.res, o.res), need); err != nil {
		return err
	}
	g, err := spectral.NewGRF(o.res, o.res, spectral.GRFSettings{
		Alpha: o.alpha, Tau: o.tau, Sigma: o.sigma, L1: o.length, L2: o.length})
	if err != nil {
		return fmt.Errorf("grf sample: %w", err)
	}
	size := o.res * o.res
	out := make([]float64, o.n*size)
	if xi != nil {
		for j := 0; j < o.n; j++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			g.FromNormals(out[j*size:(j+1)*size], xi.Data[2*j*size:2*(j+1)*size])
		}
	} else if err := g.SampleBatch(ctx, out, o.seed, o.workers); err != nil {
		return fmt.Errorf("grf sample: %w", err)
	}
	shape := []int{o.n, o.res, o.res}
	if o.n == 1 {
		shape = shape[1:]
	}
	if err := checkFinite("grf sample: --out "+o.out, shape, out); err != nil {
		return fmt.Errorf("%w (is --sigma too large?)", err)
	}
	if err := datasets.SaveNPY(o.out, shape, out); err != nil {
		return fmt.Errorf("grf sample: writing --out: %w", err)
	}
	s := g.Settings()
	fmt.Fprintf(stderr, "grf sample: wrote %d field(s) %d×%d to %s (alpha=%g tau=%g sigma=%g L=%g)\n",
		o.n, o.res, o.res, o.out, s.Alpha, s.Tau, s.Sigma, s.L1)
	return nil
}
