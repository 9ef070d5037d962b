// Package natsev evaluates the forward model of an ensemble on worker processes over NATS
// (github.com/nats-io/nats.go): the coordinator's Evaluator sends batches of members (rows)
// as request/reply messages to a queue group, and workers (Serve, `enkg worker`) evaluate
// them on a local guidance.Pool and reply.
//
// # Wire format
//
// Every message is little-endian and starts with a 72-byte header:
//
//	offset size  field
//	0      4     magic "ENKG"
//	4      2     version (uint16, 1)
//	6      1     kind (uint8): 1 forward request, 0x81 forward reply
//	7      1     reserved (0)
//	8      32    fingerprint: SHA-256 of the configuration fingerprint and the code version
//	40     8     request id (uint64)
//	48     4     first row (uint32): index of the message's first row in the coordinator's batch
//	52     4     rows (uint32)
//	56     4     in: input dimension (uint32)
//	60     4     out: output dimension (uint32)
//	64     8     σ (float64; 0 for the forward model, reserved for the denoiser)
//
// A request's body is rows×in float64 (row-major). A reply's body is rows status bytes (0 ok,
// 1 error, 2 non-finite output), then for every row whose status is not 0 its error text as
// a uint32 length and that many bytes of UTF-8 (at most MaxErrorText), then rows×out float64
// (the outputs; zeros for failed rows). A message whose length is not exactly what its header
// says, or with an unknown magic, version, kind or status, is an error (never a panic).
package natsev

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Wire constants.
const (
	Magic       = "ENKG"
	Version     = 1
	HeaderSize  = 72
	KindForward = 1
	// KindReply is or-ed into the kind of a reply.
	KindReply = 0x80

	StatusOK        = 0
	StatusError     = 1
	StatusNonFinite = 2

	// MaxErrorText bounds the error text of one row in a reply (bytes; longer texts are cut).
	MaxErrorText = 512
)

// ErrFormat reports a malformed message.
var ErrFormat = errors.New("natsev: malformed message")

// Header is the fixed part of every message.
type Header struct {
	Kind        uint8
	Fingerprint [32]byte
	ID          uint64
	First, Rows uint32
	In, Out     uint32
	Sigma       float64
}

// Request is a batch of member rows to evaluate.
type Request struct {
	Header
	// X holds Rows×In values, row-major.
	X []float64
}

// Reply carries the outputs of a Request's rows.
type Reply struct {
	Header
	// Status is one byte per row (StatusOK, StatusError, StatusNonFinite).
	Status []uint8
	// Errors holds the text of each failed row ("" for rows that succeeded).
	Errors []string
	// Y holds Rows×Out values, row-major (zeros for failed rows).
	Y []float64
}

func putHeader(b []byte, h *Header) {
	copy(b, Magic)
	binary.LittleEndian.PutUint16(b[4:], Version)
	b[6] = h.Kind
	b[7] = 0
	copy(b[8:40], h.Fingerprint[:])
	binary.LittleEndian.PutUint64(b[40:], h.ID)
	binary.LittleEndian.PutUint32(b[48:], h.First)
	binary.LittleEndian.PutUint32(b[52:], h.Rows)
	binary.LittleEndian.PutUint32(b[56:], h.In)
	binary.LittleEndian.PutUint32(b[60:], h.Out)
	binary.LittleEndian.PutUint64(b[64:], math.Float64bits(h.Sigma))
}

func getHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < HeaderSize {
		return h, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header", ErrFormat, len(b), HeaderSize)
	}
	if string(b[:4]) != Magic {
		return h, fmt.Errorf("%w: bad magic %q", ErrFormat, b[:4])
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != Version {
		return h, fmt.Errorf("%w: version %d, this program speaks %d", ErrFormat, v, Version)
	}
	h.Kind = b[6]
	copy(h.Fingerprint[:], b[8:40])
	h.ID = binary.LittleEndian.Uint64(b[40:])
	h.First = binary.LittleEndian.Uint32(b[48:])
	h.Rows = binary.LittleEndian.Uint32(b[52:])
	h.In = binary.LittleEndian.Uint32(b[56:])
	h.Out = binary.LittleEndian.Uint32(b[60:])
	h.Sigma = math.Float64frombits(binary.LittleEndian.Uint64(b[64:]))
	return h, nil
}

// RequestSize is the encoded size of a request of rows×in values.
func RequestSize(rows, in int) int { return HeaderSize + 8*rows*in }

// AppendRequest appends the encoding of r to b (r.Kind is set to KindForward when 0).
func AppendRequest(b []byte, r *Request) ([]byte, error) {
	if uint64(len(r.X)) != uint64(r.Rows)*uint64(r.In) {
		return b, fmt.Errorf("natsev: request of %d×%d rows holds %d values", r.Rows, r.In, len(r.X))
	}
	h := r.Header
	if h.Kind == 0 {
		h.Kind = KindForward
	}
	n := len(b)
	b = append(b, make([]byte, RequestSize(int(r.Rows), int(r.In)))...)
	putHeader(b[n:], &h)
	putFloats(b[n+HeaderSize:], r.X)
	return b, nil
}

// DecodeRequest decodes a request message.
func DecodeRequest(b []byte) (*Request, error) {
	h, err := getHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Kind != KindForward {
		return nil, fmt.Errorf("%w: kind %#x is not a forward request", ErrFormat, h.Kind)
	}
	n := uint64(h.Rows) * uint64(h.In)
	if body := uint64(len(b) - HeaderSize); body%8 != 0 || body/8 != n {
		return nil, fmt.Errorf("%w: request of %d×%d values has %d body bytes, want %d",
			ErrFormat, h.Rows, h.In, len(b)-HeaderSize, 8*n)
	}
	r := &Request{Header: h, X: make([]float64, n)}
	getFloats(r.X, b[HeaderSize:])
	return r, nil
}

// AppendReply appends the encoding of r to b; r.Kind gets KindReply set.
func AppendReply(b []byte, r *Reply) ([]byte, error) {
	rows := uint64(r.Rows)
	if uint64(len(r.Status)) != rows || uint64(len(r.Y)) != rows*uint64(r.Out) ||
		(r.Errors != nil && uint64(len(r.Errors)) != rows) {
		return b, fmt.Errorf("natsev: reply of %d rows with %d statuses, %d error texts, %d values (out %d)",
			r.Rows, len(r.Status), len(r.Errors), len(r.Y), r.Out)
	}
	h := r.Header
	h.Kind |= KindReply
	if h.Kind == KindReply {
		h.Kind |= KindForward
	}
	var hdr [HeaderSize]byte
	putHeader(hdr[:], &h)
	b = append(b, hdr[:]...)
	b = append(b, r.Status...)
	for i, s := range r.Status {
		if s > StatusNonFinite {
			return b, fmt.Errorf("natsev: row %d has status %d", i, s)
		}
		if s == StatusOK {
			continue
		}
		t := ""
		if r.Errors != nil {
			t = r.Errors[i]
		}
		if len(t) > MaxErrorText {
			t = t[:MaxErrorText]
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t)))
		b = append(b, t...)
	}
	n := len(b)
	b = append(b, make([]byte, 8*len(r.Y))...)
	putFloats(b[n:], r.Y)
	return b, nil
}

// DecodeReply decodes a reply message.
func DecodeReply(b []byte) (*Reply, error) {
	h, err := getHeader(b)
	if err != nil {
		return nil, err
	}
	if h.Kind != KindForward|KindReply {
		return nil, fmt.Errorf("%w: kind %#x is not a forward reply", ErrFormat, h.Kind)
	}
	b = b[HeaderSize:]
	rows := uint64(h.Rows)
	if uint64(len(b)) < rows {
		return nil, fmt.Errorf("%w: reply of %d rows has %d body bytes", ErrFormat, h.Rows, len(b))
	}
	r := &Reply{Header: h, Status: append([]uint8(nil), b[:rows]...), Errors: make([]string, rows)}
	b = b[rows:]
	for i, s := range r.Status {
		switch s {
		case StatusOK:
			continue
		case StatusError, StatusNonFinite:
		default:
			return nil, fmt.Errorf("%w: row %d has status %d", ErrFormat, i, s)
		}
		if len(b) < 4 {
			return nil, fmt.Errorf("%w: row %d: error text cut off", ErrFormat, i)
		}
		l := uint64(binary.LittleEndian.Uint32(b))
		b = b[4:]
		if l > MaxErrorText || uint64(len(b)) < l {
			return nil, fmt.Errorf("%w: row %d: error text of %d bytes (%d left)", ErrFormat, i, l, len(b))
		}
		r.Errors[i] = string(b[:l])
		b = b[l:]
	}
	n := rows * uint64(h.Out)
	if body := uint64(len(b)); body%8 != 0 || body/8 != n {
		return nil, fmt.Errorf("%w: reply of %d×%d values has %d output bytes, want %d", ErrFormat, h.Rows, h.Out, len(b), 8*n)
	}
	r.Y = make([]float64, n)
	getFloats(r.Y, b)
	return r, nil
}

func putFloats(b []byte, x []float64) {
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
}

func getFloats(x []float64, b []byte) {
	for i := range x {
		x[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
}
