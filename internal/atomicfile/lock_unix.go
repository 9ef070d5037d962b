//go:build unix

package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockExclusive takes a non-blocking exclusive flock on f (released when f is closed).
func lockExclusive(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return ErrLocked
		case errors.Is(err, syscall.ENOSYS), errors.Is(err, syscall.ENOTSUP), errors.Is(err, syscall.EINVAL):
			return nil // no flock on this file system: nobody can hold one either
		default:
			return fmt.Errorf("locking: %w", err)
		}
	}
}

// Locked reports whether another process holds an flock(2) lock on the existing file path
// (shared or exclusive), e.g. libhdf5 with the file open. It takes and releases a lock to
// find out; false when path cannot be opened.
func Locked(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return errors.Is(lockExclusive(f), ErrLocked)
}
