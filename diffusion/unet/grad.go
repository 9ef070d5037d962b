package unet

import (
	"context"
	"math"
	"slices"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/internal/tile"
)

// Reverse mode. forwardTape evaluates the network like forward (the same layer routines in
// the same order, so F is bit-identical) while recording, on a tape, every module output
// and what each layer's backward pass needs; backwardTape then walks the tape backwards.
// The tape keeps the GroupNorm(+SiLU) outputs that feed convolutions and every GroupNorm's
// statistics, so the backward pass recomputes none of them; resampled inputs are recomputed.
// Gradients with respect to the parameters accumulate into a flat vector laid out as
// Network.Params (LossGrad's per-image buffers hold each convolution's weight gradient
// transposed, K×cout, until the batch is summed).
//
// Layer adjoints (all in float32, sums over pixels in float64):
//
//	conv   y = W ⋆ x + b:   ∂b = Σ_pix ∂y,  ∂W = ∂y · im2col(x)ᵀ,  ∂x = flip(W)ᵀ ⋆ ∂y (a k×k convolution
//	                        with the transposed, flipped weights, padding k/2)
//	up/down resampling:     the transposed depthwise FIR filters
//	GroupNorm ẑ = (x−μ)/s, z = γẑ + β:  ∂γ = Σ ∂z ẑ, ∂β = Σ ∂z,
//	                        ∂x = (1/s)(γ∂z − mean_g(γ∂z) − ẑ·mean_g(γ∂z ẑ))
//	SiLU   ∂z = ∂y·σ(z)(1 + z(1 − σ(z)))
//	attention (per head, P = softmax(QᵀK/√d), O = V Pᵀ):  ∂V = ∂O P, ∂P = ∂Oᵀ V,
//	                        ∂L = P ⊙ (∂P − rowsum(P ⊙ ∂P))/√d, ∂Q = K ∂Lᵀ, ∂K = Q ∂L

// val is one recorded activation and its gradient.
type val struct {
	d, g []float32
}

type opKind int

const (
	opConv        opKind = iota // out = conv(in0)                      (enc conv, aux_down, aux_up)
	opBlock                     // out = block(in0)
	opAuxSkip                   // out = in0 + conv(in1)
	opAuxResidual               // out = (in0 + fusedconv(in1))/√2
	opAuxOut                    // out = conv(SiLU(GN(in0))) (+ in1)     (SongUNet aux_norm + aux_conv)
	opCat                       // out = [in0[:c0], in1]
	opOut                       // out = conv(SiLU(GN(in0)))           (DhariwalUNet out_norm + out_conv)
)

type op struct {
	kind          opKind
	conv          *conv2d
	norm          *groupNorm
	block         *block
	rec           int       // index of the block record
	in0, in1, out int       // value indices (in1 = −1: none)
	res           int       // resolution of in0 (in1 for opAuxSkip/opAuxResidual)
	c0            int       // opCat: channels taken from in0
	t             []float32 // opAuxOut, opOut: SiLU(GN(in0)), the convolution's input
	st            int       // opAuxOut, opOut: the GroupNorm's statistics (tape.statsAt)
}

// blockRec is what a UNetBlock's backward pass needs beyond its input.
type blockRec struct {
	p             []float32 // affine(emb)
	t0            []float32 // SiLU(GN0(x)), the input of conv0
	h1            []float32 // the input of norm1 (conv0 output, plus p for SongUNet)
	h2            []float32 // the input of conv1 (block.hidden)
	xa            []float32 // the input of the attention
	nt            []float32 // GN2(xa), the input of qkv
	st0, st1, st2 int       // offsets of GN0's, GN1's and GN2's statistics (tape.statsAt)
	qkv           []float32
	P             []float32 // softmax probabilities, heads × hw × hw, row t = query pixel
	a             []float32 // attention output before proj (C×hw)
}

// tape is the recording of one forward pass of one image.
type tape struct {
	ar    arena // activations
	gar   arena // their gradients
	vals  []val
	ops   []op
	recs  []blockRec
	stack []int
	final int       // value holding F
	stats []float64 // GroupNorm means and inverse stds recorded by the forward pass (tape.newStats)
	// noise embedding: input, pre-activations, post-SiLU of layer 0, and ∂emb
	embIn, e0, e0s, e1, dEmb []float32
	dp                       []float32 // ∂affine output of the current block
	de0                      []float32 // ∂ of map_layer0's output
	dF                       []float32 // scratch: ∂F
	dIn                      []float32 // scratch: ∂(network input)
}

func (n *Network) newTape() *tape {
	maxAff := 0
	for _, ms := range [][]module{n.enc, n.dec} {
		for _, m := range ms {
			if m.block != nil {
				maxAff = max(maxAff, m.block.affine.out)
			}
		}
	}
	return &tape{
		embIn: make([]float32, n.noiseCh), e0: make([]float32, n.embCh), e0s: make([]float32, n.embCh),
		e1: make([]float32, n.embCh), dEmb: make([]float32, n.embCh), de0: make([]float32, n.embCh), dp: make([]float32, maxAff),
		dF: make([]float32, n.Dim()), dIn: make([]float32, n.Dim()),
	}
}

func (t *tape) begin() {
	t.ar.reset()
	t.gar.reset()
	t.vals = t.vals[:0]
	t.ops = t.ops[:0]
	t.recs = t.recs[:0]
	t.stats = t.stats[:0]
}

// newStats reserves room for the statistics of a GroupNorm of g groups and returns its
// offset in t.stats with the slice to fill now (later reservations may move t.stats).
func (t *tape) newStats(g int) (int, []float64) {
	off := len(t.stats)
	t.stats = slices.Grow(t.stats, 2*g)[:off+2*g]
	return off, t.stats[off : off+2*g]
}

// statsAt returns the statistics recorded at offset off for a GroupNorm of g groups.
func (t *tape) statsAt(off, g int) []float64 { return t.stats[off : off+2*g] }

func (t *tape) newVal(size int) int {
	t.vals = append(t.vals, val{d: t.ar.get(size), g: t.gar.get(size)})
	return len(t.vals) - 1
}

func (t *tape) newRec() int {
	t.recs = append(t.recs, blockRec{})
	return len(t.recs) - 1
}

// forwardTape evaluates F(ws.in; noise) into ws.out, recording the tape.
func (n *Network) forwardTape(ws *workspace, tp *tape, noise float32) {
	tp.begin()
	n.mapNoise.apply(tp.embIn, nil, noise)
	n.map0.apply(tp.e0, tp.embIn)
	for i, v := range tp.e0 {
		tp.e0s[i] = siluf(v)
	}
	n.map1.apply(tp.e1, tp.e0s)
	for i, v := range tp.e1 {
		ws.emb[i] = siluf(v)
	}
	res := n.spec.ImgResolution
	ch := n.spec.InChannels
	cur := tp.newVal(ch * res * res)
	copy(tp.vals[cur].d, ws.in)
	aux, auxRes, auxCh := cur, res, ch
	stack := tp.stack[:0]
	sqrt2 := float32(math.Sqrt(2))
	for _, m := range n.enc {
		switch m.kind {
		case modConv:
			o := tp.newVal(m.conv.cout * res * res)
			m.conv.apply(ws, tp.vals[o].d, tp.vals[cur].d, res, res)
			tp.ops = append(tp.ops, op{kind: opConv, conv: m.conv, in0: cur, in1: -1, out: o, res: res})
			cur, ch = o, m.conv.cout
			stack = append(stack, o)
		case modBlock:
			o := n.blockTape(ws, tp, m.block, cur, res)
			res = m.block.conv0.outRes(res)
			cur, ch = o, m.block.cout
			stack = append(stack, o)
		case modAuxDown:
			o := tp.newVal(auxCh * auxRes * auxRes / 4)
			m.conv.apply(ws, tp.vals[o].d, tp.vals[aux].d, auxRes, auxRes)
			tp.ops = append(tp.ops, op{kind: opConv, conv: m.conv, in0: aux, in1: -1, out: o, res: auxRes})
			aux, auxRes = o, auxRes/2
		case modAuxSkip, modAuxResidual:
			o := tp.newVal(ch * res * res)
			od := tp.vals[o].d
			m.conv.apply(ws, od, tp.vals[aux].d, auxRes, auxRes)
			x := tp.vals[cur].d
			kind := opAuxSkip
			if m.kind == modAuxSkip {
				for j, v := range od {
					od[j] = x[j] + v
				}
			} else {
				kind = opAuxResidual
				for j, v := range od {
					od[j] = (x[j] + v) / sqrt2
				}
			}
			tp.ops = append(tp.ops, op{kind: kind, conv: m.conv, in0: cur, in1: aux, out: o, res: auxRes})
			stack[len(stack)-1] = o
			cur = o
			if m.kind == modAuxResidual {
				aux, auxRes, auxCh = o, res, ch
			}
		}
	}
	daux := -1
	var norm *groupNorm
	for _, m := range n.dec {
		hw := res * res
		switch m.kind {
		case modAuxUp:
			o := tp.newVal(m.conv.cout * hw)
			m.conv.apply(ws, tp.vals[o].d, tp.vals[daux].d, res/2, res/2)
			tp.ops = append(tp.ops, op{kind: opConv, conv: m.conv, in0: daux, in1: -1, out: o, res: res / 2})
			daux = o
			continue
		case modAuxNorm:
			norm = m.norm
			continue
		case modAuxConv:
			o := tp.newVal(m.conv.cout * hw)
			tmp := tp.ar.get(ch * hw)
			so, st := tp.newStats(norm.g)
			norm.applyRec(ws, tmp, tp.vals[cur].d[:ch*hw], hw, false, st)
			siluAffine(tmp, tmp, 1, 0)
			od := tp.vals[o].d
			m.conv.apply(ws, od, tmp, res, res)
			if daux >= 0 {
				for j, v := range tp.vals[daux].d {
					od[j] += v
				}
			}
			tp.ops = append(tp.ops, op{kind: opAuxOut, conv: m.conv, norm: norm, in0: cur, in1: daux, out: o, res: res, t: tmp, st: so})
			daux = o
			continue
		}
		b := m.block
		src := cur
		if ch != b.cin {
			si := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			o := tp.newVal(b.cin * hw)
			od := tp.vals[o].d
			copy(od, tp.vals[cur].d[:ch*hw])
			copy(od[ch*hw:], tp.vals[si].d[:(b.cin-ch)*hw])
			tp.ops = append(tp.ops, op{kind: opCat, in0: cur, in1: si, out: o, res: res, c0: ch})
			src = o
		}
		cur = n.blockTape(ws, tp, b, src, res)
		res = b.conv0.outRes(res)
		ch = b.cout
	}
	tp.stack = stack
	if n.outConv == nil {
		tp.final = daux
		copy(ws.out, tp.vals[daux].d)
		return
	}
	hw := res * res
	o := tp.newVal(n.outConv.cout * hw)
	t := tp.ar.get(ch * hw)
	so, st := tp.newStats(n.outNorm.g)
	n.outNorm.applyRec(ws, t, tp.vals[cur].d[:ch*hw], hw, true, st)
	n.outConv.apply(ws, tp.vals[o].d, t, res, res)
	tp.ops = append(tp.ops, op{kind: opOut, conv: n.outConv, norm: n.outNorm, in0: cur, in1: -1, out: o, res: res, t: t, st: so})
	tp.final = o
	copy(ws.out, tp.vals[o].d)
}

// blockTape runs the block on value in (at resolution res) and returns the output value.
func (n *Network) blockTape(ws *workspace, tp *tape, b *block, in, res int) int {
	ro := b.conv0.outRes(res)
	o := tp.newVal(b.cout * ro * ro)
	r := tp.newRec()
	b.forwardTape(ws, tp, &tp.recs[r], tp.vals[o].d, tp.vals[in].d, res, res, ws.emb)
	tp.ops = append(tp.ops, op{kind: opBlock, block: b, rec: r, in0: in, in1: -1, out: o, res: res})
	return o
}

// forwardTape is block.forward recording rec.
func (b *block) forwardTape(ws *workspace, tp *tape, rec *blockRec, dst, x []float32, h, w int, emb []float32) {
	mk := ws.ar.mark()
	hw := h * w
	rec.t0 = tp.ar.get(b.cin * hw) // recorded: the backward pass needs it for ∂W of conv0
	t0 := rec.t0
	var st []float64
	rec.st0, st = tp.newStats(b.norm0.g)
	b.norm0.applyRec(ws, t0, x[:b.cin*hw], hw, true, st)
	ho, wo := b.conv0.outRes(h), b.conv0.outRes(w)
	hwo := ho * wo
	rec.h1 = tp.ar.get(b.cout * hwo)
	b.conv0.apply(ws, rec.h1, t0, h, w)
	rec.p = tp.ar.get(b.affine.out)
	p := rec.p
	b.affine.apply(p, emb)
	if !b.adaptive {
		for c := 0; c < b.cout; c++ {
			pc := p[c]
			row := rec.h1[c*hwo : (c+1)*hwo]
			for i := range row {
				row[i] += pc
			}
		}
	}
	rec.h2 = tp.ar.get(b.cout * hwo)
	h2 := rec.h2
	rec.st1, st = tp.newStats(b.norm1.g)
	b.hidden(ws, h2, rec, hwo, st)
	out := dst[:b.cout*hwo]
	b.conv1.apply(ws, out, h2, ho, wo)
	if b.skip != nil {
		s := ws.ar.get(b.cout * hwo)
		b.skip.apply(ws, s, x, h, w)
		for i, v := range s {
			out[i] += v
		}
	} else {
		for i, v := range x[:b.cout*hwo] {
			out[i] += v
		}
	}
	if b.skipScale != 1 {
		for i := range out {
			out[i] *= b.skipScale
		}
	}
	if b.heads > 0 {
		b.attentionTape(ws, tp, rec, out, hwo)
	}
	ws.ar.release(mk)
}

// hidden writes the input of conv1 into h2 from the recorded GroupNorm input rec.h1:
// SiLU(GN1(h1)) (SongUNet, where rec.h1 already holds conv0 + p) or SiLU(GN1(h1)·(1 +
// p_scale) + p_shift) (DhariwalUNet). The tape records h2 (blockRec.h2).
func (b *block) hidden(ws *workspace, h2 []float32, rec *blockRec, hwo int, st []float64) {
	p := rec.p
	if b.adaptive {
		b.norm1.applyRec(ws, h2, rec.h1, hwo, false, st)
		for c := 0; c < b.cout; c++ {
			row := h2[c*hwo : (c+1)*hwo]
			siluAffine(row, row, p[c]+1, p[b.cout+c])
		}
		return
	}
	b.norm1.applyRec(ws, h2, rec.h1, hwo, true, st)
}

// attentionTape is block.attention recording rec (x is updated in place).
func (b *block) attentionTape(ws *workspace, tp *tape, rec *blockRec, x []float32, hw int) {
	mk := ws.ar.mark()
	C := b.cout
	d := C / b.heads
	rec.xa = tp.ar.get(C * hw)
	copy(rec.xa, x)
	rec.nt = tp.ar.get(C * hw)
	nt := rec.nt
	var st []float64
	rec.st2, st = tp.newStats(b.norm2.g)
	b.norm2.applyRec(ws, nt, x, hw, false, st)
	rec.qkv = tp.ar.get(3 * C * hw)
	qkv := rec.qkv
	b.qkv.apply(ws, qkv, nt, 1, hw)
	rec.a = tp.ar.get(C * hw)
	rec.P = tp.ar.get(b.heads * hw * hw)
	pt := ws.ar.get(hw * hw)
	apq := ws.ar.get(packASize(hw, d))
	apv := ws.ar.get(packASize(d, hw))
	scale := float32(1 / math.Sqrt(float64(d)))
	for h := 0; h < b.heads; h++ {
		base := h * 3 * d * hw
		lg := rec.P[h*hw*hw : (h+1)*hw*hw]
		packAStrided(apq, qkv[base:], hw, d, 1, 3*hw)
		clear(lg)
		ws.src = bSource{in: qkv[base+hw:], h: 1, w: hw, k: 1, cs: 3 * hw}
		ws.gemm(lg, apq, hw, d, &ws.src, hw)
		for t := 0; t < hw; t++ {
			row := lg[t*hw : (t+1)*hw]
			mx := float32(math.Inf(-1))
			for i := range row {
				row[i] *= scale
				mx = max(mx, row[i])
			}
			var sum float32
			for i, v := range row {
				e := expf(v - mx)
				row[i] = e
				sum += e
			}
			inv := 1 / sum
			for s, v := range row {
				pv := v * inv
				row[s] = pv
				pt[s*hw+t] = pv
			}
		}
		packAStrided(apv, qkv[base+2*hw:], d, hw, 3*hw, 1)
		o := rec.a[h*d*hw : (h+1)*d*hw]
		clear(o)
		ws.src = bSource{in: pt, h: 1, w: hw, k: 1}
		ws.gemm(o, apv, d, hw, &ws.src, hw)
	}
	pr := ws.ar.get(C * hw)
	b.proj.apply(ws, pr, rec.a, 1, hw)
	for i, v := range pr {
		x[i] = (v + x[i]) * b.skipScale
	}
	ws.ar.release(mk)
}

// backwardTape propagates dF (∂F, Dim values) back through the recorded pass: the gradient
// with respect to the network input goes to dIn (nil: not needed), those with respect to
// the parameters are added into gp (laid out as Params; nil: not needed).
func (n *Network) backwardTape(ws *workspace, tp *tape, dF, dIn, gp []float32) {
	for _, v := range tp.vals {
		clear(v.g)
	}
	copy(tp.vals[tp.final].g, dF)
	clear(tp.dEmb)
	sqrt2 := float32(math.Sqrt(2))
	for i := len(tp.ops) - 1; i >= 0; i-- {
		o := &tp.ops[i]
		out := tp.vals[o.out]
		in := tp.vals[o.in0]
		switch o.kind {
		case opConv:
			var dx []float32
			if o.in0 != 0 || dIn != nil {
				dx = in.g
			}
			o.conv.backward(ws, dx, in.d, o.res, o.res, out.g, gp)
		case opBlock:
			o.block.backward(ws, tp, &tp.recs[o.rec], in.g, in.d, o.res, o.res, out.g, gp)
		case opAuxSkip, opAuxResidual:
			g := out.g
			if o.kind == opAuxResidual {
				for j, v := range g {
					g[j] = v / sqrt2
				}
			}
			for j, v := range g {
				in.g[j] += v
			}
			a := tp.vals[o.in1]
			o.conv.backward(ws, a.g, a.d, o.res, o.res, g, gp)
		case opAuxOut, opOut:
			if o.in1 >= 0 {
				for j, v := range out.g {
					tp.vals[o.in1].g[j] += v
				}
			}
			hw := o.res * o.res
			c := o.norm.c
			mk := ws.ar.mark()
			tmp := o.t
			dt := ws.ar.get(c * hw)
			clear(dt)
			o.conv.backward(ws, dt, tmp, o.res, o.res, out.g, gp)
			o.norm.backward(dt, in.g, in.d, hw, true, gp, tp.statsAt(o.st, o.norm.g))
			ws.ar.release(mk)
		case opCat:
			hw := o.res * o.res
			for j, v := range out.g[:o.c0*hw] {
				in.g[j] += v
			}
			g1 := tp.vals[o.in1].g
			for j, v := range out.g[o.c0*hw:] {
				g1[j] += v
			}
		}
	}
	if gp != nil {
		// emb = SiLU(map1(SiLU(map0(embIn))))
		de1 := tp.dEmb
		for i, v := range tp.e1 {
			de1[i] *= dsilu(v)
		}
		de0 := tp.de0
		clear(de0)
		n.map1.backward(de0, tp.e0s, de1, gp)
		for i, v := range tp.e0 {
			de0[i] *= dsilu(v)
		}
		n.map0.backward(nil, tp.embIn, de0, gp)
	}
	if dIn != nil {
		copy(dIn, tp.vals[0].g)
	}
}

// backward runs the block's adjoint: dOut (modified) is ∂output; ∂input is added into dx.
func (b *block) backward(ws *workspace, tp *tape, rec *blockRec, dx, x []float32, h, w int, dOut, gp []float32) {
	ho, wo := b.conv0.outRes(h), b.conv0.outRes(w)
	hwo := ho * wo
	dOut = dOut[:b.cout*hwo]
	if b.heads > 0 {
		b.attentionBackward(ws, tp, rec, dOut, hwo, gp)
	}
	if b.skipScale != 1 {
		for i := range dOut {
			dOut[i] *= b.skipScale
		}
	}
	if b.skip != nil {
		b.skip.backward(ws, dx, x, h, w, dOut, gp)
	} else {
		for i, v := range dOut {
			dx[i] += v
		}
	}
	mk := ws.ar.mark()
	h2 := rec.h2
	dh2 := ws.ar.get(b.cout * hwo)
	clear(dh2)
	b.conv1.backward(ws, dh2, h2, ho, wo, dOut, gp)
	dh1 := ws.ar.get(b.cout * hwo)
	clear(dh1)
	dp := tp.dp[:b.affine.out]
	clear(dp)
	if b.adaptive {
		// h2 = SiLU(ĥ·(1 + p_c) + p_{C+c}), ĥ = GN1(h1)
		hn := ws.ar.get(b.cout * hwo) // GN1(h1) without the SiLU
		b.norm1.apply(ws, hn, rec.h1, hwo, false)
		for c := 0; c < b.cout; c++ {
			sc, sh := rec.p[c]+1, rec.p[b.cout+c]
			var ds, db float64
			for i := c * hwo; i < (c+1)*hwo; i++ {
				z := hn[i]*sc + sh
				dz := dh2[i] * dsilu(z)
				ds += float64(dz * hn[i])
				db += float64(dz)
				dh2[i] = dz * sc
			}
			dp[c], dp[b.cout+c] = float32(ds), float32(db)
		}
		b.norm1.backward(dh2, dh1, rec.h1, hwo, false, gp, tp.statsAt(rec.st1, b.norm1.g))
	} else {
		b.norm1.backward(dh2, dh1, rec.h1, hwo, true, gp, tp.statsAt(rec.st1, b.norm1.g))
		for c := 0; c < b.cout; c++ {
			var s float64
			for _, v := range dh1[c*hwo : (c+1)*hwo] {
				s += float64(v)
			}
			dp[c] = float32(s)
		}
	}
	if gp != nil {
		b.affine.backward(tp.dEmb, ws.emb, dp, gp)
	}
	hw := h * w
	t0 := rec.t0
	dt0 := ws.ar.get(b.cin * hw)
	clear(dt0)
	b.conv0.backward(ws, dt0, t0, h, w, dh1, gp)
	b.norm0.backward(dt0, dx, x, hw, true, gp, tp.statsAt(rec.st0, b.norm0.g))
	ws.ar.release(mk)
}

// attentionBackward turns dOut (∂ of the block output after attention) into ∂ of the
// attention input, adding the parameter gradients of norm2, qkv and proj.
func (b *block) attentionBackward(ws *workspace, tp *tape, rec *blockRec, dOut []float32, hw int, gp []float32) {
	mk := ws.ar.mark()
	C := b.cout
	d := C / b.heads
	scale := float32(1 / math.Sqrt(float64(d)))
	// x_out = (proj(a) + xa)·s: both branches get ∂·s
	if b.skipScale != 1 {
		for i := range dOut {
			dOut[i] *= b.skipScale
		}
	}
	da := ws.ar.get(C * hw)
	clear(da)
	b.proj.backward(ws, da, rec.a, 1, hw, dOut, gp)
	dqkv := ws.ar.get(3 * C * hw)
	clear(dqkv)
	qkv := rec.qkv
	tmp := ws.ar.get(d * hw)
	dP := ws.ar.get(hw * hw)
	dLT := ws.ar.get(hw * hw)
	ap := ws.ar.get(max(packASize(d, hw), packASize(hw, d)))
	scatter := func(base, j int) { // dqkv[base + (3c+j)·hw + s] += tmp[c·hw + s]
		for c := 0; c < d; c++ {
			dst := dqkv[base+(3*c+j)*hw : base+(3*c+j+1)*hw]
			for s, v := range tmp[c*hw : (c+1)*hw] {
				dst[s] += v
			}
		}
	}
	for h := 0; h < b.heads; h++ {
		base := h * 3 * d * hw
		P := rec.P[h*hw*hw : (h+1)*hw*hw]
		dah := da[h*d*hw : (h+1)*d*hw]
		// ∂V (d×hw) = ∂O · P
		packAStrided(ap, dah, d, hw, hw, 1)
		clear(tmp)
		ws.src = bSource{in: P, h: 1, w: hw, k: 1}
		ws.gemm(tmp, ap, d, hw, &ws.src, hw)
		scatter(base, 2)
		// ∂P (hw×hw) = ∂Oᵀ · V
		packAStrided(ap, dah, hw, d, 1, hw)
		clear(dP)
		ws.src = bSource{in: qkv[base+2*hw:], h: 1, w: hw, k: 1, cs: 3 * hw}
		ws.gemm(dP, ap, hw, d, &ws.src, hw)
		// softmax: ∂L = P ⊙ (∂P − rowsum(P ⊙ ∂P)), times the logit scale
		for t := 0; t < hw; t++ {
			pr := P[t*hw : (t+1)*hw]
			dr := dP[t*hw : (t+1)*hw]
			var s float64
			for i, v := range pr {
				s += float64(v * dr[i])
			}
			sf := float32(s)
			for i, v := range pr {
				g := v * (dr[i] - sf) * scale
				dr[i] = g
				dLT[i*hw+t] = g
			}
		}
		// ∂Q (d×hw) = K · ∂Lᵀ
		packAStrided(ap, qkv[base+hw:], d, hw, 3*hw, 1)
		clear(tmp)
		ws.src = bSource{in: dLT, h: 1, w: hw, k: 1}
		ws.gemm(tmp, ap, d, hw, &ws.src, hw)
		scatter(base, 0)
		// ∂K (d×hw) = Q · ∂L
		packAStrided(ap, qkv[base:], d, hw, 3*hw, 1)
		clear(tmp)
		ws.src = bSource{in: dP, h: 1, w: hw, k: 1}
		ws.gemm(tmp, ap, d, hw, &ws.src, hw)
		scatter(base, 1)
	}
	nt := rec.nt
	dnt := ws.ar.get(C * hw)
	clear(dnt)
	b.qkv.backward(ws, dnt, nt, 1, hw, dqkv, gp)
	b.norm2.backward(dnt, dOut, rec.xa, hw, false, gp, tp.statsAt(rec.st2, b.norm2.g))
	ws.ar.release(mk)
}

// backward is the convolution's adjoint: given ∂y (cout × output pixels) it adds ∂x into
// dx (nil: not needed; x is the convolution's input before resampling, h×w) and the
// weight and bias gradients into gp (nil: not needed).
func (c *conv2d) backward(ws *workspace, dx, x []float32, h, w int, dy, gp []float32) {
	if c.fused {
		c.backwardFusedDown(ws, dx, x, h, w, dy, gp)
		return
	}
	mk := ws.ar.mark()
	xr, hr, wr := x, h, w
	kf := 0
	if c.up || c.down {
		kf = c.filt.shape[3]
	}
	switch {
	case c.up:
		xr = ws.ar.get(c.cin * 4 * h * w)
		upsample(xr, x, c.cin, h, w, c.filt.data, kf)
		hr, wr = 2*h, 2*w
	case c.down:
		xr = ws.ar.get(c.cin * h * w / 4)
		downsample(xr, x, c.cin, h, w, c.filt.data, kf, (kf-1)/2)
		hr, wr = h/2, w/2
	}
	hwr := hr * wr
	dxr := dy[:c.cout*hwr]
	if c.w != nil {
		if gp != nil {
			c.paramGrad(ws, gp, xr, hr, wr, dy)
		}
		if dx != nil {
			dxr = dx
			if c.up || c.down {
				dxr = ws.ar.get(c.cin * hwr)
				clear(dxr)
			}
			ws.src = bSource{in: dy, h: hr, w: wr, k: c.k}
			ws.gemm(dxr[:c.cin*hwr], c.apT, c.cin, c.cout*c.k*c.k, &ws.src, hwr)
		}
	}
	if dx != nil {
		switch {
		case c.up:
			upsampleT(dx, dxr, c.cin, h, w, c.filt.data, kf)
		case c.down:
			downsampleT(dx, dxr, c.cin, h, w, c.filt.data, kf, (kf-1)/2)
		case c.w == nil:
			for i, v := range dxr {
				dx[i] += v
			}
		}
	}
	ws.ar.release(mk)
}

// paramGrad adds ∂b = Σ_pix ∂y and ∂W = ∂y · im2col(x)ᵀ (x: the conv input, h×w) into gp.
// It computes ∂Wᵀ (K×cout) = im2col(x) (K×hw) · ∂yᵀ (hw×cout), with im2col(x) read in
// place from the padded image (weightGradDirect) or, for cout not a multiple of nr, packed
// straight from the image into the GEMM's A panels (packAIm2col).
func (c *conv2d) paramGrad(ws *workspace, gp, x []float32, h, w int, dy []float32) {
	hw := h * w
	if c.b != nil {
		gb := gp[c.b.off : c.b.off+c.cout]
		for o := range gb {
			gb[o] += sum32(dy[o*hw : (o+1)*hw])
		}
	}
	K := c.cin * c.k * c.k
	mk := ws.ar.mark()
	dyT := ws.ar.get(hw * c.cout)
	tile.Transpose(dyT, dy, c.cout, hw)
	var dwT []float32
	if ws.gradT {
		// gp holds this weight's gradient transposed (LossGrad's per-image buffers): the
		// GEMM adds into it directly, and LossGrad transposes the batch's sum once.
		dwT = gp[c.w.off : c.w.off+K*c.cout]
	} else {
		dwT = ws.ar.get(K * c.cout)
		clear(dwT)
	}
	if c.cout%nr == 0 && c.k%2 == 1 {
		weightGradDirect(ws, dwT, x, c.cin, h, w, c.k, dyT, c.cout)
	} else {
		ap := ws.ar.get(packASize(K, hw))
		packAIm2col(ap, x, c.cin, h, w, c.k)
		ws.src = bSource{in: dyT, h: 1, w: c.cout, k: 1, cs: c.cout}
		ws.gemm(dwT, ap, K, hw, &ws.src, c.cout)
	}
	if ws.gradT {
		ws.ar.release(mk)
		return
	}
	gw := gp[c.w.off : c.w.off+c.cout*K]
	for q0 := 0; q0 < K; q0 += 16 { // in blocks of 16 rows of dwT, so gw's lines stay in cache
		for o := 0; o < c.cout; o++ {
			g := gw[o*K : (o+1)*K]
			for q := q0; q < min(q0+16, K); q++ {
				g[q] += dwT[q*c.cout+o]
			}
		}
	}
	ws.ar.release(mk)
}

// weightGradDirect adds ∂Wᵀ = im2col(x)·∂yᵀ into dwT (K×cout, K = cin·k², k odd, cout a
// multiple of nr) for dyT = ∂yᵀ (h·w × cout), without packing: the input is copied once,
// zero-padded by k/2, and the micro-kernel reads im2col's rows from it in place.
func weightGradDirect(ws *workspace, dwT, x []float32, cin, h, w, k int, dyT []float32, cout int) {
	pad := k / 2
	hp, wp := h+2*pad, w+2*pad
	xp := x
	if k > 1 {
		xp = ws.ar.get(cin * hp * wp)
		padImage(xp, x, cin, h, w, h*w, pad)
	}
	K := cin * k * k
	mpan := (K + mr - 1) / mr
	if cap(ws.offs) < mpan*mr {
		ws.offs = make([]int32, mpan*mr)
	}
	offs := ws.offs[:mpan*mr]
	for q := range offs {
		offs[q] = 0 // rows past K (of the last panel) read a valid place and are dropped
		if q < K {
			ci, r := q/(k*k), q%(k*k)
			offs[q] = int32(ci*hp*wp + (r/k)*wp + r%k)
		}
	}
	if ws.threads == 1 || mpan < 2 {
		weightGradPanels(ws.packB[0], dwT, xp, offs, dyT, K, h, w, wp, cout, 0, mpan)
		return
	}
	chunks := min(ws.threads, mpan)
	per := (mpan + chunks - 1) / chunks
	_ = parallel.For(context.Background(), chunks, ws.threads, func(wk, i int) error {
		if i*per < mpan {
			weightGradPanels(ws.packB[wk], dwT, xp, offs, dyT, K, h, w, wp, cout, i*per, min(mpan, (i+1)*per))
		}
		return nil
	})
}

// weightGradPanels computes the row panels ip0 … ip1−1 (mr rows of K each) of
// weightGradDirect's ∂Wᵀ from the padded input xp (rows wp apart) and the row offsets
// offs, a block of image rows at a time (so that its rows of xp and ∂yᵀ stay in cache);
// tile is scratch of length ≥ mr·nw.
func weightGradPanels(tile, dwT, xp []float32, offs []int32, dyT []float32, K, h, w, wp, cout, ip0, ip1 int) {
	rb := max(1, 512/w) // image rows per block
	for y0 := 0; y0 < h; y0 += rb {
		rows := min(rb, h-y0)
		a := xp[y0*wp:]
		b := dyT[y0*w*cout:]
		for ip := ip0; ip < ip1; ip++ {
			ao := offs[ip*mr : ip*mr+mr]
			nrow := min(mr, K-ip*mr)
			for jo := 0; jo < cout; {
				width, kern := nr, kernelAInd
				if kernelAIndWide != nil && jo+nw <= cout {
					width, kern = nw, kernelAIndWide
				}
				if nrow == mr {
					kern(w, rows, a, ao, wp, b[jo:], cout, dwT[ip*mr*cout+jo:], cout)
				} else {
					t := tile[:mr*width]
					clear(t)
					kern(w, rows, a, ao, wp, b[jo:], cout, t, width)
					for r := 0; r < nrow; r++ {
						cr := dwT[(ip*mr+r)*cout+jo : (ip*mr+r)*cout+jo+width]
						for i := range cr {
							cr[i] += t[r*width+i]
						}
					}
				}
				jo += width
			}
		}
	}
}

// sum32 sums s in float64.
func sum32(s []float32) float32 {
	var a, b, c, d float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		a += float64(s[i])
		b += float64(s[i+1])
		c += float64(s[i+2])
		d += float64(s[i+3])
	}
	for ; i < len(s); i++ {
		a += float64(s[i])
	}
	return float32(a + b + c + d)
}

// packAIm2col packs the im2col matrix of x (cin×h×w) for a k×k convolution with zero
// padding k/2 — row q = (ci·k + dy)·k + dx, column pix, value x[ci][y+dy−k/2][x+dx−k/2] —
// into the panel layout of packA (K = cin·k² rows, h·w columns).
func packAIm2col(dst, x []float32, cin, h, w, k int) {
	K := cin * k * k
	hw := h * w
	pad := k / 2
	np := (K + mr - 1) / mr
	for p := 0; p < np; p++ {
		pan := dst[p*hw*mr : (p+1)*hw*mr]
		for r := 0; r < mr; r++ {
			q := p*mr + r
			if q >= K {
				for i := 0; i < hw; i++ {
					pan[i*mr+r] = 0
				}
				continue
			}
			ci := q / (k * k)
			t := q - ci*k*k
			dy, dx := t/k-pad, t%k-pad
			plane := x[ci*hw : (ci+1)*hw]
			lo, hi := max(0, -dx), min(w, w-dx)
			for y := 0; y < h; y++ {
				yy := y + dy
				out := pan[y*w*mr+r : (y+1)*w*mr]
				if yy < 0 || yy >= h || hi <= lo {
					for xx := 0; xx < w; xx++ {
						out[xx*mr] = 0
					}
					continue
				}
				for xx := 0; xx < lo; xx++ {
					out[xx*mr] = 0
				}
				seg := plane[yy*w+lo+dx : yy*w+hi+dx]
				o := out[lo*mr:]
				_ = o[(len(seg)-1)*mr]
				for j, v := range seg {
					o[j*mr] = v
				}
				for xx := hi; xx < w; xx++ {
					out[xx*mr] = 0
				}
			}
		}
	}
}

// backwardFusedDown is the adjoint of applyFusedDown.
func (c *conv2d) backwardFusedDown(ws *workspace, dx, x []float32, h, w int, dy, gp []float32) {
	mk := ws.ar.mark()
	kf := c.filt.shape[3]
	fp := (kf - 1) / 2
	hp, wp := h+2*fp, w+2*fp
	ho, wo := (hp-kf)/2+1, (wp-kf)/2+1
	dfull := ws.ar.get(c.cout * hp * wp)
	clear(dfull)
	downsampleT(dfull, dy, c.cout, hp, wp, c.filt.data, kf, 0)
	xp := ws.ar.get(c.cin * hp * wp)
	padImage(xp, x, c.cin, h, w, h*w, fp)
	if gp != nil {
		if c.b != nil {
			gb := gp[c.b.off : c.b.off+c.cout]
			for o := range gb {
				var s float64
				for _, v := range dy[o*ho*wo : (o+1)*ho*wo] {
					s += float64(v)
				}
				gb[o] += float32(s)
			}
		}
		bias := c.b
		c.b = nil // the bias was added after the filter: its gradient is done above
		c.paramGrad(ws, gp, xp, hp, wp, dfull)
		c.b = bias
	}
	if dx != nil {
		dxp := ws.ar.get(c.cin * hp * wp)
		clear(dxp)
		ws.src = bSource{in: dfull, h: hp, w: wp, k: c.k}
		ws.gemm(dxp, c.apT, c.cin, c.cout*c.k*c.k, &ws.src, hp*wp)
		for ci := 0; ci < c.cin; ci++ {
			for y := 0; y < h; y++ {
				src := dxp[(ci*hp+y+fp)*wp+fp : (ci*hp+y+fp)*wp+fp+w]
				dst := dx[(ci*h+y)*w : (ci*h+y)*w+w]
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	}
	ws.ar.release(mk)
}

// upsampleT is the adjoint of upsample: dx (ch×h×w) += Σ 4f[i,j]·dy[2y+i−p, 2x+j−p].
func upsampleT(dx, dy []float32, ch, h, w int, f []float32, kf int) {
	if kf == 2 {
		upsample2T(dx, dy, ch, h, w, f)
		return
	}
	upsampleAnyT(dx, dy, ch, h, w, f, kf)
}

// upsample2T is upsampleT with a 2×2 filter: each ∂x gets its four terms added in
// upsampleAnyT's order.
func upsample2T(dx, dy []float32, ch, h, w int, f []float32) {
	ho, wo := 2*h, 2*w
	f0, f1, f2, f3 := 4*f[0], 4*f[1], 4*f[2], 4*f[3]
	for c := 0; c < ch; c++ {
		src := dy[c*ho*wo : (c+1)*ho*wo]
		d := dx[c*h*w : (c+1)*h*w]
		for y := 0; y < h; y++ {
			r0 := src[2*y*wo : (2*y+1)*wo]
			r1 := src[(2*y+1)*wo : (2*y+2)*wo]
			o := d[y*w : (y+1)*w]
			for xx := range o {
				t := o[xx]
				t += f0 * r0[2*xx]
				t += f1 * r0[2*xx+1]
				t += f2 * r1[2*xx]
				t += f3 * r1[2*xx+1]
				o[xx] = t
			}
		}
	}
}

func upsampleAnyT(dx, dy []float32, ch, h, w int, f []float32, kf int) {
	p := (kf - 1) / 2
	ho, wo := 2*h, 2*w
	for c := 0; c < ch; c++ {
		src := dy[c*ho*wo : (c+1)*ho*wo]
		d := dx[c*h*w : (c+1)*h*w]
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
						d[y*w+xx] += fv * src[oy*wo+ox]
					}
				}
			}
		}
	}
}

// downsampleT is the adjoint of downsample: dx (ch×h×w) gets f[i,j]·dy[oy,ox] added at
// (2oy+i−p, 2ox+j−p).
func downsampleT(dx, dy []float32, ch, h, w int, f []float32, kf, p int) {
	if kf == 2 && p == 0 && h >= 2 && w >= 2 {
		downsample2T(dx, dy, ch, h, w, f)
		return
	}
	downsampleAnyT(dx, dy, ch, h, w, f, kf, p)
}

// downsample2T is downsampleT with a 2×2 filter and no padding: each ∂x gets one term.
func downsample2T(dx, dy []float32, ch, h, w int, f []float32) {
	ho, wo := h/2, w/2
	f0, f1, f2, f3 := f[0], f[1], f[2], f[3]
	for c := 0; c < ch; c++ {
		d := dx[c*h*w : (c+1)*h*w]
		g := dy[c*ho*wo : (c+1)*ho*wo]
		for oy := 0; oy < ho; oy++ {
			r0 := d[2*oy*w : 2*oy*w+2*wo]
			r1 := d[(2*oy+1)*w : (2*oy+1)*w+2*wo]
			for ox, gv := range g[oy*wo : (oy+1)*wo] {
				r0[2*ox] += f0 * gv
				r0[2*ox+1] += f1 * gv
				r1[2*ox] += f2 * gv
				r1[2*ox+1] += f3 * gv
			}
		}
	}
}

func downsampleAnyT(dx, dy []float32, ch, h, w int, f []float32, kf, p int) {
	ho := (h+2*p-kf)/2 + 1
	wo := (w+2*p-kf)/2 + 1
	for c := 0; c < ch; c++ {
		d := dx[c*h*w : (c+1)*h*w]
		g := dy[c*ho*wo : (c+1)*ho*wo]
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				gv := g[oy*wo+ox]
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
						d[y*w+xx] += f[i*kf+j] * gv
					}
				}
			}
		}
	}
}

// backward is the adjoint of GroupNorm (followed by SiLU when silu): dy is ∂ of the output
// (overwritten when silu: it becomes ∂ of the normalised affine output), ∂x is added into dx
// (nil: not needed), ∂γ and ∂β into gp. Per-element work is float32; sums are float64. st
// holds the forward pass's statistics of x (groupNorm.applyRec).
func (n *groupNorm) backward(dy, dx, x []float32, hw int, silu bool, gp []float32, st []float64) {
	cg := n.c / n.g
	N := float64(cg * hw)
	for g := 0; g < n.g; g++ {
		mu, inv := st[2*g], st[2*g+1]
		var s1, s2 float64 // Σ γ∂z and Σ γ∂z·ẑ over the group
		for c := g * cg; c < (g+1)*cg; c++ {
			gam := n.w.data[c]
			src := x[c*hw : (c+1)*hw]
			d := dy[c*hw : (c+1)*hw]
			if silu {
				a := float32(inv) * gam
				dsiluMul(d, src, a, n.b.data[c]-float32(mu*inv)*gam)
			}
			sd, sdv := dot2(d, src)
			sdx := inv * (sdv - mu*sd) // Σ ∂z·ẑ
			if gp != nil {
				gp[n.w.off+c] += float32(sdx)
				gp[n.b.off+c] += float32(sd)
			}
			s1 += float64(gam) * sd
			s2 += float64(gam) * sdx
		}
		if dx == nil {
			continue
		}
		// ∂x = inv·(γ∂z − m1 − ẑ·m2) = A·∂z + B·x + C
		m1, m2 := s1/N, s2/N
		B := float32(-inv * inv * m2)
		for c := g * cg; c < (g+1)*cg; c++ {
			A := float32(inv * float64(n.w.data[c]))
			C := float32(-inv*m1 + mu*inv*inv*m2)
			src := x[c*hw : (c+1)*hw]
			d := dy[c*hw : (c+1)*hw]
			o := dx[c*hw : (c+1)*hw]
			for i, v := range src {
				o[i] += A*d[i] + B*v + C
			}
		}
	}
}

// dot2 returns Σd and Σd·x, accumulated in float32 over blocks of 64 and in float64 across.
func dot2(d, x []float32) (sd, sdx float64) {
	x = x[:len(d)]
	for lo := 0; lo < len(d); lo += 64 {
		hi := min(len(d), lo+64)
		var a, b float32
		for i := lo; i < hi; i++ {
			a += d[i]
			b += d[i] * x[i]
		}
		sd += float64(a)
		sdx += float64(b)
	}
	return sd, sdx
}

// backward is the adjoint of the linear layer: ∂x += Wᵀ∂y (dx nil: skipped), ∂W += ∂y xᵀ,
// ∂b += ∂y.
func (l *linear) backward(dx, x, dy, gp []float32) {
	w := l.w.data
	for o := 0; o < l.out; o++ {
		g := dy[o]
		if gp != nil {
			gw := gp[l.w.off+o*l.in : l.w.off+(o+1)*l.in]
			for i, v := range x[:l.in] {
				gw[i] += g * v
			}
			if l.b != nil {
				gp[l.b.off+o] += g
			}
		}
		if dx != nil {
			for i, v := range w[o*l.in : (o+1)*l.in] {
				dx[i] += v * g
			}
		}
	}
}

// dsilu is the derivative of SiLU: σ(z)(1 + z(1 − σ(z))).
func dsilu(z float32) float32 {
	s := 1 / (1 + expf(-z))
	return s * (1 + z*(1-s))
}
