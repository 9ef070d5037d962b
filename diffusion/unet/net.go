package unet

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// block is EDM's UNetBlock (see the package documentation for its equations).
type block struct {
	name         string
	cin, cout    int
	up, down     bool
	heads        int
	skipScale    float32
	adaptive     bool
	norm0, norm1 *groupNorm
	conv0, conv1 *conv2d
	affine       *linear
	skip         *conv2d
	norm2        *groupNorm
	qkv, proj    *conv2d
}

type blockOpts struct {
	emb          int
	skipScale    float64
	eps          float64
	filter       []int
	resampleProj bool
	adaptive     bool
	numHeads     int // fixed head count (SongUNet: 1); 0 → out/channelsPerHead
	perHead      int
}

func newBlock(r *registry, name string, cin, cout int, up, down, attention bool, o blockOpts) *block {
	b := &block{name: name, cin: cin, cout: cout, up: up, down: down, skipScale: float32(o.skipScale), adaptive: o.adaptive}
	if attention {
		if o.numHeads > 0 {
			b.heads = o.numHeads
		} else {
			b.heads = cout / o.perHead
		}
	}
	b.norm0 = newGroupNorm(r, name+".norm0", cin, o.eps)
	b.conv0 = newConv(r, name+".conv0", cin, cout, 3, true, up, down, o.filter)
	aff := cout
	if o.adaptive {
		aff = 2 * cout
	}
	b.affine = newLinear(r, name+".affine", o.emb, aff, true)
	b.norm1 = newGroupNorm(r, name+".norm1", cout, o.eps)
	b.conv1 = newConv(r, name+".conv1", cout, cout, 3, true, false, false, nil)
	if cout != cin || up || down {
		k := 0
		if o.resampleProj || cout != cin {
			k = 1
		}
		b.skip = newConv(r, name+".skip", cin, cout, k, true, up, down, o.filter)
	}
	if b.heads > 0 {
		b.norm2 = newGroupNorm(r, name+".norm2", cout, o.eps)
		b.qkv = newConv(r, name+".qkv", cout, 3*cout, 1, true, false, false, nil)
		b.proj = newConv(r, name+".proj", cout, cout, 1, true, false, false, nil)
	}
	return b
}

// modKind says what an entry of enc/dec is and how the forward pass wires it.
type modKind int

const (
	modConv        modKind = iota // enc.<res>_conv: plain Conv2d, output pushed on the skip stack
	modBlock                      // UNetBlock
	modAuxDown                    // SongUNet encoder 'skip': aux = down(aux)
	modAuxSkip                    // SongUNet encoder 'skip': x = skips[-1] = x + conv1x1(aux)
	modAuxResidual                // SongUNet encoder 'residual': x = skips[-1] = aux = (x + conv(aux))/√2
	modAuxUp                      // SongUNet decoder 'skip': aux = up(aux)
	modAuxNorm                    // SongUNet decoder output: tmp = GN(x)
	modAuxConv                    // tmp = conv(SiLU(tmp)); aux = tmp (+ aux)
)

// module is one entry of enc/dec.
type module struct {
	name  string
	kind  modKind
	conv  *conv2d
	block *block
	norm  *groupNorm
}

func (m module) outChannels() int {
	if m.block != nil {
		return m.block.cout
	}
	return m.conv.cout
}

// Network is SongUNet (DDPM++) or DhariwalUNet (ADM) with its weights, evaluated in float32.
type Network struct {
	spec     NetworkSpec
	reg      registry
	embCh    int
	noiseCh  int
	mapNoise *posEmb
	map0     *linear
	map1     *linear
	enc, dec []module
	outNorm  *groupNorm // DhariwalUNet out_norm (SongUNet: dec.<res>_aux_norm modules)
	outConv  *conv2d    // DhariwalUNet out_conv
	outName  [2]string  // names of the output norm and conv (F is the output conv)
	// buffer plan (floats per image)
	maxAct int   // largest activation (channels × pixels) anywhere
	encSz  []int // output buffer of each encoder module (0: works in place)
	// training (params.go, grad.go)
	flat      []float32 // the learnable parameters, aliased by the tensors (trainable only)
	trainable bool
	tOnce     sync.Once // builds the transposed conv weights for the backward pass
}

// NewNetwork builds the network described by spec (validated) without weights; the
// tensors it expects are listed by TensorShapes and filled by Load.
func NewNetwork(spec NetworkSpec) (*Network, error) {
	s := Spec{Precond: PrecondSpec{Type: "EDM"}, Network: spec}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	spec = s.Network
	n := &Network{spec: spec}
	r := &n.reg
	mc := spec.ModelChannels
	n.embCh = mc * spec.ChannelMultEmb
	song := spec.Type == "SongUNet"
	var o blockOpts
	if song {
		n.noiseCh = mc * spec.ChannelMultNoise
		if spec.EmbeddingType == "fourier" {
			n.mapNoise = newFourierEmb(r, n.noiseCh, true)
		} else {
			n.mapNoise = newPosEmb(n.noiseCh, true, true)
		}
		o = blockOpts{emb: n.embCh, skipScale: math.Sqrt(0.5), eps: 1e-6, filter: spec.ResampleFilter, resampleProj: true, numHeads: 1}
	} else {
		n.noiseCh = mc
		n.mapNoise = newPosEmb(mc, false, false)
		o = blockOpts{emb: n.embCh, skipScale: 1, eps: 1e-5, filter: []int{1, 1}, adaptive: true, perHead: 64}
	}
	if n.noiseCh%2 != 0 {
		return nil, fmt.Errorf("unet: noise embedding width %d must be even", n.noiseCh)
	}
	if spec.AugmentDim > 0 {
		// map_augment (bias=False in both classes) is applied only when augment labels are
		// given, which never happens at inference: it is loaded and checked, not used.
		r.add("map_augment.weight", false, n.noiseCh, spec.AugmentDim)
	}
	n.map0 = newLinear(r, "map_layer0", n.noiseCh, n.embCh, true)
	n.map1 = newLinear(r, "map_layer1", n.embCh, n.embCh, true)
	attn := func(res int) bool {
		for _, a := range spec.AttnResolutions {
			if a == res {
				return true
			}
		}
		return false
	}
	cout := spec.InChannels
	caux := spec.InChannels
	for level, mult := range spec.ChannelMult {
		res := spec.ImgResolution >> level
		if level == 0 {
			cin := cout
			cout = mc
			if !song {
				cout = mc * mult
			}
			name := fmt.Sprintf("enc.%dx%d_conv", res, res)
			n.enc = append(n.enc, module{name: name, kind: modConv, conv: newConv(r, name, cin, cout, 3, true, false, false, nil)})
		} else {
			name := fmt.Sprintf("enc.%dx%d_down", res, res)
			n.enc = append(n.enc, module{name: name, kind: modBlock, block: newBlock(r, name, cout, cout, false, true, false, o)})
			switch spec.EncoderType {
			case "skip":
				name = fmt.Sprintf("enc.%dx%d_aux_down", res, res)
				n.enc = append(n.enc, module{name: name, kind: modAuxDown, conv: newConv(r, name, caux, caux, 0, true, false, true, spec.ResampleFilter)})
				name = fmt.Sprintf("enc.%dx%d_aux_skip", res, res)
				n.enc = append(n.enc, module{name: name, kind: modAuxSkip, conv: newConv(r, name, caux, cout, 1, true, false, false, nil)})
			case "residual":
				name = fmt.Sprintf("enc.%dx%d_aux_residual", res, res)
				c := newConv(r, name, caux, cout, 3, true, false, true, spec.ResampleFilter)
				c.fused = true
				n.enc = append(n.enc, module{name: name, kind: modAuxResidual, conv: c})
				caux = cout
			}
		}
		for idx := 0; idx < spec.NumBlocks; idx++ {
			cin := cout
			cout = mc * mult
			name := fmt.Sprintf("enc.%dx%d_block%d", res, res, idx)
			n.enc = append(n.enc, module{name: name, kind: modBlock, block: newBlock(r, name, cin, cout, false, false, attn(res), o)})
		}
	}
	var skips []int
	for _, m := range n.enc {
		if m.kind == modConv || m.kind == modBlock {
			skips = append(skips, m.outChannels())
		}
	}
	for level := len(spec.ChannelMult) - 1; level >= 0; level-- {
		mult := spec.ChannelMult[level]
		res := spec.ImgResolution >> level
		if level == len(spec.ChannelMult)-1 {
			name := fmt.Sprintf("dec.%dx%d_in0", res, res)
			n.dec = append(n.dec, module{name: name, kind: modBlock, block: newBlock(r, name, cout, cout, false, false, true, o)})
			name = fmt.Sprintf("dec.%dx%d_in1", res, res)
			n.dec = append(n.dec, module{name: name, kind: modBlock, block: newBlock(r, name, cout, cout, false, false, false, o)})
		} else {
			name := fmt.Sprintf("dec.%dx%d_up", res, res)
			n.dec = append(n.dec, module{name: name, kind: modBlock, block: newBlock(r, name, cout, cout, true, false, false, o)})
		}
		for idx := 0; idx <= spec.NumBlocks; idx++ {
			cin := cout + skips[len(skips)-1]
			skips = skips[:len(skips)-1]
			cout = mc * mult
			a := attn(res)
			if song {
				a = idx == spec.NumBlocks && attn(res)
			}
			name := fmt.Sprintf("dec.%dx%d_block%d", res, res, idx)
			n.dec = append(n.dec, module{name: name, kind: modBlock, block: newBlock(r, name, cin, cout, false, false, a, o)})
		}
		if song && (spec.DecoderType == "skip" || level == 0) {
			if spec.DecoderType == "skip" && level < len(spec.ChannelMult)-1 {
				name := fmt.Sprintf("dec.%dx%d_aux_up", res, res)
				n.dec = append(n.dec, module{name: name, kind: modAuxUp, conv: newConv(r, name, spec.OutChannels, spec.OutChannels, 0, true, true, false, spec.ResampleFilter)})
			}
			nn := fmt.Sprintf("dec.%dx%d_aux_norm", res, res)
			nc := fmt.Sprintf("dec.%dx%d_aux_conv", res, res)
			n.dec = append(n.dec, module{name: nn, kind: modAuxNorm, norm: newGroupNorm(r, nn, cout, 1e-6)})
			n.dec = append(n.dec, module{name: nc, kind: modAuxConv, conv: newConv(r, nc, cout, spec.OutChannels, 3, true, false, false, nil)})
			n.outName = [2]string{nn, nc}
		}
	}
	if !song {
		n.outName = [2]string{"out_norm", "out_conv"}
		n.outNorm = newGroupNorm(r, "out_norm", cout, 1e-5)
		n.outConv = newConv(r, "out_conv", cout, spec.OutChannels, 3, true, false, false, nil)
	}
	if r.err != nil {
		return nil, r.err
	}
	n.plan()
	return n, nil
}

// plan computes the activation sizes (per image) the forward pass needs.
func (n *Network) plan() {
	res := n.spec.ImgResolution
	hw := res * res
	n.maxAct = n.spec.InChannels * hw
	n.encSz = n.encSz[:0]
	upd := func(c, p int) {
		n.maxAct = max(n.maxAct, c*p)
	}
	auxHW := hw
	for _, m := range n.enc {
		sz := 0
		switch m.kind {
		case modBlock:
			b := m.block
			upd(b.cin, hw)
			if b.down {
				hw /= 4
			}
			upd(b.cout, hw)
			sz = b.cout * hw
		case modConv:
			upd(m.conv.cout, hw)
			sz = m.conv.cout * hw
		case modAuxDown:
			auxHW /= 4
			sz = m.conv.cout * auxHW
		case modAuxSkip:
			upd(m.conv.cout, hw)
		case modAuxResidual:
			// zero-padded input and full-size conv output before the fused 2× down
			r := int(math.Sqrt(float64(auxHW)))
			kf := len(n.spec.ResampleFilter)
			p := r + 2*((kf-1)/2)
			upd(max(m.conv.cin, m.conv.cout), p*p)
			upd(m.conv.cout, hw)
			auxHW = hw
		}
		n.encSz = append(n.encSz, sz)
	}
	for _, m := range n.dec {
		switch m.kind {
		case modBlock:
			b := m.block
			upd(b.cin, hw)
			if b.up {
				upd(b.cin, 4*hw)
				hw *= 4
			}
			upd(b.cout, hw)
		case modAuxNorm:
			upd(m.norm.c, hw)
		}
	}
	upd(n.spec.OutChannels, hw)
}

// tensorNames returns the expected state_dict keys (without the "model." prefix), sorted.
func (n *Network) tensorNames() []string {
	out := make([]string, 0, len(n.reg.list))
	for _, t := range n.reg.list {
		out = append(out, t.name)
	}
	sort.Strings(out)
	return out
}

// TensorShapes returns the state_dict entries the network expects (names without the
// wrapper's "model." prefix) and their shapes.
func (n *Network) TensorShapes() map[string][]int {
	out := make(map[string][]int, len(n.reg.list))
	for _, t := range n.reg.list {
		out[t.name] = append([]int(nil), t.shape...)
	}
	return out
}

// NumParams returns the number of learnable parameters (buffers excluded).
func (n *Network) NumParams() int {
	s := 0
	for _, t := range n.reg.list {
		if !t.buffer {
			s += t.size()
		}
	}
	return s
}

// Dim returns C·H·W of the network input.
func (n *Network) Dim() int {
	return n.spec.InChannels * n.spec.ImgResolution * n.spec.ImgResolution
}
