package unet

import (
	"fmt"
	"math"
	"strings"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/rng"
)

// ParamInfo describes one learnable tensor inside the flat parameter vector of a
// trainable network (Network.Params): its state_dict name, shape, and the range
// [Offset, Offset+Size) it occupies.
type ParamInfo struct {
	Name   string
	Shape  []int
	Offset int
	Size   int
}

// makeTrainable gathers the learnable tensors into one flat vector (the tensors alias it),
// keeps the unpacked convolution weights (inference drops them) and records each tensor's
// offset. Called once, before prepare.
func (n *Network) makeTrainable() {
	if n.flat != nil {
		return
	}
	total := 0
	for _, t := range n.reg.list {
		if !t.buffer {
			t.off = total
			total += t.size()
		}
	}
	n.flat = make([]float32, total)
	for _, t := range n.reg.list {
		if t.buffer {
			continue
		}
		dst := n.flat[t.off : t.off+t.size() : t.off+t.size()]
		copy(dst, t.data)
		t.data = dst
	}
	n.trainable = true
}

// Params returns the learnable parameters of a trainable network (NewTrainable or
// Model.Trainable) as one flat float32 vector in registry order, shared with the network:
// change it in place, then call Refresh. Nil for an inference-only network.
func (n *Network) Params() []float32 { return n.flat }

// ParamLayout returns where each learnable tensor lies in Params (nil unless trainable).
func (n *Network) ParamLayout() []ParamInfo {
	if n.flat == nil {
		return nil
	}
	var out []ParamInfo
	for _, t := range n.reg.list {
		if !t.buffer {
			out = append(out, ParamInfo{Name: t.name, Shape: append([]int(nil), t.shape...), Offset: t.off, Size: t.size()})
		}
	}
	return out
}

// Refresh repacks the convolution weights after Params changed. Not safe to call while
// the network is being evaluated.
func (n *Network) Refresh() {
	n.eachConv(func(c *conv2d) {
		if c.w == nil {
			return
		}
		packAStrided(c.ap, c.w.data, c.cout, c.cin*c.k*c.k, c.cin*c.k*c.k, 1)
		if c.apT != nil {
			c.packT(c.w.data)
		}
	})
}

// eachConv calls fn for every convolution of the network.
func (n *Network) eachConv(fn func(*conv2d)) {
	for _, ms := range [][]module{n.enc, n.dec} {
		for _, m := range ms {
			if m.conv != nil {
				fn(m.conv)
			}
			if b := m.block; b != nil {
				for _, c := range []*conv2d{b.conv0, b.conv1, b.skip, b.qkv, b.proj} {
					if c != nil {
						fn(c)
					}
				}
			}
		}
	}
	if n.outConv != nil {
		fn(n.outConv)
	}
}

// State returns every tensor of the network (parameters and buffers) under its
// state_dict name, the form Load reads and datasets.SaveNPZ writes (float32 dtype).
func (n *Network) State() (map[string]*datasets.Array, error) {
	out := make(map[string]*datasets.Array, len(n.reg.list))
	for _, t := range n.reg.list {
		data := t.data
		if data == nil {
			return nil, fmt.Errorf("unet: State: tensor %s is not held unpacked (inference-only network; use a trainable one)", t.name)
		}
		a := &datasets.Array{Shape: append([]int(nil), t.shape...), Data: make([]float64, len(data)), Dtype: "<f4"}
		for i, v := range data {
			a.Data[i] = float64(v)
		}
		out[t.name] = a
	}
	return out, nil
}

// NewTrainable returns a model with freshly initialised weights, as NVlabs/edm initialises
// them (SongUNet: xavier_uniform, with weight 1e-5 for the layers EDM zero-initialises —
// conv1 and proj of each block and the aux_conv outputs — and √0.2 for qkv; DhariwalUNet:
// kaiming_uniform with weight and bias √(1/3), zero for conv1, proj and out_conv; GroupNorm
// weight 1, bias 0; NCSN++ Fourier frequencies 16·N(0, 1)), drawn from seed. Its
// parameters are exposed by Network.Params for training. The preconditioner of spec must be
// EDM for Model.LossGrad.
func NewTrainable(spec *Spec, seed uint64, set Settings) (*Model, error) {
	if spec == nil {
		return nil, fmt.Errorf("unet: nil spec")
	}
	s := *spec
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.Network.InChannels != s.Network.OutChannels {
		return nil, fmt.Errorf("unet: a preconditioned denoiser needs in_channels (%d) = out_channels (%d)", s.Network.InChannels, s.Network.OutChannels)
	}
	if set.Workers < 0 {
		return nil, fmt.Errorf("unet: Workers %d < 0", set.Workers)
	}
	net, err := NewNetwork(s.Network)
	if err != nil {
		return nil, err
	}
	net.initWeights(seed)
	net.makeTrainable()
	net.prepare()
	return &Model{spec: s, net: net, settings: set, pool: map[int][]*workspace{}}, nil
}

// Trainable switches a loaded model to training mode (the weights are then kept unpacked
// too, and Network.Params exposes them). It is how training resumes from saved weights.
func (m *Model) Trainable() error {
	n := m.net
	if n.flat != nil {
		return nil
	}
	ok := true
	n.eachConv(func(c *conv2d) {
		if c.w != nil && c.w.data == nil {
			c.w.data = c.unpackedWeights()
		}
		ok = ok && (c.w == nil || len(c.w.data) == c.w.size())
	})
	if !ok {
		return fmt.Errorf("unet: Trainable: weights could not be recovered")
	}
	n.makeTrainable()
	n.Refresh()
	return nil
}

// initWeights fills every tensor as EDM's constructors do (see NewTrainable).
func (n *Network) initWeights(seed uint64) {
	r := rng.New(rng.Sub(seed, "unet init"))
	song := n.spec.Type == "SongUNet"
	uniform := func(data []float32, bound float64) {
		for i := range data {
			data[i] = float32(bound * (2*r.Float64() - 1))
		}
	}
	for _, t := range n.reg.list {
		t.data = make([]float32, t.size())
		name := t.name
		switch {
		case strings.HasSuffix(name, ".resample_filter"):
			f := n.spec.ResampleFilter
			s := 0.0
			for _, v := range f {
				s += float64(v)
			}
			for i := range f {
				for j := range f {
					t.data[i*len(f)+j] = float32(float64(f[i]) * float64(f[j]) / (s * s))
				}
			}
		case name == "map_noise.freqs":
			for i := range t.data {
				t.data[i] = float32(16 * r.NormFloat64())
			}
		case isNorm(name):
			if strings.HasSuffix(name, ".weight") {
				for i := range t.data {
					t.data[i] = 1
				}
			}
		default:
			// Linear or Conv2d weight/bias: fan_in = in·k·k, fan_out = out·k·k
			w := t
			isBias := strings.HasSuffix(name, ".bias")
			if isBias {
				w = n.reg.byName[name[:len(name)-len(".bias")]+".weight"]
			}
			out, in, kk := w.shape[0], w.shape[1], 1
			if len(w.shape) == 4 {
				kk = w.shape[2] * w.shape[3]
			}
			fanIn, fanOut := float64(in*kk), float64(out*kk)
			gain := initGain(name, song)
			if song {
				if isBias {
					continue // init_bias = 0
				}
				uniform(t.data, gain*math.Sqrt(6/(fanIn+fanOut)))
			} else {
				if gain == 0 {
					continue
				}
				uniform(t.data, gain*math.Sqrt(3/fanIn))
			}
		}
	}
}

// initGain is EDM's init_weight (and, for DhariwalUNet, init_bias) of a layer.
func initGain(name string, song bool) float64 {
	zero := strings.HasSuffix(stripParam(name), ".conv1") || strings.HasSuffix(stripParam(name), ".proj") ||
		strings.HasSuffix(stripParam(name), "_aux_conv") || stripParam(name) == "out_conv"
	if strings.HasPrefix(name, "map_augment") && !song {
		return math.Sqrt(2) // kaiming_normal in EDM; unused at inference
	}
	switch {
	case zero && song:
		return 1e-5
	case zero:
		return 0
	case song && strings.HasSuffix(stripParam(name), ".qkv"):
		return math.Sqrt(0.2)
	case song:
		return 1
	}
	return math.Sqrt(1.0 / 3)
}

func isNorm(name string) bool {
	p := stripParam(name)
	return strings.HasSuffix(p, ".norm0") || strings.HasSuffix(p, ".norm1") || strings.HasSuffix(p, ".norm2") ||
		strings.HasSuffix(p, "_aux_norm") || p == "out_norm"
}

func stripParam(name string) string {
	for _, s := range []string{".weight", ".bias"} {
		if strings.HasSuffix(name, s) {
			return name[:len(name)-len(s)]
		}
	}
	return name
}

// unpackedWeights recovers the row-major cout×(cin·k·k) weights from the packed panels.
func (c *conv2d) unpackedWeights() []float32 {
	m, k := c.cout, c.cin*c.k*c.k
	w := make([]float32, m*k)
	for row := 0; row < m; row++ {
		p, r := row/mr, row%mr
		for kk := 0; kk < k; kk++ {
			w[row*k+kk] = c.ap[p*k*mr+kk*mr+r]
		}
	}
	return w
}

// packT packs the weights of the transposed convolution used by the backward pass:
// Wᵀ[ci][co][dy][dx] = W[co][ci][k−1−dy][k−1−dx], a cin×(cout·k·k) matrix, so that the
// gradient with respect to the input is a k×k convolution of the output gradient.
func (c *conv2d) packT(w []float32) {
	m, kk := c.cin, c.cout*c.k*c.k
	if c.apT == nil {
		c.apT = make([]float32, packASize(m, kk))
	}
	k2 := c.k * c.k
	np := (m + mr - 1) / mr
	for p := 0; p < np; p++ {
		pan := c.apT[p*kk*mr : (p+1)*kk*mr]
		for r := 0; r < mr; r++ {
			ci := p*mr + r
			for co := 0; co < c.cout; co++ {
				for t := 0; t < k2; t++ {
					v := float32(0)
					if ci < m {
						v = w[(co*c.cin+ci)*k2+(k2-1-t)]
					}
					pan[(co*k2+t)*mr+r] = v
				}
			}
		}
	}
}

// ensureTransposed packs the transposed weights of every convolution (once; Refresh keeps
// them current).
func (n *Network) ensureTransposed() {
	n.tOnce.Do(func() {
		n.eachConv(func(c *conv2d) {
			if c.w == nil {
				return
			}
			w := c.w.data
			if w == nil {
				w = c.unpackedWeights()
			}
			c.packT(w)
		})
	})
}

// ForwardFLOPs returns the floating-point operations (2 per multiply–add) of one forward
// pass of one image through the convolutions, attention and linear layers — what the GEMMs
// do; normalisations and activations are not counted. A training step (forward, and the
// backward pass's input and weight gradients) costs about three times as much.
func (n *Network) ForwardFLOPs() float64 {
	var macs float64
	conv := func(c *conv2d, res int) int {
		out := c.outRes(res)
		if c.w != nil {
			at := out * out
			if c.fused {
				p := res + 2*((c.filt.shape[3]-1)/2)
				at = p * p
			}
			macs += float64(c.cout * c.cin * c.k * c.k * at)
		}
		return out
	}
	block := func(b *block, res int) int {
		macs += float64(b.affine.in * b.affine.out)
		out := conv(b.conv0, res)
		conv(b.conv1, out)
		if b.skip != nil {
			conv(b.skip, res)
		}
		if b.heads > 0 {
			hw := out * out
			conv(b.qkv, out)
			conv(b.proj, out)
			macs += float64(2 * hw * hw * b.cout) // QᵀK and V·Pᵀ over all heads
		}
		return out
	}
	macs += float64(n.map0.in*n.map0.out + n.map1.in*n.map1.out)
	res := n.spec.ImgResolution
	auxRes := res
	for _, m := range n.enc {
		switch m.kind {
		case modConv:
			conv(m.conv, res)
		case modBlock:
			res = block(m.block, res)
		case modAuxDown:
			auxRes /= 2
		case modAuxSkip:
			conv(m.conv, auxRes)
		case modAuxResidual:
			conv(m.conv, auxRes)
			auxRes = res
		}
	}
	for _, m := range n.dec {
		switch m.kind {
		case modBlock:
			res = block(m.block, res)
		case modAuxConv:
			conv(m.conv, res)
		}
	}
	if n.outConv != nil {
		conv(n.outConv, res)
	}
	return 2 * macs
}
