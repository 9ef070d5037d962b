package diffusion

import (
	"errors"
	"fmt"

	"github.com/enkg-go/enkg/datasets"
	"gonum.org/v1/gonum/mat"
)

// ErrFormat reports a prior file that is not one SavePrior writes.
var ErrFormat = errors.New("diffusion: not a prior file")

// SavePrior writes an exact prior with its parameters and normalisation to a .npz
// archive that numpy reads directly:
//
//	kind   uint8 ASCII: "diag_gaussian", "gaussian", "spectral_gaussian", "gmm_diag",
//	       "gmm_full" or "empirical"   (Python: bytes(z["kind"]).decode())
//	norm   [Scale, Shift] of the Affine map physical = Scale·normalised + Shift
//	diag_gaussian      mean (D), var (D)
//	gaussian           mean (D), cov (D, D)
//	spectral_gaussian  mean (nx, ny), power (nx, ny/2+1) in rfft2 layout
//	gmm_diag           weights (K), means (K, D), vars (K, D)
//	gmm_full           weights (K), means (K, D), covs (K, D, D)
//	empirical          data (M, D)
func SavePrior(path string, p Prior) error {
	var kind string
	var norm Affine
	arr := map[string]*datasets.Array{}
	vec := func(v []float64, shape ...int) *datasets.Array {
		if len(shape) == 0 {
			shape = []int{len(v)}
		}
		return &datasets.Array{Shape: shape, Data: append([]float64(nil), v...)}
	}
	dense := func(m mat.Matrix) *datasets.Array {
		r, c := m.Dims()
		d := make([]float64, 0, r*c)
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				d = append(d, m.At(i, j))
			}
		}
		return &datasets.Array{Shape: []int{r, c}, Data: d}
	}
	switch g := p.(type) {
	case *DiagGaussian:
		kind, norm = "diag_gaussian", g.Norm
		arr["mean"], arr["var"] = vec(g.mean), vec(g.variance)
	case *Gaussian:
		kind, norm = "gaussian", g.Norm
		arr["mean"], arr["cov"] = vec(g.mean), dense(g.cov)
	case *SpectralGaussian:
		kind, norm = "spectral_gaussian", g.Norm
		arr["mean"], arr["power"] = vec(g.mean, g.nx, g.ny), vec(g.power, g.nx, g.nyh)
	case *GMM:
		norm = g.Norm
		arr["weights"], arr["means"] = vec(g.weights), dense(g.means)
		if g.Diagonal() {
			kind = "gmm_diag"
			arr["vars"] = dense(g.vars)
		} else {
			kind = "gmm_full"
			c := make([]float64, 0, g.k*g.d*g.d)
			for k := 0; k < g.k; k++ {
				c = append(c, dense(g.Cov(k)).Data...)
			}
			arr["covs"] = &datasets.Array{Shape: []int{g.k, g.d, g.d}, Data: c}
		}
	case *Empirical:
		kind, norm = "empirical", g.Norm
		arr["data"] = dense(g.data)
	default:
		return fmt.Errorf("diffusion: SavePrior: cannot save a %T", p)
	}
	b := make([]float64, len(kind))
	for i := range kind {
		b[i] = float64(kind[i])
	}
	arr["kind"] = &datasets.Array{Shape: []int{len(kind)}, Data: b, Dtype: "|u1"}
	arr["norm"] = vec([]float64{norm.scale(), norm.Shift})
	return datasets.SaveNPZ(path, arr)
}

// LoadPrior reads a prior written by SavePrior (or by numpy with the same keys), checking
// every parameter as the constructors do.
func LoadPrior(path string) (Prior, error) {
	z, err := datasets.LoadNPZ(path)
	if err != nil {
		return nil, err
	}
	get := func(name string, ndim int) (*datasets.Array, error) {
		a, ok := z[name]
		if !ok || a.Data == nil {
			return nil, fmt.Errorf("%w: %s: missing real array %q", ErrFormat, path, name)
		}
		if ndim > 0 && len(a.Shape) != ndim {
			return nil, fmt.Errorf("%w: %s: %q has shape %v, want %d dimensions", ErrFormat, path, name, a.Shape, ndim)
		}
		return a, nil
	}
	ka, err := get("kind", 1)
	if err != nil {
		return nil, err
	}
	kb := make([]byte, len(ka.Data))
	for i, v := range ka.Data {
		kb[i] = byte(v)
	}
	kind := string(kb)
	var norm Affine
	if na, ok := z["norm"]; ok {
		if len(na.Data) != 2 {
			return nil, fmt.Errorf("%w: %s: norm has %d values, want 2", ErrFormat, path, len(na.Data))
		}
		norm = Affine{Scale: na.Data[0], Shift: na.Data[1]}
		if err := norm.Valid(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	toDense := func(a *datasets.Array) *mat.Dense {
		if len(a.Data) == 0 {
			return &mat.Dense{}
		}
		return mat.NewDense(a.Shape[0], a.Shape[1], a.Data)
	}
	wrap := func(p Prior, err error) (Prior, error) {
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", path, kind, err)
		}
		return p, nil
	}
	switch kind {
	case "diag_gaussian":
		m, err1 := get("mean", 1)
		v, err2 := get("var", 1)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		g, err := NewDiagGaussian(m.Data, v.Data)
		if err == nil {
			g.Norm = norm
		}
		return wrap(g, err)
	case "gaussian":
		m, err1 := get("mean", 1)
		c, err2 := get("cov", 2)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		g, err := NewGaussian(m.Data, toDense(c))
		if err == nil {
			g.Norm = norm
		}
		return wrap(g, err)
	case "spectral_gaussian":
		m, err1 := get("mean", 2)
		pw, err2 := get("power", 2)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		g, err := NewSpectralGaussian(m.Shape[0], m.Shape[1], m.Data, pw.Data)
		if err == nil {
			g.Norm = norm
		}
		return wrap(g, err)
	case "gmm_diag", "gmm_full":
		w, err1 := get("weights", 1)
		m, err2 := get("means", 2)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		var g *GMM
		var err error
		if kind == "gmm_diag" {
			v, verr := get("vars", 2)
			if verr != nil {
				return nil, verr
			}
			g, err = NewGMMDiag(w.Data, toDense(m), toDense(v))
		} else {
			c, cerr := get("covs", 3)
			if cerr != nil {
				return nil, cerr
			}
			k, d1, d2 := c.Shape[0], c.Shape[1], c.Shape[2]
			if d1 != d2 || d1 == 0 {
				return nil, fmt.Errorf("%w: %s: covs has shape %v, want (K, D, D)", ErrFormat, path, c.Shape)
			}
			covs := make([]mat.Matrix, k)
			for i := range covs {
				covs[i] = mat.NewDense(d1, d2, c.Data[i*d1*d2:(i+1)*d1*d2])
			}
			g, err = NewGMM(w.Data, toDense(m), covs)
		}
		if err == nil {
			g.Norm = norm
		}
		return wrap(g, err)
	case "empirical":
		d, err := get("data", 2)
		if err != nil {
			return nil, err
		}
		e, err := NewEmpirical(toDense(d), EmpiricalSettings{})
		if err == nil {
			e.Norm = norm
		}
		return wrap(e, err)
	}
	return nil, fmt.Errorf("%w: %s: unknown kind %q", ErrFormat, path, kind)
}
