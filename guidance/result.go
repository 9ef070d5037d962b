package guidance

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/enkg-go/enkg/datasets"
	"gonum.org/v1/gonum/mat"
)

// Result is the outcome of a run.
type Result struct {
	Method string
	// Ensemble holds the final members, one per row (J×D).
	Ensemble *mat.Dense
	// Mean is the ensemble mean, Std the per-pixel standard deviation (unbiased, J−1 in the
	// denominator as torch.std; zero for a single member).
	Mean, Std []float64
	// Counts are the evaluations the run used.
	Counts Counts
	// Steps is the number of completed steps (less than planned when cancelled).
	Steps int
	// Wall is the wall-clock time of the run.
	Wall time.Duration
	// Metrics are filled by Evaluate (name → value).
	Metrics map[string]float64
}

// newResult summarises an ensemble (copied).
func newResult(method string, x *mat.Dense, c Counts, steps int, wall time.Duration) *Result {
	r := &Result{Method: method, Ensemble: mat.DenseCopyOf(x), Counts: c, Steps: steps, Wall: wall, Metrics: map[string]float64{}}
	r.Mean, r.Std = MeanStd(x)
	return r
}

// MeanStd returns the ensemble mean and unbiased per-pixel standard deviation of the rows of x.
func MeanStd(x *mat.Dense) (mean, std []float64) {
	j, d := x.Dims()
	mean, std = make([]float64, d), make([]float64, d)
	for i := 0; i < j; i++ {
		for k, v := range x.RawRowView(i) {
			mean[k] += v
		}
	}
	for k := range mean {
		mean[k] /= float64(j)
	}
	if j < 2 {
		return mean, std
	}
	for i := 0; i < j; i++ {
		for k, v := range x.RawRowView(i) {
			d := v - mean[k]
			std[k] += d * d
		}
	}
	for k := range std {
		std[k] = math.Sqrt(std[k] / float64(j-1))
	}
	return mean, std
}

// spread is the root mean square of the per-pixel standard deviation (population), the
// diagnostic of StepInfo.Spread. It does not allocate.
func spread(x *mat.Dense, mean []float64) float64 {
	j, d := x.Dims()
	if j < 2 {
		return 0
	}
	for k := range mean {
		mean[k] = 0
	}
	for i := 0; i < j; i++ {
		for k, v := range x.RawRowView(i) {
			mean[k] += v
		}
	}
	for k := range mean {
		mean[k] /= float64(j)
	}
	var s float64
	for i := 0; i < j; i++ {
		for k, v := range x.RawRowView(i) {
			dv := v - mean[k]
			s += dv * dv
		}
	}
	return math.Sqrt(s / float64(j*d))
}

// Summary is the JSON form of a result's scalars (metrics.json of `enkg solve`).
type Summary struct {
	Method   string             `json:"method"`
	Members  int                `json:"members"`
	Steps    int                `json:"steps"`
	WallSec  float64            `json:"wall_seconds"`
	Counts   Counts             `json:"counts"`
	Metrics  map[string]float64 `json:"metrics"`
	MeanStd  float64            `json:"mean_std"`
	Complete bool               `json:"complete"`
}

// Summary returns the scalars of r.
func (r *Result) Summary() Summary {
	j, _ := r.Ensemble.Dims()
	var s float64
	for _, v := range r.Std {
		s += v
	}
	return Summary{Method: r.Method, Members: j, Steps: r.Steps, WallSec: r.Wall.Seconds(), Counts: r.Counts,
		Metrics: r.Metrics, MeanStd: s / float64(len(r.Std)), Complete: true}
}

// Save writes ensemble.npy (J × shape), mean.npy and std.npy (shape) and metrics.json into
// dir (created if needed). shape is the shape of one field (nil: flat vectors); its product
// must be the field dimension.
func (r *Result) Save(dir string, shape []int) error {
	j, d := r.Ensemble.Dims()
	if shape == nil {
		shape = []int{d}
	}
	n := 1
	for _, s := range shape {
		n *= s
	}
	if n != d {
		return fmt.Errorf("guidance: field shape %v has %d elements, fields have %d", shape, n, d)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ens := mat.DenseCopyOf(r.Ensemble) // contiguous
	if err := datasets.SaveNPY(filepath.Join(dir, "ensemble.npy"), append([]int{j}, shape...), ens.RawMatrix().Data); err != nil {
		return err
	}
	if err := datasets.SaveNPY(filepath.Join(dir, "mean.npy"), shape, r.Mean); err != nil {
		return err
	}
	if err := datasets.SaveNPY(filepath.Join(dir, "std.npy"), shape, r.Std); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r.Summary(), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "metrics.json"), append(b, '\n'), 0o644)
}

// SaveNPZ writes the ensemble, mean and std into one .npz archive (keys "ensemble", "mean",
// "std"), with the field shape as for Save.
func (r *Result) SaveNPZ(path string, shape []int) error {
	j, d := r.Ensemble.Dims()
	if shape == nil {
		shape = []int{d}
	}
	ens := mat.DenseCopyOf(r.Ensemble)
	return datasets.SaveNPZ(path, map[string]*datasets.Array{
		"ensemble": {Shape: append([]int{j}, shape...), Data: ens.RawMatrix().Data},
		"mean":     {Shape: shape, Data: r.Mean},
		"std":      {Shape: shape, Data: r.Std},
	})
}
