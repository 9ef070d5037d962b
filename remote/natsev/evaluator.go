package natsev

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/operator"
)

// Defaults of Options.
const (
	DefaultMaxPayload = 1 << 20
	DefaultInFlight   = 8
	DefaultTimeout    = 30 * time.Second
	DefaultTries      = 3
)

// JobsSubject is where a coordinator answers workers' requests for its job (JobInfo).
const JobsSubject = "enkg.jobs"

// Fingerprint is the fingerprint of a run on the wire: the SHA-256 of the configuration
// fingerprint and the code version, so that a worker built from another configuration or
// another program refuses to serve (and is never sent) the coordinator's members.
func Fingerprint(configFingerprint, codeVersion string) [32]byte {
	return sha256.Sum256([]byte("enkg-nats/1\n" + configFingerprint + "\n" + codeVersion))
}

// Subject is the subject of the forward requests of a run, and Queue the queue group of its
// workers: enkg.<first 16 hex digits of fp>.forward and enkg.<…>.
func Subject(fp [32]byte) string { return "enkg." + hex.EncodeToString(fp[:8]) + ".forward" }

// Queue is the queue group of the workers of a run.
func Queue(fp [32]byte) string { return "enkg." + hex.EncodeToString(fp[:8]) }

// Options configure an Evaluator.
type Options struct {
	// MaxPayload bounds a message (bytes; DefaultMaxPayload, and never more than the server's
	// limit).
	MaxPayload int
	// InFlight bounds the requests awaiting a reply (DefaultInFlight).
	InFlight int
	// Timeout is how long a request waits for its reply before it is sent again, to whichever
	// worker of the queue group the server picks (DefaultTimeout).
	Timeout time.Duration
	// Tries is how many times a request is sent before its rows become member failures
	// (DefaultTries).
	Tries int
	// Logf, when non-nil, logs re-sent requests.
	Logf func(format string, args ...any)
}

// Evaluator is a guidance.Evaluator whose members are evaluated by worker processes over
// NATS: Forward splits a batch into messages under the payload limit, sends them to the
// run's queue group with at most InFlight awaiting replies, re-sends a request that has no
// reply after Timeout (the same request id: evaluation is a pure function of the rows, so a
// duplicate is harmless and the first reply per id wins), and makes the rows of a request
// sent Tries times without a reply member failures (algorithm.on_member_failure decides).
// A row a worker reports as failed (its forward model's error, or a NaN or infinity) is a
// member failure at once. Results are bit-identical to a local guidance.Pool's.
type Evaluator struct {
	nc      *nats.Conn
	fp      [32]byte
	subject string
	in, out int
	opt     Options
	maxRows int

	inbox string
	sub   *nats.Subscription
	ids   atomic.Uint64
	mu    sync.Mutex
	wait  map[uint64]chan answer

	sent, resent, replies, dups, idle atomic.Int64
	idleLogged                        atomic.Bool
}

// answer is a reply, or the server's word that no worker listens (noWorker).
type answer struct {
	rep      *Reply
	noWorker bool
}

// idleWait is how long a request waits to be sent again when no worker listens.
const idleWait = 100 * time.Millisecond

// New returns the Evaluator of a run with fingerprint fp and model dimensions in → out on nc.
func New(nc *nats.Conn, fp [32]byte, in, out int, opt Options) (*Evaluator, error) {
	if in < 1 || out < 1 {
		return nil, fmt.Errorf("natsev: model dimensions %d → %d: %w", in, out, operator.ErrDim)
	}
	if opt.MaxPayload <= 0 {
		opt.MaxPayload = DefaultMaxPayload
	}
	if m := int(nc.MaxPayload()); m > 0 && opt.MaxPayload > m {
		opt.MaxPayload = m
	}
	if opt.InFlight <= 0 {
		opt.InFlight = DefaultInFlight
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Tries <= 0 {
		opt.Tries = DefaultTries
	}
	// A row of a reply takes its outputs, a status byte and at most an error text.
	row := max(8*in, 8*out+1+4+MaxErrorText)
	maxRows := (opt.MaxPayload - HeaderSize) / row
	if maxRows < 1 {
		return nil, fmt.Errorf("natsev: one member (%d inputs, %d outputs) does not fit in a %d-byte message", in, out, opt.MaxPayload)
	}
	e := &Evaluator{nc: nc, fp: fp, subject: Subject(fp), in: in, out: out, opt: opt, maxRows: maxRows,
		inbox: nc.NewRespInbox(), wait: map[uint64]chan answer{}}
	e.inbox = e.inbox[:strings.LastIndexByte(e.inbox, '.')]
	sub, err := nc.Subscribe(e.inbox+".*", e.reply)
	if err != nil {
		return nil, fmt.Errorf("natsev: subscribing to replies: %w", err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	e.sub = sub
	return e, nil
}

// Close stops receiving replies.
func (e *Evaluator) Close() error { return e.sub.Unsubscribe() }

// InputDim returns the model's input dimension.
func (e *Evaluator) InputDim() int { return e.in }

// OutputDim returns the model's output dimension.
func (e *Evaluator) OutputDim() int { return e.out }

// MaxRows is the number of members per message.
func (e *Evaluator) MaxRows() int { return e.maxRows }

// Stats are an Evaluator's message counts.
type Stats struct {
	Sent, Resent, Replies, Duplicates, NoWorker int64
}

// Stats returns the messages so far: requests sent (first tries), re-sent after a timeout,
// replies used, replies dropped (a duplicate, a late reply or one that did not match its
// request), and requests the server reported no worker for (sent again shortly, within the
// same try).
func (e *Evaluator) Stats() Stats {
	return Stats{Sent: e.sent.Load(), Resent: e.resent.Load(), Replies: e.replies.Load(), Duplicates: e.dups.Load(), NoWorker: e.idle.Load()}
}

// reply hands a reply to the request waiting for its id; others are dropped.
func (e *Evaluator) reply(m *nats.Msg) {
	if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
		// No responders: no worker listens on the subject (yet).
		id, err := strconv.ParseUint(m.Subject[strings.LastIndexByte(m.Subject, '.')+1:], 10, 64)
		if err != nil {
			return
		}
		e.mu.Lock()
		ch, ok := e.wait[id]
		e.mu.Unlock()
		if ok {
			select {
			case ch <- answer{noWorker: true}:
			default:
			}
		}
		return
	}
	r, err := DecodeReply(m.Data)
	if err != nil || r.Fingerprint != e.fp {
		e.dups.Add(1)
		if e.opt.Logf != nil {
			e.opt.Logf("natsev: dropping a reply on %s: %v", m.Subject, err)
		}
		return
	}
	e.mu.Lock()
	ch, ok := e.wait[r.ID]
	delete(e.wait, r.ID)
	e.mu.Unlock()
	if !ok {
		e.dups.Add(1)
		return
	}
	// A reply wins over a pending no-worker notice: the channel has room for one.
	select {
	case ch <- answer{rep: r}:
	default:
		select {
		case <-ch:
		default:
		}
		ch <- answer{rep: r}
	}
}

// Forward evaluates every row of x on the workers (see guidance.Evaluator).
func (e *Evaluator) Forward(ctx context.Context, dst, x *mat.Dense, errs []error) error {
	r, c := x.Dims()
	rd, cd := dst.Dims()
	if c != e.in || rd != r || cd != e.out || (errs != nil && len(errs) != r) {
		return fmt.Errorf("natsev: forward of a %d×%d ensemble into %d×%d, model %d → %d: %w",
			r, c, rd, cd, e.in, e.out, operator.ErrDim)
	}
	if r == 0 {
		return nil
	}
	// At least two messages per request slot, so that every worker gets work.
	per := min(e.maxRows, max(1, (r+2*e.opt.InFlight-1)/(2*e.opt.InFlight)))
	rowErrs := errs
	if rowErrs == nil {
		rowErrs = make([]error, r)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, e.opt.InFlight)
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		batchErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { batchErr = err; cancel() })
	}
	for first := 0; first < r; first += per {
		n := min(per, r-first)
		wg.Add(1)
		go func(first, n int) {
			defer wg.Done()
			if err := e.request(ctx, sem, dst, x, rowErrs, first, n); err != nil {
				fail(err)
			}
		}(first, n)
	}
	wg.Wait()
	if batchErr != nil {
		return batchErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if errs == nil {
		for _, err := range rowErrs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// request sends rows first … first+n−1 until a reply comes or Tries run out.
func (e *Evaluator) request(ctx context.Context, sem chan struct{}, dst, x *mat.Dense, errs []error, first, n int) error {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-sem }()
	id := e.ids.Add(1)
	raw := x.RawMatrix()
	xs := make([]float64, 0, n*e.in)
	for i := first; i < first+n; i++ {
		xs = append(xs, raw.Data[i*raw.Stride:i*raw.Stride+e.in]...)
	}
	data, err := AppendRequest(make([]byte, 0, RequestSize(n, e.in)), &Request{
		Header: Header{Kind: KindForward, Fingerprint: e.fp, ID: id, First: uint32(first), Rows: uint32(n),
			In: uint32(e.in), Out: uint32(e.out)}, X: xs})
	if err != nil {
		return err
	}
	ch := make(chan answer, 1)
	e.mu.Lock()
	e.wait[id] = ch
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.wait, id)
		e.mu.Unlock()
	}()
	reply := fmt.Sprintf("%s.%d", e.inbox, id)
	timer := time.NewTimer(e.opt.Timeout)
	defer timer.Stop()
	send := func() error {
		if err := e.nc.PublishMsg(&nats.Msg{Subject: e.subject, Reply: reply, Data: data}); err != nil {
			return fmt.Errorf("natsev: sending members %d–%d: %w", first, first+n-1, err)
		}
		return nil
	}
	for try := 1; ; try++ {
		if err := send(); err != nil {
			return err
		}
		if try == 1 {
			e.sent.Add(1)
		} else {
			e.resent.Add(1)
		}
		timer.Reset(e.opt.Timeout)
	wait:
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case a := <-ch:
				if a.rep != nil {
					e.replies.Add(1)
					return e.use(a.rep, dst, errs, first, n)
				}
				// No worker listens: send again shortly, within this try's time.
				e.idle.Add(1)
				if e.opt.Logf != nil && !e.idleLogged.Swap(true) {
					e.opt.Logf("natsev: no worker listens on %s yet: waiting for one", e.subject)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-timer.C:
					break wait
				case <-time.After(idleWait):
				}
				if err := send(); err != nil {
					return err
				}
			case <-timer.C:
				break wait
			}
		}
		if try >= e.opt.Tries {
			for i := first; i < first+n; i++ {
				errs[i] = &guidance.MemberError{Step: -1, Member: i, What: "forward model",
					Err: fmt.Errorf("natsev: no reply from a worker to %d requests of %v each", try, e.opt.Timeout)}
			}
			if e.opt.Logf != nil {
				e.opt.Logf("natsev: members %d–%d failed: no reply to %d requests", first, first+n-1, try)
			}
			return nil
		}
		if e.opt.Logf != nil {
			e.opt.Logf("natsev: no reply for members %d–%d after %v: sending again (try %d of %d)", first, first+n-1, e.opt.Timeout, try+1, e.opt.Tries)
		}
	}
}

// use copies a reply's rows into dst and errs.
func (e *Evaluator) use(rep *Reply, dst *mat.Dense, errs []error, first, n int) error {
	if int(rep.First) != first || int(rep.Rows) != n || int(rep.In) != e.in || int(rep.Out) != e.out {
		return fmt.Errorf("natsev: reply for rows %d+%d (%d → %d) to a request for rows %d+%d (%d → %d)",
			rep.First, rep.Rows, rep.In, rep.Out, first, n, e.in, e.out)
	}
	for k := 0; k < n; k++ {
		i := first + k
		switch rep.Status[k] {
		case StatusOK:
			copy(dst.RawRowView(i), rep.Y[k*e.out:(k+1)*e.out])
			errs[i] = nil
		default:
			err := errors.New(rep.Errors[k])
			if rep.Status[k] == StatusNonFinite {
				err = fmt.Errorf("%w (on a worker)", operator.ErrNonFinite)
				if rep.Errors[k] != "" {
					err = fmt.Errorf("%s: %w", rep.Errors[k], operator.ErrNonFinite)
				}
			}
			errs[i] = &guidance.MemberError{Step: -1, Member: i, What: "forward model", Err: err}
		}
	}
	return nil
}
