package datasets

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/enkg-go/enkg/internal/atomicfile"
)

// Array is an N-D array read from or written to a .npy file, in C (row-major) order.
// Real data (float64, float32, float16, integer and bool dtypes) is in Data; complex data
// (complex128, complex64) is in Complex, and Data is nil.
//
// Dtype is the numpy dtype string: the one read from the file (e.g. "<f8", ">f4", "|u1"),
// or, when writing with WriteArray, the dtype to write ("<f8", "<f4", "<c16", "<c8", or an
// integer dtype such as "<i8" or "|u1"). An empty Dtype writes float64 (or complex128 when
// Complex is set).
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

// ErrFormat reports a malformed or unsupported .npy/.npz/IDX file.
var ErrFormat = errors.New("bad file format")

var npyMagic = []byte("\x93NUMPY")

// maxElements bounds the number of elements a header may announce (2^34, 128 GiB of
// float64), so that a corrupt header is rejected before any allocation.
const maxElements = 1 << 34

// readChunk is the number of bytes read at a time, so that a truncated file fails before a
// corrupt header can cause a huge allocation.
const readChunk = 1 << 24

// littleEndianHost reports whether the machine stores numbers little-endian; then float64
// data is read and written without conversion.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// npyHeader is the decoded dictionary of a .npy header.
type npyHeader struct {
	dtype   string
	fortran bool
	shape   []int
}

// dtypeInfo describes a supported numpy dtype.
type dtypeInfo struct {
	order   binary.ByteOrder
	kind    string // "f8", "f4", "f2", "c16", "c8", "i8", ..., "u1", "b1"
	size    int    // bytes per element
	complex bool
}

func parseDtype(dtype string) (dtypeInfo, error) {
	if len(dtype) < 2 {
		return dtypeInfo{}, fmt.Errorf("unsupported dtype %q", dtype)
	}
	d := dtypeInfo{order: binary.LittleEndian}
	kind := dtype
	switch dtype[0] {
	case '<', '|':
		kind = dtype[1:]
	case '=':
		kind = dtype[1:]
		d.order = binary.NativeEndian
	case '>':
		kind = dtype[1:]
		d.order = binary.BigEndian
	}
	switch kind {
	case "f8", "i8", "u8", "c8":
		d.size = 8
	case "f4", "i4", "u4":
		d.size = 4
	case "f2", "i2", "u2":
		d.size = 2
	case "i1", "u1", "b1":
		d.size = 1
	case "c16":
		d.size = 16
	default:
		return dtypeInfo{}, fmt.Errorf("unsupported dtype %q (want float, complex, integer or bool)", dtype)
	}
	d.kind = kind
	d.complex = kind[0] == 'c'
	return d, nil
}

// ReadNPY decodes one .npy stream (format versions 1, 2 and 3). Supported dtypes: float64,
// float32, float16 and all integer and bool dtypes (converted to float64 in Data),
// complex128 and complex64 (in Complex); little- or big-endian; C or Fortran order (Fortran
// data is reordered to C order). Errors wrap ErrFormat and say what is wrong.
func ReadNPY(r io.Reader) (*Array, error) {
	return readNPY(r, -1)
}

// readNPY reads a .npy stream; avail, when ≥ 0, is the number of bytes the stream holds, so
// that a truncated file is reported before the data is read.
func readNPY(r io.Reader, avail int64) (*Array, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r) // large reads bypass the buffer
	}
	h, hbytes, err := readHeader(br)
	if err != nil {
		return nil, err
	}
	d, err := parseDtype(h.dtype)
	if err != nil {
		return nil, fmt.Errorf("npy: %v: %w", err, ErrFormat)
	}
	n, err := numElements(h.shape)
	if err != nil {
		return nil, fmt.Errorf("npy: %v: %w", err, ErrFormat)
	}
	nbytes := int64(n) * int64(d.size)
	if avail >= 0 && avail-hbytes < nbytes {
		return nil, fmt.Errorf("npy: truncated: shape %v of %s needs %d data bytes, file has %d: %w",
			h.shape, h.dtype, nbytes, max(avail-hbytes, 0), ErrFormat)
	}
	a := &Array{Shape: h.shape, Dtype: h.dtype}
	fail := func(err error) (*Array, error) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("npy: data of shape %v dtype %s: %w (%w)", h.shape, h.dtype, err, ErrFormat)
	}
	switch {
	case d.kind == "f8" && d.order == binary.LittleEndian && littleEndianHost:
		// Fast path: read the bytes straight into the float64 slice.
		a.Data, err = readFloat64Raw(br, n)
		if err != nil {
			return fail(err)
		}
	case d.complex:
		a.Complex = make([]complex128, 0, min(n, readChunk/16))
		err = decodeChunks(br, n, d.size, func(b []byte) {
			half := d.size / 2
			for i := 0; i < len(b); i += d.size {
				re, im := floatAt(b[i:], half, d.order), floatAt(b[i+half:], half, d.order)
				a.Complex = append(a.Complex, complex(re, im))
			}
		})
		if err != nil {
			return fail(err)
		}
	default:
		a.Data = make([]float64, 0, min(n, readChunk/8))
		err = decodeChunks(br, n, d.size, func(b []byte) {
			for i := 0; i < len(b); i += d.size {
				a.Data = append(a.Data, valueAt(b[i:], d))
			}
		})
		if err != nil {
			return fail(err)
		}
	}
	if h.fortran && len(h.shape) > 1 {
		if a.Data != nil {
			a.Data = fortranToC(a.Data, h.shape)
		} else {
			a.Complex = fortranToC(a.Complex, h.shape)
		}
	}
	return a, nil
}

// readFloat64Raw reads n little-endian float64 values directly into memory (little-endian
// hosts only), growing the slice chunk by chunk.
func readFloat64Raw(r io.Reader, n int) ([]float64, error) {
	const chunk = readChunk / 8
	out := make([]float64, 0, min(n, chunk))
	for len(out) < n {
		k := min(n-len(out), chunk)
		start := len(out)
		if cap(out) < start+k {
			grown := make([]float64, start, max(start+k, min(2*cap(out), n)))
			copy(grown, out)
			out = grown
		}
		out = out[:start+k]
		if _, err := io.ReadFull(r, float64Bytes(out[start:])); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// float64Bytes views a float64 slice as its bytes in host order.
func float64Bytes(s []float64) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), 8*len(s))
}

// decodeChunks reads n elements of size bytes in chunks and hands each chunk to fn.
func decodeChunks(r io.Reader, n, size int, fn func([]byte)) error {
	per := max(readChunk/size, 1)
	buf := make([]byte, min(n, per)*size)
	for done := 0; done < n; {
		k := min(n-done, per)
		b := buf[:k*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return err
		}
		fn(b)
		done += k
	}
	return nil
}

func floatAt(b []byte, size int, o binary.ByteOrder) float64 {
	switch size {
	case 8:
		return math.Float64frombits(o.Uint64(b))
	case 4:
		return float64(math.Float32frombits(o.Uint32(b)))
	default:
		return float16(o.Uint16(b))
	}
}

// float16 converts IEEE 754 half-precision bits to float64.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

func valueAt(b []byte, d dtypeInfo) float64 {
	o := d.order
	switch d.kind {
	case "f8", "f4", "f2":
		return floatAt(b, d.size, o)
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

// numElements returns the product of shape, or an error when a dimension is negative or
// the product exceeds maxElements (checked without overflow).
func numElements(shape []int) (int, error) {
	n := uint64(1)
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(n, uint64(s))
		if hi != 0 || lo > maxElements {
			return 0, fmt.Errorf("shape %v has more than 2^34 elements", shape)
		}
		n = lo
	}
	return int(n), nil
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
	off := 0
	for c := range dst {
		dst[c] = src[off]
		// Advance the C-order multi-index (last axis fastest) and its Fortran offset.
		for d := nd - 1; d >= 0; d-- {
			idx[d]++
			off += fs[d]
			if idx[d] < shape[d] {
				break
			}
			off -= idx[d] * fs[d]
			idx[d] = 0
		}
	}
	return dst
}

// readHeader reads the magic, version and header dictionary; it returns the header and
// the number of bytes it took.
func readHeader(r io.Reader) (npyHeader, int64, error) {
	var pre [8]byte
	if n, err := io.ReadFull(r, pre[:]); err != nil {
		if n == 0 && err == io.EOF {
			return npyHeader{}, 0, fmt.Errorf("npy: empty file: %w", ErrFormat)
		}
		return npyHeader{}, 0, fmt.Errorf("npy: reading magic: %w (%w)", err, ErrFormat)
	}
	if string(pre[:6]) != string(npyMagic) {
		return npyHeader{}, 0, fmt.Errorf("npy: not a .npy file (magic %q, want \"\\x93NUMPY\"): %w", pre[:6], ErrFormat)
	}
	var hlen, pos int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return npyHeader{}, 0, fmt.Errorf("npy: reading header length: %w (%w)", noEOF(err), ErrFormat)
		}
		hlen, pos = int(binary.LittleEndian.Uint16(b[:])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return npyHeader{}, 0, fmt.Errorf("npy: reading header length: %w (%w)", noEOF(err), ErrFormat)
		}
		hlen, pos = int(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return npyHeader{}, 0, fmt.Errorf("npy: unsupported format version %d.%d: %w", pre[6], pre[7], ErrFormat)
	}
	if hlen > 1<<20 {
		return npyHeader{}, 0, fmt.Errorf("npy: header length %d too large: %w", hlen, ErrFormat)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return npyHeader{}, 0, fmt.Errorf("npy: reading %d-byte header: %w (%w)", hlen, noEOF(err), ErrFormat)
	}
	h, err := parseHeader(string(hdr))
	if err != nil {
		return npyHeader{}, 0, fmt.Errorf("npy: header %q: %v: %w", strings.TrimSpace(string(hdr)), err, ErrFormat)
	}
	return h, int64(pos + hlen), nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseHeader parses the Python dict literal of a .npy header:
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
func parseHeader(s string) (npyHeader, error) {
	p := &pyParser{s: s}
	var h npyHeader
	if !p.eat('{') {
		return h, errors.New("not a dict")
	}
	seen := map[string]bool{}
	for {
		if p.eat('}') {
			break
		}
		key, err := p.str()
		if err != nil {
			return h, fmt.Errorf("key: %v", err)
		}
		if !p.eat(':') {
			return h, fmt.Errorf("missing ':' after key %q", key)
		}
		switch key {
		case "descr":
			if p.peek() == '[' {
				return h, errors.New("structured dtypes are not supported")
			}
			if h.dtype, err = p.str(); err != nil {
				return h, fmt.Errorf("descr: %v", err)
			}
		case "fortran_order":
			switch {
			case p.word("True"):
				h.fortran = true
			case p.word("False"):
				h.fortran = false
			default:
				return h, errors.New("fortran_order is not True or False")
			}
		case "shape":
			if h.shape, err = p.tuple(); err != nil {
				return h, fmt.Errorf("shape: %v", err)
			}
		default:
			return h, fmt.Errorf("unexpected key %q", key)
		}
		seen[key] = true
		if !p.eat(',') {
			if !p.eat('}') {
				return h, errors.New("missing ',' or '}'")
			}
			break
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !seen[k] {
			return h, fmt.Errorf("missing key %q", k)
		}
	}
	if rest := strings.TrimSpace(p.s[p.i:]); rest != "" {
		return h, fmt.Errorf("trailing text %q", rest)
	}
	return h, nil
}

// pyParser scans the small subset of Python literals used in .npy headers.
type pyParser struct {
	s string
	i int
}

func (p *pyParser) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n' || p.s[p.i] == '\r') {
		p.i++
	}
}

func (p *pyParser) peek() byte {
	p.skip()
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyParser) eat(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) word(w string) bool {
	p.skip()
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

func (p *pyParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", errors.New("not a string")
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", errors.New("unterminated string")
	}
	v := p.s[p.i+1 : p.i+1+end]
	p.i += end + 2
	return v, nil
}

func (p *pyParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, errors.New("not a tuple")
	}
	shape := []int{}
	for {
		if p.eat(')') {
			return shape, nil
		}
		p.skip()
		j := p.i
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		if j == p.i {
			return nil, fmt.Errorf("bad dimension at %q", p.s[p.i:])
		}
		d, err := strconv.Atoi(p.s[p.i:j])
		if err != nil || d > maxElements {
			return nil, fmt.Errorf("dimension %s out of range", p.s[p.i:j])
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' { // Python 2 long
			p.i++
		}
		shape = append(shape, d)
		if !p.eat(',') {
			if !p.eat(')') {
				return nil, errors.New("missing ',' or ')'")
			}
			return shape, nil
		}
	}
}

// LoadNPY reads a .npy file. Errors name the file.
func LoadNPY(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	avail := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		avail = st.Size()
	}
	a, err := readNPY(f, avail)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// header returns magic, version, header length and the padded header dictionary, aligned
// to 64 bytes as numpy writes it (version 1.0, or 2.0 when the header exceeds 65535 bytes).
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
	pre := 10
	if len(h)+1+pre+64 > 65535 {
		pre = 12
	}
	// Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
	total := pre + len(h) + 1
	pad := (64 - total%64) % 64
	h += strings.Repeat(" ", pad) + "\n"
	out := make([]byte, 0, pre+len(h))
	out = append(out, npyMagic...)
	if pre == 10 {
		out = append(out, 1, 0, byte(len(h)), byte(len(h)>>8))
	} else {
		out = append(out, 2, 0)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(h)))
	}
	return append(out, h...)
}

func checkShape(shape []int, n int) error {
	p, err := numElements(shape)
	if err != nil {
		return fmt.Errorf("npy: %v", err)
	}
	if p != n {
		return fmt.Errorf("npy: shape %v holds %d elements, data has %d", shape, p, n)
	}
	return nil
}

// WriteNPY writes data (C order) as a little-endian float64 .npy stream of the given shape.
// On little-endian machines the data is written without conversion.
func WriteNPY(w io.Writer, shape []int, data []float64) error {
	return WriteArray(w, &Array{Shape: shape, Data: data, Dtype: "<f8"})
}

// WriteNPYFloat32 writes data (C order) as a little-endian float32 .npy stream, halving
// the file size; values are rounded to the nearest float32.
func WriteNPYFloat32(w io.Writer, shape []int, data []float64) error {
	return WriteArray(w, &Array{Shape: shape, Data: data, Dtype: "<f4"})
}

// WriteNPYComplex writes complex data (C order) as a little-endian complex128 .npy stream.
func WriteNPYComplex(w io.Writer, shape []int, data []complex128) error {
	return WriteArray(w, &Array{Shape: shape, Complex: data, Dtype: "<c16"})
}

// WriteArray writes a as a .npy stream in C order with dtype a.Dtype: "<f8" (or empty:
// float64, complex128 when a.Complex is set), "<f4", "<c16", "<c8", or a little-endian
// integer or bool dtype ("<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1") for
// which every value must be an integer in range.
func WriteArray(w io.Writer, a *Array) error {
	dtype := a.Dtype
	if dtype == "" {
		dtype = "<f8"
		if a.Complex != nil {
			dtype = "<c16"
		}
	}
	d, err := parseDtype(dtype)
	if err != nil || (d.order != binary.LittleEndian && d.size > 1) || d.kind == "f2" {
		return fmt.Errorf("npy: cannot write dtype %q (want <f8, <f4, <c16, <c8 or a little-endian integer dtype)", dtype)
	}
	if d.size == 1 {
		dtype = "|" + d.kind
	}
	n := len(a.Data)
	if d.complex {
		n = len(a.Complex)
		if a.Data != nil {
			return fmt.Errorf("npy: complex dtype %s but Data is set", dtype)
		}
	} else if a.Complex != nil {
		return fmt.Errorf("npy: real dtype %s but Complex is set", dtype)
	}
	if err := checkShape(a.Shape, n); err != nil {
		return err
	}
	if !d.complex && d.kind[0] != 'f' {
		if err := checkIntegers(a.Data, d); err != nil {
			return err
		}
	}
	if _, err := w.Write(header(dtype, a.Shape)); err != nil {
		return err
	}
	if d.kind == "f8" && littleEndianHost {
		_, err := w.Write(float64Bytes(a.Data))
		return err
	}
	const chunk = 1 << 13
	b := make([]byte, d.size*min(chunk, n))
	for off := 0; off < n; off += chunk {
		k := min(off+chunk, n) - off
		if d.kind == "f4" {
			for i, v := range a.Data[off : off+k] {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(v)))
			}
		} else {
			for i := range k {
				encodeAt(b[d.size*i:], a, off+i, d)
			}
		}
		if _, err := w.Write(b[:d.size*k]); err != nil {
			return err
		}
	}
	return nil
}

func checkIntegers(data []float64, d dtypeInfo) error {
	lo, hi := 0.0, 0.0
	switch d.kind {
	case "i8":
		lo, hi = -(1 << 63), 1<<63-1024
	case "i4":
		lo, hi = math.MinInt32, math.MaxInt32
	case "i2":
		lo, hi = math.MinInt16, math.MaxInt16
	case "i1":
		lo, hi = math.MinInt8, math.MaxInt8
	case "u8":
		hi = 1<<64 - 2048
	case "u4":
		hi = math.MaxUint32
	case "u2":
		hi = math.MaxUint16
	case "u1":
		hi = math.MaxUint8
	case "b1":
		hi = 1
	}
	for i, v := range data {
		if v != math.Trunc(v) || v < lo || v > hi {
			return fmt.Errorf("npy: element %d = %v is not representable as %s", i, v, d.kind)
		}
	}
	return nil
}

func encodeAt(b []byte, a *Array, i int, d dtypeInfo) {
	le := binary.LittleEndian
	switch d.kind {
	case "f8":
		le.PutUint64(b, math.Float64bits(a.Data[i]))
	case "f4":
		le.PutUint32(b, math.Float32bits(float32(a.Data[i])))
	case "c16":
		le.PutUint64(b, math.Float64bits(real(a.Complex[i])))
		le.PutUint64(b[8:], math.Float64bits(imag(a.Complex[i])))
	case "c8":
		le.PutUint32(b, math.Float32bits(float32(real(a.Complex[i]))))
		le.PutUint32(b[4:], math.Float32bits(float32(imag(a.Complex[i]))))
	case "i8":
		le.PutUint64(b, uint64(int64(a.Data[i])))
	case "u8":
		le.PutUint64(b, uint64(a.Data[i]))
	case "i4":
		le.PutUint32(b, uint32(int32(a.Data[i])))
	case "u4":
		le.PutUint32(b, uint32(a.Data[i]))
	case "i2":
		le.PutUint16(b, uint16(int16(a.Data[i])))
	case "u2":
		le.PutUint16(b, uint16(a.Data[i]))
	case "i1":
		b[0] = byte(int8(a.Data[i]))
	default: // u1, b1
		b[0] = byte(a.Data[i])
	}
}

// SaveNPY writes data (C order) to path as float64 .npy of the given shape.
func SaveNPY(path string, shape []int, data []float64) error {
	return SaveArray(path, &Array{Shape: shape, Data: data, Dtype: "<f8"})
}

// SaveNPYFloat32 writes data (C order) to path as float32 .npy of the given shape.
func SaveNPYFloat32(path string, shape []int, data []float64) error {
	return SaveArray(path, &Array{Shape: shape, Data: data, Dtype: "<f4"})
}

// SaveArray writes a to path as .npy (see WriteArray for the dtypes).
func SaveArray(path string, a *Array) error {
	return createWith(path, func(w io.Writer) error { return WriteArray(w, a) })
}

// createWith writes path atomically with fn (internal/atomicfile): the data goes to a
// temporary file beside path, which is synced and renamed into place only when fn succeeds,
// so a failure, a kill or a full disk never leaves a truncated file at path, and an
// existing file there is replaced whole or not at all. Directories and special files are
// refused as path. Errors name the path.
func createWith(path string, fn func(io.Writer) error) error {
	return atomicfile.WriteFile(path, fn)
}
