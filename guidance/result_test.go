package guidance

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/datasets"
	"gonum.org/v1/gonum/mat"
)

func TestMetrics(t *testing.T) {
	if v, _ := RelL2([]float64{3, 4}, []float64{0, 5}); math.Abs(v-math.Sqrt(10)/5) > 1e-15 {
		t.Errorf("RelL2 = %v", v)
	}
	if _, err := RelL2([]float64{1}, []float64{0}); err == nil {
		t.Error("RelL2 of a zero truth accepted")
	}
	r := &Result{Mean: []float64{1, 2}}
	err := r.Evaluate([]float64{1, 2}, map[string]Metric{"sum": func(e, _ []float64) (float64, error) { return e[0] + e[1], nil }})
	if err != nil || r.Metrics["rel_l2"] != 0 || r.Metrics["sum"] != 3 {
		t.Errorf("Evaluate: %v, %v", r.Metrics, err)
	}
}

func TestResultSave(t *testing.T) {
	x := mat.NewDense(3, 4, []float64{1, 2, 3, 4, 3, 2, 1, 0, 2, 2, 2, 2})
	r := newResult("EnKG", x, Counts{Forward: 7}, 5, 0)
	if r.Mean[0] != 2 || math.Abs(r.Std[0]-1) > 1e-15 {
		t.Errorf("mean %v std %v", r.Mean, r.Std)
	}
	dir := t.TempDir()
	if err := r.Save(dir, []int{2, 2}); err != nil {
		t.Fatal(err)
	}
	e, err := datasets.LoadNPY(filepath.Join(dir, "ensemble.npy"))
	if err != nil || len(e.Shape) != 3 || e.Shape[0] != 3 || e.Data[5] != 2 {
		t.Errorf("ensemble.npy: %v %v", e, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "metrics.json"))
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil || s.Counts.Forward != 7 || s.Members != 3 {
		t.Errorf("metrics.json %s: %v", b, err)
	}
	if err := r.SaveNPZ(filepath.Join(dir, "r.npz"), []int{2, 2}); err != nil {
		t.Fatal(err)
	}
	z, err := datasets.LoadNPZ(filepath.Join(dir, "r.npz"))
	if err != nil || z["mean"].Data[0] != 2 || len(z["ensemble"].Shape) != 3 {
		t.Errorf("npz: %v %v", z, err)
	}
	if err := r.Save(dir, []int{3, 3}); err == nil {
		t.Error("wrong field shape accepted")
	}
}

func TestProgressRecorder(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf)
	for i := 0; i < 3; i++ {
		if err := p.Record(StepInfo{Method: "EnKG", Step: i, Steps: 3, Sigma: 1, Guided: true, MisfitMean: 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(buf.String(), "EnKG") {
		t.Errorf("progress output %q", buf.String())
	}
	h := &History{}
	if err := (Multi{h, NopRecorder{}}).Record(StepInfo{Step: 1}); err != nil || len(h.Steps) != 1 {
		t.Errorf("Multi/History: %v %v", h.Steps, err)
	}
}
