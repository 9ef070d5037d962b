package spectral

import (
	"math"
)

// cfft is a precomputed complex FFT of length n: a self-sorting (Stockham) decimation-in-
// frequency algorithm made of radix-4 stages, at most one radix-2 stage, and radix-3, -5
// or generic radix-p stages for the odd prime factors of n (Bluestein's algorithm when a
// prime factor exceeds maxRadix). A stage of sub-transform length m and
// stride s maps
//
//	y[s·(r·p + k) + q] = w_m^{p·k} · Σ_{j<r} x[s·(p + j·m/r) + q] · ω_r^{j·k},
//
// with w_m = exp(∓2πi/m), ω_r = exp(∓2πi/r), p < m/r, q < s. Each "element" of the
// sequence may be a contiguous vector of v complex numbers (q then runs over s·v entries),
// which turns a column pass of a row-major 2-D array into long unit-stride loops.
type cfft struct {
	n      int
	stages []fftStage
	maxR   int
	blue   *bluestein // set instead of stages when n has a prime factor > maxRadix
}

type fftStage struct {
	radix, m int
	fwd, inv []complex128 // twiddles w^{p·k}, p < m/r, k = 1…r−1 (radix 2/4) or k = 0…r−1 (generic)
	rootF    []complex128 // ω_r^{j} forward (generic radix only)
	rootI    []complex128
}

// expm returns exp(−2πi·a/b). The angle is reduced exactly in integers to the first
// octant, so quarter-turn multiples (±1, ±i) are exact and all values are symmetric to the
// last bit.
func expm(a, b int) complex128 {
	a %= b
	if a < 0 {
		a += b
	}
	q, r := (4*a)/b, (4*a)%b // θ = 2πa/b = q·π/2 + φ, φ = (π/2)·r/b
	var s, c float64
	if 2*r <= b {
		s, c = math.Sincos(math.Pi / 2 * float64(r) / float64(b))
	} else {
		c, s = math.Sincos(math.Pi / 2 * float64(b-r) / float64(b))
	}
	switch q {
	case 1:
		c, s = -s, c
	case 2:
		c, s = -c, -s
	case 3:
		c, s = s, -c
	}
	return complex(c, -s)
}

func newCFFT(n int) *cfft {
	if largestPrimeFactor(n) > maxRadix {
		return &cfft{n: n, maxR: 1, blue: newBluestein(n)}
	}
	f := &cfft{n: n, maxR: 1}
	m := n
	for m > 1 {
		var r int
		switch {
		case m%4 == 0:
			r = 4
		case m%2 == 0:
			r = 2
		default:
			r = 3
			for m%r != 0 {
				r += 2
			}
		}
		st := fftStage{radix: r, m: m}
		n1 := m / r
		switch r {
		case 2, 4:
			st.fwd = make([]complex128, n1*(r-1))
			st.inv = make([]complex128, n1*(r-1))
			for p := 0; p < n1; p++ {
				for k := 1; k < r; k++ {
					w := expm(p*k, m)
					st.fwd[p*(r-1)+k-1] = w
					st.inv[p*(r-1)+k-1] = complex(real(w), -imag(w))
				}
			}
		default:
			st.fwd = make([]complex128, n1*r)
			st.inv = make([]complex128, n1*r)
			for p := 0; p < n1; p++ {
				for k := 0; k < r; k++ {
					w := expm(p*k, m)
					st.fwd[p*r+k] = w
					st.inv[p*r+k] = complex(real(w), -imag(w))
				}
			}
			st.rootF = make([]complex128, r)
			st.rootI = make([]complex128, r)
			for j := 0; j < r; j++ {
				w := expm(j, r)
				st.rootF[j] = w
				st.rootI[j] = complex(real(w), -imag(w))
			}
			if r > f.maxR {
				f.maxR = r
			}
		}
		f.stages = append(f.stages, st)
		m = n1
	}
	return f
}

// transform computes the unnormalised DFT (exp(−2πi…), or exp(+2πi…) when inv) of the
// sequence src of n elements, each a vector of v complex numbers (element i is
// src[i·v:(i+1)·v]), into dst. work must hold n·v values and be distinct from dst; src may
// equal dst (then it is overwritten) or work. tmp must hold maxR values.
func (f *cfft) transform(dst, src, work, tmp []complex128, v int, inv bool) {
	nv := f.n * v
	dst, src, work = dst[:nv], src[:nv], work[:nv]
	if f.blue != nil {
		f.blue.transform(dst, src, v, inv)
		return
	}
	f.runStages(0, len(f.stages), dst, src, work, tmp, v, inv)
}

// runStages runs stages first…last−1 (the sequence having been through stages 0…first−1
// already, so the stride starts at v·Π radix) with the output in dst; the aliasing rules
// of transform apply. The Bluestein variant is not staged and must use transform.
func (f *cfft) runStages(first, last int, dst, src, work, tmp []complex128, v int, inv bool) {
	nv := f.n * v
	dst, src, work = dst[:nv], src[:nv], work[:nv]
	k := last - first
	if k == 0 {
		if &dst[0] != &src[0] {
			copy(dst, src)
		}
		return
	}
	s := v
	for i := 0; i < first; i++ {
		s *= f.stages[i].radix
	}
	// Stage first+i writes to dst when k−1−i is even, else to work; the first stage run
	// must not overwrite its own input.
	out0 := dst
	if (k-1)%2 == 1 {
		out0 = work
	}
	if &out0[0] == &src[0] {
		other := work
		if &out0[0] == &work[0] {
			other = dst
		}
		copy(other, src)
		src = other
	}
	in := src
	for i := first; i < last; i++ {
		st := &f.stages[i]
		out := dst
		if (k-1-(i-first))%2 == 1 {
			out = work
		}
		switch st.radix {
		case 4:
			if inv {
				radix4(out, in, st.m, s, st.inv, true)
			} else {
				radix4(out, in, st.m, s, st.fwd, false)
			}
		case 2:
			if inv {
				radix2(out, in, st.m, s, st.inv)
			} else {
				radix2(out, in, st.m, s, st.fwd)
			}
		case 3:
			if inv {
				radix3(out, in, st.m, s, st.inv, true)
			} else {
				radix3(out, in, st.m, s, st.fwd, false)
			}
		case 5:
			if inv {
				radix5(out, in, st.m, s, st.inv, true)
			} else {
				radix5(out, in, st.m, s, st.fwd, false)
			}
		default:
			if inv {
				radixG(out, in, st.m, st.radix, s, st.inv, st.rootI, tmp)
			} else {
				radixG(out, in, st.m, st.radix, s, st.fwd, st.rootF, tmp)
			}
		}
		in = out
		s *= st.radix
	}
}

// radix4 is one radix-4 Stockham stage (see cfft); s is the stride in complex values.
func radix4(y, x []complex128, m, s int, tw []complex128, inv bool) {
	n1 := m / 4
	if s == 1 {
		radix4s1(y, x, n1, tw, inv)
		return
	}
	if radix4Vec(y, x, m, s, tw, inv) {
		return
	}
	for p := 0; p < n1; p++ {
		x0 := x[s*p : s*p+s]
		x1 := x[s*(p+n1) : s*(p+n1)+s]
		x2 := x[s*(p+2*n1) : s*(p+2*n1)+s]
		x3 := x[s*(p+3*n1) : s*(p+3*n1)+s]
		o := 4 * p * s
		y0 := y[o : o+s]
		y1 := y[o+s : o+2*s]
		y2 := y[o+2*s : o+3*s]
		y3 := y[o+3*s : o+4*s]
		x1, x2, x3 = x1[:len(x0)], x2[:len(x0)], x3[:len(x0)]
		y0, y1, y2, y3 = y0[:len(x0)], y1[:len(x0)], y2[:len(x0)], y3[:len(x0)]
		if p == 0 {
			if inv {
				for q, a := range x0 {
					b, c, d := x1[q], x2[q], x3[q]
					apc, amc := a+c, a-c
					bpd, bmd := b+d, b-d
					jb := complex(-imag(bmd), real(bmd))
					y0[q] = apc + bpd
					y1[q] = amc + jb
					y2[q] = apc - bpd
					y3[q] = amc - jb
				}
			} else {
				for q, a := range x0 {
					b, c, d := x1[q], x2[q], x3[q]
					apc, amc := a+c, a-c
					bpd, bmd := b+d, b-d
					jb := complex(-imag(bmd), real(bmd))
					y0[q] = apc + bpd
					y1[q] = amc - jb
					y2[q] = apc - bpd
					y3[q] = amc + jb
				}
			}
			continue
		}
		w1, w2, w3 := tw[3*p], tw[3*p+1], tw[3*p+2]
		if inv {
			for q, a := range x0 {
				b, c, d := x1[q], x2[q], x3[q]
				apc, amc := a+c, a-c
				bpd, bmd := b+d, b-d
				jb := complex(-imag(bmd), real(bmd))
				y0[q] = apc + bpd
				y1[q] = w1 * (amc + jb)
				y2[q] = w2 * (apc - bpd)
				y3[q] = w3 * (amc - jb)
			}
		} else {
			for q, a := range x0 {
				b, c, d := x1[q], x2[q], x3[q]
				apc, amc := a+c, a-c
				bpd, bmd := b+d, b-d
				jb := complex(-imag(bmd), real(bmd))
				y0[q] = apc + bpd
				y1[q] = w1 * (amc - jb)
				y2[q] = w2 * (apc - bpd)
				y3[q] = w3 * (amc + jb)
			}
		}
	}
}

// radix4s1 is the first radix-4 stage of a single (v = 1) sequence: stride 1.
func radix4s1(y, x []complex128, n1 int, tw []complex128, inv bool) {
	x0 := x[:n1]
	x1 := x[n1 : 2*n1]
	x2 := x[2*n1 : 3*n1]
	x3 := x[3*n1 : 4*n1]
	y = y[:4*n1]
	tw = tw[:3*n1]
	if inv {
		for p, a := range x0 {
			b, c, d := x1[p], x2[p], x3[p]
			apc, amc := a+c, a-c
			bpd, bmd := b+d, b-d
			jb := complex(-imag(bmd), real(bmd))
			w := tw[3*p : 3*p+3 : 3*p+3]
			o := y[4*p : 4*p+4 : 4*p+4]
			o[0] = apc + bpd
			o[1] = w[0] * (amc + jb)
			o[2] = w[1] * (apc - bpd)
			o[3] = w[2] * (amc - jb)
		}
		return
	}
	for p, a := range x0 {
		b, c, d := x1[p], x2[p], x3[p]
		apc, amc := a+c, a-c
		bpd, bmd := b+d, b-d
		jb := complex(-imag(bmd), real(bmd))
		w := tw[3*p : 3*p+3 : 3*p+3]
		o := y[4*p : 4*p+4 : 4*p+4]
		o[0] = apc + bpd
		o[1] = w[0] * (amc - jb)
		o[2] = w[1] * (apc - bpd)
		o[3] = w[2] * (amc + jb)
	}
}

// radix2 is one radix-2 Stockham stage.
func radix2(y, x []complex128, m, s int, tw []complex128) {
	if radix2Vec(y, x, m, s) {
		return
	}
	n1 := m / 2
	for p := 0; p < n1; p++ {
		x0 := x[s*p : s*p+s]
		x1 := x[s*(p+n1) : s*(p+n1)+s]
		o := 2 * p * s
		y0 := y[o : o+s]
		y1 := y[o+s : o+2*s]
		x1, y0, y1 = x1[:len(x0)], y0[:len(x0)], y1[:len(x0)]
		if p == 0 {
			for q, a := range x0 {
				b := x1[q]
				y0[q] = a + b
				y1[q] = a - b
			}
			continue
		}
		w := tw[p]
		for q, a := range x0 {
			b := x1[q]
			y0[q] = a + b
			y1[q] = w * (a - b)
		}
	}
}

// radixG is one generic radix-r Stockham stage (odd prime r), O(r²) per butterfly.
func radixG(y, x []complex128, m, r, s int, tw, root, tmp []complex128) {
	n1 := m / r
	tmp = tmp[:r]
	for p := 0; p < n1; p++ {
		w := tw[p*r : p*r+r]
		for q := 0; q < s; q++ {
			for j := range tmp {
				tmp[j] = x[s*(p+j*n1)+q]
			}
			for k := 0; k < r; k++ {
				var sum complex128
				idx := 0
				for _, a := range tmp {
					sum += a * root[idx]
					idx += k
					if idx >= r {
						idx -= r
					}
				}
				y[s*(r*p+k)+q] = w[k] * sum
			}
		}
	}
}

// radix3 is one radix-3 Stockham stage (twiddle layout of the generic stages: w^{p·k},
// k = 0…2). With ω = exp(∓2πi/3): X0 = a+b+c, X1,2 = a − (b+c)/2 ∓ i·(√3/2)(b−c) (forward
// signs; the inverse flips the i term).
func radix3(y, x []complex128, m, s int, tw []complex128, inv bool) {
	n1 := m / 3
	sn := math.Sqrt(3) / 2
	if inv {
		sn = -sn
	}
	for p := 0; p < n1; p++ {
		x0 := x[s*p : s*p+s]
		x1 := x[s*(p+n1) : s*(p+n1)+s]
		x2 := x[s*(p+2*n1) : s*(p+2*n1)+s]
		o := 3 * p * s
		y0, y1, y2 := y[o:o+s], y[o+s:o+2*s], y[o+2*s:o+3*s]
		x1, x2 = x1[:len(x0)], x2[:len(x0)]
		y0, y1, y2 = y0[:len(x0)], y1[:len(x0)], y2[:len(x0)]
		w1, w2 := tw[3*p+1], tw[3*p+2]
		for q, a := range x0 {
			b, c := x1[q], x2[q]
			t1 := b + c
			t2 := a - complex(0.5*real(t1), 0.5*imag(t1))
			d := b - c
			t3 := complex(sn*imag(d), -sn*real(d)) // −i·sn·(b−c)
			y0[q] = a + t1
			y1[q] = w1 * (t2 + t3)
			y2[q] = w2 * (t2 - t3)
		}
	}
}

// radix5 is one radix-5 Stockham stage: with t1 = x1+x4, t2 = x2+x3, t3 = x1−x4,
// t4 = x2−x3, c_k = cos(2πk/5), s_k = sin(2πk/5):
// X0 = a+t1+t2, X1,4 = a + c1 t1 + c2 t2 ∓ i(s1 t3 + s2 t4), X2,3 = a + c2 t1 + c1 t2 ∓ i(s2 t3 − s1 t4)
// (forward signs; the inverse flips the i terms).
func radix5(y, x []complex128, m, s int, tw []complex128, inv bool) {
	n1 := m / 5
	c1, c2 := math.Cos(2*math.Pi/5), math.Cos(4*math.Pi/5)
	s1, s2 := math.Sin(2*math.Pi/5), math.Sin(4*math.Pi/5)
	if inv {
		s1, s2 = -s1, -s2
	}
	for p := 0; p < n1; p++ {
		x0 := x[s*p : s*p+s]
		xa := x[s*(p+n1) : s*(p+n1)+s]
		xb := x[s*(p+2*n1) : s*(p+2*n1)+s]
		xc := x[s*(p+3*n1) : s*(p+3*n1)+s]
		xd := x[s*(p+4*n1) : s*(p+4*n1)+s]
		o := 5 * p * s
		y0, y1, y2, y3, y4 := y[o:o+s], y[o+s:o+2*s], y[o+2*s:o+3*s], y[o+3*s:o+4*s], y[o+4*s:o+5*s]
		xa, xb, xc, xd = xa[:len(x0)], xb[:len(x0)], xc[:len(x0)], xd[:len(x0)]
		y0, y1, y2, y3, y4 = y0[:len(x0)], y1[:len(x0)], y2[:len(x0)], y3[:len(x0)], y4[:len(x0)]
		w1, w2, w3, w4 := tw[5*p+1], tw[5*p+2], tw[5*p+3], tw[5*p+4]
		for q, a := range x0 {
			t1, t2 := xa[q]+xd[q], xb[q]+xc[q]
			t3, t4 := xa[q]-xd[q], xb[q]-xc[q]
			m1 := a + complex(c1*real(t1)+c2*real(t2), c1*imag(t1)+c2*imag(t2))
			m2 := a + complex(c2*real(t1)+c1*real(t2), c2*imag(t1)+c1*imag(t2))
			u1 := complex(s1*real(t3)+s2*real(t4), s1*imag(t3)+s2*imag(t4))
			u2 := complex(s2*real(t3)-s1*real(t4), s2*imag(t3)-s1*imag(t4))
			// −i·u = (Im u, −Re u)
			iu1 := complex(imag(u1), -real(u1))
			iu2 := complex(imag(u2), -real(u2))
			y0[q] = a + t1 + t2
			y1[q] = w1 * (m1 + iu1)
			y4[q] = w4 * (m1 - iu1)
			y2[q] = w2 * (m2 + iu2)
			y3[q] = w3 * (m2 - iu2)
		}
	}
}

// maxRadix is the largest prime handled by a generic radix-p stage (cost ∝ p per point);
// lengths with a larger prime factor use Bluestein's algorithm instead.
const maxRadix = 31

func largestPrimeFactor(n int) int {
	l := 1
	for p := 2; p*p <= n; p++ {
		for n%p == 0 {
			l, n = p, n/p
		}
	}
	return max(l, n)
}

// bluestein computes a length-n DFT as a circular convolution of length M = 2^k ≥ 2n−1
// (Bluestein's chirp-z algorithm): with w_j = exp(−iπ j²/n),
//
//	X_k = w_k · Σ_j (x_j w_j) · w̄_{k−j},
//
// evaluated with two power-of-two FFTs and a precomputed transform of the chirp (the inverse
// DFT uses w̄ for w). Scratch grows on first use with a given vector length, then is reused.
type bluestein struct {
	n, m     int
	sub      *cfft
	chirp    []complex128 // w_j, j < n
	fbF, fbI []complex128 // FFT_M(b)/M for the forward and inverse chirp kernels
	a, work  []complex128
	tmp      []complex128
}

func newBluestein(n int) *bluestein {
	m := 1
	for m < 2*n-1 {
		m *= 2
	}
	b := &bluestein{n: n, m: m, sub: newCFFT(m), chirp: make([]complex128, n)}
	for j := range b.chirp {
		b.chirp[j] = expm(j*j%(2*n), 2*n) // exp(−2πi·j²/(2n)) = exp(−iπ j²/n)
	}
	kf := make([]complex128, m)
	ki := make([]complex128, m)
	for j := 0; j < n; j++ {
		w := b.chirp[j]
		kf[j] = complex(real(w), -imag(w)) // forward kernel w̄_j
		ki[j] = w
		if j > 0 {
			kf[m-j] = kf[j]
			ki[m-j] = ki[j]
		}
	}
	work := make([]complex128, m)
	tmp := make([]complex128, b.sub.maxR)
	b.sub.transform(kf, kf, work, tmp, 1, false)
	b.sub.transform(ki, ki, work, tmp, 1, false)
	s := 1 / float64(m)
	for i := range kf {
		kf[i] = complex(s*real(kf[i]), s*imag(kf[i]))
		ki[i] = complex(s*real(ki[i]), s*imag(ki[i]))
	}
	b.fbF, b.fbI = kf, ki
	b.tmp = tmp
	return b
}

func (b *bluestein) transform(dst, src []complex128, v int, inv bool) {
	n, m := b.n, b.m
	if len(b.a) < m*v {
		b.a = make([]complex128, m*v)
		b.work = make([]complex128, m*v)
	}
	a, work := b.a[:m*v], b.work[:m*v]
	fb := b.fbF
	if inv {
		fb = b.fbI
	}
	for j := 0; j < n; j++ {
		w := b.chirp[j]
		if inv {
			w = complex(real(w), -imag(w))
		}
		row, out := src[j*v:(j+1)*v], a[j*v:(j+1)*v]
		for l, x := range row {
			out[l] = x * w
		}
	}
	clear(a[n*v:])
	b.sub.transform(a, a, work, b.tmp, v, false)
	for k := 0; k < m; k++ {
		f := fb[k]
		row := a[k*v : (k+1)*v]
		for l, x := range row {
			row[l] = x * f
		}
	}
	b.sub.transform(a, a, work, b.tmp, v, true)
	for k := 0; k < n; k++ {
		w := b.chirp[k]
		if inv {
			w = complex(real(w), -imag(w))
		}
		row, out := a[k*v:(k+1)*v], dst[k*v:(k+1)*v]
		for l, x := range row {
			out[l] = x * w
		}
	}
}
