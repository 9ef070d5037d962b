package datasets

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// NamedArray is one entry of a .npz archive.
type NamedArray struct {
	Name  string // key, without the ".npy" suffix
	Array *Array
}

// LoadNPZ reads every array of a .npz archive (stored or deflate-compressed, as written by
// numpy.savez and numpy.savez_compressed), keyed by name without the ".npy" suffix.
func LoadNPZ(path string) (map[string]*Array, error) {
	list, err := LoadNPZList(path)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Array, len(list))
	for _, e := range list {
		out[e.Name] = e.Array
	}
	return out, nil
}

// LoadNPZList reads every array of a .npz archive in archive order.
func LoadNPZList(path string) ([]NamedArray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	list, err := ReadNPZ(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return list, nil
}

// ReadNPZ reads every array of a .npz archive of the given size, in archive order.
func ReadNPZ(r io.ReaderAt, size int64) ([]NamedArray, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("npz: not a zip archive: %v: %w", err, ErrFormat)
	}
	out := make([]NamedArray, 0, len(zr.File))
	seen := make(map[string]bool, len(zr.File))
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		if seen[name] {
			return nil, fmt.Errorf("npz: duplicate entry %q: %w", f.Name, ErrFormat)
		}
		seen[name] = true
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("npz: entry %q: %v: %w", f.Name, err, ErrFormat)
		}
		avail := int64(-1)
		if f.UncompressedSize64 < 1<<62 {
			avail = int64(f.UncompressedSize64)
		}
		a, err := readNPY(rc, avail)
		if err == nil {
			// Reading to the end makes the zip reader verify the CRC-32.
			if _, rerr := io.Copy(io.Discard, rc); rerr != nil {
				err = fmt.Errorf("npz: %v: %w", rerr, ErrFormat)
			}
		}
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", f.Name, err)
		}
		out = append(out, NamedArray{Name: name, Array: a})
	}
	return out, nil
}

// WriteNPZ writes arrays as a .npz archive in the given order, each as "<name>.npy"
// (dtype as in WriteArray). With compress the entries are deflated
// (numpy.savez_compressed), otherwise stored (numpy.savez).
func WriteNPZ(w io.Writer, arrays []NamedArray, compress bool) error {
	zw := zip.NewWriter(w)
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	seen := make(map[string]bool, len(arrays))
	for _, e := range arrays {
		if e.Name == "" || e.Array == nil {
			return fmt.Errorf("npz: entry %q: empty name or nil array", e.Name)
		}
		if seen[e.Name] {
			return fmt.Errorf("npz: duplicate name %q", e.Name)
		}
		seen[e.Name] = true
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: e.Name + ".npy", Method: method})
		if err != nil {
			return fmt.Errorf("npz: %s: %w", e.Name, err)
		}
		bw := bufio.NewWriterSize(fw, 1<<16)
		if err := WriteArray(bw, e.Array); err != nil {
			return fmt.Errorf("npz: %s: %w", e.Name, err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("npz: %s: %w", e.Name, err)
		}
	}
	return zw.Close()
}

// SaveNPZ writes the arrays of m to path as an uncompressed .npz archive (numpy.savez),
// in sorted key order. Use SaveNPZList to choose the order or compression.
func SaveNPZ(path string, m map[string]*Array) error {
	return SaveNPZList(path, sortedNamed(m), false)
}

// SaveNPZCompressed writes the arrays of m to path as a deflate-compressed .npz archive
// (numpy.savez_compressed), in sorted key order.
func SaveNPZCompressed(path string, m map[string]*Array) error {
	return SaveNPZList(path, sortedNamed(m), true)
}

// SaveNPZList writes arrays to path as a .npz archive in the given order.
func SaveNPZList(path string, arrays []NamedArray, compress bool) error {
	return createWith(path, func(w io.Writer) error { return WriteNPZ(w, arrays, compress) })
}

func sortedNamed(m map[string]*Array) []NamedArray {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]NamedArray, len(keys))
	for i, k := range keys {
		out[i] = NamedArray{Name: k, Array: m[k]}
	}
	return out
}
