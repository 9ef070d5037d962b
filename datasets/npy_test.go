package datasets

import (
	"bytes"
	"path/filepath"
	"testing"
)

func TestNPYRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{}, {3}, {2, 3}, {2, 1, 4}} {
		n := 1
		for _, s := range shape {
			n *= s
		}
		data := make([]float64, n)
		for i := range data {
			data[i] = float64(i)*0.5 - 1
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, shape, data); err != nil {
			t.Fatal(err)
		}
		if buf.Len()%64 != 8*n%64 {
			t.Errorf("shape %v: header not 64-byte aligned", shape)
		}
		a, err := ReadNPY(&buf)
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		if len(a.Shape) != len(shape) || a.Len() != n || a.Dtype != "<f8" {
			t.Fatalf("shape %v: got shape %v dtype %s", shape, a.Shape, a.Dtype)
		}
		for i := range data {
			if a.Data[i] != data[i] {
				t.Fatalf("shape %v: element %d = %v want %v", shape, i, a.Data[i], data[i])
			}
		}
	}
	p := filepath.Join(t.TempDir(), "x.npy")
	if err := SaveNPY(p, []int{2, 2}, []float64{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	a, err := LoadNPY(p)
	if err != nil || a.Data[3] != 4 {
		t.Fatalf("LoadNPY: %v %v", a, err)
	}
}

func TestNPYFortranOrder(t *testing.T) {
	// numpy.asfortranarray(np.arange(6.).reshape(2,3)) stores 0 3 1 4 2 5.
	var buf bytes.Buffer
	h := header("<f8", []int{2, 3})
	h = bytes.Replace(h, []byte("False"), []byte("True "), 1)
	buf.Write(h)
	var tmp bytes.Buffer
	_ = WriteNPY(&tmp, []int{6}, []float64{0, 3, 1, 4, 2, 5})
	buf.Write(tmp.Bytes()[len(header("<f8", []int{6})):])
	a, err := ReadNPY(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0, 1, 2, 3, 4, 5} {
		if a.Data[i] != want {
			t.Fatalf("C order data %v", a.Data)
		}
	}
}

func TestNPYCorrupt(t *testing.T) {
	var buf bytes.Buffer
	_ = WriteNPY(&buf, []int{4, 4}, make([]float64, 16))
	full := buf.Bytes()
	for _, cut := range []int{0, 5, 9, 20, len(full) - 1} {
		if _, err := ReadNPY(bytes.NewReader(full[:cut])); err == nil {
			t.Errorf("truncated at %d: no error", cut)
		}
	}
}
