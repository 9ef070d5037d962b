package imaging

import (
	"fmt"

	"github.com/enkg-go/enkg/operator"
)

// Task names accepted by Task.Name.
const (
	TaskDenoise         = "denoise"
	TaskInpaintBox      = "inpaint-box"
	TaskInpaintRandom   = "inpaint-random"
	TaskSuperResolution = "super-resolution"
	TaskGaussianBlur    = "gaussian-blur"
	TaskMotionBlur      = "motion-blur"
	TaskPhaseRetrieval  = "phase-retrieval"
)

// Task describes an image forward model in a configuration file (YAML keys in snake case).
// Zero fields take the defaults listed, which are the published FFHQ-256 settings of the
// DPS/EnKG experiments where those exist.
type Task struct {
	// Name is one of the Task* constants.
	Name string `yaml:"name"`
	// C, H, W is the image shape.
	C int `yaml:"channels"`
	H int `yaml:"height"`
	W int `yaml:"width"`

	// Seed draws the inpainting mask.
	Seed uint64 `yaml:"seed"`
	// BoxSize is the [lo, hi) range of the box side (default {H/2, H/2+1}); Margin the
	// box margins (default {H/16, W/16}).
	BoxSize [2]int `yaml:"box_size"`
	Margin  [2]int `yaml:"margin"`
	// MaskProb is the [lo, hi] range of the missing fraction of random inpainting (default
	// {0.3, 0.7}).
	MaskProb [2]float64 `yaml:"mask_prob"`

	// Factor is the super-resolution factor (default 4); Bicubic selects the published
	// bicubic resizer instead of average pooling.
	Factor  int  `yaml:"factor"`
	Bicubic bool `yaml:"bicubic"`

	// KernelSize (default 61) and Sigma (Gaussian σ, default 3) of the blurs; MotionLength
	// (default KernelSize/2) and MotionAngle (degrees) of the linear motion kernel.
	KernelSize   int     `yaml:"kernel_size"`
	Sigma        float64 `yaml:"sigma"`
	MotionLength float64 `yaml:"motion_length"`
	MotionAngle  float64 `yaml:"motion_angle"`

	// Oversample of phase retrieval (default 2).
	Oversample float64 `yaml:"oversample"`
}

// Shape returns the image shape of the task.
func (t Task) Shape() Shape { return Shape{t.C, t.H, t.W} }

// New builds the task's forward model.
func (t Task) New() (operator.Operator, error) {
	sh := t.Shape()
	if err := sh.check(); err != nil {
		return nil, err
	}
	ks := t.KernelSize
	if ks == 0 {
		ks = 61
	}
	switch t.Name {
	case TaskDenoise:
		return NewIdentity(sh)
	case TaskInpaintBox:
		m, _, err := BoxMask(sh.H, sh.W, BoxMaskSettings{SizeRange: t.BoxSize, Margin: t.Margin}, t.Seed)
		if err != nil {
			return nil, err
		}
		return NewInpaint(sh, m)
	case TaskInpaintRandom:
		lo, hi := t.MaskProb[0], t.MaskProb[1]
		if lo == 0 && hi == 0 {
			lo, hi = 0.3, 0.7
		}
		m, err := RandomMask(sh.H, sh.W, lo, hi, t.Seed)
		if err != nil {
			return nil, err
		}
		return NewInpaint(sh, m)
	case TaskSuperResolution:
		f := t.Factor
		if f == 0 {
			f = 4
		}
		m := AvgPool
		if t.Bicubic {
			m = Bicubic
		}
		return NewDownsample(sh, f, m)
	case TaskGaussianBlur:
		s := t.Sigma
		if s == 0 {
			s = 3
		}
		return NewGaussianBlur(sh, ks, s, BlurSettings{})
	case TaskMotionBlur:
		l := t.MotionLength
		if l == 0 {
			l = float64(ks / 2)
		}
		k, err := MotionKernel(ks, l, t.MotionAngle)
		if err != nil {
			return nil, err
		}
		return NewBlur(sh, k, ks, BlurSettings{})
	case TaskPhaseRetrieval:
		o := t.Oversample
		if o == 0 {
			o = 2
		}
		return NewPhaseRetrieval(sh, o)
	}
	return nil, fmt.Errorf("imaging: unknown task %q (want %s, %s, %s, %s, %s, %s or %s)", t.Name,
		TaskDenoise, TaskInpaintBox, TaskInpaintRandom, TaskSuperResolution, TaskGaussianBlur, TaskMotionBlur, TaskPhaseRetrieval)
}

// Factory checks the task once and returns a factory of independent instances (one per
// worker of an ensemble engine). Every instance of a masked task draws the same mask.
func (t Task) Factory() (operator.Factory, error) {
	if _, err := t.New(); err != nil {
		return nil, err
	}
	return t.New, nil
}
