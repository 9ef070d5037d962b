package imaging

import (
	"context"
	"fmt"
	"math"
)

// DownsampleMethod selects the super-resolution degradation.
type DownsampleMethod int

const (
	// AvgPool averages each s×s block (the default).
	AvgPool DownsampleMethod = iota
	// Bicubic is the antialiased bicubic resizer of the published DPS code (util/resizer.py,
	// MATLAB imresize semantics).
	Bicubic
)

// String returns "avgpool" or "bicubic".
func (m DownsampleMethod) String() string {
	switch m {
	case AvgPool:
		return "avgpool"
	case Bicubic:
		return "bicubic"
	}
	return fmt.Sprintf("DownsampleMethod(%d)", int(m))
}

// Downsample is the super-resolution operator: each channel of an H×W image is reduced to
// (H/s)×(W/s) by average pooling or by the antialiased bicubic resizer. It is linear, with an
// exact adjoint (the published code uses nearest-neighbour upsampling as its "transpose",
// which is not the adjoint). It keeps scratch space: one goroutine at a time.
type Downsample struct {
	shape  Shape
	factor int
	method DownsampleMethod
	ho, wo int
	// bicubic weights per axis: output o reads in[idx[o*taps+k]] with weight wt[o*taps+k].
	idxH, idxW   []int
	wtH, wtW     []float64
	tmp          []float64 // ho·W
	tapsH, tapsW int
}

// NewDownsample returns the factor-s super-resolution operator on images of the given shape.
// s must divide H and W.
func NewDownsample(shape Shape, factor int, method DownsampleMethod) (*Downsample, error) {
	if err := shape.check(); err != nil {
		return nil, err
	}
	if factor < 1 {
		return nil, fmt.Errorf("imaging: super-resolution factor %d must be at least 1: %w", factor, ErrShape)
	}
	if shape.H%factor != 0 || shape.W%factor != 0 {
		return nil, fmt.Errorf("imaging: super-resolution factor %d does not divide the image size %d×%d: %w",
			factor, shape.H, shape.W, ErrShape)
	}
	d := &Downsample{shape: shape, factor: factor, method: method, ho: shape.H / factor, wo: shape.W / factor}
	switch method {
	case AvgPool:
	case Bicubic:
		d.idxH, d.wtH, d.tapsH = resizeWeights(shape.H, factor)
		d.idxW, d.wtW, d.tapsW = resizeWeights(shape.W, factor)
		d.tmp = make([]float64, d.ho*shape.W)
	default:
		return nil, fmt.Errorf("imaging: unknown down-sampling method %d", int(method))
	}
	return d, nil
}

// OutShape returns the shape (C, H/s, W/s) of the measurement.
func (d *Downsample) OutShape() Shape { return Shape{d.shape.C, d.ho, d.wo} }

// InputDim returns C·H·W.
func (d *Downsample) InputDim() int { return d.shape.Dim() }

// OutputDim returns C·(H/s)·(W/s).
func (d *Downsample) OutputDim() int { return d.shape.C * d.ho * d.wo }

// cubic is Keys' cubic convolution kernel with a = −0.5 (MATLAB imresize).
func cubic(x float64) float64 {
	ax := math.Abs(x)
	ax2, ax3 := ax*ax, ax*ax*ax
	switch {
	case ax <= 1:
		return 1.5*ax3 - 2.5*ax2 + 1
	case ax <= 2:
		return -0.5*ax3 + 2.5*ax2 - 4*ax + 2
	}
	return 0
}

// resizeWeights returns the antialiased cubic weights of a 1/s down-sampling of an axis of
// length n to n/s: output o (1-based position u = s·o + (1 − s)/2 on the input axis) reads the
// ⌈4s⌉ + 2 input pixels starting at ⌊u − 2s⌋ − 1 (0-based), with weights
// (1/s)·cubic((u − p)/s) normalised to sum 1 and indices mirrored into [0, n) with the edge
// pixel repeated (d c b a | a b c d).
func resizeWeights(n, s int) (idx []int, wt []float64, taps int) {
	scale := 1 / float64(s)
	width := 4 / scale
	taps = int(math.Ceil(width)) + 2
	m := n / s
	idx = make([]int, m*taps)
	wt = make([]float64, m*taps)
	for o := 0; o < m; o++ {
		u := float64(o+1)/scale + 0.5*(1-1/scale)
		left := math.Floor(u - width/2)
		var sum float64
		for k := 0; k < taps; k++ {
			f := int(left) + k - 1 // 0-based input index before mirroring
			w := scale * cubic(scale*(u-float64(f)-1))
			wt[o*taps+k] = w
			sum += w
			p := f % (2 * n)
			if p < 0 {
				p += 2 * n
			}
			if p >= n {
				p = 2*n - 1 - p
			}
			idx[o*taps+k] = p
		}
		if sum == 0 {
			sum = 1
		}
		for k := 0; k < taps; k++ {
			wt[o*taps+k] /= sum
		}
	}
	return idx, wt, taps
}

// Forward writes the down-sampled image into dst.
func (d *Downsample) Forward(_ context.Context, dst, x []float64) error {
	if err := checkForward(d, dst, x); err != nil {
		return err
	}
	h, w := d.shape.H, d.shape.W
	for c := 0; c < d.shape.C; c++ {
		xc := x[c*h*w : (c+1)*h*w]
		yc := dst[c*d.ho*d.wo : (c+1)*d.ho*d.wo]
		if d.method == AvgPool {
			d.poolForward(yc, xc)
		} else {
			d.bicubicForward(yc, xc)
		}
	}
	return nil
}

// Adjoint writes the adjoint of the down-sampling applied to y into dst.
func (d *Downsample) Adjoint(dst, y []float64) error {
	if err := checkAdjoint(d, dst, y); err != nil {
		return err
	}
	h, w := d.shape.H, d.shape.W
	for c := 0; c < d.shape.C; c++ {
		xc := dst[c*h*w : (c+1)*h*w]
		yc := y[c*d.ho*d.wo : (c+1)*d.ho*d.wo]
		if d.method == AvgPool {
			d.poolAdjoint(xc, yc)
		} else {
			d.bicubicAdjoint(xc, yc)
		}
	}
	return nil
}

func (d *Downsample) poolForward(y, x []float64) {
	s, w := d.factor, d.shape.W
	inv := 1 / float64(s*s)
	for i := 0; i < d.ho; i++ {
		yr := y[i*d.wo : (i+1)*d.wo]
		for j := range yr {
			yr[j] = 0
		}
		for a := 0; a < s; a++ {
			xr := x[(i*s+a)*w : (i*s+a+1)*w]
			for j := range yr {
				var t float64
				for _, v := range xr[j*s : (j+1)*s] {
					t += v
				}
				yr[j] += t
			}
		}
		for j := range yr {
			yr[j] *= inv
		}
	}
}

func (d *Downsample) poolAdjoint(x, y []float64) {
	s, w := d.factor, d.shape.W
	inv := 1 / float64(s*s)
	for i := 0; i < d.ho; i++ {
		yr := y[i*d.wo : (i+1)*d.wo]
		for a := 0; a < s; a++ {
			xr := x[(i*s+a)*w : (i*s+a+1)*w]
			for j, v := range yr {
				v *= inv
				for b := j * s; b < (j+1)*s; b++ {
					xr[b] = v
				}
			}
		}
	}
}

func (d *Downsample) bicubicForward(y, x []float64) {
	w := d.shape.W
	tmp := d.tmp
	// Along H: tmp[o, j] = Σ_k wtH[o,k]·x[idxH[o,k], j].
	for o := 0; o < d.ho; o++ {
		tr := tmp[o*w : (o+1)*w]
		for j := range tr {
			tr[j] = 0
		}
		for k := 0; k < d.tapsH; k++ {
			wk := d.wtH[o*d.tapsH+k]
			if wk == 0 {
				continue
			}
			xr := x[d.idxH[o*d.tapsH+k]*w:]
			for j := range tr {
				tr[j] += wk * xr[j]
			}
		}
	}
	// Along W: y[o, q] = Σ_k wtW[q,k]·tmp[o, idxW[q,k]].
	for o := 0; o < d.ho; o++ {
		tr := tmp[o*w : (o+1)*w]
		yr := y[o*d.wo : (o+1)*d.wo]
		for q := range yr {
			var t float64
			iw := d.idxW[q*d.tapsW : (q+1)*d.tapsW]
			for k, wk := range d.wtW[q*d.tapsW : (q+1)*d.tapsW] {
				t += wk * tr[iw[k]]
			}
			yr[q] = t
		}
	}
}

func (d *Downsample) bicubicAdjoint(x, y []float64) {
	w := d.shape.W
	tmp := d.tmp
	for i := range tmp {
		tmp[i] = 0
	}
	for o := 0; o < d.ho; o++ {
		tr := tmp[o*w : (o+1)*w]
		yr := y[o*d.wo : (o+1)*d.wo]
		for q, v := range yr {
			iw := d.idxW[q*d.tapsW : (q+1)*d.tapsW]
			for k, wk := range d.wtW[q*d.tapsW : (q+1)*d.tapsW] {
				tr[iw[k]] += wk * v
			}
		}
	}
	for i := range x {
		x[i] = 0
	}
	for o := 0; o < d.ho; o++ {
		tr := tmp[o*w : (o+1)*w]
		for k := 0; k < d.tapsH; k++ {
			wk := d.wtH[o*d.tapsH+k]
			if wk == 0 {
				continue
			}
			xr := x[d.idxH[o*d.tapsH+k]*w : (d.idxH[o*d.tapsH+k]+1)*w]
			for j := range xr {
				xr[j] += wk * tr[j]
			}
		}
	}
}
