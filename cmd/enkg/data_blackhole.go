package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/internal/memlimit"
	"github.com/enkg-go/enkg/rng"
)

// dataBHOptions are the flags of `enkg data blackhole`.
type dataBHOptions struct {
	n         int
	res       int
	fov       float64
	seed      uint64
	gen       interferometry.GeneratorSettings
	out       string
	workers   int
	float32   bool
	deflate   int
	checksum  bool
	overwrite bool
	quiet     bool
}

// dataBHAfterWrite, when set (tests), is called after member i is written.
var dataBHAfterWrite func(i int)

func init() {
	o := dataBHOptions{res: 64, fov: 160, checksum: true, deflate: 4,
		gen: interferometry.GeneratorSettings{FluxMin: 0.4, FluxMax: 1.2, RadiusMin: 17, RadiusMax: 26, WidthMin: 2, WidthMax: 6,
			AsymMax: 0.9, ShiftMax: 5, BlurMin: 0, BlurMax: 10, GaussFracMax: 0.2}}
	cmd := &cobra.Command{
		Use:   "blackhole --n N --seed S --out bh.h5 [--res 64 --fov-uas 160 …]",
		Short: "Generate random black-hole images (rings, crescents, blobs) for a black-hole prior",
		Long: `Generate N random black-hole images with the interferometry package's randomised
generator (RandomImage): with probability ½ a Gaussian ring with an m = 1 brightness
asymmetry, otherwise an ehtim crescent; then an optional Gaussian blob and a circular blur,
every parameter drawn uniformly from the ranges below. Member i draws from the rng stream
(seed, i), so the images do not depend on --workers and an interrupted run resumes without
recomputing finished members.

Images are res×res, field of view --fov-uas micro-arcseconds, in Jy per pixel, row 0 North
and column 0 East (ehtim's imarr; the convention of 'enkg eht observe'). The output is an
HDF5 file with dataset "fields" of shape (N, res, res), one member per chunk, with
attributes recording the grid and every generator range (nx, ny, fov_uas, flux_min, …,
seed, member_rng, created_by, enkg_version). A range flag set to 0 takes the generator's
default (so a zero maximum is not possible).

Read it in Python with:  h5py.File("bh.h5")["fields"][i]`,
		Example: `  enkg data blackhole --n 1000 --seed 0 --out data/bh64.h5
  enkg data blackhole --n 100 --res 128 --fov-uas 200 --blur-max 5 --seed 1 --out bh128.h5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDataBlackHole(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.n, "n", 0, "number of images N (required)")
	f.IntVar(&o.res, "res", o.res, "pixels along each axis")
	f.Float64Var(&o.fov, "fov-uas", o.fov, "field of view, micro-arcseconds")
	f.Uint64Var(&o.seed, "seed", 0, "seed (member i uses stream (seed, i))")
	g := &o.gen
	f.Float64Var(&g.FluxMin, "flux-min", g.FluxMin, "total flux range, Jy: minimum")
	f.Float64Var(&g.FluxMax, "flux-max", g.FluxMax, "total flux range, Jy: maximum")
	f.Float64Var(&g.RadiusMin, "radius-min", g.RadiusMin, "ring radius range, μas: minimum")
	f.Float64Var(&g.RadiusMax, "radius-max", g.RadiusMax, "ring radius range, μas: maximum")
	f.Float64Var(&g.WidthMin, "width-min", g.WidthMin, "ring width range, μas: minimum")
	f.Float64Var(&g.WidthMax, "width-max", g.WidthMax, "ring width range, μas: maximum")
	f.Float64Var(&g.AsymMax, "asym-max", g.AsymMax, "largest m = 1 asymmetry of a ring")
	f.Float64Var(&g.ShiftMax, "shift-max", g.ShiftMax, "largest centre offset in x and y, μas")
	f.Float64Var(&g.BlurMin, "blur-min", g.BlurMin, "blur FWHM range, μas: minimum")
	f.Float64Var(&g.BlurMax, "blur-max", g.BlurMax, "blur FWHM range, μas: maximum")
	f.Float64Var(&g.GaussFracMax, "gauss-frac-max", g.GaussFracMax, "largest flux fraction of the extra Gaussian blob")
	f.StringVar(&o.out, "out", "", "output HDF5 file (required); an existing one is resumed")
	f.IntVar(&o.workers, "workers", 0, "parallel workers (0: all cores)")
	f.BoolVar(&o.float32, "float32", false, "store float32 (half the size)")
	f.IntVar(&o.deflate, "deflate", o.deflate, "shuffle+deflate compression level 1–9 (0: none; the dark sky compresses well)")
	f.BoolVar(&o.checksum, "checksum", true, "Fletcher-32 checksum per member, so corruption is detected on read")
	f.BoolVar(&o.overwrite, "overwrite", false, "replace an existing --out instead of resuming it (never a file another process has open)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	dataCmd.AddCommand(cmd)
}

// dataBHAttrs are the attributes `enkg data blackhole` records; a resumed file must match them.
func dataBHAttrs(o dataBHOptions) map[string]any {
	g := o.gen
	return map[string]any{
		"nx": int64(o.res), "ny": int64(o.res), "fov_uas": o.fov,
		"flux_min": g.FluxMin, "flux_max": g.FluxMax, "radius_min": g.RadiusMin, "radius_max": g.RadiusMax,
		"width_min": g.WidthMin, "width_max": g.WidthMax, "asym_max": g.AsymMax, "shift_max": g.ShiftMax,
		"blur_min": g.BlurMin, "blur_max": g.BlurMax, "gauss_frac_max": g.GaussFracMax,
		"seed":       int64(o.seed),
		"units":      "Jy per pixel; row 0 North, column 0 East (ehtim imarr)",
		"generator":  "interferometry.RandomImage: Gaussian ring (m=1) or ehtim crescent, optional Gaussian blob, circular blur",
		"member_rng": "rng.Stream(seed, i): math/rand/v2 PCG",
		"created_by": "enkg data blackhole",
	}
}

var dataBHChecked = []string{"nx", "ny", "fov_uas", "flux_min", "flux_max", "radius_min", "radius_max", "width_min", "width_max",
	"asym_max", "shift_max", "blur_min", "blur_max", "gauss_frac_max", "seed"}

// runDataBlackHole is the body of `enkg data blackhole`.
func runDataBlackHole(ctx context.Context, o dataBHOptions, stderr io.Writer) error {
	g := o.gen
	ranges := []struct {
		name   string
		lo, hi float64
	}{{"flux", g.FluxMin, g.FluxMax}, {"radius", g.RadiusMin, g.RadiusMax}, {"width", g.WidthMin, g.WidthMax},
		{"blur", g.BlurMin, g.BlurMax}, {"asym", 0, g.AsymMax}, {"shift", 0, g.ShiftMax}, {"gauss-frac", 0, g.GaussFracMax}}
	switch {
	case o.out == "":
		return errors.New("data blackhole: --out is required")
	case o.n <= 0:
		return fmt.Errorf("data blackhole: --n must be ≥ 1, got %d", o.n)
	case o.res < 2:
		return fmt.Errorf("data blackhole: --res must be ≥ 2, got %d", o.res)
	case o.seed > math.MaxInt64:
		return fmt.Errorf("data blackhole: --seed must be < 2^63 (it is stored as an int64 attribute), got %d", o.seed)
	}
	for _, r := range ranges {
		if math.IsNaN(r.lo) || math.IsNaN(r.hi) || math.IsInf(r.lo, 0) || math.IsInf(r.hi, 0) || r.lo < 0 || r.lo > r.hi {
			return fmt.Errorf("data blackhole: %s range [%g, %g] must be finite with 0 ≤ min ≤ max", r.name, r.lo, r.hi)
		}
	}
	if g.RadiusMin <= g.WidthMax {
		return fmt.Errorf("data blackhole: --radius-min %g must exceed --width-max %g (a crescent's inner radius is R − width)", g.RadiusMin, g.WidthMax)
	}
	if _, err := os.Stat(filepath.Dir(o.out)); err == nil { // a missing directory is created later
		if err := atomicfile.CheckOutput(o.out); err != nil {
			return fmt.Errorf("data blackhole: --out: %w", err)
		}
	}
	// The trial image below, and per worker the image, the blob, the blur's scratch and the
	// member buffer of Generate.
	px := float64(o.res) * float64(o.res)
	if err := memlimit.Check(fmt.Sprintf("data blackhole: an image of %d×%d", o.res, o.res), 8*px); err != nil {
		return err
	}
	grid, err := interferometry.NewGrid(o.res, o.fov)
	if err != nil {
		return fmt.Errorf("data blackhole: %w", err)
	}
	// One draw up front, so impossible settings fail before the file is created.
	if err := interferometry.RandomImage(make([]float64, grid.Len()), grid, g, rng.Stream(o.seed, 0)); err != nil {
		return fmt.Errorf("data blackhole: %w", err)
	}
	attrs := dataBHAttrs(o)

	out := dataOutput{
		cmd: "data blackhole", noun: "images", out: o.out, n: o.n, res: o.res,
		settings:     h5.Settings{Float32: o.float32, Deflate: o.deflate, Checksum: o.checksum, Overwrite: o.overwrite},
		attrs:        attrs,
		mkdir:        true,
		checked:      dataBHChecked,
		workers:      o.workers,
		quiet:        o.quiet,
		memPerWorker: 4 * 8 * px,
	}
	f, pending, workers, err := dataOpen(out, stderr)
	if f == nil {
		return err
	}
	elapsed, err := dataGenerate(ctx, out, f, workers, len(pending), func(_ context.Context, _, i int, dst []float64) error {
		return interferometry.RandomImage(dst, grid, g, rng.Stream(o.seed, i))
	}, dataBHAfterWrite, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "data blackhole: wrote %d images %d×%d (FOV %g μas) to %s (%d computed in %.1fs)\n",
		o.n, o.res, o.res, o.fov, o.out, len(pending), elapsed.Seconds())
	return nil
}
