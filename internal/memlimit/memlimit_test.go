package memlimit

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"1": 1, "8G": 8 << 30, "512m": 512 << 20, "2GiB": 2 << 30, "3kb": 3 << 10, " 1T ": 1 << 40} {
		if got, err := ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "1.5G", "G", "1e9", "99999999999T", "18446744073709551616", "ten"} {
		if v, err := ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", s, v)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Setenv(Env, "1M")
	lim, from, err := Limit()
	if err != nil || lim != 1<<20 || from != Env {
		t.Fatalf("Limit = %d %q %v", lim, from, err)
	}
	if err := Check("small", 1000); err != nil {
		t.Fatal(err)
	}
	err = Check("grid 100000×100000", 8e10)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "grid 100000×100000 needs about 74.5 GiB") ||
		!strings.Contains(err.Error(), "1.0 MiB") || !strings.Contains(err.Error(), Env) {
		t.Fatalf("err = %v", err)
	}
	for _, need := range []float64{-1, math.Inf(1), math.NaN()} {
		if err := Check("x", need); !errors.Is(err, ErrTooLarge) {
			t.Errorf("need %v: err = %v", need, err)
		}
	}
	t.Setenv(Env, "lots")
	if err := Check("x", 1); err == nil || !strings.Contains(err.Error(), Env) {
		t.Fatalf("malformed %s: err = %v", Env, err)
	}
}

func TestLimitDefault(t *testing.T) {
	t.Setenv(Env, "")
	lim, from, err := Limit()
	if err != nil || lim <= 0 {
		t.Fatalf("Limit = %d %q %v", lim, from, err)
	}
	t.Logf("limit %s (%s)", Bytes(float64(lim)), from)
}

// FuzzParseSize: ParseSize never panics, and accepts only positive sizes.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1", "8G", "512MiB", "0", "-1", "1e9", "18446744073709551615", "9223372036854775807", "8388608T", " 3 kb "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err == nil && v <= 0 {
			t.Fatalf("ParseSize(%q) = %d without an error", s, v)
		}
	})
}
