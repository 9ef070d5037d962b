package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/problem"
	"github.com/enkg-go/enkg/remote/natsev"
)

// natsFlags are the connection flags of `enkg worker` and `enkg solve --nats`.
type natsFlags struct {
	url                    string
	creds                  string
	tlsCA, tlsCert, tlsKey string
}

func (n *natsFlags) add(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	f.StringVar(&n.url, "nats", "", what)
	f.StringVar(&n.creds, "creds", "", "NATS credentials file (JWT and NKey seed) for --nats")
	f.StringVar(&n.tlsCA, "tls-ca", "", "PEM file of the CA that signs the NATS server's certificate")
	f.StringVar(&n.tlsCert, "tls-cert", "", "PEM client certificate for the NATS server (with --tls-key)")
	f.StringVar(&n.tlsKey, "tls-key", "", "PEM key of --tls-cert")
}

func (n natsFlags) connect(name string) (*nats.Conn, error) {
	return natsev.Connect(n.url, natsev.ConnOptions{Name: name, Creds: n.creds, TLSCA: n.tlsCA, TLSCert: n.tlsCert, TLSKey: n.tlsKey})
}

// natsFingerprint is the wire fingerprint of cfg run by this program.
func natsFingerprint(cfg problem.Config) ([32]byte, string, error) {
	cf, err := cfg.ConfigFingerprint()
	if err != nil {
		return [32]byte{}, "", err
	}
	return natsev.Fingerprint(cf, problem.CodeVersion()), cf, nil
}

// workerWrap, when set (tests), wraps the worker's evaluator.
var workerWrap func(guidance.Evaluator) guidance.Evaluator

type workerOptions struct {
	nats    natsFlags
	config  string
	sets    []string
	workers int
	wait    time.Duration
}

func init() {
	var o workerOptions
	cmd := &cobra.Command{
		Use:   "worker --nats nats://TOKEN@HOST:4222 [--config FILE.yaml [--set key=value …]]",
		Short: "Evaluate the forward model for `enkg solve --nats` coordinators",
		Long: `Connects to a NATS server, asks the coordinator (an 'enkg solve --nats' of the same server) for
its resolved configuration — or reads --config (and --set) — builds the same problem (data
files are read from the same paths: shared storage or a copy), and evaluates the members the
coordinator sends, on --workers goroutines, until stopped (Ctrl-C, SIGTERM). Unanswered
requests of a stopped or dead worker are sent again to another worker.

The configuration fingerprint and the program version must equal the coordinator's, otherwise
the worker refuses to start (exit status 1). A token goes in the URL's user part
(nats://TOKEN@host:4222); --creds and the --tls-* flags are passed to the NATS client. A wrong
token is an error (exit status 1).`,
		Example: `  enkg worker --nats nats://s3cret@10.0.0.1:4222
  enkg worker --nats nats://s3cret@10.0.0.1:4222 --config configs/navier-stokes-cpu.yaml --workers 16`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWorker(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	o.nats.add(cmd, "URL of the NATS server (required), nats://TOKEN@host:4222 with token authentication")
	f := cmd.Flags()
	f.StringVar(&o.config, "config", "", "YAML configuration (default: the coordinator's, asked over NATS)")
	f.StringArrayVar(&o.sets, "set", nil, "override a key of --config (repeatable)")
	f.IntVar(&o.workers, "workers", 0, "goroutines evaluating members (0: all cores)")
	f.DurationVar(&o.wait, "wait", time.Minute, "how long to wait for a coordinator to answer (0: ask once)")
	rootCmd.AddCommand(cmd)
}

func runWorker(ctx context.Context, o workerOptions, stderr io.Writer) error {
	if o.nats.url == "" {
		return fmt.Errorf("worker: --nats is required")
	}
	if o.workers < 0 {
		return fmt.Errorf("worker: --workers %d: want 0 (all cores) or more", o.workers)
	}
	lg := log.New(stderr, "worker: ", log.LstdFlags|log.Lmicroseconds)
	nc, err := o.nats.connect("enkg worker")
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer nc.Close()
	lg.Printf("connected to %s", natsev.Redact(nc.ConnectedUrl()))
	var (
		cfg problem.Config
		job *natsev.JobInfo
	)
	if o.config != "" {
		if cfg, err = problem.Load(o.config, o.sets); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		// A coordinator that answers at once is checked against; none is fine (the subject
		// is the fingerprint's: a worker of another run never sees its requests).
		job, _ = natsev.FetchJob(ctx, nc, 0)
	} else {
		lg.Printf("asking %s for the coordinator's configuration", natsev.JobsSubject)
		if job, err = natsev.FetchJob(ctx, nc, o.wait); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		if cfg, err = problem.Parse(job.Config); err != nil {
			return fmt.Errorf("worker: the coordinator's configuration: %w", err)
		}
	}
	fp, cf, err := natsFingerprint(cfg)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	code := problem.CodeVersion()
	if job != nil && (job.Fingerprint != hex.EncodeToString(fp[:]) || job.ConfigFingerprint != cf || job.Code != code) {
		switch {
		case job.ConfigFingerprint != cf:
			return fmt.Errorf("worker: the coordinator runs another configuration (fingerprint %.12s…, this worker's %.12s…): start the worker without --config, or with the coordinator's", job.ConfigFingerprint, cf)
		case job.Code != code:
			return fmt.Errorf("worker: the coordinator runs another program version (%q, this worker %q): install the same enkg on every machine", job.Code, code)
		default:
			return fmt.Errorf("worker: fingerprint %s differs from the coordinator's %s", hex.EncodeToString(fp[:]), job.Fingerprint)
		}
	}
	lg.Printf("building the problem (%s, %d×%d, config %.12s…, code %s)", cfg.Problem.Kind, cfg.Problem.Size, cfg.Problem.Size, cf, code)
	p, err := problem.Build(ctx, cfg)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	pool, err := guidance.NewPool(p.Guidance.Forward, o.workers)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if job != nil && (job.In != pool.InputDim() || job.Out != pool.OutputDim()) {
		return fmt.Errorf("worker: model %d → %d, the coordinator's %d → %d", pool.InputDim(), pool.OutputDim(), job.In, job.Out)
	}
	lg.Printf("%d goroutines", pool.Workers())
	var ev guidance.Evaluator = pool
	if workerWrap != nil {
		ev = workerWrap(ev)
	}
	if err := natsev.Serve(ctx, nc, fp, ev, lg.Printf); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	lg.Printf("stopped")
	return nil
}

// natsEvaluator connects solve to the NATS workers: it serves the job description and
// returns the Evaluator (and a function that closes everything).
func natsEvaluator(ctx context.Context, o solveOptions, cfg problem.Config, p *problem.Problem, stderr io.Writer) (guidance.Evaluator, func(), error) {
	nc, err := o.nats.connect("enkg solve")
	if err != nil {
		return nil, nil, err
	}
	op, err := p.Guidance.Forward()
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	in, out := op.InputDim(), op.OutputDim()
	fp, cf, err := natsFingerprint(cfg)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	text, err := cfg.Marshal()
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := func() { cancel(); nc.Close() }
	if _, err := natsev.ServeJob(ctx, nc, natsev.JobInfo{Fingerprint: hex.EncodeToString(fp[:]), ConfigFingerprint: cf,
		Code: problem.CodeVersion(), Config: string(text), In: in, Out: out}); err != nil {
		stop()
		return nil, nil, err
	}
	lg := log.New(stderr, "solve: ", log.LstdFlags)
	ev, err := natsev.New(nc, fp, in, out, natsev.Options{InFlight: o.natsInFlight, Timeout: o.natsTimeout, Logf: lg.Printf})
	if err != nil {
		stop()
		return nil, nil, err
	}
	if o.localWorkers > 0 {
		pool, err := guidance.NewPool(p.Guidance.Forward, o.localWorkers)
		if err != nil {
			stop()
			return nil, nil, err
		}
		go func() {
			if err := natsev.Serve(ctx, nc, fp, pool, nil); err != nil && ctx.Err() == nil {
				lg.Printf("local workers: %v", err)
			}
		}()
	}
	lg.Printf("members go to the workers of %s on %s (%d per message)", natsev.Subject(fp), natsev.Redact(nc.ConnectedUrl()), ev.MaxRows())
	return ev, stop, nil
}
