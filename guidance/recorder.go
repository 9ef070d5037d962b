package guidance

import (
	"fmt"
	"io"
	"sync"

	"github.com/schollz/progressbar/v3"
)

// StepInfo are the diagnostics of one step (one sampling step of a diffusion method, one
// iteration of EKI).
type StepInfo struct {
	Method string  // method name
	Step   int     // step index, 0 … Steps−1
	Steps  int     // total number of steps (0: not known in advance, as for Posterior)
	Sigma  float64 // noise level σ_i of the step (0 for EKI)
	// Guided reports whether the data were used at this step.
	Guided bool
	// MisfitMean and MisfitMax are the mean and maximum over members of the data misfit
	// Loss(G(x̂0_j), y) of the last guidance evaluation of the step (NaN when not evaluated).
	MisfitMean, MisfitMax float64
	// Spread is the ensemble spread: the root-mean-square over pixels of the members'
	// standard deviation (0 for single-chain methods with one member).
	Spread float64
	// StepSize is the step length of the last guidance update (scale/‖C‖_F for EnKG/EKI).
	StepSize float64
	// Failed is the number of members whose forward evaluation failed in this step (redrawn
	// with FailResample; the misfit statistics are those of the others).
	Failed int
	// Counts are the evaluations so far.
	Counts Counts
	// Beta, ESS and Acceptance are the posterior sampler's (Posterior) inverse temperature
	// after the stage, effective sample size of its weights (members) and mean acceptance
	// rate of its moves; zero for the other methods.
	Beta, ESS, Acceptance float64
}

// Recorder receives per-step diagnostics. Record is called from the solving goroutine, after
// every step; a non-nil error stops the run (and is returned by Solve).
type Recorder interface {
	Record(StepInfo) error
}

// NopRecorder discards everything.
type NopRecorder struct{}

// Record does nothing.
func (NopRecorder) Record(StepInfo) error { return nil }

// RecorderFunc adapts a function to a Recorder.
type RecorderFunc func(StepInfo) error

// Record calls f.
func (f RecorderFunc) Record(s StepInfo) error { return f(s) }

// Multi records into each recorder in turn.
type Multi []Recorder

// Record calls every recorder; it stops at the first error.
func (m Multi) Record(s StepInfo) error {
	for _, r := range m {
		if err := r.Record(s); err != nil {
			return err
		}
	}
	return nil
}

// History keeps every StepInfo in memory (safe for concurrent use).
type History struct {
	mu    sync.Mutex
	Steps []StepInfo
}

// Record appends s.
func (h *History) Record(s StepInfo) error {
	h.mu.Lock()
	h.Steps = append(h.Steps, s)
	h.mu.Unlock()
	return nil
}

// Progress is a progress-bar recorder (github.com/schollz/progressbar/v3) showing the step,
// σ, the misfit and the forward evaluations so far.
type Progress struct {
	w   io.Writer
	bar *progressbar.ProgressBar
}

// NewProgress returns a progress bar writing to w (typically os.Stderr).
func NewProgress(w io.Writer) *Progress { return &Progress{w: w} }

// Record advances the bar.
func (p *Progress) Record(s StepInfo) error {
	if p.bar == nil {
		max := s.Steps
		if max <= 0 {
			max = -1 // unknown number of steps: a spinner
		}
		p.bar = progressbar.NewOptions(max,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetDescription(s.Method),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionThrottle(0),
		)
	}
	desc := fmt.Sprintf("%s σ=%.3g", s.Method, s.Sigma)
	if s.Beta > 0 {
		desc = fmt.Sprintf("%s β=%.3g ESS=%.0f acc=%.2f", s.Method, s.Beta, s.ESS, s.Acceptance)
	}
	if s.Guided {
		desc += fmt.Sprintf(" misfit=%.3g", s.MisfitMean)
	}
	desc += fmt.Sprintf(" G-evals=%d", s.Counts.Forward)
	if s.Counts.Failed > 0 {
		desc += fmt.Sprintf(" failed=%d", s.Counts.Failed)
	}
	p.bar.Describe(desc)
	if err := p.bar.Set(s.Step + 1); err != nil {
		return err
	}
	if s.Step+1 == s.Steps || (s.Steps <= 0 && s.Beta == 1) {
		return p.bar.Finish()
	}
	return nil
}
