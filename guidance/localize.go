package guidance

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Locality gives a problem's spatial layout to covariance localization: the distance between
// each state coordinate and one datum, in the problem's length units.
type Locality interface {
	// Dims returns the state dimension D and the number of data M it describes.
	Dims() (d, m int)
	// Distances writes into dst (length D, the state dimension) the distance between every
	// state coordinate and datum m (0 ≤ m < M).
	Distances(dst []float64, m int)
}

// PeriodicGrid is the Locality of an N×N grid on the periodic square [0, Length)², row-major,
// observed on every Stride-th point of both axes (datum m = (i, j) sits at grid point
// (i·Stride, j·Stride), as operator.Stride and the Navier–Stokes operator order them). Distances
// are periodic (on the torus).
type PeriodicGrid struct {
	N, Stride int
	Length    float64
}

// Validate returns an error for a non-positive size, stride or length.
func (g PeriodicGrid) Validate() error {
	if g.N < 1 || g.Stride < 1 || !(g.Length > 0) || math.IsInf(g.Length, 0) {
		return fmt.Errorf("guidance: periodic grid N = %d, stride %d, length %v: need positive values", g.N, g.Stride, g.Length)
	}
	return nil
}

// Dims returns D = N² and M = ⌈N/Stride⌉².
func (g PeriodicGrid) Dims() (d, m int) {
	mo := (g.N + g.Stride - 1) / g.Stride
	return g.N * g.N, mo * mo
}

// Distances writes the periodic distances between the N² grid points and datum m.
func (g PeriodicGrid) Distances(dst []float64, m int) {
	n := g.N
	mo := (n + g.Stride - 1) / g.Stride
	oi, oj := (m/mo)*g.Stride, (m%mo)*g.Stride
	h := g.Length / float64(n)
	for i := 0; i < n; i++ {
		di := abs(i - oi)
		di = min(di, n-di)
		dy := float64(di) * h
		row := dst[i*n : (i+1)*n]
		for j := range row {
			dj := abs(j - oj)
			dj = min(dj, n-dj)
			dx := float64(dj) * h
			row[j] = math.Sqrt(dx*dx + dy*dy)
		}
	}
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// GaspariCohn is the compactly supported fifth-order correlation function of Gaspari and
// Cohn (1999, eq. 4.10) with half-width c at distance r ≥ 0: 1 at r = 0, 0 for r ≥ 2c, and
// positive definite in up to three dimensions, so that its Schur product with a covariance
// is a covariance.
func GaspariCohn(r, c float64) float64 {
	z := r / c
	switch {
	case z <= 1:
		return (((-0.25*z+0.5)*z+0.625)*z-5.0/3)*z*z + 1
	case z < 2:
		return ((((z/12-0.5)*z+0.625)*z+5.0/3)*z-5)*z + 4 - 2/(3*z)
	}
	return 0
}

// localization is the state of a localized Kalman update.
type localization struct {
	loc    Locality
	radius float64
	cb     []float64 // block of tapered cross-covariances, mb×D
	tap    []float64 // D
}

// locBlock is the number of data whose cross-covariances a localized update forms at once.
const locBlock = 64

// Localize makes Update localized: the Kalman gain's cross-covariance between state
// coordinate d and datum m is multiplied by ρ(d, m) = GaspariCohn(dist(d, m), radius), the
// covariance localization of ensemble Kalman filters (Houtekamer and Mitchell 2001) that
// Tong and Morzfeld (2023, "Localized ensemble Kalman inversion", Inverse Problems 39)
// analyse for ensemble Kalman inversion. Written with the cross-covariance
// C_xy = (X − X̄)ᵀ(Y − Ȳ)/J (D×M), the update of member j becomes
//
//	x_j ← x_j − (scale/‖C‖_F)·(ρ ∘ C_xy)·e_j,
//
// which with ρ ≡ 1 is Update's C·(X − X̄) row by row, and the step normalisation ‖C‖_F is the
// unlocalized one. The update no longer stays in the span of the ensemble: each state
// coordinate is corrected by the data near it, so an ensemble much smaller than the number
// of data can still fit them. It costs 4·J·D·M flops instead of 2·J²·(D + M). A radius of 0
// (or a nil Locality) turns localization off. Localize allocates its workspace; Update then
// still does not allocate.
func (k *Kalman) Localize(loc Locality, radius float64) error {
	if radius == 0 || loc == nil {
		if radius != 0 {
			return fmt.Errorf("guidance: localization radius %v without a Locality (the problem has no positions)", radius)
		}
		k.local = nil
		return nil
	}
	if !(radius > 0) || math.IsInf(radius, 0) {
		return fmt.Errorf("guidance: localization radius %v must be finite and ≥ 0", radius)
	}
	if g, ok := loc.(PeriodicGrid); ok {
		if err := g.Validate(); err != nil {
			return err
		}
	}
	if d, m := loc.Dims(); d != k.d || m != k.m {
		return fmt.Errorf("guidance: localization describes %d state coordinates and %d data, the problem has %d and %d", d, m, k.d, k.m)
	}
	k.local = &localization{loc: loc, radius: radius, cb: make([]float64, locBlock*k.d), tap: make([]float64, k.d)}
	return nil
}

// updateLocalized applies X ← X − lr·E·(ρ ∘ C_xy)ᵀ with the centred ensembles in k.xc, k.yc,
// in blocks of locBlock data.
func (k *Kalman) updateLocalized(xg, eg blas64.General, lr float64) {
	l := k.local
	j, d, m := k.j, k.d, k.m
	for m0 := 0; m0 < m; m0 += locBlock {
		mb := min(locBlock, m-m0)
		cb := blas64.General{Rows: mb, Cols: d, Stride: d, Data: l.cb[:mb*d]}
		yb := blas64.General{Rows: j, Cols: mb, Stride: m, Data: k.yc[m0:]}
		// C_xyᵀ for data m0…m0+mb−1: (Y − Ȳ)ᵀ(X − X̄)/J, mb×D.
		blas64.Gemm(blas.Trans, blas.NoTrans, 1/float64(j), yb, blas64.General{Rows: j, Cols: d, Stride: d, Data: k.xc}, 0, cb)
		for q := 0; q < mb; q++ {
			l.loc.Distances(l.tap, m0+q)
			row := cb.Data[q*d : (q+1)*d]
			for i, r := range l.tap {
				row[i] *= GaspariCohn(r, l.radius)
			}
		}
		eb := blas64.General{Rows: j, Cols: mb, Stride: eg.Stride, Data: eg.Data[m0:]}
		blas64.Gemm(blas.NoTrans, blas.NoTrans, -lr, eb, cb, 1, xg)
	}
}
