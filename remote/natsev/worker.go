package natsev

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
)

// ConnOptions are the connection settings of a coordinator or a worker. A token goes in the
// URL's user part (nats://TOKEN@host:4222, the NATS convention); user:password too.
type ConnOptions struct {
	// Name is the client name the server shows.
	Name string
	// Creds is a NATS credentials file (JWT and NKey seed; nats.UserCredentials).
	Creds string
	// TLSCA, TLSCert and TLSKey are PEM files: the CA that signs the server's certificate,
	// and this client's certificate and key (both or neither).
	TLSCA, TLSCert, TLSKey string
	// TLSInsecure skips the check of the server's certificate (tests only).
	TLSInsecure bool
}

// Connect connects to the NATS server at url. A refused authentication is a clear error.
func Connect(rawURL string, o ConnOptions) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(time.Second)}
	if o.Name == "" {
		opts[0] = nats.Name("enkg")
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return nil, errors.New("natsev: a TLS client certificate needs both the certificate and the key")
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if o.TLSInsecure {
		opts = append(opts, nats.Secure(&tls.Config{InsecureSkipVerify: true}))
	}
	nc, err := nats.Connect(rawURL, opts...)
	if err != nil {
		shown := Redact(rawURL)
		if errors.Is(err, nats.ErrAuthorization) || strings.Contains(strings.ToLower(err.Error()), "authorization") {
			return nil, fmt.Errorf("natsev: the NATS server at %s refused the credentials (a wrong token in nats://TOKEN@host:port, or a wrong --creds file): %w", shown, err)
		}
		return nil, fmt.Errorf("natsev: connecting to the NATS server at %s: %w", shown, err)
	}
	return nc, nil
}

// Redact replaces a URL's user part (a token or a password) by "***".
func Redact(rawURL string) string {
	var out []string
	for _, u := range strings.Split(rawURL, ",") {
		p, err := url.Parse(strings.TrimSpace(u))
		if err != nil || p.User == nil {
			out = append(out, u)
			continue
		}
		p.User = nil
		out = append(out, strings.Replace(p.String(), "://", "://***@", 1))
	}
	return strings.Join(out, ",")
}

// JobInfo is what a coordinator tells workers about its run (on JobsSubject).
type JobInfo struct {
	// Fingerprint is the wire fingerprint (hex of Fingerprint(Config, Code)).
	Fingerprint string `json:"fingerprint"`
	// ConfigFingerprint is the configuration's own fingerprint.
	ConfigFingerprint string `json:"config_sha256"`
	// Code is the coordinator's code version.
	Code string `json:"code"`
	// Config is the resolved configuration (YAML).
	Config string `json:"config"`
	// In and Out are the forward model's dimensions.
	In  int `json:"in"`
	Out int `json:"out"`
}

// ServeJob answers requests on JobsSubject with info until the subscription is drained
// or ctx is done. When it returns, the server has the subscription (a round trip
// confirms it), so a worker that asks afterwards is answered.
func ServeJob(ctx context.Context, nc *nats.Conn, info JobInfo) (*nats.Subscription, error) {
	b, err := json.Marshal(info)
	if err != nil {
		return nil, err
	}
	sub, err := nc.Subscribe(JobsSubject, func(m *nats.Msg) { _ = m.Respond(b) })
	if err != nil {
		return nil, fmt.Errorf("natsev: serving the job description: %w", err)
	}
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("natsev: serving the job description: %w", err)
	}
	context.AfterFunc(ctx, func() { _ = sub.Unsubscribe() })
	return sub, nil
}

// FetchJob asks a coordinator for its job, waiting up to timeout for one to answer; with
// timeout ≤ 0 it asks once (for 2 s) and an absent coordinator is an error at once.
func FetchJob(ctx context.Context, nc *nats.Conn, timeout time.Duration) (*JobInfo, error) {
	once := timeout <= 0
	if once {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		m, err := nc.RequestWithContext(ctx, JobsSubject, nil)
		if err == nil {
			var info JobInfo
			if err := json.Unmarshal(m.Data, &info); err != nil {
				return nil, fmt.Errorf("natsev: a coordinator's job description: %w", err)
			}
			return &info, nil
		}
		if !errors.Is(err, nats.ErrNoResponders) || once {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("natsev: no coordinator answered on %s within %v", JobsSubject, timeout)
			}
			return nil, fmt.Errorf("natsev: asking for the job: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("natsev: no coordinator answered on %s within %v (start `enkg solve --nats` first, or give --config)", JobsSubject, timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Serve evaluates the forward requests of the run fp with ev until ctx is done. It then
// stops at once: the requests being evaluated and those waiting are not answered, and the
// coordinator sends them again to another worker after its timeout. Requests waiting for this
// worker are evaluated together, as one batch of up to ev.Workers() rows (an Evaluator with a
// Workers method, such as guidance.Pool) or as many as one request holds, so that small
// messages still use every core. logf (nil: none) logs each batch; its first line
// ("serving …") comes once the server has the subscription, so a caller may wait for it.
func Serve(ctx context.Context, nc *nats.Conn, fp [32]byte, ev guidance.Evaluator, logf func(string, ...any)) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	in, out := ev.InputDim(), ev.OutputDim()
	workers := 1
	if w, ok := ev.(interface{ Workers() int }); ok {
		workers = w.Workers()
	}
	sub, err := nc.QueueSubscribeSync(Subject(fp), Queue(fp))
	if err != nil {
		return fmt.Errorf("natsev: subscribing to %s: %w", Subject(fp), err)
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("natsev: subscribing to %s: %w", Subject(fp), err)
	}
	logf("serving %s (queue %s), model %d → %d", Subject(fp), Queue(fp), in, out)
	type job struct {
		m   *nats.Msg
		req *Request
	}
	decode := func(m *nats.Msg) *Request {
		req, err := DecodeRequest(m.Data)
		if err == nil && req.Fingerprint != fp {
			err = errors.New("natsev: request of another run (fingerprint)")
		}
		if err == nil && (int(req.In) != in || int(req.Out) != out) {
			err = fmt.Errorf("natsev: request for a model %d → %d, this worker's is %d → %d", req.In, req.Out, in, out)
		}
		if err != nil {
			logf("dropping a message on %s: %v", m.Subject, err)
			return nil
		}
		return req
	}
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			if ctx.Err() != nil {
				logf("stopping (unanswered requests go to other workers)")
				_ = sub.Unsubscribe()
				return nil
			}
			if le := nc.LastError(); le != nil {
				err = fmt.Errorf("%w (%v)", err, le)
			}
			return fmt.Errorf("natsev: receiving requests: %w", err)
		}
		t0 := time.Now()
		var jobs []job
		rows := 0
		if req := decode(m); req != nil {
			jobs, rows = append(jobs, job{m, req}), int(req.Rows)
		}
		// Take what else waits, up to a batch of `workers` rows.
		for rows < workers {
			m, err := sub.NextMsg(time.Microsecond)
			if err != nil {
				break
			}
			if req := decode(m); req != nil {
				jobs, rows = append(jobs, job{m, req}), rows+int(req.Rows)
			}
		}
		if len(jobs) == 0 {
			continue
		}
		xs := make([]float64, 0, rows*in)
		for _, j := range jobs {
			xs = append(xs, j.req.X...)
		}
		ys := make([]float64, rows*out)
		errs := make([]error, rows)
		if rows > 0 {
			if err := ev.Forward(ctx, mat.NewDense(rows, out, ys), mat.NewDense(rows, in, xs), errs); err != nil {
				// Cancelled or broken: no reply, the coordinator sends the requests again.
				logf("%d requests (%d members) not answered: %v", len(jobs), rows, err)
				continue
			}
		}
		k, failed := 0, 0
		for _, j := range jobs {
			n := int(j.req.Rows)
			rep := &Reply{Header: j.req.Header, Status: make([]uint8, n), Errors: make([]string, n), Y: ys[k*out : (k+n)*out]}
			for i := range n {
				e := errs[k+i]
				if e == nil {
					continue
				}
				failed++
				rep.Status[i] = StatusError
				if errors.Is(e, operator.ErrNonFinite) {
					rep.Status[i] = StatusNonFinite
				}
				var me *guidance.MemberError
				if errors.As(e, &me) {
					e = me.Err
				}
				rep.Errors[i] = e.Error()
				clear(rep.Y[i*out : (i+1)*out])
			}
			k += n
			b, err := AppendReply(nil, rep)
			if err == nil {
				err = j.m.Respond(b)
			}
			if err != nil {
				logf("request %d: replying: %v", j.req.ID, err)
			}
		}
		first := jobs[0].req
		what := fmt.Sprintf("request %d (members %d–%d)", first.ID, first.First, int(first.First)+int(first.Rows)-1)
		if len(jobs) > 1 {
			what = fmt.Sprintf("%d requests (%d members)", len(jobs), rows)
		}
		if failed > 0 {
			what += fmt.Sprintf(", %d members failed,", failed)
		}
		logf("%s evaluated in %.3fs", what, time.Since(t0).Seconds())
	}
}
