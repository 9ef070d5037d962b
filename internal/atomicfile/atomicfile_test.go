package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onlyFiles lists the directory, failing on leftover temporary files.
func onlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("directory holds %v, want %v", got, want)
	}
}

func TestWriteFileReplacesOnlyOnSuccess(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.npy")
	if err := os.WriteFile(p, []byte("old good file"), 0o640); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFile(p, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if got := read(t, p); got != "old good file" {
		t.Fatalf("a failed write changed the existing file: %q", got)
	}
	onlyFiles(t, dir, "a.npy")
	if err := WriteFile(p, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new" {
		t.Fatalf("content %q", got)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, want the replaced file's 0640", st.Mode().Perm())
	}
	onlyFiles(t, dir, "a.npy")
}

func TestFailedNewFileLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "new.npy")
	if err := WriteFile(p, func(io.Writer) error { return errors.New("no") }); err == nil {
		t.Fatal("no error")
	}
	onlyFiles(t, dir)
}

func TestRefusesDirectoriesAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := WriteFile(dir, func(io.Writer) error { return nil }); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("directory as output: err = %v", err)
	}
	if _, err := Create("/dev/null"); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("/dev/null as output: err = %v", err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeDevice == 0 {
		t.Fatalf("/dev/null was touched: %v %v", st, err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err == nil {
		if err := CheckOutput(fifo); !errors.Is(err, ErrNotRegular) {
			t.Fatalf("fifo: err = %v", err)
		}
	}
	if err := CheckOutput(filepath.Join(dir, "missing", "x.npy")); err == nil {
		t.Fatal("missing directory accepted")
	}
	if err := CheckOutput(""); err == nil {
		t.Fatal("empty path accepted")
	}
}

func TestCheckOutputRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.npy")
	os.WriteFile(in, []byte("x"), 0o644)
	link := filepath.Join(dir, "hard.npy")
	if err := os.Link(in, link); err != nil {
		t.Fatal(err)
	}
	sym := filepath.Join(dir, "sym.npy")
	if err := os.Symlink("in.npy", sym); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{in, filepath.Join(dir, ".", "in.npy"), link, sym} {
		if err := CheckOutput(out, "", in); !errors.Is(err, ErrSameAsInput) {
			t.Errorf("out %s, in %s: err = %v, want ErrSameAsInput", out, in, err)
		}
	}
	if err := CheckOutput(filepath.Join(dir, "out.npy"), in, ""); err != nil {
		t.Fatal(err)
	}
	// An input that does not exist yet but has the same path.
	if err := CheckOutput(filepath.Join(dir, "n.npy"), filepath.Join(dir, "n.npy")); !errors.Is(err, ErrSameAsInput) {
		t.Fatalf("err = %v", err)
	}
}

func TestSymlinkOutputReplacesTarget(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.npy")
	os.WriteFile(real, []byte("old"), 0o644)
	sym := filepath.Join(dir, "sym.npy")
	os.Symlink("real.npy", sym)
	if err := WriteFile(sym, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }); err != nil {
		t.Fatal(err)
	}
	if li, _ := os.Lstat(sym); li.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the symbolic link was replaced by a file")
	}
	if got := read(t, real); got != "new" {
		t.Fatalf("target holds %q", got)
	}
}

func TestCommitNewRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.h5")
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("mine")
	// Another writer gets there first.
	os.WriteFile(p, []byte("theirs"), 0o644)
	if err := f.CommitNew(); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("err = %v, want ErrExist", err)
	}
	if got := read(t, p); got != "theirs" {
		t.Fatalf("existing file changed: %q", got)
	}
	onlyFiles(t, dir, "a.h5")
	if err := f.Abort(); err != nil {
		t.Fatalf("Abort after a failed commit: %v", err)
	}
}

func TestCommitUnlockedRefusesLockedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.h5")
	os.WriteFile(p, []byte("in use"), 0o644)
	holder, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(holder.Fd()), syscall.LOCK_SH); err != nil {
		t.Skipf("no flock here: %v", err)
	}
	if !Locked(p) {
		t.Fatal("Locked = false for a locked file")
	}
	f, err := Create(p)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	if err := f.CommitUnlocked(); !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if got := read(t, p); got != "in use" {
		t.Fatalf("locked file changed: %q", got)
	}
	onlyFiles(t, dir, "a.h5")
	holder.Close()
	if Locked(p) {
		t.Fatal("Locked = true after release")
	}
	f, _ = Create(p)
	f.WriteString("new")
	if err := f.CommitUnlocked(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, p); got != "new" {
		t.Fatalf("content %q", got)
	}
}

func TestCommitTwice(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a")
	f, _ := Create(p)
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("second commit accepted")
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Abort after Commit removed the output: %v", err)
	}
}
