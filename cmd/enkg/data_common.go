package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/enkg-go/enkg/datasets/h5"
	"github.com/enkg-go/enkg/internal/memlimit"
)

// dataOutput describes the HDF5 dataset of n res×res members that an
// `enkg data <generator>` command writes, resumably.
type dataOutput struct {
	cmd      string // message prefix, e.g. "data ns"
	noun     string // what a member is, e.g. "fields"
	out      string // file path
	n, res   int
	settings h5.Settings
	// attrs are the settings stored as attributes of a new file
	// (enkg_version is added to it).
	attrs map[string]any
	// mkdir creates the parent directory of a new file.
	mkdir bool
	// checked lists the attributes that an existing file must have, equal to
	// attrs, to be resumed.
	checked []string
	// workers is the requested number of goroutines (0: GOMAXPROCS; negative is an error).
	workers int
	// memPerWorker is the memory one worker allocates to compute members (solver, sampler,
	// field buffers), in bytes; dataOpen checks workers × it plus the done mask against the
	// memory limit before it creates or resumes the file.
	memPerWorker float64
	// quiet hides the progress bar.
	quiet bool
	// restart is the advice given when an existing out cannot be resumed; empty means
	// "use --overwrite to start over, or another --out".
	restart string
}

// dataOpen resumes d.out when it exists (and settings.Overwrite is off),
// checking it with dataCheckResume, or creates it with d.attrs, and returns
// the file, its pending members and the number of workers to use (at most
// one per pending member). When nothing is pending it says so on stderr,
// closes the file and returns a nil file.
func dataOpen(d dataOutput, stderr io.Writer) (f *h5.File, pending []int, workers int, err error) {
	if d.workers < 0 {
		return nil, nil, 0, fmt.Errorf("%s: --workers must be ≥ 0 (0: all cores), got %d", d.cmd, d.workers)
	}
	workers = d.workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, d.n))
	// Done mask and pending list (10 bytes a member), the workers' solvers and buffers.
	need := 10*float64(d.n) + float64(workers)*d.memPerWorker
	if err := memlimit.Check(fmt.Sprintf("%s: %d %s of %d×%d on %d worker(s)", d.cmd, d.n, d.noun, d.res, d.res, workers), need); err != nil {
		return nil, nil, 0, err
	}
	if _, statErr := os.Lstat(d.out); statErr == nil && !d.settings.Overwrite {
		if f, err = h5.Resume(d.out, ""); err != nil {
			if errors.Is(err, h5.ErrLocked) {
				return nil, nil, 0, fmt.Errorf("%s: %w", d.cmd, err)
			}
			return nil, nil, 0, fmt.Errorf("%s: resuming %s: %w (%s)", d.cmd, d.out, err, d.restartAdvice())
		}
		if err := dataCheckResume(f, d); err != nil {
			f.Close()
			return nil, nil, 0, err
		}
	} else {
		if dir := filepath.Dir(d.out); d.mkdir && dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, 0, fmt.Errorf("%s: %w", d.cmd, err)
			}
		}
		settings := d.settings
		settings.Attrs = maps.Clone(d.attrs)
		settings.Attrs["enkg_version"] = enkgVersion()
		if f, err = h5.Create(d.out, d.n, d.res, d.res, &settings); err != nil {
			switch {
			case errors.Is(err, h5.ErrLocked):
				return nil, nil, 0, fmt.Errorf("%s: --overwrite does not replace a file in use: %w", d.cmd, err)
			case errors.Is(err, fs.ErrExist):
				return nil, nil, 0, fmt.Errorf("%s: %w; another run created it meanwhile: wait for it, or run the same command again later to resume it", d.cmd, err)
			}
			return nil, nil, 0, fmt.Errorf("%s: %w", d.cmd, err)
		}
	}
	if pending, err = f.Pending(); err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("%s: %w", d.cmd, err)
	}
	if len(pending) == 0 {
		fmt.Fprintf(stderr, "%s: %s is complete (%d %s %d×%d), nothing to do\n", d.cmd, d.out, d.n, d.noun, d.res, d.res)
		return nil, nil, 0, f.Close()
	}
	if done := d.n - len(pending); done > 0 {
		fmt.Fprintf(stderr, "%s: %s: %d of %d members already done, computing %d\n", d.cmd, d.out, done, d.n, len(pending))
	}
	return f, pending, max(1, min(workers, len(pending))), nil
}

// restartAdvice tells the user how to start over when d.out cannot be resumed.
func (d dataOutput) restartAdvice() string {
	if d.restart != "" {
		return d.restart
	}
	return "use --overwrite to start over, or another --out"
}

// dataCheckResume verifies that an existing file was made with the same settings: its shape
// and the attributes d.checked.
func dataCheckResume(f *h5.File, d dataOutput) error {
	n, nx, ny := f.Shape()
	if n != d.n || nx != d.res || ny != d.res {
		return fmt.Errorf("%s: %s holds (%d, %d, %d) %s, not (%d, %d, %d); %s",
			d.cmd, d.out, n, nx, ny, d.noun, d.n, d.res, d.res, d.restartAdvice())
	}
	want := "float64"
	if d.settings.Float32 {
		want = "float32"
	}
	if have := f.Dtype(); have != want {
		return fmt.Errorf("%s: %s stores %s, not %s (--float32 %v); %s",
			d.cmd, d.out, have, want, d.settings.Float32, d.restartAdvice())
	}
	for _, k := range d.checked {
		have, err := f.Attr(k)
		if err != nil {
			return fmt.Errorf("%s: %s was not written by 'enkg %s': %w", d.cmd, d.out, d.cmd, err)
		}
		if have != d.attrs[k] {
			return fmt.Errorf("%s: %s was made with %s = %v, not %v; %s",
				d.cmd, d.out, k, have, d.attrs[k], d.restartAdvice())
		}
	}
	return nil
}

// dataGenerate computes the pending members of f (from dataOpen) with fn on workers
// goroutines, showing a progress bar on stderr unless d.quiet and calling afterWrite (when not
// nil) after each member is written, then closes f. It returns the time spent generating; an
// interruption is reported as such, with the advice to run the command again.
func dataGenerate(ctx context.Context, d dataOutput, f *h5.File, workers, pending int, fn h5.MemberFunc, afterWrite func(i int), stderr io.Writer) (time.Duration, error) {
	var bar *progressbar.ProgressBar
	if !d.quiet && pending > 0 {
		bar = progressbar.NewOptions(pending,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(d.cmd),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
	}
	var mu sync.Mutex
	start := time.Now()
	err := h5.Generate(ctx, f, workers, fn, func(i int) {
		mu.Lock()
		defer mu.Unlock()
		if bar != nil {
			bar.Add(1)
		}
		if afterWrite != nil {
			afterWrite(i)
		}
	})
	if bar != nil {
		if err == nil {
			bar.Finish()
		} else {
			bar.Exit() // stop where it is: an interrupted run is not at 100 %
		}
		fmt.Fprintln(stderr)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	elapsed := time.Since(start)
	if err != nil {
		if ctx.Err() != nil {
			return elapsed, fmt.Errorf("%s: interrupted; finished members are saved in %s, run the same command again to continue: %w", d.cmd, d.out, err)
		}
		return elapsed, fmt.Errorf("%s: %w", d.cmd, err)
	}
	return elapsed, nil
}
