package guidance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/enkg-go/enkg/datasets"
	"gonum.org/v1/gonum/mat"
)

// Checkpoint is the state of a run of EnKG or EKI after Step completed steps (sampling steps
// of EnKG, iterations of EKI): all a run needs to continue to a final ensemble bit-identical
// to an uninterrupted run's. No random-generator state is kept: every draw of these methods
// comes from a stream derived from (seed, step, member).
type Checkpoint struct {
	// Method is the method's name ("EnKG", "EKI").
	Method string
	// Step is the number of completed steps; a resumed run continues with step Step.
	Step int
	// Steps is the number of planned steps.
	Steps int
	// Done reports a finished run (all steps, or EKI stopped by its discrepancy rule).
	Done bool
	// Ensemble is the particles after step Step−1 (J×D, the method's normalised space). In a
	// checkpoint passed to a save function it is the run's own matrix, valid only during the
	// call.
	Ensemble *mat.Dense
	// Counts are the evaluations so far, those of earlier sessions included.
	Counts Counts
	// Wall is the wall-clock time spent so far, earlier sessions included.
	Wall time.Duration
	// Meta is the caller's: package problem stores a fingerprint of the configuration there
	// and refuses to resume a run of another one.
	Meta string
}

// Resumable is a Method that saves its state after every step and continues from a saved
// state (EnKG and EKI).
type Resumable interface {
	Method
	// RunFrom is Run continued from the checkpoint from (nil: from the start), calling save
	// (when non-nil) after every completed step, before the Recorder; an error from save stops
	// the run. A checkpoint that is Done returns its result without evaluating anything.
	RunFrom(ctx context.Context, p *Problem, eng Engine, rec Recorder, from *Checkpoint, save func(*Checkpoint) error) (*Result, error)
}

// checkpointState is the JSON part of a checkpoint file.
type checkpointState struct {
	Format  int     `json:"format"`
	Method  string  `json:"method"`
	Step    int     `json:"step"`
	Steps   int     `json:"steps"`
	Done    bool    `json:"done"`
	Counts  Counts  `json:"counts"`
	WallSec float64 `json:"wall_seconds"`
	Meta    string  `json:"meta"`
}

const checkpointFormat = 1

// Save writes c to path as an .npz archive, atomically (a temporary file renamed into place:
// an interrupted write leaves the previous checkpoint whole): key "ensemble" (J×D float64)
// and key "state", the JSON of the other fields as uint8 bytes
// (json.loads(np.load(path)["state"].tobytes()) in Python).
func (c *Checkpoint) Save(path string) error {
	if c.Ensemble == nil {
		return errors.New("guidance: checkpoint without an ensemble")
	}
	b, err := json.Marshal(checkpointState{Format: checkpointFormat, Method: c.Method, Step: c.Step, Steps: c.Steps, Done: c.Done,
		Counts: c.Counts, WallSec: c.Wall.Seconds(), Meta: c.Meta})
	if err != nil {
		return err
	}
	state := make([]float64, len(b))
	for i, v := range b {
		state[i] = float64(v)
	}
	j, d := c.Ensemble.Dims()
	ens := c.Ensemble.RawMatrix()
	data := ens.Data[:j*d]
	if ens.Stride != d {
		data = mat.DenseCopyOf(c.Ensemble).RawMatrix().Data
	}
	return datasets.SaveNPZ(path, map[string]*datasets.Array{
		"ensemble": {Shape: []int{j, d}, Data: data},
		"state":    {Shape: []int{len(b)}, Data: state, Dtype: "|u1"},
	})
}

// LoadCheckpoint reads a checkpoint written by Checkpoint.Save.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	m, err := datasets.LoadNPZ(path)
	if err != nil {
		return nil, err
	}
	ens, st := m["ensemble"], m["state"]
	if ens == nil || st == nil || len(ens.Shape) != 2 || ens.Data == nil || len(st.Shape) != 1 {
		return nil, fmt.Errorf("guidance: %s is not a checkpoint (keys ensemble (J, D) and state)", path)
	}
	b := make([]byte, len(st.Data))
	for i, v := range st.Data {
		b[i] = byte(v)
	}
	var s checkpointState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("guidance: checkpoint %s: state: %w", path, err)
	}
	if s.Format != checkpointFormat {
		return nil, fmt.Errorf("guidance: checkpoint %s has format %d, this program reads %d", path, s.Format, checkpointFormat)
	}
	if ens.Shape[0] < 1 || ens.Shape[1] < 1 {
		return nil, fmt.Errorf("guidance: checkpoint %s: empty ensemble %v", path, ens.Shape)
	}
	return &Checkpoint{Method: s.Method, Step: s.Step, Steps: s.Steps, Done: s.Done, Counts: s.Counts,
		Wall: time.Duration(s.WallSec * float64(time.Second)), Meta: s.Meta,
		Ensemble: mat.NewDense(ens.Shape[0], ens.Shape[1], ens.Data)}, nil
}

// check returns an error unless c can continue a run of method with the given number of
// steps on a J×D ensemble.
func (c *Checkpoint) check(method string, steps, j, d int) error {
	if c.Method != method {
		return fmt.Errorf("guidance: checkpoint of %s, not %s", c.Method, method)
	}
	if c.Steps != steps {
		return fmt.Errorf("guidance: %s checkpoint of a run of %d steps, this run has %d", method, c.Steps, steps)
	}
	if c.Step < 0 || c.Step > steps {
		return fmt.Errorf("guidance: %s checkpoint after step %d of %d", method, c.Step, steps)
	}
	if c.Ensemble == nil {
		return fmt.Errorf("guidance: %s checkpoint without an ensemble", method)
	}
	if r, k := c.Ensemble.Dims(); r != j || k != d {
		return fmt.Errorf("guidance: %s checkpoint ensemble is %d×%d, this run's %d×%d", method, r, k, j, d)
	}
	return nil
}

// session tracks what a (possibly resumed) run has spent: the checkpoint's counts and wall
// time plus this session's.
type session struct {
	eng   Engine
	base  Counts
	wall  time.Duration
	start time.Time
}

func newSession(eng Engine, from *Checkpoint) session {
	s := session{eng: eng, start: time.Now()}
	if from != nil {
		s.base, s.wall = from.Counts, from.Wall
	}
	return s
}

func (s session) counts() Counts { return s.base.Add(s.eng.Counts()) }

func (s session) elapsed() time.Duration { return s.wall + time.Since(s.start) }
