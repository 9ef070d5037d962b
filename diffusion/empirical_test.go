package diffusion

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

func randomData(m, d int, seed uint64) *mat.Dense {
	x := mat.NewDense(m, d, nil)
	r := rng.New(seed)
	for i := 0; i < m; i++ {
		rng.Normal(x.RawRowView(i), r)
	}
	return x
}

// naiveEmpirical is the definition: softmax over −‖x − x_k‖²/(2σ²) with explicit distances.
func naiveEmpirical(data *mat.Dense, x []float64, sigma float64) []float64 {
	m, d := data.Dims()
	lw := make([]float64, m)
	for k := 0; k < m; k++ {
		s := 0.0
		for j := 0; j < d; j++ {
			e := x[j] - data.At(k, j)
			s += e * e
		}
		lw[k] = -s / (2 * sigma * sigma)
	}
	logSumExp(lw)
	out := make([]float64, d)
	for k, w := range lw {
		for j := range out {
			out[j] += w * data.At(k, j)
		}
	}
	return out
}

func TestEmpiricalMatchesDefinition(t *testing.T) {
	data := randomData(1000, 12, 1)
	e, err := NewEmpirical(data, EmpiricalSettings{})
	if err != nil {
		t.Fatal(err)
	}
	e.Chunk = 97 // chunk boundaries inside the data
	x := randomData(37, 12, 2)
	for i := 0; i < 37; i++ {
		row := x.RawRowView(i)
		for j := range row {
			row[j] *= 1.5
		}
	}
	for _, sigma := range []float64{0.3, 1, 3, 30} {
		out := mat.NewDense(37, 12, nil)
		if err := e.Denoise(context.Background(), out, x, sigma); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 37; i++ {
			closeVec(t, "empirical vs definition", out.RawRowView(i), naiveEmpirical(data, x.RawRowView(i), sigma), 1e-10)
		}
	}
	// σ → ∞: the data mean.
	mean := make([]float64, 12)
	for k := 0; k < 1000; k++ {
		for j := range mean {
			mean[j] += data.At(k, j) / 1000
		}
	}
	closeVec(t, "σ→∞", denoiseOne(t, e, x.RawRowView(0), 1e6), mean, 1e-9)
}

func TestEmpiricalNearestSample(t *testing.T) {
	data := randomData(500, 8, 3)
	e, _ := NewEmpirical(data, EmpiricalSettings{})
	e.Chunk = 64
	r := rng.New(5)
	for trial := 0; trial < 20; trial++ {
		x := make([]float64, 8)
		rng.Normal(x, r)
		best, bd := 0, math.Inf(1)
		for k := 0; k < 500; k++ {
			s := 0.0
			for j := range x {
				s += (x[j] - data.At(k, j)) * (x[j] - data.At(k, j))
			}
			if s < bd {
				best, bd = k, s
			}
		}
		for _, sigma := range []float64{0, 1e-4} {
			closeVec(t, "nearest sample", denoiseOne(t, e, x, sigma), data.RawRowView(best), 1e-9)
		}
	}
}

func TestEmpiricalWorkersAndSubset(t *testing.T) {
	data := randomData(300, 20, 7)
	x := randomData(100, 20, 8)
	var ref *mat.Dense
	for _, w := range []int{1, 2, 4} {
		e, _ := NewEmpirical(data, EmpiricalSettings{})
		e.Workers, e.Chunk = w, 50
		out := mat.NewDense(100, 20, nil)
		if err := e.Denoise(context.Background(), out, x, 0.8); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = out
		} else if !mat.Equal(ref, out) {
			t.Fatalf("workers = %d changes the result", w)
		}
	}
	// In place.
	y := mat.DenseCopyOf(x)
	e, _ := NewEmpirical(data, EmpiricalSettings{})
	e.Chunk = 50
	_ = e.Denoise(context.Background(), y, y, 0.8)
	if !mat.Equal(ref, y) {
		t.Fatal("aliased dst differs")
	}
	s, err := NewEmpirical(data, EmpiricalSettings{Subset: 40, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Data().Dims(); m != 40 {
		t.Fatalf("subset has %d rows", m)
	}
	// Every subset row is a data row.
	for i := 0; i < 40; i++ {
		found := false
		for k := 0; k < 300 && !found; k++ {
			found = mat.Equal(s.Data().RowView(i), data.RowView(k))
		}
		if !found {
			t.Fatalf("subset row %d not in the data", i)
		}
	}
}

func TestEmpiricalBadInput(t *testing.T) {
	if _, err := NewEmpirical(&mat.Dense{}, EmpiricalSettings{}); !errors.Is(err, ErrDim) {
		t.Errorf("empty: %v", err)
	}
	d := mat.NewDense(2, 2, []float64{1, math.NaN(), 0, 0})
	if _, err := NewEmpirical(d, EmpiricalSettings{}); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN data: %v", err)
	}
	e, _ := NewEmpirical(mat.NewDense(2, 2, []float64{1, 2, 3, 4}), EmpiricalSettings{})
	if err := e.Denoise(context.Background(), mat.NewDense(1, 3, nil), mat.NewDense(1, 3, nil), 1); !errors.Is(err, ErrDim) {
		t.Errorf("dim: %v", err)
	}
	if err := e.Denoise(context.Background(), mat.NewDense(1, 2, nil), mat.NewDense(1, 2, nil), -2); !errors.Is(err, ErrParam) {
		t.Errorf("σ<0: %v", err)
	}
}
