package figures

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSaveFieldAtomic: issue 15 — a failed save truncated an existing PNG; now it is kept,
// and directories are refused as outputs.
func TestSaveFieldAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.png")
	if err := SaveField(p, []float64{1, 2, 3, 4}, 2, 2, Options{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	if err := SaveField(p, []float64{1, 2, 3}, 2, 2, Options{}); !errors.Is(err, ErrShape) {
		t.Fatalf("bad shape: err = %v", err)
	}
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("a failed save changed the existing PNG")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := SaveField(dir, []float64{1, 2, 3, 4}, 2, 2, Options{}); err == nil {
		t.Fatal("a directory accepted as output")
	}
}
