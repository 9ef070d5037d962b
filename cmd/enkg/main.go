// Command enkg is the command-line tool of the enkg toolkit: simulate forward models,
// generate data, observe, and solve inverse problems with Ensemble Kalman Diffusion Guidance.
//
// Each subcommand lives in its own file and registers itself on rootCmd in an init function.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "enkg",
	Short: "Derivative-free inverse problems with diffusion priors (Ensemble Kalman Diffusion Guidance)",
	Long: `enkg recovers an unknown field x from indirect, noisy measurements y = G(x) + noise,
where G is a simulator that can only be run forward, using a diffusion model as the prior
and Ensemble Kalman Diffusion Guidance (EnKG, Zheng et al. 2024) as the solver.

Arrays are read and written as numpy .npy/.npz files (C order, float64 unless noted).

Rules every command follows:
  - Outputs are written to a temporary file beside the output and renamed into place, so an
    existing file is replaced whole or not at all (never truncated, never deleted on an
    error). Directories and special files are refused as outputs, and so is an output that
    is one of the command's inputs. HDF5 datasets are resumed in place; --overwrite never
    replaces a file another process has open.
  - Zero and negative flag values: a flag whose help says what 0 means takes it (--workers 0:
    all cores, --dt 0: adaptive steps, --count -1: all); any other zero or negative value is
    an error naming the flag. Integer flags accept integers only.
  - Memory is estimated before anything large is allocated; past the machine's memory (or
    ENKG_MAX_MEMORY, e.g. 8G, or GOMEMLIMIT) the command fails naming the size and the
    estimate. Time steps of the Navier–Stokes solver are capped (10⁷ per solve).
  - An output with a NaN or an infinity is an error, and nothing is written.
  - Ctrl-C (SIGINT) or SIGTERM stops a command cleanly; 'enkg data' runs resume.`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

// signalContext is cancelled by SIGINT (Ctrl-C) or SIGTERM (timeout, batch schedulers,
// kill): commands stop cleanly, solves save their partial results and checkpoint. The first
// signal is announced on stderr (saving a large ensemble's results can take a while) and
// restores the default action, so a second signal ends the program at once (outputs are
// written by rename, so none is left half-written; a temporary file may remain).
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			fmt.Fprintf(os.Stderr, "\nenkg: %v: stopping cleanly (a second Ctrl-C or SIGTERM ends the program at once)\n", s)
			cancel()
		case <-done:
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			signal.Stop(ch)
			close(done)
			cancel()
		})
	}
}

func main() {
	ctx, stop := signalContext()
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "enkg:", err)
		os.Exit(1)
	}
}
