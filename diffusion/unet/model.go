package unet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion"
	"github.com/enkg-go/enkg/internal/parallel"
)

// Settings tunes how a Model evaluates a batch.
type Settings struct {
	// Workers bounds the goroutines used per call (default GOMAXPROCS). Batches of at
	// least Workers images run one image per worker; smaller batches split each
	// convolution's pixels over the workers instead. Results do not depend on Workers.
	Workers int
}

// Model is a preconditioned denoiser D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x; c_noise(σ))
// with the network F in float32, as EDMPrecond, VPPrecond and VEPrecond compute it. It
// implements diffusion.Denoiser (rows of the ensemble are images in C·H·W order) and is
// safe for concurrent use; buffers are kept between calls (a pool of workspaces), so
// repeated calls do not allocate activations.
type Model struct {
	spec     Spec
	net      *Network
	settings Settings

	mu    sync.Mutex
	pool  map[int][]*workspace // by thread count
	gimg  [][]float32          // per-image parameter gradients of LossGrad (trainable models; conv weights transposed)
	convs []*conv2d            // the convolutions with weights (LossGrad's transposed gradients)
	gT    [][]float32          // a transpose buffer per worker
}

var _ diffusion.Denoiser = (*Model)(nil)

// New builds the model described by spec with the given state_dict (see Network.Load).
func New(spec *Spec, state map[string]*datasets.Array, set Settings) (*Model, error) {
	if spec == nil {
		return nil, errors.New("unet: nil spec")
	}
	s := *spec
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Network.InChannels != s.Network.OutChannels {
		return nil, fmt.Errorf("unet: a preconditioned denoiser needs in_channels (%d) = out_channels (%d)", s.Network.InChannels, s.Network.OutChannels)
	}
	net, err := NewNetwork(s.Network)
	if err != nil {
		return nil, err
	}
	if err := net.Load(state); err != nil {
		return nil, err
	}
	if set.Workers < 0 {
		return nil, fmt.Errorf("unet: Workers %d < 0", set.Workers)
	}
	return &Model{spec: s, net: net, settings: set, pool: map[int][]*workspace{}}, nil
}

// Load reads the weights (.npz with state_dict names) and the description (our JSON or
// the reference <case>_config.json) and builds the model.
func Load(weightsPath, specPath string, set Settings) (*Model, error) {
	spec, err := LoadSpec(specPath)
	if err != nil {
		return nil, err
	}
	state, err := datasets.LoadNPZ(weightsPath)
	if err != nil {
		return nil, fmt.Errorf("unet: weights %s: %w", weightsPath, err)
	}
	m, err := New(spec, state, set)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", weightsPath, err)
	}
	return m, nil
}

// Spec returns the (validated, defaults filled in) model description.
func (m *Model) Spec() Spec { return m.spec }

// Network returns the inner network.
func (m *Model) Network() *Network { return m.net }

// Dim returns C·H·W.
func (m *Model) Dim() int { return m.net.Dim() }

// Coefficients returns c_skip, c_out, c_in and c_noise for noise level σ (in model
// space), computed in float32 in the order torch evaluates models/precond.py.
func (m *Model) Coefficients(sigma float64) (cSkip, cOut, cIn, cNoise float32) {
	return coefficients(&m.spec.Precond, float32(sigma))
}

func coefficients(p *PrecondSpec, s float32) (cSkip, cOut, cIn, cNoise float32) {
	f := func(v float64) float32 { return float32(v) }
	sq := func(v float32) float32 { return f(math.Sqrt(float64(v))) }
	lg := func(v float32) float32 { return f(math.Log(float64(v))) }
	switch p.Type {
	case "EDM":
		sd := p.SigmaData
		s2 := s * s
		den := s2 + f(sd*sd)
		cSkip = (1 / den) * f(sd*sd)
		cOut = (s * f(sd)) / sq(den)
		cIn = 1 / sq(f(sd*sd)+s2)
		cNoise = lg(s) / 4
	case "VP":
		s2 := s * s
		cSkip = 1
		cOut = -s
		cIn = 1 / sq(s2+1)
		t := (sq(f(p.BetaMin*p.BetaMin)+f(2*p.BetaD)*lg(1+s2)) - f(p.BetaMin)) / f(p.BetaD)
		cNoise = f(p.M-1) * t
	case "VE":
		cSkip, cOut, cIn = 1, s, 1
		cNoise = lg(f(0.5) * s)
	}
	return
}

func (m *Model) getWS(threads int) *workspace {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.pool[threads]
	if len(l) > 0 {
		ws := l[len(l)-1]
		m.pool[threads] = l[:len(l)-1]
		return ws
	}
	return m.net.newWorkspace(threads)
}

func (m *Model) putWS(ws *workspace) {
	ws.ar.reset()
	ws.hook = nil
	m.mu.Lock()
	m.pool[ws.threads] = append(m.pool[ws.threads], ws)
	m.mu.Unlock()
}

// Denoise writes D(x_i; σ) into row i of dst for every row of x (diffusion.Denoiser); dst
// may alias x. D(x; 0) = x, the limit σ → 0. Errors wrap diffusion.ErrDim (shapes),
// diffusion.ErrParam (σ < 0 or not finite) and diffusion.ErrNonFinite (NaN/Inf in x).
func (m *Model) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	r, _ := x.Dims()
	return m.denoise(ctx, dst, x, func(int) float64 { return sigma }, r)
}

// DenoiseEach is Denoise with a noise level per row: len(sigma) must equal the rows of x.
func (m *Model) DenoiseEach(ctx context.Context, dst, x *mat.Dense, sigma []float64) error {
	r, _ := x.Dims()
	if len(sigma) != r {
		return fmt.Errorf("unet: %d sigmas for %d images", len(sigma), r)
	}
	return m.denoise(ctx, dst, x, func(i int) float64 { return sigma[i] }, r)
}

func (m *Model) denoise(ctx context.Context, dst, x *mat.Dense, sigma func(int) float64, rows int) error {
	dim := m.Dim()
	if x == nil || dst == nil {
		return fmt.Errorf("%w: unet: nil matrix", diffusion.ErrDim)
	}
	xr, xc := x.Dims()
	dr, dc := dst.Dims()
	if xc != dim || dc != dim || dr != xr {
		return fmt.Errorf("%w: unet: shape mismatch: x %d×%d, dst %d×%d, want N×%d", diffusion.ErrDim, xr, xc, dr, dc, dim)
	}
	for i := 0; i < rows; i++ {
		s := sigma(i)
		if !(s >= 0) || math.IsInf(s, 0) {
			return fmt.Errorf("%w: unet: image %d: sigma %v must be finite and ≥ 0", diffusion.ErrParam, i, s)
		}
	}
	workers := parallel.Workers(m.settings.Workers)
	threads := 1
	if rows < workers {
		threads = workers
		workers = 1
	}
	return parallel.For(ctx, rows, workers, func(_, i int) error {
		ws := m.getWS(threads)
		defer m.putWS(ws)
		return m.denoiseRow(ws, dst.RawRowView(i), x.RawRowView(i), sigma(i), i)
	})
}

// Trace evaluates D(x; σ) for one image (x and dst of length Dim; dst may alias x) on the
// calling goroutine and calls hook with every intermediate activation in execution order,
// named as in the reference acts.npz: "map_noise" (before SongUNet's swap), "map_layer0",
// "map_layer1" (before SiLU), "emb", "enc.<res>x<res>_<module>", "dec.…", and the output
// norm and conv ("out_norm", "out_conv" or "dec.<res>x<res>_aux_norm", "…_aux_conv"), and
// last "F", the network output (SongUNet: the sum of the aux convs of a skip decoder).
// The slices are valid only during the call. Use it to locate a disagreement with PyTorch.
func (m *Model) Trace(dst, x []float64, sigma float64, hook Hook) error {
	if len(x) != m.Dim() || len(dst) != m.Dim() {
		return fmt.Errorf("%w: unet: Trace: len(x) = %d, len(dst) = %d, want %d", diffusion.ErrDim, len(x), len(dst), m.Dim())
	}
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return fmt.Errorf("%w: unet: sigma %v must be finite and ≥ 0", diffusion.ErrParam, sigma)
	}
	ws := m.getWS(1)
	defer m.putWS(ws)
	ws.hook = hook
	return m.denoiseRow(ws, dst, x, sigma, 0)
}

// denoiseRow evaluates one image; dst may alias x.
func (m *Model) denoiseRow(ws *workspace, dst, x []float64, sigma float64, idx int) error {
	nm := m.spec.Normalization
	ident := nm.Mean == 0 && nm.Std == 1
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: unet: image %d: non-finite input at index %d", diffusion.ErrNonFinite, idx, i)
		}
	}
	if sigma == 0 {
		// the σ → 0 limit of every preconditioner: c_skip → 1, c_out → 0 (F is bounded),
		// where torch would give NaN through c_noise = ln 0
		copy(dst, x)
		return nil
	}
	s := float32(sigma / nm.Std)
	cSkip, cOut, cIn, cNoise := coefficients(&m.spec.Precond, s)
	for i, v := range x {
		xv := float32(v)
		if !ident {
			xv = float32((v - nm.Mean) / nm.Std)
		}
		ws.in[i] = cIn * xv
	}
	m.net.forward(ws, cNoise)
	for i, fv := range ws.out {
		xv := float32(x[i])
		if !ident {
			xv = float32((x[i] - nm.Mean) / nm.Std)
		}
		d := cSkip*xv + cOut*fv
		if ident {
			dst[i] = float64(d)
		} else {
			dst[i] = nm.Mean + nm.Std*float64(d)
		}
	}
	return nil
}
