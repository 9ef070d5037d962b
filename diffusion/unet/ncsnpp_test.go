package unet

import (
	"context"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
)

// TestNCSNpp checks the SongUNet options beyond DDPM++ against NVlabs/edm's own
// networks.py (fixtures from testdata/ncsnpp/gen.py, torch 1.13 CPU): N1 is NCSN++ as
// published (Fourier embedding, residual encoder with the fused 2× down convolution, skip
// decoder, FIR filter [1,3,3,1]); N2 the skip encoder with the skip decoder. D and F, and
// every module output (so a mismatch is located), within 1e-5·max|ref|.
func TestNCSNpp(t *testing.T) {
	for _, c := range []string{"N1", "N2"} {
		t.Run(c, func(t *testing.T) {
			dir := filepath.Join("testdata", "ncsnpp")
			all, err := datasets.LoadNPZ(filepath.Join(dir, c+".npz"))
			if err != nil {
				t.Fatal(err)
			}
			state := map[string]*datasets.Array{}
			acts := map[string]*datasets.Array{}
			for k, v := range all {
				if n, ok := strings.CutPrefix(k, "weights:"); ok {
					state[n] = v
				} else if n, ok := strings.CutPrefix(k, "act:"); ok {
					acts[n] = v
				}
			}
			spec, err := LoadSpec(filepath.Join(dir, c+".json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(spec, state, Settings{})
			if err != nil {
				t.Fatal(err)
			}
			x, sigma, D, F := all["x"], all["sigma"], all["D"], all["F"]
			n, dim := x.Shape[0], m.Dim()
			got := map[string][]float32{}
			for i := 0; i < n; i++ {
				dst := make([]float64, dim)
				err := m.Trace(dst, x.Data[i*dim:(i+1)*dim], sigma.Data[i], func(name string, d []float32) {
					got[name] = append(got[name], d...)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			names := make([]string, 0, len(acts))
			for k := range acts {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				g, ok := got[k]
				if !ok {
					t.Errorf("activation %s not produced", k)
					continue
				}
				if len(g) != len(acts[k].Data) {
					t.Errorf("%s: %d values, want %d", k, len(g), len(acts[k].Data))
					continue
				}
				if e := relErr(g, acts[k].Data); e > tol {
					t.Errorf("%s: relative error %.3g > %g", k, e, tol)
				} else {
					t.Logf("%-24s %.2e", k, e)
				}
			}
			if e := relErr(got["F"], F.Data); e > tol {
				t.Errorf("F: relative error %.3g > %g", e, tol)
			}
			dst := mat.NewDense(n, dim, nil)
			if err := m.DenoiseEach(context.Background(), dst, mat.NewDense(n, dim, x.Data), sigma.Data); err != nil {
				t.Fatal(err)
			}
			if e := relErr64(dst.RawMatrix().Data, D.Data); e > tol {
				t.Errorf("D: relative error %.3g > %g", e, tol)
			} else {
				t.Logf("D %.2e", e)
			}
		})
	}
}
