package h5

// Direct libhdf5 calls for what gonum.org/v1/hdf5 lacks or gets wrong: typed reads and
// writes with an explicit memory type (gonum's Dataset.Read/Write use the file datatype as
// the memory type, so a float32 or big-endian dataset read into []float64 is garbage),
// hyperslab I/O of one member in a single cgo call, H5Dset_extent, the shuffle filter,
// attribute existence/deletion/listing, safe string attributes, and HDF5's error stack as
// text.

// #cgo pkg-config: hdf5
// #include <stdlib.h>
// #include "capi.h"
import "C"

import (
	"errors"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// lib serialises every call into libhdf5 (the library keeps global state and its error
// stack per OS thread); holders also lock the OS thread so that the error stack read after
// a failed call is the one that call left.
var lib sync.Mutex

func lock() {
	lib.Lock()
	runtime.LockOSThread()
	C.enkg_silence()
}

func unlock() {
	runtime.UnlockOSThread()
	lib.Unlock()
}

// lastError returns HDF5's error stack of the current thread as one line, and clears it.
// Call it with the lock held, right after the failing call.
func lastError() string {
	var buf [1024]C.char
	C.enkg_last_error(&buf[0], C.size_t(len(buf)))
	s := C.GoString(&buf[0])
	if s == "" {
		return "libhdf5 call failed"
	}
	return s
}

// errHDF5 is the error of a failed libhdf5 call, with the library's explanation.
func errHDF5(what string) error {
	return errors.New(what + ": " + lastError())
}

func cstring(s string) (*C.char, func()) {
	c := C.CString(s)
	return c, func() { C.free(unsafe.Pointer(c)) }
}

// typeClass names HDF5 datatype classes in errors.
func typeClass(cls C.int) string {
	switch cls {
	case C.H5T_INTEGER:
		return "integer"
	case C.H5T_FLOAT:
		return "float"
	case C.H5T_STRING:
		return "string"
	case C.H5T_COMPOUND:
		return "compound"
	case C.H5T_ENUM:
		return "enum"
	case C.H5T_ARRAY:
		return "array"
	case C.H5T_VLEN:
		return "variable-length"
	}
	return "unsupported"
}

func splitNames(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\x00")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}
