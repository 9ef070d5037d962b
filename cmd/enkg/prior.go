package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion/unet"
)

// priorDenoiseOptions are the flags of `enkg prior denoise`.
type priorDenoiseOptions struct {
	weights string
	config  string
	x       string
	sigma   string
	out     string
	workers int
	float32 bool
}

func init() {
	var o priorDenoiseOptions
	priorCmd := &cobra.Command{
		Use:   "prior",
		Short: "Neural diffusion priors (EDM U-Nets exported from PyTorch)",
	}
	den := &cobra.Command{
		Use:   "denoise --weights W.npz --config C.json --x X.npy --sigma S.npy --out D.npy",
		Short: "Evaluate the preconditioned denoiser D(x; σ) of an exported EDM U-Net",
		Long: `Evaluate D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ)) for a batch of images
with an EDM U-Net (SongUNet/DDPM++ or DhariwalUNet/ADM behind EDMPrecond, VPPrecond or
VEPrecond) whose weights were exported from PyTorch by tools/export_weights.py.

  --weights  .npz with the state_dict tensors (names as in PyTorch, with or without "model.")
  --config   model description: our JSON (written by the exporter) or a reference
             <case>_config.json (precond_class, model_class, *_constructor_resolved)
  --x        images, shape (N, C, H, W), float32 or float64
  --sigma    noise levels, shape (N,) (or a single value for all images)
  --out      D, shape (N, C, H, W), float64 (float32 with --float32)

The network runs in float32, as the PyTorch model does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return priorDenoise(cmd, o)
		},
	}
	f := den.Flags()
	f.StringVar(&o.weights, "weights", "", "exported weights (.npz)")
	f.StringVar(&o.config, "config", "", "model description (.json)")
	f.StringVar(&o.x, "x", "", "input images (.npy, shape N×C×H×W)")
	f.StringVar(&o.sigma, "sigma", "", "noise level per image (.npy, shape N or 1)")
	f.StringVar(&o.out, "out", "", "output file (.npy)")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: GOMAXPROCS)")
	f.BoolVar(&o.float32, "float32", false, "write the output as float32")
	for _, n := range []string{"weights", "config", "x", "sigma", "out"} {
		_ = den.MarkFlagRequired(n)
	}
	priorCmd.AddCommand(den)
	rootCmd.AddCommand(priorCmd)
}

func priorDenoise(cmd *cobra.Command, o priorDenoiseOptions) error {
	if o.workers < 0 {
		return fmt.Errorf("--workers %d < 0", o.workers)
	}
	m, err := unet.Load(o.weights, o.config, unet.Settings{Workers: o.workers})
	if err != nil {
		return err
	}
	spec := m.Spec()
	xa, err := datasets.LoadNPY(o.x)
	if err != nil {
		return fmt.Errorf("--x: %w", err)
	}
	if xa.Data == nil {
		return fmt.Errorf("--x %s: dtype %s is not real", o.x, xa.Dtype)
	}
	c, r := spec.Network.InChannels, spec.Network.ImgResolution
	if len(xa.Shape) != 4 || xa.Shape[1] != c || xa.Shape[2] != r || xa.Shape[3] != r {
		return fmt.Errorf("--x %s: shape %v, want (N, %d, %d, %d)", o.x, xa.Shape, c, r, r)
	}
	n := xa.Shape[0]
	if n == 0 {
		return fmt.Errorf("--x %s: no images", o.x)
	}
	sa, err := datasets.LoadNPY(o.sigma)
	if err != nil {
		return fmt.Errorf("--sigma: %w", err)
	}
	if sa.Data == nil {
		return fmt.Errorf("--sigma %s: dtype %s is not real", o.sigma, sa.Dtype)
	}
	sig := sa.Data
	switch {
	case len(sig) == n:
	case len(sig) == 1:
		sig = make([]float64, n)
		for i := range sig {
			sig[i] = sa.Data[0]
		}
	default:
		return fmt.Errorf("--sigma %s: %d values (shape %v) for %d images", o.sigma, len(sa.Data), sa.Shape, n)
	}
	dim := m.Dim()
	x := mat.NewDense(n, dim, xa.Data)
	dst := mat.NewDense(n, dim, nil)
	if err := m.DenoiseEach(cmd.Context(), dst, x, sig); err != nil {
		return err
	}
	if d := filepath.Dir(o.out); d != "." {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	out := dst.RawMatrix().Data
	shape := []int{n, c, r, r}
	if err := checkFinite("prior denoise: --out "+o.out, shape, out); err != nil {
		return fmt.Errorf("%w (is --sigma within the network's range?)", err)
	}
	if o.float32 {
		return datasets.SaveNPYFloat32(o.out, shape, out)
	}
	return datasets.SaveNPY(o.out, shape, out)
}
