package main

import (
	"fmt"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"
)

// priorVJPOptions are the flags of `enkg prior vjp`.
type priorVJPOptions struct {
	weights, config, x, sigma, v, out string
	workers                           int
	float32                           bool
}

func init() {
	var o priorVJPOptions
	cmd := &cobra.Command{
		Use:   "vjp --weights W.npz --config C.json --x X.npy --sigma S.npy --v V.npy --out G.npy",
		Short: "Vector–Jacobian products J_D(x; σ)ᵀ·v of an EDM U-Net denoiser",
		Long: `Evaluate g_i = J_D(x_i; σ_i)ᵀ·v_i, the vector–Jacobian product of the denoiser D(x; σ) with
respect to its input (what DPS, GSG and DPG backpropagate through the prior), by reverse-mode
differentiation through the network (unet.Model.DenoiseVJPEach). The network and its
files are those of 'enkg prior denoise'.

  --weights  .npz with the state_dict tensors
  --config   model description: our JSON or a reference <case>_config.json
  --x        images, shape (N, C, H, W) (or (N, H, W) for one channel), physical units
  --sigma    noise levels ≥ 0, shape (N,) (or a single value for all images); σ = 0 gives v
  --v        cotangents, one per image, shape (N, C, H, W) or (N, H, W)
  --out      G, the shape of --v, float64 (float32 with --float32)

The Jacobian is dimensionless (the description's normalisation cancels). The network runs
in float32; the forward pass is recorded per image and the backward pass replays it, so
the memory is about three forward passes per worker. A non-finite output is an error and
nothing is written; the output file is replaced atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return priorVJP(cmd, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.weights, "weights", "", "exported weights (.npz)")
	f.StringVar(&o.config, "config", "", "model description (.json)")
	f.StringVar(&o.x, "x", "", "input images (.npy, shape N×C×H×W or N×H×W)")
	f.StringVar(&o.sigma, "sigma", "", "noise level per image (.npy, shape N or 1)")
	f.StringVar(&o.v, "v", "", "cotangent per image (.npy, the shape of --x)")
	f.StringVar(&o.out, "out", "", "output file (.npy)")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: GOMAXPROCS)")
	f.BoolVar(&o.float32, "float32", false, "write the output as float32")
	for _, n := range []string{"weights", "config", "x", "sigma", "v", "out"} {
		_ = cmd.MarkFlagRequired(n)
	}
	priorCmd.AddCommand(cmd)
}

func priorVJP(cmd *cobra.Command, o priorVJPOptions) error {
	m, err := loadPriorModel(o.weights, o.config, o.workers)
	if err != nil {
		return err
	}
	x, xs, err := loadPriorImages("--x", o.x, m)
	if err != nil {
		return err
	}
	v, vs, err := loadPriorImages("--v", o.v, m)
	if err != nil {
		return err
	}
	n, _ := x.Dims()
	if nv, _ := v.Dims(); nv != n {
		return fmt.Errorf("--v %s: %d cotangents (shape %v) for %d images (--x shape %v)", o.v, nv, vs, n, xs)
	}
	sig, err := loadPriorSigma(o.sigma, n)
	if err != nil {
		return err
	}
	if err := preparePriorOutput(o.out, o.weights, o.config, o.x, o.sigma, o.v); err != nil {
		return err
	}
	g := mat.NewDense(n, m.Dim(), nil)
	if err := m.DenoiseVJPEach(cmd.Context(), g, x, v, sig); err != nil {
		return err
	}
	return savePriorOutput("prior vjp", o.out, vs, g.RawMatrix().Data, o.float32)
}
