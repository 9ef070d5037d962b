package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/cmplx"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/interferometry"
	"github.com/enkg-go/enkg/internal/atomicfile"
	"github.com/enkg-go/enkg/rng"
)

// ehtObserveOptions are the flags of `enkg eht observe`.
type ehtObserveOptions struct {
	image string
	fov   float64
	array string
	s     interferometry.Settings
	noise bool
	seed  uint64
	out   string
}

func init() {
	ehtCmd := &cobra.Command{
		Use:   "eht",
		Short: "Event Horizon Telescope observations: visibilities, closure quantities, χ²",
	}
	var o ehtObserveOptions
	def := interferometry.DefaultSettings()
	observe := &cobra.Command{
		Use:   "observe --image IMG.npy --fov-uas F --out OBS.npz [--array eht2017 --ra H --dec DEG --mjd MJD --freq HZ --tint S --tadv S --tstart H --tstop H --bw HZ --dut1 S] [--noise --seed N]",
		Short: "Observe an image (or a stack of images) with an interferometer array",
		Long: `Synthesise the uv coverage of an array by earth rotation (GMST from UTC, IAU 2006, with
UT1−UTC = --dut1), keep the baselines whose two stations see the source between --elev-min and
--elev-max degrees (strict), and compute the visibilities of IMG with ehtim's conventions
(DTFT with the triangle pixel pulse, V = Σ I·P(u,v)·exp(+2πi(ux+vy)); image rows North to
South, columns East to West, FOV across the columns; Jy per pixel). With --noise, thermal noise
σ = sqrt(SEFD1·SEFD2/(bw·tint))/1.76 is added to Re and Im (image j of a stack draws from the
stream (seed, j)). Closure phases (degrees) and debiased log closure amplitudes with their σ
are computed from the (noisy) visibilities on ehtim's minimal and maximal sets.

IMG is (Ny, Nx) or a stack (N, Ny, Nx). OBS.npz keys: time (UTC h), gmst (h), t1, t2 (indices
into stations, SEFD order, t1 < t2), stations, u, v (wavelengths), vis (complex128, Jy), sigma;
cphase_min, sigmacp_min, cphase_min_t1..t3, cphase_min_time, logcamp_min, sigmaca_min,
logcamp_min_t1..t4, logcamp_min_time and the same with _max (rows by time, then station
names for _max; ehtim's order for _min). For a stack, vis, cphase_*, sigmacp_*, logcamp_*
and sigmaca_* gain a leading member axis.`,
		Example: `  enkg eht observe --image m87.npy --fov-uas 160 --out obs.npz
  enkg eht observe --image m87.npy --fov-uas 160 --dut1 0.4546 --noise --seed 0 --out obs_noisy.npz`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEHTObserve(o, cmd.OutOrStdout())
		},
	}
	f := observe.Flags()
	f.StringVar(&o.image, "image", "", "image (Ny, Nx) or stack (N, Ny, Nx), Jy/pixel, .npy (required)")
	f.Float64Var(&o.fov, "fov-uas", 0, "field of view across the Nx columns, micro-arcseconds (required)")
	f.StringVar(&o.array, "array", "eht2017", "array: eht2017 or a station table file (name x y z sefdr sefdl per line)")
	f.Float64Var(&o.s.RA, "ra", def.RA, "source right ascension, hours (the default is M87)")
	f.Float64Var(&o.s.Dec, "dec", def.Dec, "source declination, degrees (the default is M87)")
	f.IntVar(&o.s.MJD, "mjd", def.MJD, "Modified Julian Date of the observing day (UTC)")
	f.Float64Var(&o.s.Freq, "freq", def.Freq, "observing frequency, Hz")
	f.Float64Var(&o.s.TInt, "tint", def.TInt, "integration time, s")
	f.Float64Var(&o.s.TAdv, "tadv", def.TAdv, "interval between scheduled times, s")
	f.Float64Var(&o.s.TStart, "tstart", def.TStart, "start of the schedule, UTC hours")
	f.Float64Var(&o.s.TStop, "tstop", def.TStop, "end of the schedule (exclusive), UTC hours")
	f.Float64Var(&o.s.Bandwidth, "bw", def.Bandwidth, "bandwidth, Hz")
	f.Float64Var(&o.s.DUT1, "dut1", 0, "UT1 − UTC, s (0.4546 on 2017-04-11)")
	f.Float64Var(&o.s.ElevMin, "elev-min", 10, "lower elevation limit, degrees (strict)")
	f.Float64Var(&o.s.ElevMax, "elev-max", 85, "upper elevation limit, degrees (strict)")
	f.BoolVar(&o.noise, "noise", false, "add thermal noise")
	f.Uint64Var(&o.seed, "seed", 0, "seed of the thermal noise")
	f.StringVar(&o.out, "out", "", "output .npz (required)")
	_ = observe.MarkFlagRequired("image")
	_ = observe.MarkFlagRequired("fov-uas")
	_ = observe.MarkFlagRequired("out")

	var c struct {
		image, obs string
		fov        float64
	}
	chisq := &cobra.Command{
		Use:   "chisq --image IMG.npy --obs OBS.npz --fov-uas F",
		Short: "χ² of an image against an observation written by 'enkg eht observe'",
		Long: `Print, as JSON, the χ² of IMG against the data of OBS with the definitions of ehtim's imager:
vis = Σ|V_m − V|²/σ²/(2N), amp = Σ(|V|_debiased − |V_m|)²/σ²/N,
cphase = (2/N)·Σ(1 − cos(ψ − ψ_m))/σ_ψ², logcamp = Σ(c − c_m)²/σ_c²/N, on the minimal closure
sets. A stack of images (or an observation of a stack) prints one object per member.`,
		Example: `  enkg eht chisq --image recon.npy --obs obs.npz --fov-uas 160`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEHTChisq(c.image, c.obs, c.fov, cmd.OutOrStdout())
		},
	}
	g := chisq.Flags()
	g.StringVar(&c.image, "image", "", "image (Ny, Nx) or stack (N, Ny, Nx), Jy/pixel (required)")
	g.StringVar(&c.obs, "obs", "", "observation .npz from 'enkg eht observe' (required)")
	g.Float64Var(&c.fov, "fov-uas", 0, "field of view across the Nx columns, micro-arcseconds (required)")
	_ = chisq.MarkFlagRequired("image")
	_ = chisq.MarkFlagRequired("obs")
	_ = chisq.MarkFlagRequired("fov-uas")

	ehtCmd.AddCommand(observe, chisq)
	rootCmd.AddCommand(ehtCmd)
}

// ehtLoadImages reads (Ny, Nx) or (N, Ny, Nx) and returns the grid, the images and whether
// the input was a stack.
func ehtLoadImages(path string, fov float64) (interferometry.Grid, [][]float64, bool, error) {
	a, err := datasets.LoadNPY(path)
	if err != nil {
		return interferometry.Grid{}, nil, false, err
	}
	if a.Complex != nil {
		return interferometry.Grid{}, nil, false, fmt.Errorf("%s: complex image; want real Jy/pixel", path)
	}
	var n, ny, nx int
	stack := false
	switch len(a.Shape) {
	case 2:
		n, ny, nx = 1, a.Shape[0], a.Shape[1]
	case 3:
		n, ny, nx, stack = a.Shape[0], a.Shape[1], a.Shape[2], true
	default:
		return interferometry.Grid{}, nil, false, fmt.Errorf("%s: image shape %v; want (Ny, Nx) or (N, Ny, Nx)", path, a.Shape)
	}
	g := interferometry.Grid{Nx: nx, Ny: ny, FOV: fov}
	if err := g.Validate(); err != nil {
		return g, nil, false, err
	}
	if n == 0 {
		return g, nil, false, fmt.Errorf("%s: empty stack", path)
	}
	imgs := make([][]float64, n)
	for i := range imgs {
		imgs[i] = a.Data[i*g.Len() : (i+1)*g.Len()]
		if err := g.CheckImage(imgs[i]); err != nil {
			return g, nil, false, fmt.Errorf("%s: image %d: %w", path, i, err)
		}
	}
	return g, imgs, stack, nil
}

func runEHTObserve(o ehtObserveOptions, stdout io.Writer) error {
	arrayFile := o.array // a station table, unless a built-in array's name
	switch strings.ToLower(o.array) {
	case "eht2017", "eht-2017", "eht":
		arrayFile = ""
	}
	if err := atomicfile.CheckOutput(o.out, o.image, arrayFile); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	g, imgs, stack, err := ehtLoadImages(o.image, o.fov)
	if err != nil {
		return err
	}
	arr, err := interferometry.LoadArray(o.array)
	if err != nil {
		return err
	}
	obs, err := interferometry.Observe(arr, o.s)
	if err != nil {
		return err
	}
	d, err := interferometry.NewDFT(g, obs.U, obs.V, interferometry.Auto)
	if err != nil {
		return err
	}
	K, M := obs.Len(), len(imgs)
	vis := make([]complex128, M*K)
	w := d.NewWorkspace()
	for i, img := range imgs {
		v := vis[i*K : (i+1)*K]
		d.Forward(v, img, w)
		if o.noise {
			interferometry.AddNoise(v, v, obs.Sigma, rng.Stream(o.seed, i))
		}
	}
	lead := func(shape ...int) []int {
		if stack {
			return append([]int{M}, shape...)
		}
		return shape
	}
	ints := func(x []int) *datasets.Array {
		a := &datasets.Array{Shape: []int{len(x)}, Data: make([]float64, len(x)), Dtype: "<i8"}
		for i, v := range x {
			a.Data[i] = float64(v)
		}
		return a
	}
	flt := func(x []float64) *datasets.Array { return &datasets.Array{Shape: []int{len(x)}, Data: x} }
	entries := []ehtEntry{
		{name: "time", a: flt(obs.Time)}, {name: "gmst", a: flt(obs.GMST)},
		{name: "t1", a: ints(obs.T1)}, {name: "t2", a: ints(obs.T2)},
		{name: "stations", strs: obs.Stations},
		{name: "u", a: flt(obs.U)}, {name: "v", a: flt(obs.V)},
		{name: "vis", a: &datasets.Array{Shape: lead(K), Complex: vis}},
		{name: "sigma", a: flt(obs.Sigma)},
	}
	for _, c := range []interferometry.Count{interferometry.Min, interferometry.Max} {
		sfx := "_" + c.String()
		tr := obs.Triangles(c)
		q := obs.Quadrangles(c)
		nt, nq := tr.Len(), q.Len()
		cp, scp := make([]float64, M*nt), make([]float64, M*nt)
		ca, sca := make([]float64, M*nq), make([]float64, M*nq)
		for i := 0; i < M; i++ {
			v := vis[i*K : (i+1)*K]
			tr.ClosurePhases(cp[i*nt:(i+1)*nt], scp[i*nt:(i+1)*nt], v, obs.Sigma)
			q.LogClosureAmplitudes(ca[i*nq:(i+1)*nq], sca[i*nq:(i+1)*nq], v, obs.Sigma, true)
		}
		entries = append(entries,
			ehtEntry{name: "cphase" + sfx, a: &datasets.Array{Shape: lead(nt), Data: cp}},
			ehtEntry{name: "sigmacp" + sfx, a: &datasets.Array{Shape: lead(nt), Data: scp}})
		for m := 0; m < 3; m++ {
			idx := make([]int, nt)
			for n := range idx {
				idx[n] = tr.T[n][m]
			}
			entries = append(entries, ehtEntry{name: fmt.Sprintf("cphase%s_t%d", sfx, m+1), a: ints(idx)})
		}
		entries = append(entries, ehtEntry{name: "cphase" + sfx + "_time", a: flt(tr.Time)},
			ehtEntry{name: "logcamp" + sfx, a: &datasets.Array{Shape: lead(nq), Data: ca}},
			ehtEntry{name: "sigmaca" + sfx, a: &datasets.Array{Shape: lead(nq), Data: sca}})
		for m := 0; m < 4; m++ {
			idx := make([]int, nq)
			for n := range idx {
				idx[n] = q.T[n][m]
			}
			entries = append(entries, ehtEntry{name: fmt.Sprintf("logcamp%s_t%d", sfx, m+1), a: ints(idx)})
		}
		entries = append(entries, ehtEntry{name: "logcamp" + sfx + "_time", a: flt(q.Time)})
	}
	if err := ehtCheckFinite(&datasets.Array{Complex: vis}); err != nil {
		return fmt.Errorf("visibilities: %w; nothing written", err)
	}
	if err := ehtWriteNPZ(o.out, entries); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d image(s) %d×%d, %d visibilities at %d stations, %d/%d closure phases, %d/%d log closure amplitudes (min/max)\n",
		o.out, M, g.Ny, g.Nx, K, len(obs.Stations), obs.Triangles(interferometry.Min).Len(), obs.Triangles(interferometry.Max).Len(),
		obs.Quadrangles(interferometry.Min).Len(), obs.Quadrangles(interferometry.Max).Len())
	return nil
}

// ehtEntry is one array of an .npz archive: numeric (a) or strings (strs, numpy '<U').
type ehtEntry struct {
	name string
	a    *datasets.Array
	strs []string
}

// ehtCheckFinite returns an error naming the first non-finite value of a (nil: none).
func ehtCheckFinite(a *datasets.Array) error {
	if a == nil {
		return nil
	}
	for k, v := range a.Data {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("non-finite value %v at flat index %d", v, k)
		}
	}
	for k, v := range a.Complex {
		if cmplx.IsNaN(v) || cmplx.IsInf(v) {
			return fmt.Errorf("non-finite value %v at flat index %d", v, k)
		}
	}
	return nil
}

// ehtWriteNPZ writes entries as an uncompressed .npz (numpy.savez layout), atomically (a
// temporary file renamed into place). String arrays are written with numpy's fixed-width
// UTF-32 dtype '<U<width>' so that np.load reads them without allow_pickle.
func ehtWriteNPZ(path string, entries []ehtEntry) error {
	return atomicfile.WriteFile(path, func(w io.Writer) error { return ehtWriteEntries(path, w, entries) })
}

func ehtWriteEntries(path string, bw io.Writer, entries []ehtEntry) error {
	zw := zip.NewWriter(bw)
	for _, e := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: e.name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if e.a != nil {
			err = datasets.WriteArray(w, e.a)
		} else {
			err = ehtWriteStrings(w, e.strs)
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, e.name, err)
		}
	}
	return zw.Close()
}

// ehtNPYHeader returns a version 1.0 .npy header for dtype and shape, padded to 64 bytes.
func ehtNPYHeader(dtype string, shape []int) []byte {
	var sh string
	switch len(shape) {
	case 1:
		sh = fmt.Sprintf("(%d,)", shape[0])
	default:
		parts := make([]string, len(shape))
		for i, s := range shape {
			parts[i] = fmt.Sprint(s)
		}
		sh = "(" + strings.Join(parts, ", ") + ")"
	}
	d := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", dtype, sh)
	total := 10 + len(d) + 1
	pad := (64 - total%64) % 64
	d += strings.Repeat(" ", pad) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(d)))
	b.WriteString(d)
	return b.Bytes()
}

// ehtWriteStrings writes a 1-D numpy '<U' array (UTF-32LE, zero-padded to the longest name).
func ehtWriteStrings(w io.Writer, s []string) error {
	width := 1
	for _, x := range s {
		width = max(width, utf8.RuneCountInString(x))
	}
	if _, err := w.Write(ehtNPYHeader(fmt.Sprintf("<U%d", width), []int{len(s)})); err != nil {
		return err
	}
	buf := make([]byte, 4*width)
	for _, x := range s {
		clear(buf)
		i := 0
		for _, r := range x {
			binary.LittleEndian.PutUint32(buf[4*i:], uint32(r))
			i++
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

// ehtReadNPZ reads an .npz with numeric arrays and 1-D '<U' string arrays.
func ehtReadNPZ(path string) (map[string]*datasets.Array, map[string][]string, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	nums, strs := map[string]*datasets.Array{}, map[string][]string{}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".npy")
		rc, err := f.Open()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, 1<<31))
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		if s, ok, err := ehtParseStrings(b); ok {
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
			}
			strs[name] = s
			continue
		}
		a, err := datasets.ReadNPY(bytes.NewReader(b))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
		}
		nums[name] = a
	}
	return nums, strs, nil
}

// ehtParseStrings decodes a 1-D little-endian '<U' .npy; ok is false for other dtypes.
func ehtParseStrings(b []byte) ([]string, bool, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, false, nil
	}
	var hl, off int
	if b[6] == 1 {
		hl, off = int(binary.LittleEndian.Uint16(b[8:10])), 10
	} else {
		if len(b) < 12 {
			return nil, false, nil
		}
		hl, off = int(binary.LittleEndian.Uint32(b[8:12])), 12
	}
	if off+hl > len(b) {
		return nil, false, nil
	}
	h := string(b[off : off+hl])
	i := strings.Index(h, "'descr': '<U")
	if i < 0 {
		return nil, false, nil
	}
	var width, n int
	if _, err := fmt.Sscanf(h[i+len("'descr': '<U"):], "%d'", &width); err != nil || width <= 0 {
		return nil, true, fmt.Errorf("bad string dtype in header %q", h)
	}
	j := strings.Index(h, "'shape': (")
	if j < 0 {
		return nil, true, fmt.Errorf("no shape in header %q", h)
	}
	if _, err := fmt.Sscanf(h[j+len("'shape': ("):], "%d", &n); err != nil {
		return nil, true, fmt.Errorf("bad shape in header %q", h)
	}
	data := b[off+hl:]
	if len(data) != 4*width*n {
		return nil, true, fmt.Errorf("string array: %d bytes for %d × <U%d", len(data), n, width)
	}
	out := make([]string, n)
	for k := range out {
		var sb strings.Builder
		for c := 0; c < width; c++ {
			r := rune(binary.LittleEndian.Uint32(data[4*(k*width+c):]))
			if r == 0 {
				break
			}
			sb.WriteRune(r)
		}
		out[k] = sb.String()
	}
	return out, true, nil
}

func runEHTChisq(imagePath, obsPath string, fov float64, stdout io.Writer) error {
	g, imgs, stack, err := ehtLoadImages(imagePath, fov)
	if err != nil {
		return err
	}
	nums, strs, err := ehtReadNPZ(obsPath)
	if err != nil {
		return err
	}
	need := func(names ...string) error {
		for _, n := range names {
			if nums[n] == nil {
				return fmt.Errorf("%s: missing array %q (not written by 'enkg eht observe'?)", obsPath, n)
			}
		}
		return nil
	}
	if err := need("time", "t1", "t2", "u", "v", "vis", "sigma", "cphase_min", "sigmacp_min", "cphase_min_time",
		"cphase_min_t1", "cphase_min_t2", "cphase_min_t3", "logcamp_min", "sigmaca_min", "logcamp_min_time",
		"logcamp_min_t1", "logcamp_min_t2", "logcamp_min_t3", "logcamp_min_t4"); err != nil {
		return err
	}
	// Non-finite data would only show up as a non-finite χ²; name the array instead.
	for _, n := range []string{"time", "u", "v", "vis", "sigma", "cphase_min", "sigmacp_min", "cphase_min_time", "logcamp_min", "sigmaca_min", "logcamp_min_time"} {
		if err := ehtCheckFinite(nums[n]); err != nil {
			return fmt.Errorf("%s: array %q: %w: the observation is damaged or was not written by 'enkg eht observe'", obsPath, n, err)
		}
	}
	stations := strs["stations"]
	if stations == nil {
		return fmt.Errorf("%s: missing the stations array", obsPath)
	}
	toInts := func(a *datasets.Array) []int {
		out := make([]int, len(a.Data))
		for i, v := range a.Data {
			out[i] = int(v)
		}
		return out
	}
	obs, err := interferometry.NewObservationTable(stations, nums["time"].Data, nil, toInts(nums["t1"]), toInts(nums["t2"]),
		nums["u"].Data, nums["v"].Data, nums["sigma"].Data)
	if err != nil {
		return fmt.Errorf("%s: %w", obsPath, err)
	}
	K := obs.Len()
	t1, t2, t3 := toInts(nums["cphase_min_t1"]), toInts(nums["cphase_min_t2"]), toInts(nums["cphase_min_t3"])
	tris := make([][3]int, len(t1))
	for n := range tris {
		tris[n] = [3]int{t1[n], t2[n], t3[n]}
	}
	tr, err := obs.NewTriangles(nums["cphase_min_time"].Data, tris)
	if err != nil {
		return fmt.Errorf("%s: %w", obsPath, err)
	}
	q1, q2, q3, q4 := toInts(nums["logcamp_min_t1"]), toInts(nums["logcamp_min_t2"]), toInts(nums["logcamp_min_t3"]), toInts(nums["logcamp_min_t4"])
	quads := make([][4]int, len(q1))
	for n := range quads {
		quads[n] = [4]int{q1[n], q2[n], q3[n], q4[n]}
	}
	qd, err := obs.NewQuadrangles(nums["logcamp_min_time"].Data, quads)
	if err != nil {
		return fmt.Errorf("%s: %w", obsPath, err)
	}
	visA := nums["vis"]
	if visA.Complex == nil || len(visA.Complex)%K != 0 {
		return fmt.Errorf("%s: vis must be complex with %d visibilities per member", obsPath, K)
	}
	nObs := len(visA.Complex) / K
	nt, nq := tr.Len(), qd.Len()
	if len(nums["cphase_min"].Data) != nObs*nt || len(nums["sigmacp_min"].Data) != nObs*nt ||
		len(nums["logcamp_min"].Data) != nObs*nq || len(nums["sigmaca_min"].Data) != nObs*nq {
		return fmt.Errorf("%s: closure arrays do not match %d member(s) of %d triangles and %d quadrangles", obsPath, nObs, nt, nq)
	}
	M := max(len(imgs), nObs)
	if (len(imgs) != 1 && nObs != 1 && len(imgs) != nObs) || M == 0 {
		return fmt.Errorf("%d images against an observation of %d members", len(imgs), nObs)
	}
	d, err := interferometry.NewDFT(g, obs.U, obs.V, interferometry.Auto)
	if err != nil {
		return err
	}
	type result struct {
		Vis     float64 `json:"vis"`
		Amp     float64 `json:"amp"`
		CPhase  float64 `json:"cphase"`
		LogCAmp float64 `json:"logcamp"`
	}
	var out []result
	model := make([]complex128, K)
	amp := make([]float64, K)
	for i := 0; i < M; i++ {
		img := imgs[min(i, len(imgs)-1)]
		j := min(i, nObs-1)
		data := visA.Complex[j*K : (j+1)*K]
		d.Forward(model, img, nil)
		for k, v := range data {
			amp[k] = interferometry.DebiasedAmp(cmplx.Abs(v), obs.Sigma[k])
		}
		r := result{
			Vis:     interferometry.ChiSqVis(model, data, obs.Sigma),
			Amp:     interferometry.ChiSqAmp(model, amp, obs.Sigma),
			CPhase:  interferometry.ChiSqCPhase(model, tr, nums["cphase_min"].Data[j*nt:(j+1)*nt], nums["sigmacp_min"].Data[j*nt:(j+1)*nt]),
			LogCAmp: interferometry.ChiSqLogCAmp(model, qd, nums["logcamp_min"].Data[j*nq:(j+1)*nq], nums["sigmaca_min"].Data[j*nq:(j+1)*nq]),
		}
		for _, v := range []float64{r.Vis, r.Amp, r.CPhase, r.LogCAmp} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("image %d: non-finite χ² %+v: the model's visibilities vanish on a closure triangle or quadrangle (a blank image?)", i, r)
			}
		}
		out = append(out, r)
	}
	enc := json.NewEncoder(stdout)
	if !stack && nObs == 1 {
		return enc.Encode(out[0])
	}
	return enc.Encode(out)
}
