package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/imaging"
	"github.com/enkg-go/enkg/problem"
)

// solveImageData returns the Fashion-MNIST directory or skips.
func solveImageData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("ENKG_IMAGE_DATA")
	if dir == "" {
		dir = datasets.FashionMNISTDir
	}
	if _, _, err := datasets.LoadMNIST(dir, "t10k"); errors.Is(err, datasets.ErrNoDataset) {
		t.Skipf("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): %v", err)
	} else if err != nil {
		t.Fatal(err)
	}
	return dir
}

// solveImageRun solves one configuration as `enkg solve` does (without writing files) and
// returns the result scored on the truth.
func solveImageRun(t testing.TB, cfgFile string, sets []string) (*guidance.Result, *problem.Problem, error) {
	cfg, err := problem.Load(cfgFile, sets)
	if err != nil {
		return nil, nil, err
	}
	m, err := cfg.Method()
	if err != nil {
		return nil, nil, err
	}
	st, err := problem.Build(context.Background(), cfg)
	if err != nil {
		return nil, nil, err
	}
	res, err := st.Run(context.Background(), m, guidance.Options{Workers: cfg.Workers})
	if err != nil {
		return nil, nil, err
	}
	return res, st, nil
}

// TestSolveImage: EnKG on box inpainting of a held-out test image beats the masked
// observation itself, DPS with exact gradients runs on phase retrieval through
// PhaseRetrieval.VJP, `enkg solve` writes its outputs, and bad image settings are clear errors.
func TestSolveImage(t *testing.T) {
	data := solveImageData(t)
	prior := filepath.Join(t.TempDir(), "prior.npz")
	base := []string{"image.data=" + data, "image.train=1000", "image.prior_file=" + prior, "workers=2"}
	cfg := filepath.Join("..", "..", "configs", "image-inpaint-box.yaml")
	res, st, err := solveImageRun(t, cfg, append(base, "algorithm.enkg.members=64", "algorithm.enkg.steps=20"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prior); err != nil {
		t.Fatalf("prior not cached: %v", err)
	}
	obsPSNR, _ := imaging.PSNR(problem.Clip(st.Observation), st.Truth, 2)
	if p := res.Metrics["psnr"]; !(p > obsPSNR+2) {
		t.Errorf("EnKG box inpainting PSNR %.2f, the masked observation %.2f", p, obsPSNR)
	}
	if s := res.Metrics["ssim"]; !(s > 0 && s < 1) {
		t.Errorf("SSIM %v", s)
	}
	// DPS on phase retrieval (nonlinear): the exact gradient is J_Gᵀ via operator.VJPer.
	res, _, err = solveImageRun(t, filepath.Join("..", "..", "configs", "image-phase-retrieval.yaml"),
		append(base, "algorithm.name=dps", "algorithm.dps.members=2", "algorithm.schedule.steps=10"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Adjoint != 2*10 || math.IsNaN(res.Metrics["psnr"]) {
		t.Errorf("DPS phase retrieval: %d Jacobian-transpose products (want 20), PSNR %v", res.Counts.Adjoint, res.Metrics["psnr"])
	}
	// enkg solve end to end.
	out := t.TempDir()
	o := solveOptions{config: cfg, out: out, sets: append(base, "algorithm.enkg.members=8", "algorithm.enkg.steps=4")}
	if err := runSolve(context.Background(), o, &strings.Builder{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"metrics.json", "mean.npy", "truth.npy", "observation.npy", "mean.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []struct {
		sets []string
		want string
	}{
		{[]string{"image.index=10000"}, "images [10000, 10001)"},
		{[]string{"image.task.height=32"}, "shape"},
		{[]string{"image.task.factor=3", "image.task.name=super-resolution"}, "image.task"},
		{[]string{"prior.kind=empirical"}, "kind \"empirical\" for image"},
		{[]string{"image.pad=-1"}, "pad"},
		{[]string{"problem.noise=-1"}, "noise"},
		{[]string{"image.data=" + t.TempDir()}, "not in"},
	} {
		_, _, err := solveImageRun(t, cfg, append(append([]string(nil), base...), append(c.sets, "image.prior_file=")...))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err = %v, want %q", c.sets, err, c.want)
		}
	}
}

// imageStudyMethods are the methods of the paper's Table 1 and their guidance-scale keys.
var imageStudyMethods = []struct{ name, scaleKey string }{
	{"enkg", "algorithm.enkg.scale"},
	{"dps", "algorithm.dps.scale"},
	{"forward-gsg", "algorithm.dps.scale"},
	{"central-gsg", "algorithm.dps.scale"},
	{"dpg", "algorithm.dpg.scale"},
	{"scg", ""},
}

var imageStudyTasks = []string{"inpaint-box", "inpaint-random", "super-resolution", "gaussian-blur", "phase-retrieval"}

// imageStudyScales are the guidance scales chosen by the tuning run (ENKG_IMAGE_TUNE=1, on
// training images 0 and 1: the best mean PSNR of the ensemble mean; imaging/testdata/
// image_tasks.md), per task and method; a tuning run replaces them.
var imageStudyScales = map[string]map[string]float64{
	"inpaint-box":      {"enkg": 1, "dps": 5, "forward-gsg": 1.25, "central-gsg": 1.25, "dpg": 160},
	"inpaint-random":   {"enkg": 1, "dps": 20, "forward-gsg": 1.25, "central-gsg": 1.25, "dpg": 160},
	"super-resolution": {"enkg": 1, "dps": 1.25, "forward-gsg": 1.25, "central-gsg": 1.25, "dpg": 40},
	"gaussian-blur":    {"enkg": 1, "dps": 5, "forward-gsg": 1.25, "central-gsg": 1.25, "dpg": 160},
	"phase-retrieval":  {"enkg": 1, "dps": 1.25, "forward-gsg": 1.25, "central-gsg": 1.25, "dpg": 160},
}

type imageJob struct {
	task, method string
	index        int
	scale        float64
	sets         []string
}

type imageOutcome struct {
	job          imageJob
	psnr, ssim   float64 // ensemble mean
	psnrS, ssimS float64 // mean over members (samples)
	counts       guidance.Counts
	wall         time.Duration
	err          error
	members      int
}

// TestImageStudy runs the paper's image tasks on Fashion-MNIST with every method. It runs
// only when ENKG_IMAGE_STUDY names the markdown file to write. ENKG_IMAGE_PRIOR: the prior
// cache (fitted to all 60 000 training images when absent); ENKG_IMAGE_N: test images per
// task (default 10); ENKG_IMAGE_TUNE=1: tune the guidance scales on training images 0–1
// instead; ENKG_IMAGE_MACHINE: a description of the machine for the table.
func TestImageStudy(t *testing.T) {
	outFile := os.Getenv("ENKG_IMAGE_STUDY")
	if outFile == "" {
		t.Skip("set ENKG_IMAGE_STUDY=results.md to run the image-task study")
	}
	data := solveImageData(t)
	prior := os.Getenv("ENKG_IMAGE_PRIOR")
	if prior == "" {
		prior = filepath.Join(t.TempDir(), "prior.npz")
	}
	nImg := 10
	if v, err := strconv.Atoi(os.Getenv("ENKG_IMAGE_N")); err == nil {
		nImg = v
	}
	tune := os.Getenv("ENKG_IMAGE_TUNE") == "1"
	cfgDir := filepath.Join("..", "..", "configs")
	base := []string{"image.data=" + data, "image.prior_file=" + prior, "workers=1"}
	// Fit (or load) the prior once.
	if _, _, err := solveImageRun(t, filepath.Join(cfgDir, "image-inpaint-box.yaml"),
		append(base, "algorithm.enkg.members=2", "algorithm.enkg.steps=2")); err != nil {
		t.Fatal(err)
	}
	// Multiples of the config's scale tried by the tuning (the GSG estimates are noisy in 784
	// dimensions with 256 queries: smaller steps).
	grid := map[bool][]float64{false: {0.25, 1, 4}, true: {1.0 / 16, 0.25, 1}}
	// makeJobs lists the runs: with tuning, every scale of the grid on training images 0–1;
	// otherwise the chosen scale on nImg test images.
	makeJobs := func(tuning bool) []imageJob {
		var jobs []imageJob
		for _, task := range imageStudyTasks {
			if f := os.Getenv("ENKG_IMAGE_TASKS"); f != "" && !strings.Contains(","+f+",", ","+task+",") {
				continue
			}
			cfg, err := problem.Load(filepath.Join(cfgDir, "image-"+task+".yaml"), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range imageStudyMethods {
				if f := os.Getenv("ENKG_IMAGE_METHODS"); f != "" && !strings.Contains(","+f+",", ","+m.name+",") {
					continue
				}
				sc := map[string]float64{"enkg": cfg.Algorithm.EnKG.Scale, "dps": cfg.Algorithm.DPS.Scale,
					"forward-gsg": cfg.Algorithm.DPS.Scale, "central-gsg": cfg.Algorithm.DPS.Scale, "dpg": cfg.Algorithm.DPG.Scale}[m.name]
				if v, ok := imageStudyScales[task][m.name]; ok && !tuning {
					sc = v
				}
				if tuning {
					for idx := 0; idx < 2; idx++ {
						for _, g := range grid[strings.HasSuffix(m.name, "gsg")] {
							if m.scaleKey == "" && g != 1 {
								continue
							}
							j := imageJob{task: task, method: m.name, index: idx, scale: sc * g, sets: []string{"image.split=train"}}
							if m.scaleKey != "" {
								j.sets = append(j.sets, fmt.Sprintf("%s=%g", m.scaleKey, sc*g))
							}
							jobs = append(jobs, j)
						}
					}
					continue
				}
				for idx := 0; idx < nImg; idx++ {
					j := imageJob{task: task, method: m.name, index: idx, scale: sc}
					if m.scaleKey != "" {
						j.sets = []string{fmt.Sprintf("%s=%g", m.scaleKey, sc)}
					}
					jobs = append(jobs, j)
				}
			}
		}
		return jobs
	}
	var md strings.Builder
	if tune {
		outs, total := imageStudyRun(t, cfgDir, base, makeJobs(true))
		md.WriteString("### Tuning (training images)\n\n" + imageStudyTable(outs, true, 2, total) + "\n")
		// The best scale per task and method: highest mean PSNR of the ensemble mean.
		type key struct{ task, method string }
		sum := map[key]map[float64]float64{}
		for _, o := range outs {
			if o.err != nil {
				continue
			}
			k := key{o.job.task, o.job.method}
			if sum[k] == nil {
				sum[k] = map[float64]float64{}
			}
			sum[k][o.job.scale] += o.psnr
		}
		for k, m := range sum {
			bs, bv := 0.0, math.Inf(-1)
			for sc, v := range m {
				if v > bv || (v == bv && sc < bs) {
					bs, bv = sc, v
				}
			}
			if imageStudyScales[k.task] == nil {
				imageStudyScales[k.task] = map[string]float64{}
			}
			imageStudyScales[k.task][k.method] = bs
		}
		fmt.Fprintf(&md, "Chosen scales: %v\n\n", imageStudyScales)
		_ = os.WriteFile(outFile, []byte(md.String()), 0o644) // partial results
	}
	outs, total := imageStudyRun(t, cfgDir, base, makeJobs(false))
	md.WriteString("### Held-out test images\n\n" + imageStudyTable(outs, false, nImg, total))
	if m := os.Getenv("ENKG_IMAGE_MACHINE"); m != "" {
		md.WriteString("\nMachine: " + m + "\n")
	}
	t.Log("\n" + md.String())
	if err := os.WriteFile(outFile, []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// imageStudyRun runs the jobs concurrently, one worker each (results do not depend on the
// number of workers).
func imageStudyRun(t *testing.T, cfgDir string, base []string, jobs []imageJob) ([]imageOutcome, time.Duration) {
	outs := make([]imageOutcome, len(jobs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	start := time.Now()
	for i, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sets := append(append(append([]string(nil), base...), "algorithm.name="+j.method, fmt.Sprintf("image.index=%d", j.index)), j.sets...)
			t0 := time.Now()
			res, st, err := solveImageRun(t, filepath.Join(cfgDir, "image-"+j.task+".yaml"), sets)
			o := imageOutcome{job: j, err: err, wall: time.Since(t0)}
			if err == nil {
				o.psnr, o.ssim, o.counts = res.Metrics["psnr"], res.Metrics["ssim"], res.Counts
				o.members, _ = res.Ensemble.Dims()
				ps, ss, err := solveImageMetrics(res.Ensemble, st.Truth, imaging.Shape{C: 1, H: st.Shape[0], W: st.Shape[1]})
				o.psnrS, o.ssimS, o.err = ps[0], ss[0], err
			}
			outs[i] = o
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if o.err != nil {
			t.Errorf("%s %s image %d scale %g: %v", o.job.task, o.job.method, o.job.index, o.job.scale, o.err)
		}
	}
	return outs, time.Since(start)
}

// imageStudyTable groups outcomes by task, method and scale: mean ± std over images.
func imageStudyTable(outs []imageOutcome, tune bool, nImg int, total time.Duration) string {
	type key struct {
		task, method string
		scale        float64
	}
	groups := map[key][]imageOutcome{}
	var keys []key
	for _, o := range outs {
		if o.err != nil {
			continue
		}
		k := key{o.job.task, o.job.method, o.job.scale}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], o)
	}
	order := func(s []string, v string) int {
		for i, x := range s {
			if x == v {
				return i
			}
		}
		return len(s)
	}
	var names []string
	for _, m := range imageStudyMethods {
		names = append(names, m.name)
	}
	sort.SliceStable(keys, func(a, b int) bool {
		ka, kb := keys[a], keys[b]
		if ka.task != kb.task {
			return order(imageStudyTasks, ka.task) < order(imageStudyTasks, kb.task)
		}
		if ka.method != kb.method {
			return order(names, ka.method) < order(names, kb.method)
		}
		return ka.scale < kb.scale
	})
	var b strings.Builder
	what := fmt.Sprintf("%d held-out test images (t10k 0–%d)", nImg, nImg-1)
	if tune {
		what = "training images 0 and 1 (tuning)"
	}
	fmt.Fprintf(&b, "%s; %s, GOMAXPROCS %d; total wall %.0f s.\n\n", what, runtime.GOOS+"/"+runtime.GOARCH, runtime.GOMAXPROCS(0), total.Seconds())
	fmt.Fprintln(&b, "| task | method | scale | J | PSNR (mean est.) | SSIM (mean est.) | PSNR (samples) | SSIM (samples) | forward evals | denoiser evals | VJPs (D / G) | s per run |")
	fmt.Fprintln(&b, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, k := range keys {
		g := groups[k]
		var p, s, ps, ss []float64
		var wall float64
		for _, o := range g {
			p, s, ps, ss = append(p, o.psnr), append(s, o.ssim), append(ps, o.psnrS), append(ss, o.ssimS)
			wall += o.wall.Seconds()
		}
		c := g[0].counts
		ms := func(v []float64, f string) string {
			m := meanStd(v)
			return fmt.Sprintf(f+" ± "+f, m[0], m[1])
		}
		sc := fmt.Sprintf("%g", k.scale)
		if k.method == "scg" {
			sc = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s | %s | %s | %s | %d | %d | %d / %d | %.1f |\n", k.task, k.method, sc, g[0].members,
			ms(p, "%.2f"), ms(s, "%.3f"), ms(ps, "%.2f"), ms(ss, "%.3f"), c.Forward, c.Denoiser, c.DenoiserVJP, c.Adjoint, wall/float64(len(g)))
	}
	return b.String()
}
