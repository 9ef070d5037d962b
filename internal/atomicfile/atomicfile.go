// Package atomicfile writes output files so that a reader, a crash, a kill or a full disk
// never leaves a truncated or half-written file at the output path: the new content goes to
// a temporary file in the same directory, which is flushed to disk (fsync) and then renamed
// into place (an atomic replacement on POSIX file systems), and the directory is synced.
// Until the rename, an existing file at the path is untouched; if anything fails only the
// temporary file is removed. The package never deletes or truncates the output path itself.
//
// Rules every enkg command follows for its outputs, through this package:
//
//   - An output may be a new path or an existing regular file (a symbolic link to one is
//     followed: the file it points to is replaced, the link is kept). Directories, devices,
//     pipes and sockets are refused (ErrNotRegular), as is a path whose directory does not
//     exist.
//   - An output must not be one of the command's inputs (ErrSameAsInput): CheckOutput compares
//     the paths and, for existing files, their identity (os.SameFile, so hard links and
//     symbolic links to an input are caught). Call it before any expensive work.
//   - The temporary file is named ".<base>.tmp<random>" beside the output and is created
//     with mode 0666 minus the umask, or with the mode of the file it replaces.
//
// Use WriteFile for a file written through an io.Writer in one go, or Create, write
// through the File (or by name with TempName, for libraries such as libhdf5 that open paths
// themselves) and finish with Commit (replace), CommitNew (fail with ErrExist if the path
// appeared meanwhile: closes the race between two first-time writers) or
// CommitUnlocked (replace, unless another process holds a flock(2) lock on the existing
// file: ErrLocked); Abort discards the temporary file and is a no-op after a commit, so
//
//	f, err := atomicfile.Create(path)
//	if err != nil { return err }
//	defer f.Abort()
//	... write to f ...
//	return f.Commit()
//
// is the usual pattern. For a directory of outputs that together describe a run, write each
// file with WriteFile (or Create/Commit) and the file that marks the run complete (its
// metrics or config) last, so that an interrupted run never pairs new and old files under a
// "complete" marker.
package atomicfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrNotRegular reports an output path that exists and is not a regular file (a directory,
// a device, a pipe or a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrSameAsInput reports an output path that is one of the command's inputs.
var ErrSameAsInput = errors.New("output is also an input")

// ErrLocked reports an existing output that another process holds open with a lock
// (CommitUnlocked), e.g. an HDF5 file being written.
var ErrLocked = errors.New("file is locked by another process")

// ErrExist reports that CommitNew found the output path already taken.
var ErrExist = fs.ErrExist

// resolve returns the path to write for output path: path itself when it does not exist or
// is a regular file, the target of a symbolic link to a regular file (or to a new path in an
// existing directory), and an error wrapping ErrNotRegular otherwise. info is the existing
// file's, nil for a new path.
func resolve(path string) (target string, info os.FileInfo, err error) {
	if path == "" {
		return "", nil, errors.New("empty output path")
	}
	target = path
	if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&os.ModeSymlink != 0 {
		// Follow the link chain so that the rename replaces the file, not the link.
		t, err := filepath.EvalSymlinks(path)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return "", nil, fmt.Errorf("%s: %w", path, err)
			}
			// A dangling link: write where it points (one level), if that directory exists.
			dest, rerr := os.Readlink(path)
			if rerr != nil {
				return "", nil, fmt.Errorf("%s: %w", path, rerr)
			}
			if !filepath.IsAbs(dest) {
				dest = filepath.Join(filepath.Dir(path), dest)
			}
			if _, err := os.Lstat(dest); err == nil {
				return "", nil, fmt.Errorf("%s: symbolic link to %s, which cannot be resolved", path, dest)
			}
			t = dest
		}
		target = t
	}
	st, err := os.Stat(target)
	switch {
	case err == nil:
		if !st.Mode().IsRegular() {
			what := "a special file (device, pipe or socket)"
			if st.IsDir() {
				what = "a directory"
			}
			return "", nil, fmt.Errorf("%s is %s: %w", path, what, ErrNotRegular)
		}
		return target, st, nil
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(target)
		ds, derr := os.Stat(dir)
		if derr != nil {
			return "", nil, fmt.Errorf("%s: directory %s: %w", path, dir, derr)
		}
		if !ds.IsDir() {
			return "", nil, fmt.Errorf("%s: %s is not a directory", path, dir)
		}
		return target, nil, nil
	default:
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
}

// CheckOutput reports whether path can be written as an output: it must be a new path in an
// existing directory or an existing regular file (ErrNotRegular otherwise), and it must not
// name the same file as any of inputs (ErrSameAsInput); empty inputs are skipped. It
// neither creates nor changes anything. Commands call it before doing any work, so a bad
// --out fails at once.
func CheckOutput(path string, inputs ...string) error {
	target, info, err := resolve(path)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(target)
	for _, in := range inputs {
		if in == "" {
			continue
		}
		if a, err := filepath.Abs(in); err == nil && a == abs {
			return fmt.Errorf("%s: %w %s", path, ErrSameAsInput, in)
		}
		if r, err := filepath.EvalSymlinks(in); err == nil {
			if a, err := filepath.Abs(r); err == nil && a == abs {
				return fmt.Errorf("%s: %w %s", path, ErrSameAsInput, in)
			}
		}
		if info != nil {
			if is, err := os.Stat(in); err == nil && os.SameFile(info, is) {
				return fmt.Errorf("%s: %w %s (the same file)", path, ErrSameAsInput, in)
			}
		}
	}
	return nil
}

// File is an output being written: an open temporary file beside the output path.
type File struct {
	*os.File
	target string // the path the temporary file becomes
	tmp    string
	done   bool // committed or aborted
}

// Create starts writing the output path: it checks path as CheckOutput does (without
// inputs) and creates an empty temporary file in the same directory. Nothing at path changes
// until a commit.
func Create(path string) (*File, error) {
	target, info, err := resolve(path)
	if err != nil {
		return nil, err
	}
	perm := os.FileMode(0o666)
	if info != nil {
		perm = info.Mode().Perm()
	}
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	var b [6]byte
	for range 100 {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("%s: temporary name: %w", path, err)
		}
		tmp := filepath.Join(dir, "."+base+".tmp"+hex.EncodeToString(b[:]))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: creating a temporary file: %w", path, err)
		}
		if info != nil {
			// O_CREATE applied the umask; keep the replaced file's mode exactly.
			if err := f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(tmp)
				return nil, fmt.Errorf("%s: %w", path, err)
			}
		}
		return &File{File: f, target: target, tmp: tmp}, nil
	}
	return nil, fmt.Errorf("%s: no free temporary name", path)
}

// TempName returns the path of the temporary file, for libraries that open files by name.
func (f *File) TempName() string { return f.tmp }

// Target returns the path the file is committed to (the output path, with a symbolic link
// resolved).
func (f *File) Target() string { return f.target }

// finish syncs and closes the temporary file.
func (f *File) finish() error {
	if f.done {
		return fmt.Errorf("%s: already committed or aborted", f.target)
	}
	if err := f.File.Sync(); err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.target, err)
	}
	if err := f.File.Close(); err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.target, err)
	}
	return nil
}

// Commit syncs the temporary file to disk and renames it to the output path, replacing a file
// there. On error the temporary file is removed and the output path is unchanged.
func (f *File) Commit() error {
	if err := f.finish(); err != nil {
		return err
	}
	return f.rename()
}

func (f *File) rename() error {
	// The target may have become a directory or a special file since Create.
	if st, err := os.Lstat(f.target); err == nil && !st.Mode().IsRegular() {
		f.Abort()
		return fmt.Errorf("%s: %w", f.target, ErrNotRegular)
	}
	if err := os.Rename(f.tmp, f.target); err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.target, err)
	}
	f.done = true
	syncDir(filepath.Dir(f.target))
	return nil
}

// CommitNew is Commit for an output that must not exist: it fails with an error wrapping
// ErrExist, removing the temporary file, if the output path was created by anyone meanwhile
// (it links the temporary file to the path, which is atomic and never replaces).
func (f *File) CommitNew() error {
	if err := f.finish(); err != nil {
		return err
	}
	if err := os.Link(f.tmp, f.target); err != nil {
		f.Abort()
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w (created by another process meanwhile?)", f.target, ErrExist)
		}
		return fmt.Errorf("%s: %w", f.target, err)
	}
	f.done = true
	os.Remove(f.tmp)
	syncDir(filepath.Dir(f.target))
	return nil
}

// CommitUnlocked is Commit, except that it refuses (ErrLocked, temporary file removed, output
// unchanged) to replace an existing file that another process holds an flock(2) lock on — as
// libhdf5 does for a file it has open. The existing file is locked while it is replaced, so
// such a process cannot open it in between. Where flock is unavailable it is Commit.
func (f *File) CommitUnlocked() error {
	if err := f.finish(); err != nil {
		return err
	}
	old, err := os.Open(f.target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return f.rename()
		}
		f.Abort()
		return fmt.Errorf("%s: %w", f.target, err)
	}
	defer old.Close()
	if err := lockExclusive(old); err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.target, err)
	}
	return f.rename()
}

// Abort closes and removes the temporary file. It is a no-op after a commit or an abort;
// the output path is never touched.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	f.File.Close()
	return os.Remove(f.tmp)
}

// WriteFile writes path atomically with fn, through a buffer: fn's output becomes the file
// only if fn and the write succeed; otherwise the output path is unchanged. Errors name the
// path.
func WriteFile(path string, fn func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := fn(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Commit()
}

// syncDir syncs a directory so that a rename in it survives a crash; file systems that do
// not support syncing a directory are ignored.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
