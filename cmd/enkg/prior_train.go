package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/diffusion/train"
	"github.com/enkg-go/enkg/diffusion/unet"
	"github.com/enkg-go/enkg/figures"
	"github.com/enkg-go/enkg/internal/atomicfile"
)

// priorTrainOptions are the flags of `enkg prior train`.
type priorTrainOptions struct {
	data, val, config, out string
	init                   string
	pMean, pStd            float64
	valCount               int
	steps, batch           int
	lr                     float64
	warmup                 int
	emaHalfLife            float64
	seed                   uint64
	resume                 bool
	workers                int
	shifts                 string
	checkpointEvery        time.Duration
	quiet                  bool
}

func init() {
	var o priorTrainOptions
	cmd := &cobra.Command{
		Use:   "train --data FILE --config NET.json --out DIR",
		Short: "Train an EDM U-Net prior on a dataset (EDM loss, Adam, EMA; resumable)",
		Long: `Train the denoiser D(x; σ) of an EDM U-Net (EDMPrecond with SongUNet or DhariwalUNet) on a
stack of fields, in Go, with the EDM recipe (package diffusion/train): loss
w(σ)·‖D(y + σε; σ) − y‖², ln σ ~ N(−1.2, 1.2²), Adam with a linear learning-rate warm-up,
and an exponential moving average (EMA) of the weights, which is what is saved.

  --data    an HDF5 file of 'enkg data ns|blackhole' (dataset "fields", (N, H, W)) or an
            .npy of shape (N, H, W) or (N, C, H, W)
  --config  the network description (enkg-unet/1 JSON, as written by tools/export_weights.py);
            img_resolution and in/out_channels must match the data; the preconditioner
            must be EDM. Its normalization is replaced by the one measured from the data.
  --out     DIR: weights.npz and config.json (loadable by 'prior denoise', 'prior vjp' and
            'solve' with prior.kind unet: the description maps physical units to the
            network's, so x and σ are given in the data's units; rewritten with the EMA
            weights at every checkpoint), checkpoint.npz (every --checkpoint-every, atomic),
            loss.csv, validation.csv and loss.png.

Validation: --val FILE, or else the last --val-count fields of --data are held out (not
trained on). The validation loss is reported per noise level (multiples of the data's
standard deviation) with the EMA weights.

Augmentation: --shifts auto|on|off: random periodic shifts of each field by exact symmetries
only. 'on': any shift along both axes (statistically homogeneous fields on a torus). 'auto':
for 'enkg data ns' files (forcing −4cos(4y), y along the second axis), any shift along the
first axis and shifts by multiples of ny/4 along the second (the forcing's period); none
for other files. Rotations and flips are never applied (not symmetries of forced flow).

Fine-tuning: --init W.npz starts from saved weights (a state_dict of the --config network,
e.g. a shipped prior's weights.npz) instead of EDM's random initialisation; the EMA starts
from them too, and Adam's moments from zero. --p-mean and --p-std move the training σ
distribution (ln σ ~ N(P_mean, P_std²) in the network's units, where the data's std is
σ_data = 0.5): a larger P_mean spends more of the images at high noise.

Interrupting (Ctrl-C or SIGTERM) writes a checkpoint; --resume continues from DIR's
checkpoint to the same weights as an uninterrupted run (a larger --steps extends a finished
run; every other setting must be the same). Results are reproducible from
--seed whatever --workers.`,
		Example: `  enkg data ns --n 12000 --res 64 --spinup 5 --re 200 --seed 0 --float32 --out data/ns64-train.h5
  enkg prior train --data data/ns64-train.h5 --config priors/ns64/net.json --out out/ns64 --steps 20000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return priorTrain(cmd, o)
		},
	}
	d := train.DefaultSettings()
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", "training fields (.h5 of 'enkg data', or .npy (N,H,W) / (N,C,H,W))")
	f.StringVar(&o.val, "val", "", "validation fields (same formats); default: the last --val-count fields of --data")
	f.IntVar(&o.valCount, "val-count", 256, "fields held out of --data for validation when --val is not given (1 ≤ n < N)")
	f.StringVar(&o.config, "config", "", "network description (.json, enkg-unet/1)")
	f.StringVar(&o.out, "out", "", "output directory")
	f.StringVar(&o.init, "init", "", "start from these weights (.npz state_dict of the --config network) instead of a random initialisation")
	f.Float64Var(&o.pMean, "p-mean", d.PMean, "mean of ln σ in the training σ distribution (network units)")
	f.Float64Var(&o.pStd, "p-std", d.PStd, "std of ln σ in the training σ distribution (> 0)")
	f.IntVar(&o.steps, "steps", d.Steps, "optimiser steps (≥ 1)")
	f.IntVar(&o.batch, "batch", d.Batch, "images per step (≥ 1)")
	f.Float64Var(&o.lr, "lr", d.LR, "Adam learning rate (> 0)")
	f.IntVar(&o.warmup, "warmup", d.WarmupImages, "learning-rate warm-up, in images (≥ 0)")
	f.Float64Var(&o.emaHalfLife, "ema-halflife", d.EMAHalfLife, "EMA half-life, in images (> 0)")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the initial weights and of every random draw")
	f.BoolVar(&o.resume, "resume", false, "continue from --out's checkpoint.npz")
	f.IntVar(&o.workers, "workers", 0, "goroutines (0: GOMAXPROCS); results do not depend on it")
	f.StringVar(&o.shifts, "shifts", "auto", "random periodic shifts: auto, on or off")
	f.DurationVar(&o.checkpointEvery, "checkpoint-every", 3*time.Minute, "time between checkpoints (> 0)")
	f.BoolVar(&o.quiet, "quiet", false, "no progress bar")
	for _, n := range []string{"data", "config", "out"} {
		_ = cmd.MarkFlagRequired(n)
	}
	priorCmd.AddCommand(cmd)
}

// loadFields reads a stack of fields for training or evaluation: an HDF5 file of
// 'enkg data ns|blackhole' (dataset "fields", (N, H, W)) or an .npy of shape (N, H, W) or
// (N, C, H, W). periodic reports an 'enkg data ns' file (Kolmogorov-forced fields on a
// torus, forcing along the second axis).
func loadFields(path string) (d *train.Data, periodic bool, err error) {
	if strings.HasSuffix(path, ".h5") || strings.HasSuffix(path, ".hdf5") {
		f, err := h5.Open(path, "fields")
		if err != nil {
			return nil, false, err
		}
		defer f.Close()
		n, nx, ny := f.Shape()
		done, err := f.DoneMask()
		if err != nil {
			return nil, false, err
		}
		for i, ok := range done {
			if !ok {
				return nil, false, fmt.Errorf("%s: field %d of %d is not written yet (an interrupted 'enkg data' run: rerun it to finish)", path, i, n)
			}
		}
		buf := make([]float64, nx*ny)
		d = &train.Data{N: n, C: 1, H: nx, W: ny, X: make([]float32, n*nx*ny)}
		for i := 0; i < n; i++ {
			if err := f.ReadMember(buf, i); err != nil {
				return nil, false, err
			}
			for j, v := range buf {
				d.X[i*nx*ny+j] = float32(v)
			}
		}
		_, errRe := f.Attr("re")
		return d, errRe == nil, nil
	}
	a, err := datasets.LoadNPY(path)
	if err != nil {
		return nil, false, err
	}
	if a.Data == nil {
		return nil, false, fmt.Errorf("%s: dtype %s: want real values", path, a.Dtype)
	}
	switch len(a.Shape) {
	case 3:
		d = &train.Data{N: a.Shape[0], C: 1, H: a.Shape[1], W: a.Shape[2]}
	case 4:
		d = &train.Data{N: a.Shape[0], C: a.Shape[1], H: a.Shape[2], W: a.Shape[3]}
	default:
		return nil, false, fmt.Errorf("%s: shape %v: want (N, H, W) or (N, C, H, W)", path, a.Shape)
	}
	d.X = make([]float32, len(a.Data))
	for i, v := range a.Data {
		d.X[i] = float32(v)
	}
	return d, false, nil
}

func priorTrain(cmd *cobra.Command, o priorTrainOptions) error {
	switch {
	case o.steps < 1:
		return fmt.Errorf("--steps %d: need ≥ 1", o.steps)
	case o.batch < 1:
		return fmt.Errorf("--batch %d: need ≥ 1", o.batch)
	case o.workers < 0:
		return fmt.Errorf("--workers %d < 0", o.workers)
	case o.checkpointEvery <= 0:
		return fmt.Errorf("--checkpoint-every %v: need > 0", o.checkpointEvery)
	case o.shifts != "auto" && o.shifts != "on" && o.shifts != "off":
		return fmt.Errorf("--shifts %q: want auto, on or off", o.shifts)
	case !(o.pStd > 0) || math.IsInf(o.pStd, 0) || math.IsNaN(o.pMean) || math.IsInf(o.pMean, 0):
		return fmt.Errorf("--p-mean %v --p-std %v: need finite values and --p-std > 0", o.pMean, o.pStd)
	}
	spec, err := unet.LoadSpec(o.config)
	if err != nil {
		return err
	}
	data, periodic, err := loadFields(o.data)
	if err != nil {
		return err
	}
	var val *train.Data
	if o.val != "" {
		if val, _, err = loadFields(o.val); err != nil {
			return err
		}
	} else {
		if o.valCount < 1 || o.valCount >= data.N {
			return fmt.Errorf("--val-count %d: need 1 ≤ n < %d (the fields in %s)", o.valCount, data.N, o.data)
		}
		dim := data.Dim()
		n := data.N - o.valCount
		val = &train.Data{N: o.valCount, C: data.C, H: data.H, W: data.W, X: data.X[n*dim:]}
		data = &train.Data{N: n, C: data.C, H: data.H, W: data.W, X: data.X[:n*dim]}
	}
	norm, err := train.Normalize(data, spec.Precond.SigmaData)
	if err != nil {
		return err
	}
	spec.Normalization = norm
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	ckPath := filepath.Join(o.out, "checkpoint.npz")
	if _, err := os.Stat(ckPath); err == nil && !o.resume {
		return fmt.Errorf("%s exists: add --resume to continue that run, or choose another --out", ckPath)
	}
	model, err := newTrainModel(spec, o)
	if err != nil {
		return err
	}
	s := train.Settings{Steps: o.steps, Batch: o.batch, LR: o.lr, WarmupImages: o.warmup, EMAHalfLife: o.emaHalfLife,
		PMean: o.pMean, PStd: o.pStd, Seed: o.seed}
	switch {
	case o.shifts == "on":
		s.ShiftRows, s.ShiftCols = 1, 1
	case o.shifts == "auto" && periodic:
		s.ShiftRows, s.ShiftCols = 1, max(1, data.W/4)
	}
	if o.warmup == 0 {
		s.WarmupImages = -1 // explicit 0: no warm-up (lr from the first step)
	}
	tr, err := train.New(model, data, val, s)
	if err != nil {
		return err
	}
	stderr := cmd.ErrOrStderr()
	if o.resume {
		if err := tr.LoadCheckpoint(ckPath); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "prior train: resuming at step %d of %d\n", tr.Step(), o.steps)
	}
	fmt.Fprintf(stderr, "prior train: %d parameters, %d training fields %d×%d×%d, %d validation fields, shifts %d×%d; normalisation mean %.4g std %.4g\n",
		len(model.Network().Params()), data.N, data.C, data.H, data.W, val.N, s.ShiftRows, s.ShiftCols, norm.Mean, norm.Std)
	ctx := cmd.Context() // cancelled by SIGINT/SIGTERM (main's signalContext)
	log := &trainLog{dir: o.out}
	if err := log.open(tr.Step()); err != nil {
		return err
	}
	var bar *progressbar.ProgressBar
	if !o.quiet {
		bar = progressbar.NewOptions(o.steps, progressbar.OptionSetWriter(stderr), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond))
		_ = bar.Set(tr.Step())
	}
	start := tr.Step()
	tr.Progress = func(st train.Status) {
		log.step(st)
		if bar != nil {
			ips := float64((st.Step-start)*o.batch) / st.Elapsed.Seconds()
			bar.Describe(fmt.Sprintf("loss %.4f  %.1f img/s", log.smoothed(), ips))
			_ = bar.Set(st.Step)
		}
	}
	checkpoint := func(t *train.Trainer) error {
		if err := t.SaveCheckpoint(ckPath); err != nil {
			return err
		}
		// the EMA weights so far: a usable prior at every checkpoint
		if err := t.WithEMA(func(m *unet.Model) error { return savePrior(o.out, m) }); err != nil {
			return err
		}
		b, err := t.Validate(context.Background())
		if err != nil {
			return err
		}
		return log.flush(t.Step(), b)
	}
	err = tr.Run(ctx, checkpoint, o.checkpointEvery)
	if bar != nil {
		fmt.Fprintln(stderr)
	}
	if errors.Is(err, context.Canceled) {
		if cerr := checkpoint(tr); cerr != nil {
			return fmt.Errorf("interrupted at step %d, and the checkpoint failed: %w", tr.Step(), cerr)
		}
		return fmt.Errorf("interrupted at step %d of %d: checkpoint written; continue with the same command and --resume", tr.Step(), o.steps)
	}
	if err != nil {
		return err
	}
	if err := tr.WithEMA(func(m *unet.Model) error { return savePrior(o.out, m) }); err != nil {
		return err
	}
	if err := log.plot(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "prior train: wrote %s and %s (EMA weights after %d steps)\n",
		filepath.Join(o.out, "weights.npz"), filepath.Join(o.out, "config.json"), tr.Step())
	return nil
}

// newTrainModel returns the network to train: EDM's random initialisation from --seed, or
// the weights of --init (a state_dict of the same architecture) for fine-tuning.
func newTrainModel(spec *unet.Spec, o priorTrainOptions) (*unet.Model, error) {
	set := unet.Settings{Workers: o.workers}
	if o.init == "" {
		return unet.NewTrainable(spec, o.seed, set)
	}
	state, err := datasets.LoadNPZ(o.init)
	if err != nil {
		return nil, fmt.Errorf("--init: %w", err)
	}
	m, err := unet.New(spec, state, set)
	if err != nil {
		return nil, fmt.Errorf("--init %s does not fit --config %s: %w", o.init, o.config, err)
	}
	if err := m.Trainable(); err != nil {
		return nil, fmt.Errorf("--init %s: %w", o.init, err)
	}
	return m, nil
}

// savePrior writes DIR/weights.npz (the state_dict, float32) and DIR/config.json.
func savePrior(dir string, m *unet.Model) error {
	state, err := m.Network().State()
	if err != nil {
		return err
	}
	if err := datasets.SaveNPZCompressed(filepath.Join(dir, "weights.npz"), state); err != nil {
		return err
	}
	spec := m.Spec()
	b, err := spec.JSON()
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, "config.json"), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// trainLog keeps the per-step losses and the validation buckets of a training run and
// writes them as DIR/loss.csv, DIR/validation.csv and DIR/loss.png. Rows after the step a
// run resumes from are dropped, so a resumed run's files equal an uninterrupted run's.
type trainLog struct {
	dir    string
	loss   []string // "step,images,loss,lr"
	val    []string // "step,sigma,loss,mse"
	recent []float64
	steps  []float64
	losses []float64
}

func (l *trainLog) open(resumeStep int) error {
	keep := func(name string) ([]string, error) {
		b, err := os.ReadFile(filepath.Join(l.dir, name))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var rows []string
		for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if i == 0 || line == "" {
				continue // header
			}
			var step int
			if _, err := fmt.Sscanf(line, "%d,", &step); err != nil {
				return nil, fmt.Errorf("%s: bad row %q", name, line)
			}
			if step <= resumeStep {
				rows = append(rows, line)
			}
		}
		return rows, nil
	}
	if resumeStep == 0 {
		return nil
	}
	var err error
	if l.loss, err = keep("loss.csv"); err != nil {
		return err
	}
	for _, row := range l.loss {
		var s, img int
		var loss float64
		if _, err := fmt.Sscanf(row, "%d,%d,%g", &s, &img, &loss); err == nil {
			l.steps = append(l.steps, float64(s))
			l.losses = append(l.losses, loss)
		}
	}
	l.val, err = keep("validation.csv")
	return err
}

func (l *trainLog) step(st train.Status) {
	l.loss = append(l.loss, fmt.Sprintf("%d,%d,%.6g,%.6g", st.Step, st.Images, st.Loss, st.LR))
	l.steps = append(l.steps, float64(st.Step))
	l.losses = append(l.losses, st.Loss)
	l.recent = append(l.recent, st.Loss)
	if len(l.recent) > 100 {
		l.recent = l.recent[1:]
	}
}

// smoothed returns the mean loss of the last (up to) 100 steps.
func (l *trainLog) smoothed() float64 {
	s := 0.0
	for _, v := range l.recent {
		s += v
	}
	return s / float64(max(1, len(l.recent)))
}

func (l *trainLog) flush(step int, buckets []train.Bucket) error {
	kept := l.val[:0]
	for _, row := range l.val { // a run resumed at its last step validates that step again
		if !strings.HasPrefix(row, fmt.Sprintf("%d,", step)) {
			kept = append(kept, row)
		}
	}
	l.val = kept
	for _, b := range buckets {
		l.val = append(l.val, fmt.Sprintf("%d,%.6g,%.6g,%.6g", step, b.Sigma, b.Loss, b.MSE))
	}
	write := func(name, header string, rows []string) error {
		return atomicfile.WriteFile(filepath.Join(l.dir, name), func(w io.Writer) error {
			_, err := io.WriteString(w, header+"\n"+strings.Join(rows, "\n")+"\n")
			return err
		})
	}
	if err := write("loss.csv", "step,images,loss,lr", l.loss); err != nil {
		return err
	}
	return write("validation.csv", "step,sigma,loss,mse", l.val)
}

// plot draws the training loss (a running mean over 100 steps) against the step.
func (l *trainLog) plot() error {
	sm := make([]float64, len(l.losses))
	s := 0.0
	for i, v := range l.losses {
		s += v
		if i >= 100 {
			s -= l.losses[i-100]
		}
		sm[i] = s / float64(min(i+1, 100))
	}
	fig := figures.Lines{Title: "EDM training loss (mean of 100 steps)", XLabel: "step", YLabel: "loss per pixel", LogY: true,
		Series: []figures.Series{{Name: "training", X: l.steps, Y: sm}}}
	return atomicfile.WriteFile(filepath.Join(l.dir, "loss.png"), fig.WritePNG)
}
