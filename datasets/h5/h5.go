// Package h5 stores ensembles of 2-D fields in HDF5 files, one member at a time, so that a
// dataset larger than memory can be generated and read. It uses libhdf5 through cgo
// (gonum.org/v1/hdf5 plus a few direct calls) and lives apart from package datasets so that
// the rest of enkg builds without cgo.
//
// # Layout
//
// A file holds a float64 (or float32) dataset, by default named "fields", of shape
// (N, Nx, Ny): member i is the field f_i with f_i[x, y] at fields[i, x, y], row-major as
// numpy's C order, so h5py reads f["fields"][i] as the same Nx×Ny array. The dataset is
// chunked one member per chunk, (1, Nx, Ny), so reading or writing member i touches one
// chunk, and its first axis is extendable (Append). Deflate compression with the byte-
// shuffle filter is optional (Settings.Deflate): smooth fields compress, turbulent float64
// fields barely do (NS vorticity at 64²: −9 % for float64, −14 % for float32, at ~20× the
// write time), so it is off by default. Settings.Checksum adds HDF5's Fletcher-32 filter,
// so that a corrupted chunk is an error on read rather than silently wrong numbers.
//
// Beside it, a uint8 dataset "<name>_done" of shape (N,) marks the members written:
// WriteMember writes member i, then sets done[i] = 1 and flushes the file, so an
// interrupted generator can reopen the file with Resume and compute only Pending()
// members. Files without a done mask (e.g. written by h5py) count every member as done.
//
// Attributes of the fields dataset record how the data was made (grid, Re, forcing, solver
// settings, seeds, toolkit version): SetAttr and Attr take string, float64, int64 and
// []float64 values; h5py sees them in f["fields"].attrs as str, float, int and arrays.
//
// Create builds a new file under a temporary name beside its path and links it into place
// only when its datasets and attributes are written and synced, so a file at the path is
// never truncated: without Settings.Overwrite a file that appeared meanwhile (another first
// writer) is left alone (fs.ErrExist), and with it a file that another process holds open
// (libhdf5 locks files with flock(2)) is not replaced (ErrLocked). Opening a file that
// another process holds is reported as ErrLocked, not as a bad dataset.
//
// All calls into libhdf5 are serialised by a package lock; a File may be shared by
// goroutines (writes from a worker pool are serialised). Generate computes the pending
// members of a file on a worker pool and writes them as they finish.
//
// # Notes on gonum.org/v1/hdf5 (why some calls bypass it)
//
//   - Dataset.Read/Write pass the file's datatype as the memory type: a float32 or
//     big-endian dataset read into []float64 is garbage. Member I/O here calls H5Dread and
//     H5Dwrite with H5T_NATIVE_DOUBLE, so libhdf5 converts.
//   - Its errors are bare codes ("code -1"), and its init turns HDF5's error printing off
//     only on the OS thread that ran it (thread-safe builds keep that setting per thread),
//     so other threads print error stacks to stderr. This package silences each thread it
//     uses and returns HDF5's error stack as the error text.
//   - No H5Dset_extent, shuffle or Fletcher-32 filters, attribute exists/delete/list; its
//     fixed-length string attribute read can run past the buffer (no NUL terminator).
//   - With libhdf5 1.10, a flat memory space for a 3-D hyperslab takes a slow path (400 µs
//     instead of 7 µs per 128² member): the memory space here has the selection's shape.
//   - Opening a damaged file is an error (truncation is detected from the superblock);
//     damage inside a chunk is only detected with Settings.Checksum. libhdf5 itself is not
//     hardened against deliberately crafted metadata, so do not open untrusted files.
package h5

// #include <stdlib.h>
// #include "capi.h"
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"regexp"
	"slices"
	"unsafe"

	"gonum.org/v1/hdf5"

	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/internal/memlimit"
)

// DefaultName is the name of the fields dataset when Settings.Name is empty.
const DefaultName = "fields"

// ErrFormat reports a file or dataset that is not what this package reads.
var ErrFormat = errors.New("bad HDF5 dataset")

// Settings configures Create. The zero value is valid.
type Settings struct {
	// Name of the fields dataset; default "fields".
	Name string
	// Float32 stores the fields as float32 (half the size; values rounded to float32).
	// Default: float64.
	Float32 bool
	// Deflate is the zlib level 1–9 of the byte-shuffle + deflate filter; 0 (default)
	// stores chunks uncompressed.
	Deflate int
	// Checksum adds HDF5's Fletcher-32 filter: every chunk carries a checksum, so a
	// corrupted member is reported by ReadMember instead of returning wrong numbers.
	Checksum bool
	// Overwrite replaces an existing file; by default Create refuses to. A file another
	// process has open is never replaced (ErrLocked).
	Overwrite bool
	// Attrs are attributes of the fields dataset, written (as by SetAttr) before the new
	// file appears at its path.
	Attrs map[string]any
}

// File is an open fields dataset.
type File struct {
	path, name string
	f          *hdf5.File
	ds, done   *hdf5.Dataset
	n, nx, ny  int
	rank       int // of the fields dataset: 3, or 2 for a single field
	dtype      string
	writable   bool
}

// testBeforeCommit, when set (tests), runs after a new file is built and before it is put at
// its path.
var testBeforeCommit func()

// lockMessage matches libhdf5's lock errors ("unable to lock the file", "file locking
// disabled") but not its word "sblock" (superblock), which a truncated file's error names.
var lockMessage = regexp.MustCompile(`(?i)\block`)

// ErrLocked reports a file that another process (or another open File) holds open: libhdf5
// locks a file it writes (flock(2), exclusive) and one it reads (shared).
var ErrLocked = errors.New("HDF5 file is in use by another process (locked)")

// Create creates a new file at path holding an (n, nx, ny) fields dataset with no member
// written yet (n may be 0 for a dataset grown with Append), with the attributes s.Attrs.
//
// The file is built under a temporary name in the same directory and appears at path only
// complete (dataset, done mask and attributes written and synced to disk). Without
// s.Overwrite it must not exist: if another process creates path meanwhile, Create fails
// with an error wrapping fs.ErrExist and leaves that file alone. With s.Overwrite an
// existing file is replaced, unless another process has it open (ErrLocked: libhdf5's lock
// is checked, and held while the file is replaced). Nothing at path is truncated or deleted
// on any error, and directories and special files are refused as path.
func Create(path string, n, nx, ny int, s *Settings) (*File, error) {
	if s == nil {
		s = &Settings{}
	}
	name := s.Name
	if name == "" {
		name = DefaultName
	}
	if n < 0 || nx <= 0 || ny <= 0 {
		return nil, fmt.Errorf("h5: create %s: impossible shape (%d, %d, %d)", path, n, nx, ny)
	}
	if s.Deflate < 0 || s.Deflate > 9 {
		return nil, fmt.Errorf("h5: create %s: deflate level %d not in 0..9", path, s.Deflate)
	}
	if !s.Overwrite {
		if _, err := os.Lstat(path); err == nil {
			return nil, fmt.Errorf("h5: create %s: file exists (use Resume to continue it, or Settings.Overwrite): %w", path, fs.ErrExist)
		}
	} else if atomicfile.Locked(path) {
		return nil, fmt.Errorf("h5: create %s: not replacing it: %w", path, ErrLocked)
	}
	tmp, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("h5: create: %w", err)
	}
	defer tmp.Abort()
	lock()
	defer unlock()
	// The temporary file is ours: truncating it destroys nothing.
	f, err := hdf5.CreateFile(tmp.TempName(), hdf5.F_ACC_TRUNC)
	if err != nil {
		return nil, fmt.Errorf("h5: create %s: %w", path, errHDF5("creating file"))
	}
	fl := &File{path: path, name: name, f: f, n: n, nx: nx, ny: ny, rank: 3, writable: true, dtype: "float64"}
	if s.Float32 {
		fl.dtype = "float32"
	}
	if err := fl.create(s); err != nil {
		fl.closeLocked()
		return nil, fmt.Errorf("h5: create %s: %w", path, err)
	}
	if testBeforeCommit != nil {
		testBeforeCommit()
	}
	if s.Overwrite {
		err = tmp.CommitUnlocked()
	} else {
		err = tmp.CommitNew()
	}
	if err != nil {
		fl.closeLocked()
		if errors.Is(err, atomicfile.ErrLocked) {
			err = fmt.Errorf("not replacing it: %w", ErrLocked)
		}
		return nil, fmt.Errorf("h5: create %s: %w", path, err)
	}
	return fl, nil
}

func (fl *File) create(s *Settings) error {
	ftype := hdf5.T_IEEE_F64LE
	if s.Float32 {
		ftype = hdf5.T_IEEE_F32LE
	}
	unl := uint(C.H5S_UNLIMITED)
	space, err := hdf5.CreateSimpleDataspace([]uint{uint(fl.n), uint(fl.nx), uint(fl.ny)}, []uint{unl, uint(fl.nx), uint(fl.ny)})
	if err != nil {
		return errHDF5("dataspace")
	}
	defer space.Close()
	dcpl, err := hdf5.NewPropList(hdf5.P_DATASET_CREATE)
	if err != nil {
		return errHDF5("property list")
	}
	defer dcpl.Close()
	if err := dcpl.SetChunk([]uint{1, uint(fl.nx), uint(fl.ny)}); err != nil {
		return errHDF5("chunking")
	}
	if s.Deflate > 0 {
		if C.enkg_set_shuffle(C.hid_t(dcpl.ID())) < 0 {
			return errHDF5("shuffle filter")
		}
		if err := dcpl.SetDeflate(s.Deflate); err != nil {
			return errHDF5("deflate filter")
		}
	}
	if s.Checksum && C.enkg_set_fletcher32(C.hid_t(dcpl.ID())) < 0 {
		return errHDF5("checksum filter")
	}
	ds, err := fl.f.CreateDatasetWith(fl.name, ftype, space, dcpl)
	if err != nil {
		return errHDF5("dataset " + fl.name)
	}
	ds.Close()
	if fl.ds, err = fl.openFields(); err != nil {
		return errHDF5("dataset " + fl.name)
	}
	dspace, err := hdf5.CreateSimpleDataspace([]uint{uint(fl.n)}, []uint{unl})
	if err != nil {
		return errHDF5("dataspace")
	}
	defer dspace.Close()
	dp, err := hdf5.NewPropList(hdf5.P_DATASET_CREATE)
	if err != nil {
		return errHDF5("property list")
	}
	defer dp.Close()
	if err := dp.SetChunk([]uint{4096}); err != nil {
		return errHDF5("chunking")
	}
	if fl.done, err = fl.f.CreateDatasetWith(fl.name+"_done", hdf5.T_NATIVE_UINT8, dspace, dp); err != nil {
		return errHDF5("dataset " + fl.name + "_done")
	}
	for _, k := range slices.Sorted(maps.Keys(s.Attrs)) {
		if err := fl.setAttrLocked(k, s.Attrs[k]); err != nil {
			return err
		}
	}
	return fl.flushLocked()
}

// openFields opens the fields dataset with the raw-data chunk cache off: members are read
// and written once each, a whole chunk at a time, so caching only adds a copy.
func (fl *File) openFields() (*hdf5.Dataset, error) {
	dapl, err := hdf5.NewPropList(hdf5.P_DATASET_ACCESS)
	if err != nil {
		return nil, err
	}
	defer dapl.Close()
	if err := dapl.SetChunkCache(hdf5.D_CHUNK_CACHE_NSLOTS_DEFAULT, 0, hdf5.D_CHUNK_CACHE_W0_DEFAULT); err != nil {
		return nil, err
	}
	return fl.f.OpenDatasetWith(fl.name, dapl)
}

// Open opens the fields dataset name (DefaultName if empty) of the file at path for
// reading. The dataset must be 3-D (N, Nx, Ny) or 2-D (one field, N = 1) with a float or
// integer type; values are converted to float64 when read.
func Open(path, name string) (*File, error) {
	return open(path, name, false)
}

// Resume opens the fields dataset of a file written by Create for writing, to continue an
// interrupted generation: Pending lists the members still to compute.
func Resume(path, name string) (*File, error) {
	return open(path, name, true)
}

func open(path, name string, write bool) (*File, error) {
	if name == "" {
		name = DefaultName
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("h5: %w", err)
	}
	lock()
	defer unlock()
	if !hdf5.IsHDF5(path) {
		lastError()
		return nil, fmt.Errorf("h5: %s: not an HDF5 file (no HDF5 signature): %w", path, ErrFormat)
	}
	mode := hdf5.F_ACC_RDONLY
	if write {
		mode = hdf5.F_ACC_RDWR
	}
	f, err := hdf5.OpenFile(path, mode)
	if err != nil {
		msg := lastError()
		if lockMessage.MatchString(msg) || atomicfile.Locked(path) {
			return nil, fmt.Errorf("h5: %s: %w, e.g. an 'enkg data' run writing it or h5py: wait for it to finish", path, ErrLocked)
		}
		return nil, fmt.Errorf("h5: %s: opening file: %s (%w)", path, msg, ErrFormat)
	}
	fl := &File{path: path, name: name, f: f, writable: write}
	if err := fl.open(); err != nil {
		fl.closeLocked()
		return nil, fmt.Errorf("h5: %s: dataset %q: %w", path, name, err)
	}
	return fl, nil
}

func (fl *File) open() error {
	if !fl.f.LinkExists(fl.name) {
		lastError()
		return fmt.Errorf("no such dataset: %w", ErrFormat)
	}
	var err error
	if fl.ds, err = fl.openFields(); err != nil {
		return fmt.Errorf("%w (%w)", errHDF5("opening"), ErrFormat)
	}
	var cls C.int
	var size C.size_t
	var vl C.int
	if C.enkg_dset_type(C.hid_t(fl.ds.ID()), &cls, &size, &vl) < 0 {
		return fmt.Errorf("%w (%w)", errHDF5("datatype"), ErrFormat)
	}
	if cls != C.H5T_FLOAT && cls != C.H5T_INTEGER {
		return fmt.Errorf("%s datatype, want float or integer: %w", typeClass(cls), ErrFormat)
	}
	fl.dtype = fmt.Sprintf("int%d", 8*int(size))
	if cls == C.H5T_FLOAT {
		fl.dtype = fmt.Sprintf("float%d", 8*int(size))
	}
	space := fl.ds.Space()
	if space == nil {
		return fmt.Errorf("%w (%w)", errHDF5("dataspace"), ErrFormat)
	}
	dims, _, err := space.SimpleExtentDims()
	space.Close()
	if err != nil {
		return fmt.Errorf("%w (%w)", errHDF5("dataspace"), ErrFormat)
	}
	fl.rank = len(dims)
	switch len(dims) {
	case 3:
		fl.n, fl.nx, fl.ny = int(dims[0]), int(dims[1]), int(dims[2])
	case 2:
		if fl.writable {
			return fmt.Errorf("2-D dataset cannot be resumed: %w", ErrFormat)
		}
		fl.n, fl.nx, fl.ny = 1, int(dims[0]), int(dims[1])
	default:
		return fmt.Errorf("rank %d (shape %v), want (N, Nx, Ny): %w", len(dims), dims, ErrFormat)
	}
	if fl.nx <= 0 || fl.ny <= 0 {
		return fmt.Errorf("empty fields of shape %v: %w", dims, ErrFormat)
	}
	if fl.f.LinkExists(fl.name + "_done") {
		if fl.done, err = fl.f.OpenDataset(fl.name + "_done"); err != nil {
			return fmt.Errorf("%w (%w)", errHDF5("opening done mask"), ErrFormat)
		}
		sp := fl.done.Space()
		if sp == nil {
			return fmt.Errorf("%w (%w)", errHDF5("done mask dataspace"), ErrFormat)
		}
		d, _, err := sp.SimpleExtentDims()
		sp.Close()
		if err != nil || len(d) != 1 || int(d[0]) != fl.n {
			return fmt.Errorf("done mask of shape %v does not match %d members: %w", d, fl.n, ErrFormat)
		}
	} else {
		lastError()
		if fl.writable {
			return fmt.Errorf("no %s_done mask (not written by h5.Create), cannot resume: %w", fl.name, ErrFormat)
		}
	}
	return nil
}

// Dtype returns the stored element type of the fields dataset: "float64", "float32" (as
// Create writes them) or another "float<bits>" or "int<bits>" of a file from elsewhere.
// Members are read as float64 whatever it is.
func (fl *File) Dtype() string { return fl.dtype }

// Path returns the file's path.
func (fl *File) Path() string { return fl.path }

// Name returns the fields dataset's name.
func (fl *File) Name() string { return fl.name }

// Len returns the number of members N.
func (fl *File) Len() int {
	lock()
	defer unlock()
	return fl.n
}

// Shape returns (N, Nx, Ny).
func (fl *File) Shape() (n, nx, ny int) {
	lock()
	defer unlock()
	return fl.n, fl.nx, fl.ny
}

func (fl *File) check(i int, field []float64, op string) error {
	if fl.ds == nil {
		return fmt.Errorf("h5: %s %s: file is closed", op, fl.path)
	}
	if i < 0 || i >= fl.n {
		return fmt.Errorf("h5: %s %s: member %d out of range [0, %d)", op, fl.path, i, fl.n)
	}
	if len(field) != fl.nx*fl.ny {
		return fmt.Errorf("h5: %s %s: field length %d, want %d×%d = %d", op, fl.path, len(field), fl.nx, fl.ny, fl.nx*fl.ny)
	}
	return nil
}

// ReadMember reads member i into dst (length Nx·Ny, row-major).
func (fl *File) ReadMember(dst []float64, i int) error {
	lock()
	defer unlock()
	if err := fl.check(i, dst, "read"); err != nil {
		return err
	}
	if C.enkg_member(C.hid_t(fl.ds.ID()), C.int(fl.rank), C.hsize_t(i), C.hsize_t(fl.nx), C.hsize_t(fl.ny), (*C.double)(unsafe.Pointer(&dst[0])), 0) < 0 {
		return fmt.Errorf("h5: %s: reading member %d: %w (%w)", fl.path, i, errHDF5("H5Dread"), ErrFormat)
	}
	return nil
}

// ReadMembers reads count members starting at first into dst (length count·Nx·Ny, member
// after member), e.g. a training batch for fitting a prior.
func (fl *File) ReadMembers(dst []float64, first, count int) error {
	_, nx, ny := fl.Shape()
	m := nx * ny
	if count < 0 || len(dst) != count*m {
		return fmt.Errorf("h5: read %s: dst length %d, want %d members × %d", fl.path, len(dst), count, m)
	}
	for k := range count {
		if err := fl.ReadMember(dst[k*m:(k+1)*m], first+k); err != nil {
			return err
		}
	}
	return nil
}

// WriteMember writes field (length Nx·Ny, row-major, finite) as member i, marks it done
// and flushes the file, so that the member survives an interruption.
func (fl *File) WriteMember(i int, field []float64) error {
	lock()
	defer unlock()
	return fl.writeMemberLocked(i, field)
}

func (fl *File) writeMemberLocked(i int, field []float64) error {
	if err := fl.check(i, field, "write"); err != nil {
		return err
	}
	if !fl.writable {
		return fmt.Errorf("h5: write %s: opened read-only", fl.path)
	}
	for k, v := range field {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("h5: write %s: member %d: non-finite value %v at index %d", fl.path, i, v, k)
		}
	}
	if C.enkg_member(C.hid_t(fl.ds.ID()), C.int(fl.rank), C.hsize_t(i), C.hsize_t(fl.nx), C.hsize_t(fl.ny), (*C.double)(unsafe.Pointer(&field[0])), 1) < 0 {
		return fmt.Errorf("h5: %s: writing member %d: %w", fl.path, i, errHDF5("H5Dwrite"))
	}
	if err := fl.flushLocked(); err != nil {
		return err
	}
	if C.enkg_flags(C.hid_t(fl.done.ID()), C.hsize_t(i), 1, &doneFlag[0], 1) < 0 {
		return fmt.Errorf("h5: %s: marking member %d done: %w", fl.path, i, errHDF5("H5Dwrite"))
	}
	return fl.flushLocked()
}

// doneFlag is the byte written into the done mask (package memory, used under the lock,
// so that marking a member allocates nothing).
var doneFlag = [1]C.uchar{1}

// Append extends the dataset by one member, writes field there (as WriteMember) and
// returns its index.
func (fl *File) Append(field []float64) (int, error) {
	lock()
	defer unlock()
	if fl.ds == nil || !fl.writable {
		return 0, fmt.Errorf("h5: append %s: file closed or read-only", fl.path)
	}
	if len(field) != fl.nx*fl.ny {
		return 0, fmt.Errorf("h5: append %s: field length %d, want %d", fl.path, len(field), fl.nx*fl.ny)
	}
	if C.enkg_set_extent(C.hid_t(fl.ds.ID()), 3, C.hsize_t(fl.n+1), C.hsize_t(fl.nx), C.hsize_t(fl.ny)) < 0 {
		return 0, fmt.Errorf("h5: append %s: %w", fl.path, errHDF5("H5Dset_extent"))
	}
	if C.enkg_set_extent(C.hid_t(fl.done.ID()), 1, C.hsize_t(fl.n+1), 0, 0) < 0 {
		return 0, fmt.Errorf("h5: append %s: %w", fl.path, errHDF5("H5Dset_extent (done mask)"))
	}
	fl.n++
	i := fl.n - 1
	if err := fl.writeMemberLocked(i, field); err != nil {
		return 0, err
	}
	return i, nil
}

// Done reports whether member i has been written.
func (fl *File) Done(i int) (bool, error) {
	mask, err := fl.DoneMask()
	if err != nil {
		return false, err
	}
	if i < 0 || i >= len(mask) {
		return false, fmt.Errorf("h5: %s: member %d out of range [0, %d)", fl.path, i, len(mask))
	}
	return mask[i], nil
}

// DoneMask returns, for every member, whether it has been written. It reads N bytes (the
// memory is checked against internal/memlimit first, with Pending's share: 10 bytes a
// member).
func (fl *File) DoneMask() ([]bool, error) {
	lock()
	defer unlock()
	if fl.ds == nil {
		return nil, fmt.Errorf("h5: %s: file is closed", fl.path)
	}
	if err := memlimit.Check(fmt.Sprintf("h5: %s: the done mask of %d members", fl.path, fl.n), 10*float64(fl.n)); err != nil {
		return nil, err
	}
	mask := make([]bool, fl.n)
	if fl.done == nil {
		for i := range mask {
			mask[i] = true
		}
		return mask, nil
	}
	if fl.n == 0 {
		return mask, nil
	}
	buf := make([]byte, fl.n)
	if C.enkg_flags(C.hid_t(fl.done.ID()), 0, C.hsize_t(fl.n), (*C.uchar)(unsafe.Pointer(&buf[0])), 0) < 0 {
		return nil, fmt.Errorf("h5: %s: reading done mask: %w (%w)", fl.path, errHDF5("H5Dread"), ErrFormat)
	}
	for i, b := range buf {
		mask[i] = b != 0
	}
	return mask, nil
}

// Pending returns the indices of the members not written yet, in increasing order.
func (fl *File) Pending() ([]int, error) {
	mask, err := fl.DoneMask()
	if err != nil {
		return nil, err
	}
	var p []int
	for i, d := range mask {
		if !d {
			p = append(p, i)
		}
	}
	return p, nil
}

// Flush writes buffered data and metadata to the file.
func (fl *File) Flush() error {
	lock()
	defer unlock()
	return fl.flushLocked()
}

func (fl *File) flushLocked() error {
	if fl.f == nil {
		return fmt.Errorf("h5: %s: file is closed", fl.path)
	}
	if !fl.writable {
		return nil
	}
	if C.enkg_flush(C.hid_t(fl.f.ID())) < 0 {
		return fmt.Errorf("h5: %s: %w", fl.path, errHDF5("H5Fflush"))
	}
	return nil
}

// Close flushes and closes the file. Closing twice is a no-op.
func (fl *File) Close() error {
	lock()
	defer unlock()
	return fl.closeLocked()
}

func (fl *File) closeLocked() error {
	var errs []error
	if fl.done != nil {
		if err := fl.done.Close(); err != nil {
			errs = append(errs, errHDF5("closing done mask"))
		}
		fl.done = nil
	}
	if fl.ds != nil {
		if err := fl.ds.Close(); err != nil {
			errs = append(errs, errHDF5("closing dataset"))
		}
		fl.ds = nil
	}
	if fl.f != nil {
		if err := fl.f.Close(); err != nil {
			errs = append(errs, errHDF5("closing file"))
		}
		fl.f = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("h5: %s: %w", fl.path, err)
	}
	return nil
}
