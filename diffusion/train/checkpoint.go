package train

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"

	"github.com/enkg-go/enkg/datasets"
)

// fingerprint identifies what a checkpoint can be resumed with: the settings (except
// Steps, so that a finished run can be extended), the data shape and the parameter count.
func (t *Trainer) fingerprint() (uint32, error) {
	s := t.s
	s.Steps = 0
	b, err := json.Marshal(struct {
		S          Settings
		N, C, H, W int
		P          int
	}{s, t.data.N, t.data.C, t.data.H, t.data.W, len(t.ema)})
	if err != nil {
		return 0, err
	}
	h := fnv.New32a()
	h.Write(b)
	return h.Sum32(), nil
}

// SaveCheckpoint writes the whole training state (weights, EMA, Adam moments, step) to an
// .npz, atomically (a kill leaves the previous checkpoint intact).
func (t *Trainer) SaveCheckpoint(path string) error {
	fp, err := t.fingerprint()
	if err != nil {
		return err
	}
	vec := func(v []float32) *datasets.Array {
		a := &datasets.Array{Shape: []int{len(v)}, Data: make([]float64, len(v)), Dtype: "<f4"}
		for i, x := range v {
			a.Data[i] = float64(x)
		}
		return a
	}
	m := map[string]*datasets.Array{
		"params":      vec(t.Model.Network().Params()),
		"ema":         vec(t.ema),
		"adam_m":      vec(t.m1),
		"adam_v":      vec(t.m2),
		"step":        {Shape: []int{1}, Data: []float64{float64(t.step)}, Dtype: "<i8"},
		"fingerprint": {Shape: []int{1}, Data: []float64{float64(fp)}, Dtype: "<u4"},
	}
	if err := datasets.SaveNPZ(path, m); err != nil {
		return fmt.Errorf("train: checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint restores the state written by SaveCheckpoint. The trainer must have been
// made with the same settings (Steps may be larger: the run is extended), data shape and
// network; otherwise it is an error.
func (t *Trainer) LoadCheckpoint(path string) error {
	m, err := datasets.LoadNPZ(path)
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	fp, err := t.fingerprint()
	if err != nil {
		return err
	}
	get := func(name string, n int) ([]float64, error) {
		a, ok := m[name]
		if !ok || a.Data == nil {
			return nil, fmt.Errorf("train: checkpoint %s: no array %q", path, name)
		}
		if len(a.Data) != n {
			return nil, fmt.Errorf("train: checkpoint %s: %q has %d values, want %d (another network?)", path, name, len(a.Data), n)
		}
		return a.Data, nil
	}
	f, err := get("fingerprint", 1)
	if err != nil {
		return err
	}
	if uint32(f[0]) != fp {
		return fmt.Errorf("train: checkpoint %s was made with other settings, data or network; resume with the same command", path)
	}
	st, err := get("step", 1)
	if err != nil {
		return err
	}
	if st[0] < 0 || st[0] > float64(t.s.Steps) || st[0] != math.Trunc(st[0]) {
		return fmt.Errorf("train: checkpoint %s: step %v outside [0, %d]", path, st[0], t.s.Steps)
	}
	p := t.Model.Network().Params()
	for _, e := range []struct {
		name string
		dst  []float32
	}{{"params", p}, {"ema", t.ema}, {"adam_m", t.m1}, {"adam_v", t.m2}} {
		d, err := get(e.name, len(e.dst))
		if err != nil {
			return err
		}
		for i, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("train: checkpoint %s: %q has a non-finite value at %d", path, e.name, i)
			}
			e.dst[i] = float32(v)
		}
	}
	t.step = int(st[0])
	t.Model.Network().Refresh()
	return nil
}
