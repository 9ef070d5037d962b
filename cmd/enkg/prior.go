package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/internal/atomicfile"
)

// priorCmd is `enkg prior`; its subcommands (denoise, vjp, report, …) live in prior*.go and
// register themselves on it in their init functions.
var priorCmd = &cobra.Command{
	Use:   "prior",
	Short: "Neural diffusion priors (EDM U-Nets exported from PyTorch or trained here)",
}

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
	den := &cobra.Command{
		Use:   "denoise --weights W.npz --config C.json --x X.npy --sigma S.npy --out D.npy",
		Short: "Evaluate the preconditioned denoiser D(x; σ) of an exported EDM U-Net",
		Long: `Evaluate D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ)) for a batch of images
with an EDM U-Net (SongUNet/DDPM++ or DhariwalUNet/ADM behind EDMPrecond, VPPrecond or
VEPrecond) whose weights were exported from PyTorch by tools/export_weights.py.

  --weights  .npz with the state_dict tensors (names as in PyTorch, with or without "model.")
  --config   model description: our JSON (written by the exporter) or a reference
             <case>_config.json (precond_class, model_class, *_constructor_resolved)
  --x        images, shape (N, C, H, W) (or (N, H, W) for one channel), float32 or float64,
             in the units of the description's normalisation (physical units)
  --sigma    noise levels ≥ 0, shape (N,) (or a single value for all images), same units
  --out      D, the shape of --x, float64 (float32 with --float32)

The network runs in float32, as the PyTorch model does. A non-finite output is an error
and nothing is written; the output file is replaced atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return priorDenoise(cmd, o)
		},
	}
	f := den.Flags()
	f.StringVar(&o.weights, "weights", "", "exported weights (.npz)")
	f.StringVar(&o.config, "config", "", "model description (.json)")
	f.StringVar(&o.x, "x", "", "input images (.npy, shape N×C×H×W or N×H×W)")
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
	m, err := loadPriorModel(o.weights, o.config, o.workers)
	if err != nil {
		return err
	}
	x, shape, err := loadPriorImages("--x", o.x, m)
	if err != nil {
		return err
	}
	n, _ := x.Dims()
	sig, err := loadPriorSigma(o.sigma, n)
	if err != nil {
		return err
	}
	if err := preparePriorOutput(o.out, o.weights, o.config, o.x, o.sigma); err != nil {
		return err
	}
	dst := mat.NewDense(n, m.Dim(), nil)
	if err := m.DenoiseEach(cmd.Context(), dst, x, sig); err != nil {
		return err
	}
	return savePriorOutput("prior denoise", o.out, shape, dst.RawMatrix().Data, o.float32)
}

// loadPriorModel loads the U-Net of --weights and --config (our description or a reference
// <case>_config.json: unet.Load reads both).
func loadPriorModel(weights, config string, workers int) (*unet.Model, error) {
	if workers < 0 {
		return nil, fmt.Errorf("--workers %d < 0", workers)
	}
	return unet.Load(weights, config, unet.Settings{Workers: workers})
}

// loadPriorImages reads a stack of images for m from the .npy file path given by flag:
// shape (N, C, H, W), or (N, H, W) when the network has one channel, N ≥ 1, finite real
// values. It returns them as an N×Dim matrix and the file's shape (which outputs keep).
func loadPriorImages(flag, path string, m *unet.Model) (*mat.Dense, []int, error) {
	spec := m.Spec()
	a, err := datasets.LoadNPY(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", flag, err)
	}
	if a.Data == nil {
		return nil, nil, fmt.Errorf("%s %s: dtype %s is not real", flag, path, a.Dtype)
	}
	c, r := spec.Network.InChannels, spec.Network.ImgResolution
	s := a.Shape
	ok := len(s) == 4 && s[1] == c && s[2] == r && s[3] == r ||
		c == 1 && len(s) == 3 && s[1] == r && s[2] == r
	if !ok {
		want := fmt.Sprintf("(N, %d, %d, %d)", c, r, r)
		if c == 1 {
			want += fmt.Sprintf(" or (N, %d, %d)", r, r)
		}
		return nil, nil, fmt.Errorf("%s %s: shape %v, want %s", flag, path, s, want)
	}
	n := s[0]
	if n == 0 {
		return nil, nil, fmt.Errorf("%s %s: no images", flag, path)
	}
	dim := m.Dim()
	for i, v := range a.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%s %s: image %d holds %v at flat index %d", flag, path, i/dim, v, i%dim)
		}
	}
	return mat.NewDense(n, dim, a.Data), append([]int(nil), s...), nil
}

// loadPriorSigma reads the noise levels for n images: n values, or one for all; each
// finite and ≥ 0.
func loadPriorSigma(path string, n int) ([]float64, error) {
	sa, err := datasets.LoadNPY(path)
	if err != nil {
		return nil, fmt.Errorf("--sigma: %w", err)
	}
	if sa.Data == nil {
		return nil, fmt.Errorf("--sigma %s: dtype %s is not real", path, sa.Dtype)
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
		return nil, fmt.Errorf("--sigma %s: %d values (shape %v) for %d images", path, len(sa.Data), sa.Shape, n)
	}
	for i, s := range sa.Data {
		if !(s >= 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("--sigma %s: value %d is %v: noise levels must be finite and ≥ 0", path, i, s)
		}
	}
	return sig, nil
}

// preparePriorOutput creates the directory of --out and checks that --out can be written
// and is none of the inputs, before any network evaluation.
func preparePriorOutput(out string, inputs ...string) error {
	if d := filepath.Dir(out); d != "." {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if err := atomicfile.CheckOutput(out, inputs...); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// savePriorOutput writes data with the given shape to out atomically (datasets.SaveNPY:
// temporary file and rename), after checking that every value is finite (checkFinite): a
// float32 overflow in the network is an error, not a file of NaNs. cmd names the command in
// errors.
func savePriorOutput(cmd, out string, shape []int, data []float64, f32 bool) error {
	if err := checkFinite(cmd+": --out "+out, shape, data); err != nil {
		return fmt.Errorf("%w (is --sigma within the network's range?)", err)
	}
	if f32 {
		for k, v := range data {
			if math.Abs(v) > math.MaxFloat32 {
				return fmt.Errorf("%s: --out %s: value %v at flat index %d overflows float32 (--float32); nothing written", cmd, out, v, k)
			}
		}
		return datasets.SaveNPYFloat32(out, shape, data)
	}
	return datasets.SaveNPY(out, shape, data)
}
