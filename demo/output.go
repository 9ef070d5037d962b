package demo

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/figures"
)

// Summary is the JSON form of a report (summary.json).
type Summary struct {
	Problem  string            `json:"problem"`
	Settings Settings          `json:"settings"`
	Results  []Row             `json:"results"`
	Inputs   map[string]string `json:"inputs,omitempty"`
	// StageSeconds are the wall times of the pipeline stages (dataset, prior, truth, …).
	StageSeconds map[string]float64 `json:"stage_seconds,omitempty"`
	TotalSeconds float64            `json:"total_seconds,omitempty"`
	Files        map[string]string  `json:"files"`
}

// file describes one output.
type file struct{ name, what string }

// Files returns the names of the files Write creates with a description of each.
func (r *Report) Files() []struct{ Name, What string } {
	n, m := r.Settings.Res, r.Settings.ObsSide()
	J := r.Settings.Members
	list := []file{
		{"summary.json", "settings, the results table, stage wall times and this file list"},
		{"README.txt", "this description"},
		{"truth.npy", fmt.Sprintf("true vorticity w at the start of the window, (%d, %d) float64", n, n)},
		{"observation.npy", fmt.Sprintf("observation y = w(T)[::%d, ::%d] + noise, (%d, %d)", r.Settings.Stride, r.Settings.Stride, m, m)},
		{"prior_mean.npy", fmt.Sprintf("mean of the fitted prior (vorticity), (%d, %d)", n, n)},
	}
	for _, row := range r.Rows {
		if row.Ensemble == nil {
			continue
		}
		k := key(row.Method)
		list = append(list,
			file{k + "_mean.npy", fmt.Sprintf("%s ensemble mean (the estimate of w), (%d, %d)", row.Method, n, n)},
			file{k + "_std.npy", fmt.Sprintf("%s per-pixel ensemble standard deviation, (%d, %d)", row.Method, n, n)},
			file{k + "_ensemble.npy", fmt.Sprintf("%s final members, (%d, %d, %d)", row.Method, J, n, n)},
			file{k + "_curve.npy", fmt.Sprintf("%s data misfit of the ensemble against forward evaluations spent, (steps, 2): columns evals, misfit", row.Method)},
		)
	}
	list = append(list,
		file{"truth.png", "true vorticity (diverging colour map, shared range)"},
		file{"observation.png", "observation"},
	)
	for _, row := range r.Rows {
		if row.Ensemble == nil {
			continue
		}
		k := key(row.Method)
		list = append(list,
			file{k + "_mean.png", row.Method + " mean, same colour range as the truth"},
			file{k + "_std.png", row.Method + " ensemble standard deviation (viridis)"},
			file{k + "_error.png", row.Method + " mean − truth"},
		)
	}
	list = append(list, file{"misfit.png", "data misfit of each method against forward evaluations (log scale)"})
	out := make([]struct{ Name, What string }, len(list))
	for i, f := range list {
		out[i].Name, out[i].What = f.name, f.what
	}
	return out
}

func key(method string) string {
	return strings.NewReplacer(" ", "_", "(", "", ")", "").Replace(strings.ToLower(method))
}

// Write saves the arrays (.npy), figures (.png), summary.json and README.txt into dir
// (created if needed). inputs (may be nil) names the files the run read (dataset, prior);
// stages holds stage wall times for the summary.
func (r *Report) Write(dir string, inputs map[string]string, stages map[string]float64, total float64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	s := r.Settings
	n, m := s.Res, s.ObsSide()
	save := func(name string, shape []int, data []float64) error {
		if err := datasets.SaveNPY(filepath.Join(dir, name), shape, data); err != nil {
			return fmt.Errorf("demo: %s: %w", name, err)
		}
		return nil
	}
	if err := save("truth.npy", []int{n, n}, r.Truth); err != nil {
		return err
	}
	if err := save("observation.npy", []int{m, m}, r.Observation); err != nil {
		return err
	}
	lo, hi := figures.Options{Symmetric: true}.Range(r.Truth)
	fig := func(name string, f []float64, side int, opt figures.Options) error {
		if err := figures.SaveField(filepath.Join(dir, name), f, side, side, opt); err != nil {
			return fmt.Errorf("demo: figure %s: %w", name, err)
		}
		return nil
	}
	if err := fig("truth.png", r.Truth, n, figures.Options{Title: fmt.Sprintf("truth: vorticity at t = %g", s.Spinup), Colormap: figures.Diverging, Min: lo, Max: hi}); err != nil {
		return err
	}
	if err := fig("observation.png", r.Observation, m, figures.Options{Title: fmt.Sprintf("observation: t = %g, every %d%s point, σ = %g", s.Spinup+s.T, s.Stride, ordinalSuffix(s.Stride), s.Noise), Colormap: figures.Diverging, Symmetric: true}); err != nil {
		return err
	}
	lines := figures.Lines{Title: "data misfit of the ensemble", XLabel: "forward-model evaluations", YLabel: "mean misfit ‖G(x)−y‖²/2σ²", LogY: true}
	for _, row := range r.Rows {
		k := key(row.Method)
		if row.Ensemble == nil {
			if err := save(k+".npy", []int{n, n}, row.Mean); err != nil {
				return err
			}
			continue
		}
		j, _ := row.Ensemble.Dims()
		if err := save(k+"_mean.npy", []int{n, n}, row.Mean); err != nil {
			return err
		}
		if err := save(k+"_std.npy", []int{n, n}, row.Std); err != nil {
			return err
		}
		if err := save(k+"_ensemble.npy", []int{j, n, n}, row.Ensemble.RawMatrix().Data); err != nil {
			return err
		}
		curve := make([]float64, 0, 2*len(row.Curve))
		ser := figures.Series{Name: row.Method}
		for _, c := range row.Curve {
			curve = append(curve, c[0], c[1])
			if c[1] > 0 {
				ser.X = append(ser.X, c[0])
				ser.Y = append(ser.Y, c[1])
			}
		}
		if err := save(k+"_curve.npy", []int{len(row.Curve), 2}, curve); err != nil {
			return err
		}
		if len(ser.X) > 0 {
			lines.Series = append(lines.Series, ser)
		}
		errf := make([]float64, len(row.Mean))
		for i := range errf {
			errf[i] = row.Mean[i] - r.Truth[i]
		}
		if err := fig(k+"_mean.png", row.Mean, n, figures.Options{Title: fmt.Sprintf("%s mean (rel. L2 %.3f)", row.Method, row.RelL2), Colormap: figures.Diverging, Min: lo, Max: hi}); err != nil {
			return err
		}
		if err := fig(k+"_std.png", row.Std, n, figures.Options{Title: row.Method + " ensemble std", Colormap: figures.Viridis}); err != nil {
			return err
		}
		if err := fig(k+"_error.png", errf, n, figures.Options{Title: row.Method + " mean − truth", Colormap: figures.Diverging, Min: lo, Max: hi}); err != nil {
			return err
		}
	}
	if len(lines.Series) > 0 {
		if err := lines.Save(filepath.Join(dir, "misfit.png")); err != nil {
			return fmt.Errorf("demo: figure misfit.png: %w", err)
		}
	}
	files := map[string]string{}
	for _, f := range r.Files() {
		files[f.Name] = f.What
	}
	sum := Summary{
		Problem: fmt.Sprintf("2-D Navier–Stokes (vorticity), %d², Re = %g, Kolmogorov forcing −4cos(4y): recover w(t = %g) from w(t = %g)[::%d, ::%d] + N(0, %g²)",
			n, s.Re, s.Spinup, s.Spinup+s.T, s.Stride, s.Stride, s.Noise),
		Settings: s, Results: r.Rows, Inputs: inputs, StageSeconds: stages, TotalSeconds: total, Files: files,
	}
	b, err := json.MarshalIndent(sum, "", "  ")
	if err != nil {
		return fmt.Errorf("demo: summary: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte(r.readme(inputs)), 0o644); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

func (r *Report) readme(inputs map[string]string) string {
	var b strings.Builder
	s := r.Settings
	fmt.Fprintf(&b, `enkg demo — Navier–Stokes inverse problem (EnKG paper, CPU scale)

Problem: recover the vorticity w of a forced 2-D Navier–Stokes flow on the 2π-periodic
%d×%d grid (Re = %g, forcing −4cos(4y), state spun up from a Gaussian random field for
%g time units) from y = w(t + %g)[::%d, ::%d] + N(0, %g²) (every %d%s point).
Prior: a stationary Gaussian fitted to %d training fields in the normalised space w/%g.
EnKG (J = %d, N = %d steps, %d updates per guided step, scale %g) and EKI (J = %d, the
same number of forward-model evaluations) are compared by the relative L2 error of their
ensemble mean, ‖mean − truth‖/‖truth‖.

Results:
`, s.Res, s.Res, s.Re, s.Spinup, s.T, s.Stride, s.Stride, s.Noise, s.Stride, ordinalSuffix(s.Stride), s.Train, s.Scale,
		s.Members, s.Steps, s.Updates, s.Guide, s.Members)
	r.WriteTable(&b)
	b.WriteString("\nAll arrays are float64 numpy .npy files in C order, vorticity units; axis 0 is x,\naxis 1 is y (w[i, j] = w(x_i, y_j), x_i = 2πi/n).\n\nFiles:\n")
	for _, f := range r.Files() {
		fmt.Fprintf(&b, "  %-20s %s\n", f.Name, f.What)
	}
	if len(inputs) > 0 {
		b.WriteString("\nInputs (cached, reused by the next run):\n")
		for _, k := range sortedKeys(inputs) {
			fmt.Fprintf(&b, "  %-20s %s\n", k, inputs[k])
		}
	}
	b.WriteString(`
Load in Python:

  import json, numpy as np
  truth = np.load("truth.npy")                 # (n, n)
  enkg  = np.load("enkg_mean.npy")             # (n, n)
  ens   = np.load("enkg_ensemble.npy")         # (J, n, n)
  rel   = np.linalg.norm(enkg - truth) / np.linalg.norm(truth)
  summary = json.load(open("summary.json"))
  print(rel, summary["results"][0]["rel_l2"])
`)
	data, prior := "ns.h5", "prior.npz"
	if v := inputs["dataset"]; v != "" {
		data = v
	}
	if v := inputs["prior"]; v != "" {
		prior = v
	}
	fmt.Fprintf(&b, `
The training set is HDF5 (h5py; paths relative to where the demo ran):

  import h5py
  with h5py.File(%q) as f:
      fields = f["fields"][:]                  # (N, n, n) vorticities
      attrs = dict(f["fields"].attrs)          # grid, Re, spin-up time, GRF, seed, version

and the fitted prior is a numpy .npz (written by diffusion.SavePrior):

  z = np.load(%q)
  kind = bytes(z["kind"]).decode()             # "spectral_gaussian"
  mean, power = z["mean"], z["power"]          # normalised space x = w/10; power in rfft2 layout
  scale, shift = z["norm"]                     # vorticity = scale·x + shift
`, data, prior)
	return b.String()
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}
