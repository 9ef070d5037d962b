package imaging

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/rng"
)

// Inpaint is the inpainting operator y = m ⊙ x: each channel is multiplied by the same mask m
// (1 = observed, 0 = missing). As in the published code the output has the size of the image,
// with zeros at the missing pixels. It is self-adjoint and safe for concurrent use.
type Inpaint struct {
	shape Shape
	mask  []float64 // H·W
}

// NewInpaint returns the operator multiplying every channel by mask (length H·W, row-major).
// The mask is copied; its entries must be finite (usually 0 or 1).
func NewInpaint(shape Shape, mask []float64) (*Inpaint, error) {
	if err := shape.check(); err != nil {
		return nil, err
	}
	if len(mask) != shape.H*shape.W {
		return nil, fmt.Errorf("imaging: inpainting mask has length %d, want H·W = %d for a %v image: %w",
			len(mask), shape.H*shape.W, shape, ErrShape)
	}
	for i, v := range mask {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("imaging: inpainting mask[%d] = %v is not finite: %w", i, v, ErrShape)
		}
	}
	return &Inpaint{shape: shape, mask: append([]float64(nil), mask...)}, nil
}

// Mask returns the H·W mask (not a copy; do not modify).
func (p *Inpaint) Mask() []float64 { return p.mask }

// InputDim returns C·H·W.
func (p *Inpaint) InputDim() int { return p.shape.Dim() }

// OutputDim returns C·H·W.
func (p *Inpaint) OutputDim() int { return p.shape.Dim() }

// Forward writes m ⊙ x into dst.
func (p *Inpaint) Forward(_ context.Context, dst, x []float64) error {
	if err := checkForward(p, dst, x); err != nil {
		return err
	}
	p.apply(dst, x)
	return nil
}

// Adjoint writes m ⊙ y into dst (the operator is symmetric).
func (p *Inpaint) Adjoint(dst, y []float64) error {
	if err := checkAdjoint(p, dst, y); err != nil {
		return err
	}
	p.apply(dst, y)
	return nil
}

func (p *Inpaint) apply(dst, x []float64) {
	n := len(p.mask)
	for c := 0; c < p.shape.C; c++ {
		d, s := dst[c*n:(c+1)*n], x[c*n:(c+1)*n]
		for i, m := range p.mask {
			d[i] = m * s[i]
		}
	}
}

// Box is a rectangle of pixels: rows [Top, Top+Height), columns [Left, Left+Width).
type Box struct {
	Top, Left, Height, Width int
}

// BoxMaskSettings configures BoxMask. The published FFHQ-256 setting is
// SizeRange = {128, 129}, Margin = {16, 16}.
type BoxMaskSettings struct {
	// SizeRange is [lo, hi): the box height and width are drawn independently and uniformly
	// from lo, …, hi−1 (numpy.random.randint(lo, hi)). The zero value means {H/2, H/2+1}, a box
	// of half the image side (128 on 256×256 images).
	SizeRange [2]int
	// Margin is the minimum distance (rows, columns) of the box from the top and left borders;
	// the top-left corner is drawn from [margin, N − margin − size). The zero value means
	// {H/16, W/16} (16 on 256×256 images); set ZeroMargin for no margin. Negative margins
	// are an error.
	Margin [2]int
	// ZeroMargin requests a margin of 0 (the zero Margin means the default).
	ZeroMargin bool
	// Invert returns 1 − mask: only the box is observed (the published "extreme" mask).
	Invert bool
}

// BoxMask returns an H·W inpainting mask that is 0 inside a random box and 1 outside (or
// the reverse with Invert), and the box. The box is drawn as the published mask_generator
// does, from a stream seeded by seed (so the same seed gives the same box; the positions
// differ from numpy's generator). A box that cannot fit inside the margins is an error.
func BoxMask(h, w int, s BoxMaskSettings, seed uint64) ([]float64, Box, error) {
	if h < 1 || w < 1 {
		return nil, Box{}, fmt.Errorf("imaging: box mask on a %d×%d image: %w", h, w, ErrShape)
	}
	lo, hi := s.SizeRange[0], s.SizeRange[1]
	if lo == 0 && hi == 0 {
		lo, hi = h/2, h/2+1
	}
	mh, mw := s.Margin[0], s.Margin[1]
	if mh == 0 && mw == 0 && !s.ZeroMargin {
		mh, mw = h/16, w/16
	}
	if lo < 1 || hi <= lo {
		return nil, Box{}, fmt.Errorf("imaging: box size range [%d, %d) is empty or not positive: %w", lo, hi, ErrShape)
	}
	if mh < 0 || mw < 0 {
		return nil, Box{}, fmt.Errorf("imaging: negative box margin (%d, %d): %w", mh, mw, ErrShape)
	}
	// The largest box must leave room for at least one position: randint(m, N−m−size) needs
	// N − m − size > m.
	if h-mh-(hi-1) <= mh || w-mw-(hi-1) <= mw {
		return nil, Box{}, fmt.Errorf("imaging: a box of up to %d×%d pixels with margins (%d, %d) does not fit in a %d×%d image: %w",
			hi-1, hi-1, mh, mw, h, w, ErrShape)
	}
	r := rng.New(seed)
	bh := lo + r.IntN(hi-lo)
	bw := lo + r.IntN(hi-lo)
	top := mh + r.IntN(h-mh-bh-mh)
	left := mw + r.IntN(w-mw-bw-mw)
	mask := make([]float64, h*w)
	in, out := 0.0, 1.0
	if s.Invert {
		in, out = 1, 0
	}
	for i := 0; i < h; i++ {
		for j := 0; j < w; j++ {
			v := out
			if i >= top && i < top+bh && j >= left && j < left+bw {
				v = in
			}
			mask[i*w+j] = v
		}
	}
	return mask, Box{Top: top, Left: left, Height: bh, Width: bw}, nil
}

// RandomMask returns an H·W mask with ⌊H·W·p⌋ zeros at pixels chosen uniformly without
// replacement, p ~ U(probLo, probHi) (the published random mask; its FFHQ setting is
// [0.3, 0.7]). probLo = probHi gives a fixed fraction. The draw is seeded by seed.
func RandomMask(h, w int, probLo, probHi float64, seed uint64) ([]float64, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("imaging: random mask on a %d×%d image: %w", h, w, ErrShape)
	}
	if !(probLo >= 0 && probHi <= 1 && probLo <= probHi) {
		return nil, fmt.Errorf("imaging: random-mask probability range [%v, %v] is not inside [0, 1]: %w", probLo, probHi, ErrShape)
	}
	r := rng.New(seed)
	p := probLo + (probHi-probLo)*r.Float64()
	n := h * w
	k := int(float64(n) * p)
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	mask := make([]float64, n)
	for i := range mask {
		mask[i] = 1
	}
	for i := 0; i < k; i++ { // partial Fisher–Yates: perm[:k] is a uniform k-subset
		j := i + r.IntN(n-i)
		perm[i], perm[j] = perm[j], perm[i]
		mask[perm[i]] = 0
	}
	return mask, nil
}
