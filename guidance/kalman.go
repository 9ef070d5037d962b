package guidance

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Kalman is the workspace of the ensemble Kalman update shared by EnKG and EKI. For an
// ensemble X (J×D, one member per row), its predictions Y (J×M) and the misfit gradients
// E (J×M, e_j = ∂Loss/∂y at y_j, e.g. y_j − y_obs for the L2 misfit),
//
//	C = E·(Y − Ȳ)ᵀ / J                (J×J),
//	Δ = C·(X − X̄)                     (J×D),
//	X ← X − (scale/‖C‖_F)·Δ,
//
// where Ȳ and X̄ are the ensemble means (subtracted from Y and X only; E is not centred, as in
// the published code). Because the step is normalised by the Frobenius norm ‖C‖_F, constant
// factors of E (the ½ of the published sum-of-squares loss, a noise variance 1/σ²) cancel.
//
// A Kalman value is sized once (NewKalman) and reused: Update does not allocate. It costs
// 2·J²·(M + D) flops in two BLAS Dgemm calls (gonum's pure-Go BLAS unless the program
// registers another implementation with blas64.Use). It is not safe for concurrent use.
type Kalman struct {
	j, d, m  int
	xc, yc   []float64 // centred ensembles, J×D and J×M
	c        []float64 // J×J
	xbar     []float64
	ybar     []float64
	lastNorm float64
	local    *localization // nil: the published, unlocalized update (see Localize)
}

// NewKalman returns the workspace for ensembles of j members of dimension d with
// predictions of dimension m. It returns an error for j < 2 or non-positive dimensions.
func NewKalman(j, d, m int) (*Kalman, error) {
	if j < 2 {
		return nil, fmt.Errorf("guidance: ensemble Kalman update needs at least 2 members, got %d", j)
	}
	if d < 1 || m < 1 {
		return nil, fmt.Errorf("guidance: ensemble Kalman update with dimensions D = %d, M = %d", d, m)
	}
	return &Kalman{
		j: j, d: d, m: m,
		xc:   make([]float64, j*d),
		yc:   make([]float64, j*m),
		c:    make([]float64, j*j),
		xbar: make([]float64, d),
		ybar: make([]float64, m),
	}, nil
}

// Dims returns the ensemble size J, the state dimension D and the prediction dimension M.
func (k *Kalman) Dims() (j, d, m int) { return k.j, k.d, k.m }

// KalmanStep describes one ensemble Kalman update.
type KalmanStep struct {
	NormC float64 // ‖C‖_F
	Step  float64 // scale/‖C‖_F, 0 when C = 0 (nothing to correct)
}

// Update applies X ← X − (scale/‖C‖_F)·C·(X − X̄) in place with C = E·(Y − Ȳ)ᵀ/J. x must be
// J×D, y and e J×M (panics otherwise, like gonum). When ‖C‖_F = 0 (all predictions equal, or
// a perfect fit) the ensemble is left unchanged and Step = 0.
func (k *Kalman) Update(x, y, e *mat.Dense, scale float64) KalmanStep {
	k.check("x", x, k.d)
	k.check("y", y, k.m)
	k.check("e", e, k.m)
	xg, yg, eg := x.RawMatrix(), y.RawMatrix(), e.RawMatrix()
	center(k.xc, k.xbar, xg, k.j, k.d)
	center(k.yc, k.ybar, yg, k.j, k.m)
	j := k.j
	c := blas64.General{Rows: j, Cols: j, Stride: j, Data: k.c}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, eg, blas64.General{Rows: j, Cols: k.m, Stride: k.m, Data: k.yc}, 0, c)
	var ss float64
	fj := float64(j)
	for i := range k.c {
		k.c[i] /= fj
		ss += k.c[i] * k.c[i]
	}
	norm := math.Sqrt(ss)
	k.lastNorm = norm
	if norm == 0 || math.IsNaN(norm) {
		return KalmanStep{NormC: norm}
	}
	lr := scale / norm
	if k.local != nil {
		k.updateLocalized(xg, eg, lr)
		return KalmanStep{NormC: norm, Step: lr}
	}
	blas64.Gemm(blas.NoTrans, blas.NoTrans, -lr, c, blas64.General{Rows: j, Cols: k.d, Stride: k.d, Data: k.xc}, 1, xg)
	return KalmanStep{NormC: norm, Step: lr}
}

// Flops returns the floating-point operations of one Update: 2·J²·(M + D), or with
// localization 2·J²·M + 4·J·D·M.
func (k *Kalman) Flops() float64 {
	if k.local != nil {
		return 2*float64(k.j)*float64(k.j)*float64(k.m) + 4*float64(k.j)*float64(k.d)*float64(k.m)
	}
	return 2 * float64(k.j) * float64(k.j) * float64(k.m+k.d)
}

func (k *Kalman) check(name string, a *mat.Dense, cols int) {
	r, c := a.Dims()
	if r != k.j || c != cols {
		panic(fmt.Sprintf("guidance: Kalman.Update: %s is %d×%d, want %d×%d", name, r, c, k.j, cols))
	}
}

// center writes a − mean(a) (row mean over members) into dst (contiguous rows×cols) and the
// mean into mean.
func center(dst, mean []float64, a blas64.General, rows, cols int) {
	for i := range mean {
		mean[i] = 0
	}
	for r := 0; r < rows; r++ {
		row := a.Data[r*a.Stride : r*a.Stride+cols]
		for i, v := range row {
			mean[i] += v
		}
	}
	inv := float64(rows)
	for i := range mean {
		mean[i] /= inv
	}
	for r := 0; r < rows; r++ {
		row := a.Data[r*a.Stride : r*a.Stride+cols]
		d := dst[r*cols : (r+1)*cols]
		for i, v := range row {
			d[i] = v - mean[i]
		}
	}
}
