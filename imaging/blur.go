package imaging

import (
	"context"
	"fmt"
	"math"
)

// BlurMethod selects how Blur evaluates its correlation.
type BlurMethod int

const (
	// BlurAuto picks the fastest method for the kernel and image size (see NewBlur).
	BlurAuto BlurMethod = iota
	// BlurDirect is the direct 2-D correlation, k² multiply-adds per pixel.
	BlurDirect
	// BlurSeparable is two 1-D passes, 2k multiply-adds per pixel; separable kernels only.
	BlurSeparable
	// BlurFFT multiplies in the Fourier domain of the padded (H+2P)×(W+2P) grid, two
	// channels per complex transform.
	BlurFFT
)

// String returns the method's name.
func (m BlurMethod) String() string {
	switch m {
	case BlurAuto:
		return "auto"
	case BlurDirect:
		return "direct"
	case BlurSeparable:
		return "separable"
	case BlurFFT:
		return "fft"
	}
	return fmt.Sprintf("BlurMethod(%d)", int(m))
}

// BlurSettings configures a Blur. The zero value chooses the method automatically.
type BlurSettings struct {
	Method BlurMethod
}

// Blur is the deblurring forward model: every channel is reflection-padded by P = ⌊k/2⌋ and
// correlated with a k×k kernel (the published Blurkernel: nn.ReflectionPad2d followed by a
// grouped nn.Conv2d). It is linear with an exact adjoint. It keeps scratch space: one
// goroutine at a time.
type Blur struct {
	shape    Shape
	k, pad   int
	hp, wp   int
	kernel   []float64 // k·k, row-major
	row, col []float64 // separable factors K[a,b] = col[a]·row[b], nil if not separable
	method   BlurMethod

	xp, tmp []float64 // hp·wp each
	fft     *fft2
	fh, fw  int          // FFT grid: powers of two ≥ hp×wp
	khat    []complex128 // DFT of the kernel embedded at the origin of the FFT grid
	cbuf    []complex128 // fh·fw
}

// GaussianKernel1D returns the length-size profile g such that the published Gaussian kernel
// is K[a,b] = g[a]·g[b]: scipy.ndimage.gaussian_filter (truncate = 4, reflect mode) applied
// to a centred delta, i.e. the normalised weights exp(−j²/2σ²), |j| ≤ ⌊4σ + ½⌋, folded back
// into the window by scipy's reflection when the radius exceeds ⌊size/2⌋.
func GaussianKernel1D(size int, sigma float64) ([]float64, error) {
	if size < 1 {
		return nil, fmt.Errorf("imaging: Gaussian kernel size %d must be positive: %w", size, ErrShape)
	}
	if !(sigma > 0) || math.IsInf(sigma, 0) {
		return nil, fmt.Errorf("imaging: Gaussian kernel σ = %v must be positive and finite: %w", sigma, ErrShape)
	}
	r := int(4*sigma + 0.5)
	w := make([]float64, 2*r+1)
	var sum float64
	for j := -r; j <= r; j++ {
		w[j+r] = math.Exp(-0.5 / (sigma * sigma) * float64(j*j))
		sum += w[j+r]
	}
	for j := range w {
		w[j] /= sum
	}
	g := make([]float64, size)
	c := size / 2
	for i := 0; i < size; i++ {
		for j := -r; j <= r; j++ {
			if scipyReflect(i+j, size) == c {
				g[i] += w[j+r]
			}
		}
	}
	return g, nil
}

// scipyReflect maps an index onto [0, n) with scipy.ndimage's "reflect" (half-sample
// symmetric, d c b a | a b c d | d c b a) extension.
func scipyReflect(p, n int) int {
	p %= 2 * n
	if p < 0 {
		p += 2 * n
	}
	if p >= n {
		p = 2*n - 1 - p
	}
	return p
}

// torchReflect maps t ∈ [−(n−1), 2n−2] onto [0, n) as torch's ReflectionPad2d does (the edge
// pixel is not repeated: c b | a b c | b a).
func torchReflect(t, n int) int {
	if t < 0 {
		return -t
	}
	if t >= n {
		return 2*(n-1) - t
	}
	return t
}

// GaussianKernel returns the size×size published Gaussian blur kernel (row-major),
// K[a,b] = g[a]·g[b] with g from GaussianKernel1D. The published FFHQ setting is size 61, σ 3.
func GaussianKernel(size int, sigma float64) ([]float64, error) {
	g, err := GaussianKernel1D(size, sigma)
	if err != nil {
		return nil, err
	}
	k := make([]float64, size*size)
	for a := range g {
		for b := range g {
			k[a*size+b] = g[a] * g[b]
		}
	}
	return k, nil
}

// MotionKernel returns a size×size linear-motion kernel: a segment of the given length
// (pixels) through the centre at angle degrees (counter-clockwise from the column axis),
// rasterised by bilinear splatting of 16 samples per pixel of length and normalised to sum 1.
// Length 0 gives the identity kernel. (The published motion blur draws a random trajectory
// with the motionblur package; a kernel saved from it can be passed to NewBlur.)
func MotionKernel(size int, length, angle float64) ([]float64, error) {
	if size < 1 || size%2 == 0 {
		return nil, fmt.Errorf("imaging: motion kernel size %d must be odd and positive: %w", size, ErrShape)
	}
	if !(length >= 0) || length > float64(size-1) || math.IsNaN(angle) || math.IsInf(angle, 0) {
		return nil, fmt.Errorf("imaging: motion kernel length %v must be in [0, %d] and the angle %v finite: %w",
			length, size-1, angle, ErrShape)
	}
	k := make([]float64, size*size)
	c := float64(size / 2)
	n := int(math.Ceil(16*length)) + 1
	th := angle * math.Pi / 180
	dr, dc := -math.Sin(th), math.Cos(th)
	var sum float64
	for s := 0; s < n; s++ {
		t := 0.0
		if n > 1 {
			t = length * (float64(s)/float64(n-1) - 0.5)
		}
		r, q := c+t*dr, c+t*dc
		r0, q0 := math.Floor(r), math.Floor(q)
		fr, fq := r-r0, q-q0
		for _, p := range [4]struct {
			dr, dc int
			w      float64
		}{{0, 0, (1 - fr) * (1 - fq)}, {0, 1, (1 - fr) * fq}, {1, 0, fr * (1 - fq)}, {1, 1, fr * fq}} {
			i, j := int(r0)+p.dr, int(q0)+p.dc
			if p.w == 0 || i < 0 || j < 0 || i >= size || j >= size {
				continue
			}
			k[i*size+j] += p.w
			sum += p.w
		}
	}
	for i := range k {
		k[i] /= sum
	}
	return k, nil
}

// NewGaussianBlur returns the published Gaussian deblurring operator with a size×size kernel
// of standard deviation sigma (GaussianKernel), which is separable.
func NewGaussianBlur(shape Shape, size int, sigma float64, s BlurSettings) (*Blur, error) {
	g, err := GaussianKernel1D(size, sigma)
	if err != nil {
		return nil, err
	}
	k, _ := GaussianKernel(size, sigma)
	return newBlur(shape, k, size, g, g, s)
}

// NewBlur returns the blur with the given size×size kernel (row-major, copied; size odd), used
// as a correlation after reflection padding. BlurAuto chooses between the direct correlation
// and the FFT with a cost model (on 64×64 images the FFT wins from k ≈ 11; see the crossover
// benchmark); BlurSeparable is only available through NewGaussianBlur. The kernel half-width ⌊size/2⌋ must be smaller
// than H and W (the reflection padding needs it).
func NewBlur(shape Shape, kernel []float64, size int, s BlurSettings) (*Blur, error) {
	return newBlur(shape, kernel, size, nil, nil, s)
}

func newBlur(shape Shape, kernel []float64, size int, col, row []float64, s BlurSettings) (*Blur, error) {
	if err := shape.check(); err != nil {
		return nil, err
	}
	if size < 1 || size%2 == 0 {
		return nil, fmt.Errorf("imaging: blur kernel size %d must be odd and positive: %w", size, ErrShape)
	}
	if len(kernel) != size*size {
		return nil, fmt.Errorf("imaging: blur kernel has %d entries, want %d×%d: %w", len(kernel), size, size, ErrShape)
	}
	for i, v := range kernel {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("imaging: blur kernel[%d] = %v is not finite: %w", i, v, ErrShape)
		}
	}
	p := size / 2
	if p >= shape.H || p >= shape.W {
		return nil, fmt.Errorf("imaging: a %d×%d blur kernel is too large for a %d×%d image (reflection padding %d needs H, W > %d): %w",
			size, size, shape.H, shape.W, p, p, ErrShape)
	}
	b := &Blur{shape: shape, k: size, pad: p, hp: shape.H + 2*p, wp: shape.W + 2*p,
		kernel: append([]float64(nil), kernel...), col: col, row: row}
	m := s.Method
	switch m {
	case BlurAuto:
		m = autoBlurMethod(size, col != nil, shape.H, shape.W, b.hp, b.wp)
	case BlurSeparable:
		if col == nil {
			return nil, fmt.Errorf("imaging: the separable blur needs a separable kernel (use NewGaussianBlur): %w", ErrShape)
		}
	case BlurDirect, BlurFFT:
	default:
		return nil, fmt.Errorf("imaging: unknown blur method %d", int(m))
	}
	b.method = m
	n := b.hp * b.wp
	b.xp = make([]float64, n)
	b.tmp = make([]float64, n)
	if m == BlurFFT {
		// Any grid of at least hp×wp gives the valid correlation without wrap-around; round
		// it up to powers of two.
		b.fh, b.fw = fastSize(b.hp), fastSize(b.wp)
		b.fft = newFFT2(b.fh, b.fw)
		b.cbuf = make([]complex128, b.fh*b.fw)
		b.khat = make([]complex128, b.fh*b.fw)
		for a := 0; a < size; a++ {
			for c := 0; c < size; c++ {
				b.khat[a*b.fw+c] = complex(b.kernel[a*size+c], 0)
			}
		}
		b.fft.forward(b.khat)
	}
	return b, nil
}

// autoBlurMethod picks the cheapest method under a cost model calibrated on the crossover
// benchmark (3×64×64 images: direct ≈ FFT at k = 11, separable ≈ FFT at k = 31), in units of
// one direct multiply-add: direct k²·H·W, separable 1.4·k·(H·W_p + H·W), FFT
// 1.5·2·N·log₂N per channel pair with N the power-of-two grid.
func autoBlurMethod(size int, separable bool, h, w, hp, wp int) BlurMethod {
	k := float64(size)
	direct := k * k * float64(h*w)
	fh, fw := fastSize(hp), fastSize(wp)
	n := float64(fh * fw)
	fft := 1.5 * 2 * n * math.Log2(n) / 2 // per channel
	if separable {
		sep := 1.4 * k * float64(h*wp+h*w)
		if sep <= fft {
			return BlurSeparable
		}
		return BlurFFT
	}
	if direct <= fft {
		return BlurDirect
	}
	return BlurFFT
}

// Method returns the method in use.
func (b *Blur) Method() BlurMethod { return b.method }

// Kernel returns the k×k kernel (not a copy; do not modify).
func (b *Blur) Kernel() []float64 { return b.kernel }

// InputDim returns C·H·W.
func (b *Blur) InputDim() int { return b.shape.Dim() }

// OutputDim returns C·H·W.
func (b *Blur) OutputDim() int { return b.shape.Dim() }

// Forward writes the blurred image into dst.
func (b *Blur) Forward(_ context.Context, dst, x []float64) error {
	if err := checkForward(b, dst, x); err != nil {
		return err
	}
	n := b.shape.H * b.shape.W
	if b.method == BlurFFT {
		for c := 0; c < b.shape.C; c += 2 {
			if c+1 < b.shape.C {
				b.fftForward(dst[c*n:(c+1)*n], dst[(c+1)*n:(c+2)*n], x[c*n:(c+1)*n], x[(c+1)*n:(c+2)*n])
			} else {
				b.fftForward(dst[c*n:(c+1)*n], nil, x[c*n:(c+1)*n], nil)
			}
		}
		return nil
	}
	for c := 0; c < b.shape.C; c++ {
		y, xc := dst[c*n:(c+1)*n], x[c*n:(c+1)*n]
		b.padReflect(b.xp, xc)
		if b.method == BlurSeparable {
			b.sepForward(y)
		} else {
			b.directForward(y)
		}
	}
	return nil
}

// Adjoint writes the adjoint of the blur applied to y into dst.
func (b *Blur) Adjoint(dst, y []float64) error {
	if err := checkAdjoint(b, dst, y); err != nil {
		return err
	}
	n := b.shape.H * b.shape.W
	if b.method == BlurFFT {
		for c := 0; c < b.shape.C; c += 2 {
			if c+1 < b.shape.C {
				b.fftAdjoint(dst[c*n:(c+1)*n], dst[(c+1)*n:(c+2)*n], y[c*n:(c+1)*n], y[(c+1)*n:(c+2)*n])
			} else {
				b.fftAdjoint(dst[c*n:(c+1)*n], nil, y[c*n:(c+1)*n], nil)
			}
		}
		return nil
	}
	for c := 0; c < b.shape.C; c++ {
		yc, xc := y[c*n:(c+1)*n], dst[c*n:(c+1)*n]
		if b.method == BlurSeparable {
			b.sepAdjoint(b.xp, yc)
		} else {
			b.directAdjoint(b.xp, yc)
		}
		b.fold(xc, b.xp)
	}
	return nil
}

// padReflect writes the reflection-padded hp×wp copy of the H×W channel x into xp.
func (b *Blur) padReflect(xp, x []float64) {
	h, w, p := b.shape.H, b.shape.W, b.pad
	for i := 0; i < b.hp; i++ {
		xr := x[torchReflect(i-p, h)*w : (torchReflect(i-p, h)+1)*w]
		pr := xp[i*b.wp : (i+1)*b.wp]
		for q := 0; q < p; q++ {
			pr[q] = xr[p-q]
			pr[p+w+q] = xr[w-2-q]
		}
		copy(pr[p:p+w], xr)
	}
}

// fold adds every entry of the padded grid z onto the pixel it was copied from, writing the
// H×W result into x (the adjoint of padReflect). It uses b.tmp.
func (b *Blur) fold(x, z []float64) {
	h, w, p := b.shape.H, b.shape.W, b.pad
	fw := b.tmp[:b.hp*w]
	for i := 0; i < b.hp; i++ {
		zr := z[i*b.wp : (i+1)*b.wp]
		fr := fw[i*w : (i+1)*w]
		copy(fr, zr[p:p+w])
		for q := 0; q < p; q++ {
			fr[p-q] += zr[q]
			fr[w-2-q] += zr[p+w+q]
		}
	}
	copy(x, fw[p*w:(p+h)*w])
	for q := 0; q < p; q++ {
		top, bot := x[(p-q)*w:(p-q+1)*w], x[(h-2-q)*w:(h-1-q)*w]
		ft, fb := fw[q*w:(q+1)*w], fw[(p+h+q)*w:(p+h+q+1)*w]
		for j := range top {
			top[j] += ft[j]
		}
		for j := range bot {
			bot[j] += fb[j]
		}
	}
}

func (b *Blur) directForward(y []float64) {
	h, w, k, wp := b.shape.H, b.shape.W, b.k, b.wp
	for i := 0; i < h; i++ {
		yr := y[i*w : (i+1)*w]
		for j := range yr {
			yr[j] = 0
		}
		for a := 0; a < k; a++ {
			xr := b.xp[(i+a)*wp : (i+a+1)*wp]
			kr := b.kernel[a*k : (a+1)*k]
			for j := range yr {
				xs := xr[j : j+k]
				var t float64
				for c, kv := range kr {
					t += kv * xs[c]
				}
				yr[j] += t
			}
		}
	}
}

// directAdjoint writes the full convolution of y with the kernel on the padded grid into z.
func (b *Blur) directAdjoint(z, y []float64) {
	h, w, k, wp := b.shape.H, b.shape.W, b.k, b.wp
	for i := range z {
		z[i] = 0
	}
	for i := 0; i < h; i++ {
		yr := y[i*w : (i+1)*w]
		for a := 0; a < k; a++ {
			zr := z[(i+a)*wp : (i+a+1)*wp]
			kr := b.kernel[a*k : (a+1)*k]
			for j, v := range yr {
				zs := zr[j : j+k]
				for c, kv := range kr {
					zs[c] += kv * v
				}
			}
		}
	}
}

func (b *Blur) sepForward(y []float64) {
	h, w, k, wp := b.shape.H, b.shape.W, b.k, b.wp
	t := b.tmp[:h*wp]
	// Columns: t[i, q] = Σ_a col[a]·xp[i+a, q].
	for i := 0; i < h; i++ {
		tr := t[i*wp : (i+1)*wp]
		for q := range tr {
			tr[q] = 0
		}
		for a, ca := range b.col {
			xr := b.xp[(i+a)*wp : (i+a+1)*wp]
			for q := range tr {
				tr[q] += ca * xr[q]
			}
		}
	}
	// Rows: y[i, j] = Σ_b row[b]·t[i, j+b].
	for i := 0; i < h; i++ {
		tr := t[i*wp : (i+1)*wp]
		yr := y[i*w : (i+1)*w]
		for j := range yr {
			ts := tr[j : j+k]
			var s float64
			for c, rv := range b.row {
				s += rv * ts[c]
			}
			yr[j] = s
		}
	}
}

func (b *Blur) sepAdjoint(z, y []float64) {
	h, w, k, wp := b.shape.H, b.shape.W, b.k, b.wp
	t := b.tmp[:h*wp]
	for i := 0; i < h; i++ {
		tr := t[i*wp : (i+1)*wp]
		for q := range tr {
			tr[q] = 0
		}
		yr := y[i*w : (i+1)*w]
		for j, v := range yr {
			ts := tr[j : j+k]
			for c, rv := range b.row {
				ts[c] += rv * v
			}
		}
	}
	for i := range z {
		z[i] = 0
	}
	for i := 0; i < h; i++ {
		tr := t[i*wp : (i+1)*wp]
		for a, ca := range b.col {
			zr := z[(i+a)*wp : (i+a+1)*wp]
			for q := range zr {
				zr[q] += ca * tr[q]
			}
		}
	}
}

// fftForward blurs one or two channels (x2 may be nil) with one complex transform pair.
func (b *Blur) fftForward(y1, y2, x1, x2 []float64) {
	h, w, wp, fw := b.shape.H, b.shape.W, b.wp, b.fw
	b.padReflect(b.xp, x1)
	if x2 != nil {
		b.padReflect(b.tmp, x2)
	}
	for i := range b.cbuf {
		b.cbuf[i] = 0
	}
	for i := 0; i < b.hp; i++ {
		cr := b.cbuf[i*fw : i*fw+wp]
		xr := b.xp[i*wp : (i+1)*wp]
		if x2 != nil {
			tr := b.tmp[i*wp : (i+1)*wp]
			for j := range cr {
				cr[j] = complex(xr[j], tr[j])
			}
		} else {
			for j := range cr {
				cr[j] = complex(xr[j], 0)
			}
		}
	}
	b.fft.forward(b.cbuf)
	for i, kv := range b.khat { // correlation: multiply by the conjugate of the kernel's DFT
		b.cbuf[i] *= complex(real(kv), -imag(kv))
	}
	b.fft.inverse(b.cbuf)
	for i := 0; i < h; i++ {
		cr := b.cbuf[i*fw : i*fw+w]
		y1r := y1[i*w : (i+1)*w]
		for j, v := range cr {
			y1r[j] = real(v)
		}
		if y2 != nil {
			y2r := y2[i*w : (i+1)*w]
			for j, v := range cr {
				y2r[j] = imag(v)
			}
		}
	}
}

// fftAdjoint applies the adjoint to one or two channels (y2 may be nil).
func (b *Blur) fftAdjoint(x1, x2, y1, y2 []float64) {
	h, w, wp, fw := b.shape.H, b.shape.W, b.wp, b.fw
	for i := range b.cbuf {
		b.cbuf[i] = 0
	}
	for i := 0; i < h; i++ {
		cr := b.cbuf[i*fw : i*fw+w]
		y1r := y1[i*w : (i+1)*w]
		if y2 != nil {
			y2r := y2[i*w : (i+1)*w]
			for j := range cr {
				cr[j] = complex(y1r[j], y2r[j])
			}
		} else {
			for j := range cr {
				cr[j] = complex(y1r[j], 0)
			}
		}
	}
	b.fft.forward(b.cbuf)
	for i, kv := range b.khat { // full convolution; no wrap-around reaches the H×W support
		b.cbuf[i] *= kv
	}
	b.fft.inverse(b.cbuf)
	for i := 0; i < b.hp; i++ {
		cr := b.cbuf[i*fw : i*fw+wp]
		for j, v := range cr {
			b.xp[i*wp+j] = real(v)
		}
	}
	b.fold(x1, b.xp)
	if x2 != nil {
		for i := 0; i < b.hp; i++ {
			cr := b.cbuf[i*fw : i*fw+wp]
			for j, v := range cr {
				b.xp[i*wp+j] = imag(v)
			}
		}
		b.fold(x2, b.xp)
	}
}
