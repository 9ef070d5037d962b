package natsev

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestNatsWireRoundTrip(t *testing.T) {
	fp := [32]byte{1, 2, 3, 31: 9}
	req := &Request{Header: Header{Fingerprint: fp, ID: 1<<40 + 7, First: 5, Rows: 3, In: 2, Out: 4, Sigma: 0.5},
		X: []float64{1, -2, math.Pi, 0, math.Inf(1), math.Copysign(0, -1)}}
	b, err := AppendRequest(nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != RequestSize(3, 2) || string(b[:4]) != Magic {
		t.Fatalf("request of %d bytes", len(b))
	}
	got, err := DecodeRequest(b)
	if err != nil {
		t.Fatal(err)
	}
	req.Kind = KindForward
	if !reflect.DeepEqual(got.Header, req.Header) || !bitsEqual(got.X, req.X) {
		t.Fatalf("request round trip: %+v, want %+v", got, req)
	}

	rep := &Reply{Header: req.Header, Status: []uint8{StatusOK, StatusError, StatusNonFinite},
		Errors: []string{"", "solver blew up", string(bytes.Repeat([]byte("x"), MaxErrorText+10))},
		Y:      make([]float64, 12)}
	for i := range rep.Y {
		rep.Y[i] = float64(i) / 3
	}
	b, err = AppendReply(nil, rep)
	if err != nil {
		t.Fatal(err)
	}
	gr, err := DecodeReply(b)
	if err != nil {
		t.Fatal(err)
	}
	rep.Kind = KindForward | KindReply
	rep.Errors[2] = rep.Errors[2][:MaxErrorText]
	if !reflect.DeepEqual(gr.Header, rep.Header) || !reflect.DeepEqual(gr.Status, rep.Status) ||
		!reflect.DeepEqual(gr.Errors, rep.Errors) || !bitsEqual(gr.Y, rep.Y) {
		t.Fatalf("reply round trip: %+v, want %+v", gr, rep)
	}
	if _, err := DecodeRequest(b); !errors.Is(err, ErrFormat) {
		t.Fatalf("a reply decoded as a request: %v", err)
	}
	for cut := 0; cut < len(b); cut++ {
		if _, err := DecodeReply(b[:cut]); !errors.Is(err, ErrFormat) {
			t.Fatalf("reply cut to %d bytes: %v", cut, err)
		}
	}
}

func bitsEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// FuzzNatsDecode feeds arbitrary bytes to both decoders: an error or a message that
// re-encodes to the same bytes, never a panic or a huge allocation.
func FuzzNatsDecode(f *testing.F) {
	fp := [32]byte{7}
	req, _ := AppendRequest(nil, &Request{Header: Header{Fingerprint: fp, ID: 3, Rows: 2, In: 1, Out: 1}, X: []float64{1, 2}})
	rep, _ := AppendReply(nil, &Reply{Header: Header{Kind: KindForward, ID: 3, Rows: 2, In: 1, Out: 1},
		Status: []uint8{0, 1}, Errors: []string{"", "boom"}, Y: []float64{1, 0}})
	f.Add(req)
	f.Add(rep)
	f.Add([]byte("ENKG"))
	huge := append([]byte(nil), req...)
	huge[52], huge[53], huge[54], huge[55] = 0, 0, 0, 0x20 // rows 2^29
	huge[59] = 0x20                                        // in 2^29: 8·rows·in wraps to 0
	f.Add(huge[:HeaderSize])
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := DecodeRequest(b); err == nil {
			e, err := AppendRequest(nil, r)
			if err != nil || len(e) != len(b) || !bytes.Equal(e[8:], b[8:]) {
				t.Fatalf("request re-encodes differently: %v", err)
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("request error %v is not ErrFormat", err)
		}
		if r, err := DecodeReply(b); err == nil {
			if _, err := AppendReply(nil, r); err != nil {
				t.Fatalf("decoded reply does not encode: %v", err)
			}
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("reply error %v is not ErrFormat", err)
		}
	})
}
