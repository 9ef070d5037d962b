package unet

import (
	"fmt"
	"math"
)

// tensor is one named entry of the state_dict.
type tensor struct {
	name   string
	shape  []int
	data   []float32
	buffer bool // a registered buffer (resample_filter, freqs), not a learnable parameter
	off    int  // offset in the flat parameter vector (trainable networks)
}

func (t *tensor) size() int {
	n := 1
	for _, s := range t.shape {
		n *= s
	}
	return n
}

// registry collects the tensors a network expects, in construction order.
type registry struct {
	list   []*tensor
	byName map[string]*tensor
	err    error // first construction error (e.g. channels not divisible into GroupNorm groups)
}

func (r *registry) add(name string, buffer bool, shape ...int) *tensor {
	t := &tensor{name: name, shape: shape, buffer: buffer}
	if r.byName == nil {
		r.byName = map[string]*tensor{}
	}
	if _, dup := r.byName[name]; dup {
		panic("unet: duplicate tensor " + name) // construction bug, not user input
	}
	r.byName[name] = t
	r.list = append(r.list, t)
	return t
}

// linear: y = W·x + b, W [out,in].
type linear struct {
	in, out int
	w, b    *tensor
}

func newLinear(r *registry, name string, in, out int, bias bool) *linear {
	l := &linear{in: in, out: out, w: r.add(name+".weight", false, out, in)}
	if bias {
		l.b = r.add(name+".bias", false, out)
	}
	return l
}

func (l *linear) apply(dst, x []float32) {
	w := l.w.data
	for o := 0; o < l.out; o++ {
		row := w[o*l.in : o*l.in+l.in]
		var s float32
		for i, v := range row {
			s += v * x[i]
		}
		if l.b != nil {
			s += l.b.data[o]
		}
		dst[o] = s
	}
}

// groupNorm normalises each of g groups of c/g channels by its mean and biased variance.
type groupNorm struct {
	c, g int
	eps  float64
	w, b *tensor
}

func newGroupNorm(r *registry, name string, c int, eps float64) *groupNorm {
	g := min(32, c/4)
	if (g < 1 || c%g != 0) && r.err == nil {
		r.err = fmt.Errorf("unet: %s: GroupNorm over %d channels in min(32, C/4) = %d groups: the channels do not divide into the groups", name, c, g)
		g = 1
	}
	return &groupNorm{c: c, g: g, eps: eps, w: r.add(name+".weight", false, c), b: r.add(name+".bias", false, c)}
}

// apply writes GroupNorm(x), optionally followed by SiLU, into dst (may alias x); x is
// c×hw. Groups are independent and may run in parallel (par).
func (n *groupNorm) apply(ws *workspace, dst, x []float32, hw int, silu bool) {
	n.applyRec(ws, dst, x, hw, silu, nil)
}

// applyRec is apply that also records each group's mean and 1/√(var + eps) in st (length
// 2g: mean of group g at 2g, the inverse std at 2g + 1) unless st is nil, for backward.
func (n *groupNorm) applyRec(ws *workspace, dst, x []float32, hw int, silu bool, st []float64) {
	if ws.threads == 1 {
		for g := 0; g < n.g; g++ {
			mu, inv := n.group(g, dst, x, hw, silu)
			if st != nil {
				st[2*g], st[2*g+1] = mu, inv
			}
		}
		return
	}
	ws.par(n.g, func(g int) {
		mu, inv := n.group(g, dst, x, hw, silu)
		if st != nil {
			st[2*g], st[2*g+1] = mu, inv
		}
	})
}

func (n *groupNorm) group(g int, dst, x []float32, hw int, silu bool) (mu, inv float64) {
	cg := n.c / n.g
	gs := cg * hw
	seg := x[g*gs : (g+1)*gs]
	// one pass: Σx and Σx² in float64 (4 partial sums each). The float32 data makes
	// E[x²] − μ² safe in float64 unless |μ|/σ exceeds ~10⁶.
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	i := 0
	for ; i+4 <= len(seg); i += 4 {
		a, b, c, d := float64(seg[i]), float64(seg[i+1]), float64(seg[i+2]), float64(seg[i+3])
		s0, s1, s2, s3 = s0+a, s1+b, s2+c, s3+d
		q0, q1, q2, q3 = q0+a*a, q1+b*b, q2+c*c, q3+d*d
	}
	for ; i < len(seg); i++ {
		a := float64(seg[i])
		s0 += a
		q0 += a * a
	}
	mu = (s0 + s1 + s2 + s3) / float64(gs)
	ss := max(0, (q0+q1+q2+q3)-mu*mu*float64(gs))
	inv = 1 / math.Sqrt(ss/float64(gs)+n.eps)
	for c := g * cg; c < (g+1)*cg; c++ {
		a := float32(inv) * n.w.data[c]
		b := n.b.data[c] - float32(mu*inv)*n.w.data[c]
		src := x[c*hw : (c+1)*hw]
		d := dst[c*hw : (c+1)*hw]
		if silu {
			siluAffine(d, src, a, b)
		} else {
			for i, v := range src {
				d[i] = v*a + b
			}
		}
	}
	return mu, inv
}

func siluf(z float32) float32 {
	return z / (1 + expf(-z))
}

// conv2d is EDM's Conv2d with fused_resample=False: optional 2× up- or down-sampling by
// the FIR filter, then a k×k cross-correlation with zero padding k/2 (k = 0: none), then
// the bias.
type conv2d struct {
	name      string
	cin, cout int
	k         int
	up, down  bool
	w, b      *tensor
	filt      *tensor // [1,1,kf,kf], from the state_dict
	fused     bool    // fused_resample=True (SongUNet's aux_residual: down only)
	ap        []float32
	apT       []float32 // packed transposed weights for the backward pass (packT), built on first use
}

func newConv(r *registry, name string, cin, cout, k int, bias, up, down bool, filter []int) *conv2d {
	c := &conv2d{name: name, cin: cin, cout: cout, k: k, up: up, down: down}
	if k > 0 {
		c.w = r.add(name+".weight", false, cout, cin, k, k)
		if bias {
			c.b = r.add(name+".bias", false, cout)
		}
	}
	if up || down {
		c.filt = r.add(name+".resample_filter", true, 1, 1, len(filter), len(filter))
	}
	return c
}

// prepare packs the weights for the GEMM and, unless keep (a trainable network), drops
// the unpacked copy (the packed one is then the only copy kept, so the weights are held once).
func (c *conv2d) prepare(keep bool) {
	if c.w != nil {
		c.ap = packA(c.w.data, c.cout, c.cin*c.k*c.k)
		if !keep {
			c.w.data = nil
		}
	}
}

// outRes returns the output resolution for input resolution h.
func (c *conv2d) outRes(h int) int {
	switch {
	case c.up:
		return 2 * h
	case c.down:
		return h / 2
	}
	return h
}

// upsample: depthwise conv_transpose2d with 4·f, stride 2, padding (kf−1)/2.
func upsample(dst, x []float32, ch, h, w int, f []float32, kf int) {
	if kf == 2 {
		upsample2(dst, x, ch, h, w, f)
		return
	}
	upsampleAny(dst, x, ch, h, w, f, kf)
}

// upsample2 is upsample with a 2×2 filter (EDM's default [1, 1]): every output pixel gets one
// term, so it is written directly (the same value as upsampleAny's 0 + 4f·x, up to the sign of
// a zero).
func upsample2(dst, x []float32, ch, h, w int, f []float32) {
	ho, wo := 2*h, 2*w
	f0, f1, f2, f3 := 4*f[0], 4*f[1], 4*f[2], 4*f[3]
	for c := 0; c < ch; c++ {
		src := x[c*h*w : (c+1)*h*w]
		d := dst[c*ho*wo : (c+1)*ho*wo]
		for y := 0; y < h; y++ {
			s := src[y*w : (y+1)*w]
			r0 := d[2*y*wo : (2*y+1)*wo]
			r1 := d[(2*y+1)*wo : (2*y+2)*wo]
			for xx, v := range s {
				r0[2*xx], r0[2*xx+1] = f0*v, f1*v
				r1[2*xx], r1[2*xx+1] = f2*v, f3*v
			}
		}
	}
}

func upsampleAny(dst, x []float32, ch, h, w int, f []float32, kf int) {
	p := (kf - 1) / 2
	ho, wo := 2*h, 2*w
	clear(dst[:ch*ho*wo])
	for c := 0; c < ch; c++ {
		src := x[c*h*w : (c+1)*h*w]
		d := dst[c*ho*wo : (c+1)*ho*wo]
		for i := 0; i < kf; i++ {
			for j := 0; j < kf; j++ {
				fv := 4 * f[i*kf+j]
				for y := 0; y < h; y++ {
					oy := 2*y + i - p
					if oy < 0 || oy >= ho {
						continue
					}
					for xx := 0; xx < w; xx++ {
						ox := 2*xx + j - p
						if ox < 0 || ox >= wo {
							continue
						}
						d[oy*wo+ox] += fv * src[y*w+xx]
					}
				}
			}
		}
	}
}

// downsample: depthwise conv2d with f, stride 2, padding p ((kf−1)/2 in the unfused path).
func downsample(dst, x []float32, ch, h, w int, f []float32, kf, p int) {
	if kf == 2 && p == 0 && h >= 2 && w >= 2 {
		downsample2(dst, x, ch, h, w, f)
		return
	}
	downsampleAny(dst, x, ch, h, w, f, kf, p)
}

// downsample2 is downsample with a 2×2 filter and no padding: the same sums in the same
// order as downsampleAny, without its bounds tests.
func downsample2(dst, x []float32, ch, h, w int, f []float32) {
	ho, wo := h/2, w/2
	f0, f1, f2, f3 := f[0], f[1], f[2], f[3]
	for c := 0; c < ch; c++ {
		src := x[c*h*w : (c+1)*h*w]
		d := dst[c*ho*wo : (c+1)*ho*wo]
		for oy := 0; oy < ho; oy++ {
			r0 := src[2*oy*w : 2*oy*w+2*wo]
			r1 := src[(2*oy+1)*w : (2*oy+1)*w+2*wo]
			o := d[oy*wo : (oy+1)*wo]
			for ox := range o {
				var s float32
				s += f0 * r0[2*ox]
				s += f1 * r0[2*ox+1]
				s += f2 * r1[2*ox]
				s += f3 * r1[2*ox+1]
				o[ox] = s
			}
		}
	}
}

func downsampleAny(dst, x []float32, ch, h, w int, f []float32, kf, p int) {
	ho := (h+2*p-kf)/2 + 1
	wo := (w+2*p-kf)/2 + 1
	for c := 0; c < ch; c++ {
		src := x[c*h*w : (c+1)*h*w]
		d := dst[c*ho*wo : (c+1)*ho*wo]
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				var s float32
				for i := 0; i < kf; i++ {
					y := 2*oy + i - p
					if y < 0 || y >= h {
						continue
					}
					for j := 0; j < kf; j++ {
						xx := 2*ox + j - p
						if xx < 0 || xx >= w {
							continue
						}
						s += f[i*kf+j] * src[y*w+xx]
					}
				}
				d[oy*wo+ox] = s
			}
		}
	}
}

// posEmb is PositionalEmbedding: [cos(t·f) | sin(t·f)], f_i = (1/max_positions)^(i/(n/2 − endpoint)),
// evaluated in float32 like torch. swap gives SongUNet's [sin | cos].
type posEmb struct {
	n        int
	endpoint bool
	swap     bool
	freqs    []float32
	fourier  *tensor // FourierEmbedding: the buffer map_noise.freqs; freqs = float32(2π)·buffer
}

// newFourierEmb is FourierEmbedding: [cos(t·2πf_i) | sin(t·2πf_i)] with the random
// frequencies f (scale 16 at training) read from the state_dict buffer map_noise.freqs.
func newFourierEmb(r *registry, n int, swap bool) *posEmb {
	return &posEmb{n: n, swap: swap, freqs: make([]float32, n/2), fourier: r.add("map_noise.freqs", true, n/2)}
}

func (p *posEmb) prepare() {
	if p.fourier != nil {
		twoPi := float32(2 * math.Pi)
		for i, f := range p.fourier.data {
			p.freqs[i] = twoPi * f
		}
	}
}

func newPosEmb(n int, endpoint, swap bool) *posEmb {
	p := &posEmb{n: n, endpoint: endpoint, swap: swap, freqs: make([]float32, n/2)}
	den := float32(n/2 - b2i(endpoint))
	base := float64(float32(1.0 / 10000))
	for i := range p.freqs {
		e := float32(i) / den
		p.freqs[i] = float32(math.Pow(base, float64(e)))
	}
	return p
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// apply writes the raw [cos | sin] embedding into raw (may be nil) and the network's
// input (swapped for SongUNet) into dst.
func (p *posEmb) apply(dst, raw []float32, t float32) {
	h := p.n / 2
	for i, f := range p.freqs {
		a := float64(t * f)
		c, s := float32(math.Cos(a)), float32(math.Sin(a))
		if raw != nil {
			raw[i], raw[h+i] = c, s
		}
		if p.swap {
			dst[i], dst[h+i] = s, c
		} else {
			dst[i], dst[h+i] = c, s
		}
	}
}
