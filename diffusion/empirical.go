package diffusion

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/enkg-go/enkg/internal/parallel"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// Empirical is the prior that puts equal mass on each of M training samples x_k. Its
// exact denoiser (the optimal denoiser of the training set, which memorises it) is
//
//	D(x; σ) = Σ_k softmax_k(−‖x − x_k‖²/(2σ²)) · x_k,
//
// and D(x; 0) is the nearest sample. Members are processed in blocks and the data in
// chunks with a streaming (online) softmax, so memory stays O(block·(chunk + D)) and the
// logits 2x·x_k − ‖x_k‖² come from matrix products. The summation order is fixed, so the
// result does not depend on Workers. It is safe for concurrent use.
type Empirical struct {
	data    *mat.Dense
	norms   []float64
	Workers int
	// Chunk is the number of training samples per streaming step (0: 256).
	Chunk int
	Norm  Affine
}

// EmpiricalSettings configure NewEmpirical.
type EmpiricalSettings struct {
	// Subset, if positive and below M, keeps a random subset of that many samples (chosen
	// by rng.New(Seed), kept in data order).
	Subset int
	Seed   uint64
}

// NewEmpirical returns the empirical prior over the rows of data (copied).
func NewEmpirical(data *mat.Dense, s EmpiricalSettings) (*Empirical, error) {
	m, d := data.Dims()
	if m == 0 || d == 0 {
		return nil, fmt.Errorf("%w: empirical prior over an empty dataset (%d×%d)", ErrDim, m, d)
	}
	rows := make([]int, m)
	for i := range rows {
		rows[i] = i
	}
	if s.Subset < 0 {
		return nil, fmt.Errorf("%w: empirical subset size %d", ErrParam, s.Subset)
	}
	if s.Subset > 0 && s.Subset < m {
		rows = rng.New(s.Seed).Perm(m)[:s.Subset]
		slices.Sort(rows)
	}
	e := &Empirical{data: mat.NewDense(len(rows), d, nil), norms: make([]float64, len(rows))}
	for i, r := range rows {
		row := data.RawRowView(r)
		if err := finiteSlice(fmt.Sprintf("empirical data row %d", r), row); err != nil {
			return nil, err
		}
		e.data.SetRow(i, row)
		for _, v := range row {
			e.norms[i] += v * v
		}
	}
	return e, nil
}

// Dim returns D.
func (e *Empirical) Dim() int { _, d := e.data.Dims(); return d }

// Data returns the M×D training samples in use (do not modify).
func (e *Empirical) Data() *mat.Dense { return e.data }

const empiricalBlock = 64

type empWork struct {
	gbuf, abuf []float64
	m, l       []float64
	best       []int
}

// Denoise writes D(x; σ) for every row of x into dst (dst may alias x).
func (e *Empirical) Denoise(ctx context.Context, dst, x *mat.Dense, sigma float64) error {
	m, d := e.data.Dims()
	if err := checkDenoise("empirical", dst, x, d, sigma); err != nil {
		return err
	}
	r, _ := x.Dims()
	chunk := e.Chunk
	if chunk <= 0 {
		chunk = 256
	}
	chunk = min(chunk, m)
	nb := (r + empiricalBlock - 1) / empiricalBlock
	workers := min(parallel.Workers(e.Workers), nb)
	if nb == 0 {
		return nil
	}
	ws := make([]*empWork, workers)
	for i := range ws {
		ws[i] = &empWork{gbuf: make([]float64, empiricalBlock*chunk), abuf: make([]float64, empiricalBlock*d),
			m: make([]float64, empiricalBlock), l: make([]float64, empiricalBlock), best: make([]int, empiricalBlock)}
	}
	inv := 0.0
	if sigma > 0 {
		inv = 1 / (2 * sigma * sigma)
	}
	data := e.data.RawMatrix()
	return parallel.For(ctx, nb, workers, func(wk, b int) error {
		w := ws[wk]
		lo, hi := b*empiricalBlock, min((b+1)*empiricalBlock, r)
		nr := hi - lo
		for i := lo; i < hi; i++ {
			if err := rowFinite("empirical", i, x.RawRowView(i)); err != nil {
				return err
			}
		}
		xr := x.RawMatrix()
		xb := blas64.General{Rows: nr, Cols: d, Stride: xr.Stride, Data: xr.Data[lo*xr.Stride:]}
		acc := blas64.General{Rows: nr, Cols: d, Stride: d, Data: w.abuf[:nr*d]}
		clear(acc.Data)
		for i := 0; i < nr; i++ {
			w.m[i], w.l[i], w.best[i] = math.Inf(-1), 0, 0
		}
		for c0 := 0; c0 < m; c0 += chunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			nc := min(c0+chunk, m) - c0
			xc := blas64.General{Rows: nc, Cols: d, Stride: data.Stride, Data: data.Data[c0*data.Stride:]}
			g := blas64.General{Rows: nr, Cols: nc, Stride: nc, Data: w.gbuf[:nr*nc]}
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, xb, xc, 0, g)
			for i := 0; i < nr; i++ {
				gr := g.Data[i*nc : (i+1)*nc]
				// Logits up to the row constant −‖x‖²/(2σ²): (2x·x_k − ‖x_k‖²)/(2σ²).
				mx, arg := math.Inf(-1), 0
				for k := range gr {
					gr[k] = 2*gr[k] - e.norms[c0+k]
					if gr[k] > mx {
						mx, arg = gr[k], c0+k
					}
				}
				if sigma == 0 {
					if mx > w.m[i] {
						w.m[i], w.best[i] = mx, arg
					}
					continue
				}
				mx *= inv
				newm := math.Max(w.m[i], mx)
				if newm > w.m[i] && w.l[i] > 0 {
					f := math.Exp(w.m[i] - newm)
					w.l[i] *= f
					ar := acc.Data[i*d : (i+1)*d]
					for j := range ar {
						ar[j] *= f
					}
				}
				w.m[i] = newm
				for k, v := range gr {
					p := math.Exp(v*inv - newm)
					gr[k] = p
					w.l[i] += p
				}
			}
			if sigma > 0 {
				blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, g, xc, 1, acc) // acc += P·X_chunk
			}
		}
		for i := 0; i < nr; i++ {
			dr := dst.RawRowView(lo + i)
			if sigma == 0 {
				copy(dr, e.data.RawRowView(w.best[i]))
				continue
			}
			ar := acc.Data[i*d : (i+1)*d]
			for j, v := range ar {
				dr[j] = v / w.l[i]
			}
		}
		return nil
	})
}

// Sample draws every row of dst uniformly from the training samples (row j from
// rng.Stream(seed, j)).
func (e *Empirical) Sample(ctx context.Context, dst *mat.Dense, seed uint64) error {
	m, d := e.data.Dims()
	if err := checkSample("empirical", dst, d); err != nil {
		return err
	}
	r, _ := dst.Dims()
	return parallel.For(ctx, r, e.Workers, func(_, i int) error {
		dst.SetRow(i, e.data.RawRowView(rng.Stream(seed, i).IntN(m)))
		return nil
	})
}
