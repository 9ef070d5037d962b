// Package memlimit bounds the memory an enkg computation may plan to allocate, so that an
// oversized request (a huge grid, ensemble or dataset) fails at once with an error naming
// the size and the estimate, instead of ending in "fatal error: runtime: out of memory" or
// the kernel's OOM killer.
//
// The limit (Limit) is the smallest of
//
//   - the machine's physical memory (MemTotal in /proc/meminfo) and a cgroup memory limit
//     (memory.max of cgroup v2, memory.limit_in_bytes of v1), where they exist;
//   - the Go runtime's soft memory limit when one is set (GOMEMLIMIT or
//     debug.SetMemoryLimit);
//   - the environment variable ENKG_MAX_MEMORY: bytes, or a number with the suffix K, M, G
//     or T (powers of 1024, an optional trailing "B" or "iB"), e.g. ENKG_MAX_MEMORY=8G.
//
// Estimates are of the large buffers a computation allocates up front (fields, spectra,
// workspaces, ensembles), not of every small allocation: Check compares one estimate with
// the whole limit, so callers add up what is alive at the same time.
package memlimit

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Env is the environment variable that lowers the limit.
const Env = "ENKG_MAX_MEMORY"

// ErrTooLarge is wrapped by the errors of Check.
var ErrTooLarge = errors.New("needs more memory than allowed")

// Limit returns the memory limit in bytes and where it comes from ("physical memory",
// "cgroup memory limit", "GOMEMLIMIT", "ENKG_MAX_MEMORY"); math.MaxInt64 and "no limit" when
// none is known. A malformed ENKG_MAX_MEMORY is an error.
func Limit() (int64, string, error) {
	lim, from := int64(math.MaxInt64), "no limit"
	set := func(v int64, src string) {
		if v > 0 && v < lim {
			lim, from = v, src
		}
	}
	set(physical(), "physical memory")
	set(cgroup(), "cgroup memory limit")
	if g := debug.SetMemoryLimit(-1); g != math.MaxInt64 {
		set(g, "GOMEMLIMIT")
	}
	if s := os.Getenv(Env); s != "" {
		v, err := ParseSize(s)
		if err != nil {
			return 0, "", fmt.Errorf("memlimit: %s=%q: %w", Env, s, err)
		}
		set(v, Env)
	}
	return lim, from, nil
}

// ParseSize parses a byte count: an integer, optionally with the suffix K, M, G or T
// (powers of 1024, case-insensitive, optionally followed by "B" or "iB"), e.g. "512M",
// "8GiB". It must be positive and at most math.MaxInt64.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "IB"), "B")
	mult := uint64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	v, err := strconv.ParseUint(t, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("not a positive byte count (e.g. 8G, 512M, 1000000)")
	}
	if v > math.MaxInt64/mult {
		return 0, fmt.Errorf("byte count out of range")
	}
	return int64(v * mult), nil
}

// Check returns nil if need bytes fit in Limit, else an error wrapping ErrTooLarge that
// names what (e.g. "data ns: 10 workers × 100000×100000 solver") and both sizes, and how to
// raise the limit when it is ENKG_MAX_MEMORY. A negative need (an overflowed estimate) or
// one of +Inf counts as too large.
func Check(what string, need float64) error {
	lim, from, err := Limit()
	if err != nil {
		return err
	}
	if need >= 0 && need <= float64(lim) {
		return nil
	}
	hint := ""
	if from == Env {
		hint = " (raise " + Env + " to allow more)"
	}
	return fmt.Errorf("%s needs about %s, more than the %s limit of %s%s: %w", what, Bytes(need), from, Bytes(float64(lim)), hint, ErrTooLarge)
}

// Bytes formats a byte count with a binary unit, e.g. "1.5 GiB".
func Bytes(b float64) string {
	if math.IsNaN(b) || b < 0 || math.IsInf(b, 0) {
		return "an unbounded amount"
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	if i == len(units)-1 && b >= 1024 {
		return fmt.Sprintf("%.3g %s", b, units[i])
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", b)
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}

// physical returns MemTotal from /proc/meminfo, 0 if unknown.
func physical() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || kb <= 0 || kb > math.MaxInt64/1024 {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// cgroup returns the cgroup memory limit of this process, 0 if none.
func cgroup() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && v > 0 && v < 1<<60 {
			return v
		}
	}
	return 0
}
