package datasets

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// IDXType is the element type code of an IDX file (the third byte of its magic number).
type IDXType byte

// IDX element types.
const (
	IDXUint8   IDXType = 0x08
	IDXInt8    IDXType = 0x09
	IDXInt16   IDXType = 0x0B
	IDXInt32   IDXType = 0x0C
	IDXFloat32 IDXType = 0x0D
	IDXFloat64 IDXType = 0x0E
)

func (t IDXType) size() int {
	switch t {
	case IDXUint8, IDXInt8:
		return 1
	case IDXInt16:
		return 2
	case IDXInt32, IDXFloat32:
		return 4
	case IDXFloat64:
		return 8
	}
	return 0
}

func (t IDXType) String() string {
	switch t {
	case IDXUint8:
		return "uint8"
	case IDXInt8:
		return "int8"
	case IDXInt16:
		return "int16"
	case IDXInt32:
		return "int32"
	case IDXFloat32:
		return "float32"
	case IDXFloat64:
		return "float64"
	}
	return fmt.Sprintf("IDXType(0x%02x)", byte(t))
}

// IDX is an array read from an IDX file, the format of MNIST and Fashion-MNIST: a magic
// number 0x0000TTDD (TT the element type, DD the number of dimensions), DD big-endian
// uint32 dimensions, then the elements big-endian in row-major order.
type IDX struct {
	Shape []int
	Type  IDXType
	// Raw holds the element bytes exactly as stored (big-endian); for uint8 data (MNIST
	// images and labels) it is the array itself.
	Raw []byte
}

// Len returns the number of elements.
func (x *IDX) Len() int {
	n := 1
	for _, s := range x.Shape {
		n *= s
	}
	return n
}

// At returns element k (row-major) as float64.
func (x *IDX) At(k int) float64 {
	switch x.Type {
	case IDXUint8:
		return float64(x.Raw[k])
	case IDXInt8:
		return float64(int8(x.Raw[k]))
	case IDXInt16:
		return float64(int16(binary.BigEndian.Uint16(x.Raw[2*k:])))
	case IDXInt32:
		return float64(int32(binary.BigEndian.Uint32(x.Raw[4*k:])))
	case IDXFloat32:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(x.Raw[4*k:])))
	default:
		return math.Float64frombits(binary.BigEndian.Uint64(x.Raw[8*k:]))
	}
}

// Float64 returns every element as float64, row-major.
func (x *IDX) Float64() []float64 {
	out := make([]float64, x.Len())
	for k := range out {
		out[k] = x.At(k)
	}
	return out
}

// Items returns items [first, first+count) along the first axis of uint8 data, each pixel
// p mapped linearly from [0, 255] to [lo, hi] (lo + (hi−lo)·p/255; lo = −1, hi = 1 gives the
// usual diffusion-model scaling), row-major: item i occupies [i·m, (i+1)·m) with m the
// product of the other dimensions.
func (x *IDX) Items(first, count int, lo, hi float64) ([]float64, error) {
	if x.Type != IDXUint8 {
		return nil, fmt.Errorf("idx: Items needs uint8 data, have %v", x.Type)
	}
	if len(x.Shape) == 0 || first < 0 || count < 0 || first+count > x.Shape[0] {
		return nil, fmt.Errorf("idx: items [%d, %d) out of range for shape %v", first, first+count, x.Shape)
	}
	m := 1
	for _, s := range x.Shape[1:] {
		m *= s
	}
	var table [256]float64
	for p := range table {
		table[p] = lo + (hi-lo)*float64(p)/255
	}
	out := make([]float64, count*m)
	for k, p := range x.Raw[first*m : (first+count)*m] {
		out[k] = table[p]
	}
	return out, nil
}

// ReadIDX decodes an IDX stream, gzip-compressed or not (detected from the gzip magic).
// The header is validated (zero magic prefix, known type, 1–8 dimensions, at most 2^34
// bytes) and the data must be exactly as long as the dimensions say. Errors wrap ErrFormat.
func ReadIDX(r io.Reader) (*IDX, error) {
	return readIDX(r, -1, true)
}

// readIDX decodes an IDX stream of avail bytes (−1: unknown); gz allows one gzip layer.
func readIDX(r io.Reader, avail int64, gz bool) (*IDX, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	if head, err := br.Peek(2); gz && err == nil && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: gzip: %v: %w", err, ErrFormat)
		}
		zr.Multistream(false)
		return readIDX(zr, -1, false)
	}
	var magic [4]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil {
		return nil, fmt.Errorf("idx: reading magic number: %v: %w", noEOF(err), ErrFormat)
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, fmt.Errorf("idx: bad magic number % x (want 00 00 type ndims): %w", magic, ErrFormat)
	}
	t := IDXType(magic[2])
	if t.size() == 0 {
		return nil, fmt.Errorf("idx: unknown element type 0x%02x: %w", magic[2], ErrFormat)
	}
	nd := int(magic[3])
	if nd < 1 || nd > 8 {
		return nil, fmt.Errorf("idx: %d dimensions (want 1 to 8): %w", nd, ErrFormat)
	}
	dims := make([]byte, 4*nd)
	if _, err := io.ReadFull(br, dims); err != nil {
		return nil, fmt.Errorf("idx: reading %d dimensions: %v: %w", nd, noEOF(err), ErrFormat)
	}
	x := &IDX{Type: t, Shape: make([]int, nd)}
	for i := range x.Shape {
		d := binary.BigEndian.Uint32(dims[4*i:])
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("idx: dimension %d = %d too large: %w", i, d, ErrFormat)
		}
		x.Shape[i] = int(d)
	}
	n, err := numElements(x.Shape)
	if err != nil || n*t.size() > maxElements {
		return nil, fmt.Errorf("idx: shape %v too large: %w", x.Shape, ErrFormat)
	}
	nbytes := n * t.size()
	hlen := int64(4 + 4*nd)
	if avail >= 0 && avail-hlen != int64(nbytes) {
		return nil, fmt.Errorf("idx: shape %v of %v needs %d data bytes, file has %d: %w", x.Shape, t, nbytes, avail-hlen, ErrFormat)
	}
	if x.Raw, err = readBytes(br, nbytes); err != nil {
		return nil, fmt.Errorf("idx: data of shape %v %v: truncated (%v): %w", x.Shape, t, noEOF(err), ErrFormat)
	}
	// The stream must end here; reading to EOF also makes gzip verify its checksum.
	var extra [1]byte
	switch k, err := io.ReadFull(br, extra[:]); {
	case k > 0:
		return nil, fmt.Errorf("idx: data continues after the %d bytes of shape %v %v: %w", nbytes, x.Shape, t, ErrFormat)
	case err != io.EOF:
		return nil, fmt.Errorf("idx: after data: %v: %w", err, ErrFormat)
	}
	return x, nil
}

// readBytes reads n bytes in chunks, so that a truncated stream fails before a corrupt
// header can cause a huge allocation.
func readBytes(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, 0, min(n, readChunk))
	for len(buf) < n {
		k := min(n-len(buf), readChunk)
		start := len(buf)
		buf = append(buf, make([]byte, k)...)
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// LoadIDX reads an IDX file, gzip-compressed or not. Errors name the file.
func LoadIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	avail := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		avail = st.Size()
	}
	var head [2]byte
	if k, _ := f.ReadAt(head[:], 0); k == 2 && head == [2]byte{0x1f, 0x8b} {
		avail = -1 // compressed: the size says nothing about the data
	}
	x, err := readIDX(f, avail, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// FashionMNISTDir is where Debian's package dataset-fashion-mnist installs Fashion-MNIST.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// ErrNoDataset reports that a dataset's files are not installed.
var ErrNoDataset = errors.New("dataset not found")

// LoadMNIST reads an MNIST-layout split from dir: split "train" or "t10k", files
// <split>-images-idx3-ubyte and <split>-labels-idx1-ubyte, each optionally gzipped. It
// checks that the images are uint8 (N, H, W), the labels uint8 (N,) with values 0–9, and
// that the counts agree.
func LoadMNIST(dir, split string) (images, labels *IDX, err error) {
	find := func(base string) (string, error) {
		for _, p := range []string{base, base + ".gz"} {
			p = filepath.Join(dir, p)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("idx: %s(.gz) not in %s: %w", base, dir, ErrNoDataset)
	}
	ip, err := find(split + "-images-idx3-ubyte")
	if err != nil {
		return nil, nil, err
	}
	lp, err := find(split + "-labels-idx1-ubyte")
	if err != nil {
		return nil, nil, err
	}
	if images, err = LoadIDX(ip); err != nil {
		return nil, nil, err
	}
	if labels, err = LoadIDX(lp); err != nil {
		return nil, nil, err
	}
	if images.Type != IDXUint8 || len(images.Shape) != 3 {
		return nil, nil, fmt.Errorf("%s: %v of shape %v, want uint8 (N, H, W): %w", ip, images.Type, images.Shape, ErrFormat)
	}
	if labels.Type != IDXUint8 || len(labels.Shape) != 1 {
		return nil, nil, fmt.Errorf("%s: %v of shape %v, want uint8 (N,): %w", lp, labels.Type, labels.Shape, ErrFormat)
	}
	if images.Shape[0] != labels.Shape[0] {
		return nil, nil, fmt.Errorf("%s has %d images but %s has %d labels: %w", ip, images.Shape[0], lp, labels.Shape[0], ErrFormat)
	}
	for i, l := range labels.Raw {
		if l > 9 {
			return nil, nil, fmt.Errorf("%s: label %d = %d, want 0–9: %w", lp, i, l, ErrFormat)
		}
	}
	return images, labels, nil
}
