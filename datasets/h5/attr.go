package h5

// #include <stdlib.h>
// #include "capi.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// AttrValue is the set of attribute types: strings (stored as UTF-8 variable-length
// strings, h5py's str), float64 (IEEE f64), int64 (i64) and float64 slices (1-D f64 arrays).
type AttrValue interface {
	string | float64 | int64 | []float64
}

// SetAttr sets (or replaces) attribute name of the fields dataset of fl.
func SetAttr[T AttrValue](fl *File, name string, v T) error {
	return fl.SetAttr(name, v)
}

// Attr reads attribute name of the fields dataset of fl as a T. Integer attributes read as
// float64 or []float64; float attributes do not read as int64; a scalar reads as a
// one-element []float64.
func Attr[T AttrValue](fl *File, name string) (T, error) {
	var zero T
	v, err := fl.Attr(name)
	if err != nil {
		return zero, err
	}
	var out any
	switch any(zero).(type) {
	case string:
		if s, ok := v.(string); ok {
			out = s
		}
	case float64:
		switch x := v.(type) {
		case float64:
			out = x
		case int64:
			out = float64(x)
		}
	case int64:
		if x, ok := v.(int64); ok {
			out = x
		}
	case []float64:
		switch x := v.(type) {
		case []float64:
			out = x
		case float64:
			out = []float64{x}
		case int64:
			out = []float64{float64(x)}
		case []int64:
			f := make([]float64, len(x))
			for i, k := range x {
				f[i] = float64(k)
			}
			out = f
		}
	}
	if out == nil {
		return zero, fmt.Errorf("h5: %s: attribute %q is %T, not %T", fl.path, name, v, zero)
	}
	return out.(T), nil
}

// SetAttr sets (or replaces) attribute name of the fields dataset to v, which must be a
// string, float64, int64, int or []float64.
func (fl *File) SetAttr(name string, v any) error {
	lock()
	defer unlock()
	return fl.setAttrLocked(name, v)
}

func (fl *File) setAttrLocked(name string, v any) error {
	if fl.ds == nil || !fl.writable {
		return fmt.Errorf("h5: %s: set attribute %q: file closed or read-only", fl.path, name)
	}
	cname, free := cstring(name)
	defer free()
	loc := C.hid_t(fl.ds.ID())
	var rc C.herr_t
	switch x := v.(type) {
	case string:
		cs, freeS := cstring(x)
		defer freeS()
		rc = C.enkg_attr_write(loc, cname, 2, unsafe.Pointer(cs), -1)
	case float64:
		rc = C.enkg_attr_write(loc, cname, 0, unsafe.Pointer(&x), -1)
	case int64:
		rc = C.enkg_attr_write(loc, cname, 1, unsafe.Pointer(&x), -1)
	case int:
		y := int64(x)
		rc = C.enkg_attr_write(loc, cname, 1, unsafe.Pointer(&y), -1)
	case []float64:
		var p unsafe.Pointer
		if len(x) > 0 {
			// Copy to C memory: the Go slice may not be pinned for the call's duration.
			p = C.malloc(C.size_t(8 * len(x)))
			defer C.free(p)
			copy(unsafe.Slice((*float64)(p), len(x)), x)
		}
		rc = C.enkg_attr_write(loc, cname, 0, p, C.hssize_t(len(x)))
	default:
		return fmt.Errorf("h5: %s: attribute %q: unsupported type %T (want string, float64, int64 or []float64)", fl.path, name, v)
	}
	if rc < 0 {
		return fmt.Errorf("h5: %s: writing attribute %q: %w", fl.path, name, errHDF5("H5Awrite"))
	}
	return nil
}

// Attr reads attribute name of the fields dataset: a string, float64, int64, []float64 or
// []int64 according to its HDF5 type and shape (scalars and one-element 1-D attributes
// written as scalars read as scalars; arrays read as slices).
func (fl *File) Attr(name string) (any, error) {
	lock()
	defer unlock()
	if fl.ds == nil {
		return nil, fmt.Errorf("h5: %s: file is closed", fl.path)
	}
	return fl.attrLocked(name)
}

func (fl *File) attrLocked(name string) (any, error) {
	cname, free := cstring(name)
	defer free()
	loc := C.hid_t(fl.ds.ID())
	var cls, vl, rank C.int
	var size C.size_t
	var np C.hssize_t
	if C.enkg_attr_info(loc, cname, &cls, &size, &vl, &np, &rank) < 0 {
		return nil, fmt.Errorf("h5: %s: attribute %q of %s: %w", fl.path, name, fl.name, errHDF5("no such attribute"))
	}
	switch cls {
	case C.H5T_STRING:
		if rank != 0 {
			return nil, fmt.Errorf("h5: %s: attribute %q: array of strings not supported", fl.path, name)
		}
		p := C.enkg_attr_read_string(loc, cname)
		if p == nil {
			return nil, fmt.Errorf("h5: %s: attribute %q: %w", fl.path, name, errHDF5("reading string"))
		}
		defer C.free(unsafe.Pointer(p))
		return C.GoString(p), nil
	case C.H5T_FLOAT, C.H5T_INTEGER:
		if np < 0 || np > 1<<24 {
			return nil, fmt.Errorf("h5: %s: attribute %q: %d elements", fl.path, name, np)
		}
		n := int(np)
		if n == 0 {
			return []float64{}, nil
		}
		kind := C.int(0)
		if cls == C.H5T_INTEGER {
			kind = 1
		}
		buf := C.malloc(C.size_t(8 * n))
		defer C.free(buf)
		if C.enkg_attr_read(loc, cname, kind, buf) < 0 {
			return nil, fmt.Errorf("h5: %s: attribute %q: %w", fl.path, name, errHDF5("H5Aread"))
		}
		if kind == 0 {
			vals := append([]float64(nil), unsafe.Slice((*float64)(buf), n)...)
			if rank == 0 {
				return vals[0], nil
			}
			return vals, nil
		}
		vals := append([]int64(nil), unsafe.Slice((*int64)(buf), n)...)
		if rank == 0 {
			return vals[0], nil
		}
		return vals, nil
	}
	return nil, fmt.Errorf("h5: %s: attribute %q has %s type (want string, float or integer)", fl.path, name, typeClass(cls))
}

// AttrNames returns the names of the attributes of the fields dataset, sorted.
func (fl *File) AttrNames() ([]string, error) {
	lock()
	defer unlock()
	return fl.attrNamesLocked()
}

func (fl *File) attrNamesLocked() ([]string, error) {
	if fl.ds == nil {
		return nil, fmt.Errorf("h5: %s: file is closed", fl.path)
	}
	for size := 4096; size <= 1<<24; size *= 8 {
		buf := make([]byte, size)
		n := C.enkg_attr_names(C.hid_t(fl.ds.ID()), (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(size))
		switch {
		case n >= 0:
			return splitNames(buf[:n]), nil
		case n == -1:
			return nil, fmt.Errorf("h5: %s: listing attributes: %w", fl.path, errHDF5("H5Aiterate"))
		}
	}
	return nil, fmt.Errorf("h5: %s: attribute names too long", fl.path)
}

// Attrs returns every attribute of the fields dataset (values as Attr returns them).
func (fl *File) Attrs() (map[string]any, error) {
	lock()
	defer unlock()
	names, err := fl.attrNamesLocked()
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(names))
	for _, n := range names {
		if m[n], err = fl.attrLocked(n); err != nil {
			return nil, err
		}
	}
	return m, nil
}
