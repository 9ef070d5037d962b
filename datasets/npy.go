package datasets

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Array is an N-D array read from or written to a .npy file, in C (row-major) order.
// Real data (float64, float32, integer dtypes) is in Data; complex data (complex128,
// complex64) is in Complex, and Data is nil.
type Array struct {
	Shape   []int
	Data    []float64
	Complex []complex128
	// Dtype is the numpy dtype string read from the file, e.g. "<f8".
	Dtype string
}

// Len returns the number of elements, the product of Shape.
func (a *Array) Len() int {
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	return n
}

// ErrFormat reports a malformed or unsupported .npy/.npz file.
var ErrFormat = errors.New("bad npy format")

var npyMagic = []byte("\x93NUMPY")

// maxElements bounds the size a header may announce, so that a corrupt header does not
// trigger a huge allocation before the data is read.
const maxElements = 1 << 34

// ReadNPY decodes one .npy stream.
func ReadNPY(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("npy: reading magic: %w (%w)", err, ErrFormat)
	}
	if !bytes.Equal(pre[:6], npyMagic) {
		return nil, fmt.Errorf("npy: not a .npy file (bad magic %q): %w", pre[:6], ErrFormat)
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("npy: header length: %w (%w)", err, ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return nil, fmt.Errorf("npy: header length: %w (%w)", err, ErrFormat)
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return nil, fmt.Errorf("npy: unsupported version %d.%d: %w", pre[6], pre[7], ErrFormat)
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("npy: header length %d too large: %w", hlen, ErrFormat)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("npy: header: %w (%w)", err, ErrFormat)
	}
	dtype, fortran, shape, err := parseHeader(string(hdr))
	if err != nil {
		return nil, err
	}
	a := &Array{Shape: shape, Dtype: dtype}
	n := a.Len()
	if n < 0 || n > maxElements {
		return nil, fmt.Errorf("npy: shape %v too large: %w", shape, ErrFormat)
	}
	order := binary.ByteOrder(binary.LittleEndian)
	if len(dtype) > 0 && dtype[0] == '>' {
		order = binary.BigEndian
	}
	kind := strings.TrimLeft(dtype, "<>|=")
	size, err := strconv.Atoi(kind[1:])
	if err != nil || len(kind) < 2 {
		return nil, fmt.Errorf("npy: unsupported dtype %q: %w", dtype, ErrFormat)
	}
	// Read the payload in chunks so that a truncated file fails before a huge allocation.
	raw, err := readN(br, n*size)
	if err != nil {
		return nil, fmt.Errorf("npy: data of shape %v dtype %s: %w (%w)", shape, dtype, err, ErrFormat)
	}
	switch kind {
	case "f8":
		a.Data = make([]float64, n)
		for i := range a.Data {
			a.Data[i] = math.Float64frombits(order.Uint64(raw[8*i:]))
		}
	case "f4":
		a.Data = make([]float64, n)
		for i := range a.Data {
			a.Data[i] = float64(math.Float32frombits(order.Uint32(raw[4*i:])))
		}
	case "c16":
		a.Complex = make([]complex128, n)
		for i := range a.Complex {
			a.Complex[i] = complex(math.Float64frombits(order.Uint64(raw[16*i:])), math.Float64frombits(order.Uint64(raw[16*i+8:])))
		}
	case "c8":
		a.Complex = make([]complex128, n)
		for i := range a.Complex {
			a.Complex[i] = complex(float64(math.Float32frombits(order.Uint32(raw[8*i:]))), float64(math.Float32frombits(order.Uint32(raw[8*i+4:]))))
		}
	case "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "b1":
		a.Data = make([]float64, n)
		for i := range a.Data {
			a.Data[i] = intAt(raw[size*i:], kind, order)
		}
	default:
		return nil, fmt.Errorf("npy: unsupported dtype %q: %w", dtype, ErrFormat)
	}
	if fortran && len(shape) > 1 {
		if a.Data != nil {
			a.Data = fortranToC(a.Data, shape)
		} else {
			a.Complex = fortranToC(a.Complex, shape)
		}
	}
	return a, nil
}

func intAt(b []byte, kind string, o binary.ByteOrder) float64 {
	switch kind {
	case "i8":
		return float64(int64(o.Uint64(b)))
	case "i4":
		return float64(int32(o.Uint32(b)))
	case "i2":
		return float64(int16(o.Uint16(b)))
	case "i1":
		return float64(int8(b[0]))
	case "u8":
		return float64(o.Uint64(b))
	case "u4":
		return float64(o.Uint32(b))
	case "u2":
		return float64(o.Uint16(b))
	default: // u1, b1
		return float64(b[0])
	}
}

func readN(r io.Reader, n int) ([]byte, error) {
	const chunk = 1 << 24
	buf := make([]byte, 0, min(n, chunk))
	for len(buf) < n {
		k := min(n-len(buf), chunk)
		start := len(buf)
		buf = append(buf, make([]byte, k)...)
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// fortranToC reorders column-major data into row-major order.
func fortranToC[T any](src []T, shape []int) []T {
	dst := make([]T, len(src))
	nd := len(shape)
	idx := make([]int, nd)
	// Strides of the Fortran layout.
	fs := make([]int, nd)
	s := 1
	for d := 0; d < nd; d++ {
		fs[d] = s
		s *= shape[d]
	}
	for c := range dst {
		off := 0
		for d := 0; d < nd; d++ {
			off += idx[d] * fs[d]
		}
		dst[c] = src[off]
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return dst
}

// parseHeader parses the Python dict literal of a .npy header.
func parseHeader(h string) (dtype string, fortran bool, shape []int, err error) {
	bad := func(what string) error {
		return fmt.Errorf("npy: header %q: %s: %w", strings.TrimSpace(h), what, ErrFormat)
	}
	get := func(key string) (string, bool) {
		i := strings.Index(h, "'"+key+"'")
		if i < 0 {
			return "", false
		}
		rest := strings.TrimLeft(h[i+len(key)+2:], " ")
		if !strings.HasPrefix(rest, ":") {
			return "", false
		}
		return strings.TrimLeft(rest[1:], " "), true
	}
	v, ok := get("descr")
	if !ok || len(v) < 2 || v[0] != '\'' {
		return "", false, nil, bad("no descr")
	}
	end := strings.IndexByte(v[1:], '\'')
	if end < 0 {
		return "", false, nil, bad("unterminated descr")
	}
	dtype = v[1 : 1+end]
	if v, ok = get("fortran_order"); !ok {
		return "", false, nil, bad("no fortran_order")
	}
	switch {
	case strings.HasPrefix(v, "True"):
		fortran = true
	case strings.HasPrefix(v, "False"):
	default:
		return "", false, nil, bad("fortran_order not a bool")
	}
	if v, ok = get("shape"); !ok || !strings.HasPrefix(v, "(") {
		return "", false, nil, bad("no shape")
	}
	end = strings.IndexByte(v, ')')
	if end < 0 {
		return "", false, nil, bad("unterminated shape")
	}
	shape = []int{}
	for _, f := range strings.Split(v[1:end], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		d, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil || d < 0 {
			return "", false, nil, bad("bad dimension " + f)
		}
		shape = append(shape, d)
	}
	return dtype, fortran, shape, nil
}

// LoadNPY reads a .npy file.
func LoadNPY(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := ReadNPY(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

func header(dtype string, shape []int) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (")
	for i, s := range shape {
		sb.WriteString(strconv.Itoa(s))
		if i == 0 || i < len(shape)-1 {
			sb.WriteString(",")
		}
		if i < len(shape)-1 {
			sb.WriteString(" ")
		}
	}
	sb.WriteString("), }")
	h := sb.String()
	// Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
	total := 10 + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 0, 10+len(h))
	out = append(out, npyMagic...)
	out = append(out, 1, 0, byte(len(h)), byte(len(h)>>8))
	return append(out, h...)
}

func checkShape(shape []int, n int) error {
	p := 1
	for _, s := range shape {
		if s < 0 {
			return fmt.Errorf("npy: negative dimension in shape %v", shape)
		}
		p *= s
	}
	if p != n {
		return fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, p, n)
	}
	return nil
}

// WriteNPY writes data (C order) as a little-endian float64 .npy stream of the given shape.
func WriteNPY(w io.Writer, shape []int, data []float64) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	buf := header("<f8", shape)
	if _, err := w.Write(buf); err != nil {
		return err
	}
	const chunk = 1 << 13
	b := make([]byte, 8*min(chunk, len(data)))
	for off := 0; off < len(data); off += chunk {
		part := data[off:min(off+chunk, len(data))]
		for i, v := range part {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
		}
		if _, err := w.Write(b[:8*len(part)]); err != nil {
			return err
		}
	}
	return nil
}

// WriteNPYComplex writes complex data (C order) as a little-endian complex128 .npy stream.
func WriteNPYComplex(w io.Writer, shape []int, data []complex128) error {
	if err := checkShape(shape, len(data)); err != nil {
		return err
	}
	if _, err := w.Write(header("<c16", shape)); err != nil {
		return err
	}
	b := make([]byte, 16*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[16*i:], math.Float64bits(real(v)))
		binary.LittleEndian.PutUint64(b[16*i+8:], math.Float64bits(imag(v)))
	}
	_, err := w.Write(b)
	return err
}

// SaveNPY writes data (C order) to path as float64 .npy of the given shape.
func SaveNPY(path string, shape []int, data []float64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := WriteNPY(bw, shape, data); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadNPZ reads every array of a .npz archive (compressed or not), keyed by name without
// the ".npy" suffix.
func LoadNPZ(path string) (map[string]*Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("npz %s: %w (%w)", path, err, ErrFormat)
	}
	defer zr.Close()
	out := make(map[string]*Array, len(zr.File))
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("npz %s: %s: %w", path, f.Name, err)
		}
		a, err := ReadNPY(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("npz %s: %s: %w", path, f.Name, err)
		}
		out[strings.TrimSuffix(f.Name, ".npy")] = a
	}
	return out, nil
}
