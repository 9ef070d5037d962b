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

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "enkg",
	Short: "Derivative-free inverse problems with diffusion priors (Ensemble Kalman Diffusion Guidance)",
	Long: `enkg recovers an unknown field x from indirect, noisy measurements y = G(x) + noise,
where G is a simulator that can only be run forward, using a diffusion model as the prior
and Ensemble Kalman Diffusion Guidance (EnKG, Zheng et al. 2024) as the solver.

Arrays are read and written as numpy .npy/.npz files (C order, float64 unless noted).`,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := rootCmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "enkg:", err)
		os.Exit(1)
	}
}
