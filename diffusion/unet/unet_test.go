package unet

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
)

// refDir finds the reference folder for a case: testdata/ holds A, B, C, D; A_mh (10 MB of
// weights) is read from the shared reference folder, found through ENKG_UNET_REF or as
// ../shared/reference/unet beside the repository root (CI clones shared/ there).
func refDir(t *testing.T, c string) string {
	if _, err := os.Stat(filepath.Join("testdata", c+"_config.json")); err == nil {
		return "testdata"
	}
	cands := []string{os.Getenv("ENKG_UNET_REF"), filepath.Join("..", "..", "..", "shared", "reference", "unet")}
	for _, d := range cands {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, c+"_weights.npz")); err == nil {
			return d
		}
	}
	t.Skipf("case %s: reference folder not found (set ENKG_UNET_REF or place shared/ beside the repository)", c)
	return ""
}

func weightsFile(dir, c string) string {
	p := filepath.Join(dir, c+"_weights.npz")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	// B, C and D share the SongUNet weights (same seed and architecture; identical files)
	return filepath.Join(dir, "BCD_weights.npz")
}

func load(t *testing.T, path string) *datasets.Array {
	t.Helper()
	a, err := datasets.LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// relErr returns max|got − ref| / max|ref|.
func relErr(got []float32, ref []float64) float64 {
	var md, mr float64
	for i, r := range ref {
		md = max(md, math.Abs(float64(got[i])-r))
		mr = max(mr, math.Abs(r))
	}
	return md / max(mr, 1e-30)
}

func relErr64(got, ref []float64) float64 {
	var md, mr float64
	for i, r := range ref {
		md = max(md, math.Abs(got[i]-r))
		mr = max(mr, math.Abs(r))
	}
	return md / max(mr, 1e-30)
}

type refCase struct {
	name        string
	model       *Model
	x, sigma, D *datasets.Array
	F, emb, enc *datasets.Array
	acts        map[string]*datasets.Array
	cfg         struct {
		Coef  map[string][]float64 `json:"coefficients_float32"`
		Order []string             `json:"execution_order"`
		Enc0  string               `json:"first_encoder_unetblock"`
	}
}

func loadCase(t *testing.T, c string) *refCase {
	t.Helper()
	dir := refDir(t, c)
	spec, err := LoadSpec(filepath.Join(dir, c+"_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := datasets.LoadNPZ(weightsFile(dir, c))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(spec, state, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	rc := &refCase{name: c, model: m}
	rc.x = load(t, filepath.Join(dir, c+"_x.npy"))
	rc.sigma = load(t, filepath.Join(dir, c+"_sigma.npy"))
	rc.D = load(t, filepath.Join(dir, c+"_D.npy"))
	rc.F = load(t, filepath.Join(dir, c+"_F.npy"))
	rc.emb = load(t, filepath.Join(dir, c+"_emb.npy"))
	rc.enc = load(t, filepath.Join(dir, c+"_enc0.npy"))
	if rc.acts, err = datasets.LoadNPZ(filepath.Join(dir, c+"_acts.npz")); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, c+"_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rc.cfg); err != nil {
		t.Fatal(err)
	}
	return rc
}

const tol = 1e-5 // README: |diff| ≤ 1e-5·max|ref| per array

var cases = []string{"A", "A_mh", "B", "C", "D"}

// TestReferenceIntermediates runs each reference case image by image with a hook and
// compares every recorded activation (map_noise … the output conv), so that a mismatch
// names the first layer where it appears.
func TestReferenceIntermediates(t *testing.T) {
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			rc := loadCase(t, c)
			m := rc.model
			nimg := rc.x.Shape[0]
			dim := m.Dim()
			got := map[string][]float32{}
			for i := 0; i < nimg; i++ {
				dst := make([]float64, dim)
				err := m.Trace(dst, rc.x.Data[i*dim:(i+1)*dim], rc.sigma.Data[i], func(name string, d []float32) {
					got[name] = append(got[name], d...)
				})
				if err != nil {
					t.Fatal(err)
				}
				cs, co, ci, cn := m.Coefficients(rc.sigma.Data[i])
				for k, v := range map[string]float32{"c_skip": cs, "c_out": co, "c_in": ci, "c_noise": cn} {
					want := rc.cfg.Coef[k][i]
					// torch's float32 evaluation order is reproduced bit for bit (VP's
					// c_noise ≈ 855 included, see the package doc)
					if float64(v) != want {
						t.Errorf("image %d: %s = %.9g, want %.9g (float32 torch), %0.1f ulp", i, k, v, want, math.Abs(float64(v)-want)/ulp32(want))
					}
				}
			}
			keys := make([]string, 0, len(rc.acts))
			for k := range rc.acts {
				keys = append(keys, k)
			}
			// check in execution order so the first failure is the first wrong layer
			order := map[string]int{}
			for i, k := range rc.cfg.Order {
				order[k] = i
			}
			sort.Slice(keys, func(a, b int) bool { return order[keys[a]] < order[keys[b]] })
			checked := 0
			for _, k := range keys {
				if strings.HasPrefix(k, "model_in") {
					continue
				}
				g, ok := got[k]
				if !ok {
					t.Errorf("activation %s not produced", k)
					continue
				}
				ref := rc.acts[k]
				if len(g) != len(ref.Data) {
					t.Errorf("%s: %d values, want %d (shape %v)", k, len(g), len(ref.Data), ref.Shape)
					continue
				}
				e := relErr(g, ref.Data)
				if e > tol {
					t.Errorf("%s: relative error %.3g > %g", k, e, tol)
				} else {
					t.Logf("%-22s %.2e", k, e)
				}
				checked++
			}
			if checked < 10 {
				t.Errorf("only %d activations checked", checked)
			}
			for _, p := range []struct {
				name string
				got  []float32
				ref  *datasets.Array
			}{{"emb", got["emb"], rc.emb}, {"enc0", got["enc."+strings.Split(rc.cfg.Enc0, "\"")[1]], rc.enc}} {
				if e := relErr(p.got, p.ref.Data); e > tol {
					t.Errorf("%s: relative error %.3g > %g", p.name, e, tol)
				}
			}
			if e := relErr(got["F"], rc.F.Data); e > tol {
				t.Errorf("F: relative error %.3g > %g", e, tol)
			} else {
				t.Logf("F %.2e", e)
			}
		})
	}
}

func ulp32(v float64) float64 {
	f := float32(math.Abs(v))
	return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
}

// TestReferenceDenoise checks D through the public Denoiser API (per-image σ), with the
// batch split over workers both ways.
func TestReferenceDenoise(t *testing.T) {
	for _, c := range cases {
		t.Run(c, func(t *testing.T) {
			rc := loadCase(t, c)
			n := rc.x.Shape[0]
			dim := rc.model.Dim()
			x := mat.NewDense(n, dim, append([]float64(nil), rc.x.Data...))
			var first *mat.Dense
			for _, w := range []int{1, 2, 8} {
				rc.model.settings.Workers = w
				dst := mat.NewDense(n, dim, nil)
				if err := rc.model.DenoiseEach(context.Background(), dst, x, rc.sigma.Data); err != nil {
					t.Fatal(err)
				}
				// one image per worker, or each convolution split over 8 goroutines:
				// bit-identical results
				if first == nil {
					first = dst
				} else if !mat.Equal(first, dst) {
					t.Errorf("workers %d: result differs from workers 1", w)
				}
				if e := relErr64(dst.RawMatrix().Data, rc.D.Data); e > tol {
					t.Errorf("workers %d: D relative error %.3g > %g", w, e, tol)
				} else {
					t.Logf("workers %d: D %.2e", w, e)
				}
			}
			// Denoise with one σ for all rows equals DenoiseEach row by row
			one := mat.NewDense(1, dim, rc.x.Data[dim:2*dim])
			d1 := mat.NewDense(1, dim, nil)
			if err := rc.model.Denoise(context.Background(), d1, one, rc.sigma.Data[1]); err != nil {
				t.Fatal(err)
			}
			if e := relErr64(d1.RawMatrix().Data, rc.D.Data[dim:2*dim]); e > tol {
				t.Errorf("Denoise(σ=%v): relative error %.3g", rc.sigma.Data[1], e)
			}
		})
	}
}
