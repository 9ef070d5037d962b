//go:build !unix

package atomicfile

import "os"

func lockExclusive(*os.File) error { return nil }

// Locked reports whether another process holds a lock on path; always false where flock(2)
// is unavailable.
func Locked(string) bool { return false }
