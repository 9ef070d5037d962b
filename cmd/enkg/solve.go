package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/problem"
	"github.com/enkg-go/enkg/remote/natsev"
)

// `enkg solve` is a thin wrapper over package problem: problem.Load reads the YAML and the
// overrides, problem.Build builds the inverse problem, Problem.Run solves it in physical
// units and Problem.Save writes the outputs (config.yaml last).

func init() {
	// prior.kind fit reads `enkg data ns` HDF5 files through this reader (cgo).
	problem.RegisterReader(".h5", readH5Dataset)
}

// readH5Dataset reads the first max fields of an HDF5 training set and its seed attribute.
func readH5Dataset(path string, max int) (*problem.Dataset, error) {
	f, err := h5.Open(path, h5.DefaultName)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, nx, ny := f.Shape()
	if pending, err := f.Pending(); err == nil && len(pending) > 0 {
		return nil, fmt.Errorf("%s: %d of %d fields not generated yet (rerun the `enkg data` command to finish it)", path, len(pending), n)
	}
	if max > 0 && max < n {
		n = max
	}
	d := &problem.Dataset{Fields: mat.NewDense(n, nx*ny, nil), Nx: nx, Ny: ny}
	if err := f.ReadMembers(d.Fields.RawMatrix().Data, 0, n); err != nil {
		return nil, err
	}
	if s, err := h5.Attr[int64](f, "seed"); err == nil && s >= 0 {
		d.Seed, d.HasSeed = uint64(s), true
	}
	return d, nil
}

type solveOptions struct {
	config   string
	sets     []string
	out      string
	progress bool
	force    bool
	resume   bool

	nats         natsFlags
	natsInFlight int
	natsTimeout  time.Duration
	localWorkers int
}

// solveAfterCheckpoint, when set (tests), is called after each checkpoint is written with the
// number of completed steps.
var solveAfterCheckpoint func(step int)

func init() {
	var o solveOptions
	cmd := &cobra.Command{
		Use:   "solve --config FILE.yaml [--set key=value …] --out DIR",
		Short: "Solve an inverse problem with EnKG or a baseline",
		Long: `Solve an inverse problem y = G(x) + noise with Ensemble Kalman Diffusion Guidance (EnKG) or one of
its baselines (EKI, DPS, forward-GSG, central-GSG, DPG, SCG), as configured by a YAML file
(configs/README.md documents every key; unknown keys, fractional values of integer settings and
seeds ≥ 2^63 are errors). --set overrides any key by its dotted path.

Problems (problem.kind): linear-gaussian (y = x[::s, ::s] + noise, exact posterior mean
reported), navier-stokes (the vorticity w at time 0 from w at time T on every s-th point),
blackhole (EHT closure data), image (Fashion-MNIST image tasks). Priors (prior.kind): gaussian,
grf, grf-fit, gmm, empirical, file (a fitted prior .npz), fit (fitted to a dataset file: HDF5
of 'enkg data ns' or a .npy stack), unet (EDM U-Net weights + description). The truth comes
from truth.file, a prior draw, a simulated spun-up field (held out: its seed must differ
from the training set's) or the dataset; observation.file gives the data instead.

Physical units throughout: truth.npy, observation.npy, ensemble.npy, mean.npy and std.npy
are vorticity for navier-stokes, image units for blackhole, [−1, 1] pixels for image; the
methods run in the prior's normalised space (physical = scale·x + shift), and the σ settings
of the algorithms are in that space.

With algorithm.name eki and algorithm.eki.equal_budget (the default), EKI runs the EnKG
settings' ensemble size for as many iterations as their forward budget allows
(J·updates·guided steps / J), so '--set algorithm.name=eki' compares at equal cost.

Writes into DIR (which must be empty or absent unless --force; a DIR that already holds the
complete results of the same resolved configuration is left as is, so a study script resumes): ensemble.npy, mean.npy,
std.npy, truth.npy, observation.npy, PNG figures, metrics.json (counts.forward: forward
evaluations) and, last, config.yaml (fully resolved: rerunning it reproduces the run).

EnKG and EKI keep checkpoint.npz in DIR, rewritten atomically after every sampling step (EKI:
iteration). Ctrl-C or SIGTERM (timeout, batch schedulers) stops the solve and saves the partial
results; rerun the same command with --resume to continue from the last completed step: the final
ensemble.npy is bit-identical to an uninterrupted run's, finished steps are not recomputed, and
the counts include the earlier sessions. The checkpoint is deleted when the results are complete.

algorithm.on_member_failure resample (enkg, eki) keeps a solve going when the forward model fails
on some members: they sit out that update and are redrawn from a Gaussian fitted to the others;
metrics.json counts them (counts.forward_failed).

--nats URL sends the forward evaluations to 'enkg worker --nats URL' processes on any number of
machines (they ask this solve for its configuration; the results are bit-identical to a local
solve). A request a worker does not answer within --nats-timeout is sent again; members
unanswered three times count as failed members (see on_member_failure). --local-workers N also
evaluates members here.`,
		Example: `  enkg solve --config configs/linear-gaussian.yaml --out out/lin
  enkg solve --config configs/navier-stokes-neural.yaml --set truth.seed=1003 --out out/ns-1003
  enkg solve --config configs/navier-stokes-neural.yaml --set algorithm.name=eki --out out/ns-eki
  timeout 600 enkg solve --config configs/navier-stokes-published.yaml --out out/ns-pub; enkg solve --config configs/navier-stokes-published.yaml --out out/ns-pub --resume`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSolve(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "YAML configuration file (required)")
	f.StringArrayVar(&o.sets, "set", nil, "override a configuration key, e.g. --set algorithm.enkg.members=64 (repeatable)")
	f.StringVar(&o.out, "out", "", "output directory (required; empty or absent unless --force)")
	f.BoolVar(&o.progress, "progress", true, "draw a progress bar on stderr")
	f.BoolVar(&o.force, "force", false, "write into a non-empty output directory, replacing the outputs there")
	f.BoolVar(&o.resume, "resume", false, "continue an interrupted solve of the same configuration from --out's checkpoint.npz (enkg, eki)")
	o.nats.add(cmd, "evaluate the forward model on `enkg worker` processes through this NATS server (nats://TOKEN@host:4222)")
	f.IntVar(&o.natsInFlight, "nats-inflight", natsev.DefaultInFlight, "with --nats: requests awaiting a reply at most (about 2 per worker process)")
	f.DurationVar(&o.natsTimeout, "nats-timeout", natsev.DefaultTimeout, "with --nats: a request without reply after this long is sent again (3 tries, then its members failed)")
	f.IntVar(&o.localWorkers, "local-workers", 0, "with --nats: also evaluate members here on this many goroutines")
	rootCmd.AddCommand(cmd)
}

// solveCheckOut refuses a non-empty output directory (unless force) and an output that is
// one of the inputs.
func solveCheckOut(dir string, force bool, inputs []string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("--out %s exists and is not a directory", dir)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(ents) > 0 && !force {
		return fmt.Errorf("--out %s is not empty (%d entries): choose a new directory, pass --resume to continue an interrupted solve of the same configuration, or --force to replace its outputs", dir, len(ents))
	}
	for _, name := range append(problem.Files[:len(problem.Files):len(problem.Files)], problem.CheckpointFile) {
		if err := atomicfile.CheckOutput(dir+string(os.PathSeparator)+name, inputs...); err != nil {
			return err
		}
	}
	return nil
}

// solveComplete reports whether dir holds a finished run of exactly cfg: its config.yaml
// (written last) equals cfg and its metrics.json says complete. Rerunning a study then
// resumes where it stopped instead of failing on the non-empty directory.
func solveComplete(dir string, cfg problem.Config) bool {
	want, err := cfg.Marshal()
	if err != nil {
		return false
	}
	got, err := os.ReadFile(filepath.Join(dir, "config.yaml"))
	if err != nil || !bytes.Equal(got, want) {
		return false
	}
	b, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		return false
	}
	var m struct {
		Complete bool `json:"complete"`
	}
	return json.Unmarshal(b, &m) == nil && m.Complete
}

// solveResumeCheck decides what --resume continues: the checkpoint in dir when it belongs to
// cfg, or nothing (a fresh start) when dir is empty, absent or holds the partial results of
// cfg from before its first checkpoint. Any other content is refused as without --resume.
func solveResumeCheck(dir string, cfg problem.Config, stderr io.Writer) (*guidance.Checkpoint, error) {
	cp, note, err := cfg.LoadCheckpoint(dir)
	if err != nil {
		return nil, fmt.Errorf("--resume: %w (a new --out, or --force to start afresh)", err)
	}
	if note != "" {
		fmt.Fprintf(stderr, "solve: note: %s; the result is bit-identical to an uninterrupted run only if the numerics did not change\n", note)
	}
	if cp != nil {
		state := fmt.Sprintf("after step %d of %d", cp.Step, cp.Steps)
		if cp.Done {
			state = "finished"
		}
		fmt.Fprintf(stderr, "solve: resuming %s %s (%d forward evaluations done)\n", cp.Method, state, cp.Counts.Forward)
		return cp, nil
	}
	want, err := cfg.Marshal()
	if err != nil {
		return nil, err
	}
	if got, err := os.ReadFile(filepath.Join(dir, "config.yaml")); err == nil && bytes.Equal(got, want) {
		fmt.Fprintf(stderr, "solve: %s has no checkpoint: starting from the beginning\n", dir)
		return nil, nil
	}
	if err := solveCheckOut(dir, false, nil); err != nil {
		return nil, fmt.Errorf("--resume: %s has no checkpoint and no results of this configuration: %w", dir, err)
	}
	fmt.Fprintf(stderr, "solve: --resume: %s holds nothing to continue: starting from the beginning\n", dir)
	return nil, nil
}

func runSolve(ctx context.Context, o solveOptions, stderr io.Writer) error {
	if o.config == "" || o.out == "" {
		return fmt.Errorf("solve: --config and --out are required")
	}
	if o.resume && o.force {
		return fmt.Errorf("solve: --resume continues the run in --out, --force replaces it: choose one")
	}
	if o.nats.url != "" && (o.natsInFlight < 1 || o.natsTimeout <= 0 || o.localWorkers < 0) {
		return fmt.Errorf("solve: --nats-inflight %d, --nats-timeout %v, --local-workers %d: want ≥ 1, > 0 and ≥ 0", o.natsInFlight, o.natsTimeout, o.localWorkers)
	}
	cfg, err := problem.Load(o.config, o.sets)
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	if !o.force && solveComplete(o.out, cfg) {
		fmt.Fprintf(stderr, "solve: %s already holds the complete results of this configuration (--force to rerun)\n", o.out)
		return nil
	}
	inputs := []string{o.config, cfg.Truth.File, cfg.Observation.File, cfg.Prior.File, cfg.Prior.Data}
	method, err := cfg.Method()
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	_, resumable := method.(guidance.Resumable)
	var from *guidance.Checkpoint
	if o.resume {
		if !resumable {
			return fmt.Errorf("solve: --resume: %s cannot be resumed (enkg and eki can)", method.Name())
		}
		if from, err = solveResumeCheck(o.out, cfg, stderr); err != nil {
			return fmt.Errorf("solve: %w", err)
		}
	}
	if err := solveCheckOut(o.out, o.force || o.resume, inputs); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	if o.force {
		if err := problem.RemoveCheckpoint(o.out); err != nil {
			return fmt.Errorf("solve: %w", err)
		}
	}
	p, err := problem.Build(ctx, cfg)
	if err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	opt := guidance.Options{Workers: cfg.Workers, Resume: from}
	if o.nats.url != "" {
		ev, stop, err := natsEvaluator(ctx, o, cfg, p, stderr)
		if err != nil {
			return fmt.Errorf("solve: %w", err)
		}
		defer stop()
		opt.Evaluator = ev
	} else if o.localWorkers > 0 {
		return fmt.Errorf("solve: --local-workers goes with --nats")
	}
	if o.progress {
		opt.Recorder = guidance.NewProgress(stderr)
	}
	if resumable {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return fmt.Errorf("solve: %w", err)
		}
		save, err := cfg.Checkpointer(o.out)
		if err != nil {
			return fmt.Errorf("solve: %w", err)
		}
		opt.Checkpoint = func(c *guidance.Checkpoint) error {
			if err := save(c); err != nil {
				return err
			}
			if solveAfterCheckpoint != nil {
				solveAfterCheckpoint(c.Step)
			}
			return nil
		}
	}
	t0 := time.Now()
	res, runErr := p.Run(ctx, method, opt)
	if res == nil {
		return fmt.Errorf("solve: %w", runErr)
	}
	if err := p.Save(o.out, res, runErr == nil); err != nil {
		return fmt.Errorf("solve: %w", err)
	}
	fmt.Fprintf(stderr, "%s: rel L2 %.4f, %d forward evaluations (%d sequential), %d denoiser evaluations, %.1fs → %s\n",
		res.Method, res.Metrics["rel_l2"], res.Counts.Forward, res.Counts.Sequential, res.Counts.Denoiser, time.Since(t0).Seconds(), o.out)
	if res.Counts.Failed > 0 {
		fmt.Fprintf(stderr, "%s: %d forward evaluations failed (members redrawn)\n", res.Method, res.Counts.Failed)
	}
	if runErr != nil {
		if resumable {
			return fmt.Errorf("solve: stopped early (partial results saved; the same command with --resume continues from %s): %w",
				problem.CheckpointFile, runErr)
		}
		return fmt.Errorf("solve: stopped early (partial results saved): %w", runErr)
	}
	if resumable {
		if err := problem.RemoveCheckpoint(o.out); err != nil {
			return fmt.Errorf("solve: %w", err)
		}
	}
	return nil
}
