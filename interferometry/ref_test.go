package interferometry

import (
	"encoding/json"
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"testing"

	"github.com/enkg-go/enkg/datasets"
)

// Reference data: testdata/ holds the ehtim 1.3.2 observation described in testdata/README.md.

func loadRef(t testing.TB, name string) *datasets.Array {
	t.Helper()
	a, err := datasets.LoadNPY(filepath.Join("testdata", name+".npy"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func refFloats(t testing.TB, name string) []float64 { return loadRef(t, name).Data }

func refInts(t testing.TB, name string) []int {
	d := loadRef(t, name).Data
	out := make([]int, len(d))
	for i, v := range d {
		out[i] = int(v)
	}
	return out
}

func refComplex(t testing.TB, name string) []complex128 { return loadRef(t, name).Complex }

type refImageJSON struct {
	Npix   int       `json:"npix"`
	FOVUas float64   `json:"fov_uas"`
	Psize  float64   `json:"psize_rad"`
	XCol   []float64 `json:"x_of_column_rad"`
	YRow   []float64 `json:"y_of_row_rad"`
	Orient struct {
		Row, Col int
		U, V     float64
		Vis      []float64
	} `json:"orientation_check"`
}

func refImageMeta(t testing.TB) refImageJSON {
	b, err := os.ReadFile("testdata/image.json")
	if err != nil {
		t.Fatal(err)
	}
	var m refImageJSON
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Orient.Row, m.Orient.Col = 10, 40
	var raw map[string]any
	_ = json.Unmarshal(b, &raw)
	oc := raw["orientation_check"].(map[string]any)
	m.Orient.Row, m.Orient.Col = int(oc["pixel_row"].(float64)), int(oc["pixel_col"].(float64))
	return m
}

// refObservation returns the observation synthesised with the stored GMST values.
func refObservation(t testing.TB) *Observation {
	t.Helper()
	s := DefaultSettings()
	o, err := ObserveGMST(EHT2017(), s, refFloats(t, "sched_time_gmst_h"))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func refGrid(t testing.TB) Grid {
	g, err := NewGrid(64, 160)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func relErr(a, b float64) float64 {
	return math.Abs(a-b) / math.Max(math.Abs(b), 1e-300)
}

func TestStationOrder(t *testing.T) {
	o := refObservation(t)
	want := []string{"ALMA", "LMT", "PV", "APEX", "SMA", "SMT", "SPT", "JCMT"}
	for i, n := range want {
		if o.Stations[i] != n {
			t.Fatalf("SEFD order %v, want %v", o.Stations, want)
		}
	}
}

func TestGMSTFromUTC(t *testing.T) {
	utc := refFloats(t, "sched_time_utc_h")
	ref := refFloats(t, "sched_time_gmst_h")
	// astropy interpolates IERS-B UT1−UTC through the day (0.45382 s to 0.45541 s on
	// 2017-04-11), so a constant 0.4546 s reproduces ehtim's GMST to within ±0.8 ms of UT1.
	// Sharper: the UT1−UTC implied by each stored GMST must lie in that tabulated range.
	var worst float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, u := range utc {
		g, err := GMST(57854, u, 0.4546)
		if err != nil {
			t.Fatal(err)
		}
		d := ref[i] - g
		if d > 12 {
			d -= 24
		} else if d < -12 {
			d += 24
		}
		worst = math.Max(worst, math.Abs(d))
		implied := 0.4546 + d*3600/1.00273781191135448
		lo, hi = math.Min(lo, implied), math.Max(hi, implied)
	}
	if worst > 2.5e-7 {
		t.Errorf("max |GMST − ehtim| = %g h", worst)
	}
	if lo < 0.45382-2e-5 || hi > 0.45541+2e-5 {
		t.Errorf("implied UT1−UTC in [%.6f, %.6f] s, IERS-B gives [0.45382, 0.45541] s", lo, hi)
	}
	t.Logf("max |GMST − ehtim| = %.3g h; implied UT1−UTC %.6f–%.6f s", worst, lo, hi)
	// UT1 = UTC shifts GMST by 0.4546 s·1.0027: the test above must be able to fail.
	g0, _ := GMST(57854, utc[0], 0)
	if d := math.Abs(g0 - ref[0]); d < 1e-4 {
		t.Errorf("GMST with DUT1 = 0 is within %g h of the reference: DUT1 is not applied", d)
	}
}

func TestUVAgainstReference(t *testing.T) {
	o := refObservation(t)
	if o.Len() != 837 {
		t.Fatalf("%d visibilities, want 837", o.Len())
	}
	tm, t1, t2 := refFloats(t, "obs_time_utc_h"), refInts(t, "obs_t1"), refInts(t, "obs_t2")
	u, v := refFloats(t, "obs_u"), refFloats(t, "obs_v")
	gm := refFloats(t, "obs_time_gmst_h")
	el1, el2 := refFloats(t, "obs_el1_deg"), refFloats(t, "obs_el2_deg")
	times := map[float64]bool{}
	var wu float64
	for k := range u {
		if o.Time[k] != tm[k] || o.T1[k] != t1[k] || o.T2[k] != t2[k] {
			t.Fatalf("row %d: (%v, %s, %s), reference (%v, %s, %s)", k, o.Time[k], o.Stations[o.T1[k]], o.Stations[o.T2[k]],
				tm[k], o.Stations[t1[k]], o.Stations[t2[k]])
		}
		if o.GMST[k] != gm[k] {
			t.Fatalf("row %d: GMST %v, reference %v", k, o.GMST[k], gm[k])
		}
		times[tm[k]] = true
		scale := math.Hypot(u[k], v[k])
		wu = math.Max(wu, math.Max(math.Abs(o.U[k]-u[k]), math.Abs(o.V[k]-v[k]))/scale)
		if math.Abs(o.El1[k]-el1[k]) > 1e-9 || math.Abs(o.El2[k]-el2[k]) > 1e-9 {
			t.Errorf("row %d: elevations %v %v, reference %v %v", k, o.El1[k], o.El2[k], el1[k], el2[k])
		}
	}
	if wu > 1e-9 {
		t.Errorf("max relative uv error %g", wu)
	}
	t.Logf("max relative uv error %.3g", wu)
	if len(times) != 98 {
		t.Errorf("%d times with data, want 98", len(times))
	}
}

func TestScheduleElevations(t *testing.T) {
	s := DefaultSettings()
	if n := len(s.Times()); n != 144 {
		t.Fatalf("%d scheduled times, want 144", n)
	}
	ref := refFloats(t, "sched_elev_deg") // [144, 8] in SEFD order
	o := refObservation(t)
	_ = o
	gm := refFloats(t, "sched_time_gmst_h")
	for it := range gm {
		// Recompute through a one-station-pair observation is awkward; check via ObserveGMST rows.
		_ = it
	}
	if len(ref) != 144*8 {
		t.Fatalf("sched_elev_deg has %d values", len(ref))
	}
	// Every row's elevations equal the schedule's at that time.
	sched := refFloats(t, "sched_time_utc_h")
	idx := map[float64]int{}
	for i, v := range sched {
		idx[v] = i
	}
	for k := 0; k < o.Len(); k++ {
		i := idx[o.Time[k]]
		if math.Abs(ref[i*8+o.T1[k]]-o.El1[k]) > 1e-9 {
			t.Fatalf("row %d elevation %v, schedule %v", k, o.El1[k], ref[i*8+o.T1[k]])
		}
	}
	// SPT never sees M87.
	for k := 0; k < o.Len(); k++ {
		if o.Stations[o.T1[k]] == "SPT" || o.Stations[o.T2[k]] == "SPT" {
			t.Fatal("SPT has data")
		}
	}
}

func TestUVFromUTCWithDUT1(t *testing.T) {
	s := DefaultSettings()
	s.DUT1 = 0.4546
	o, err := Observe(EHT2017(), s)
	if err != nil {
		t.Fatal(err)
	}
	u, v := refFloats(t, "obs_u"), refFloats(t, "obs_v")
	if o.Len() != len(u) {
		t.Fatalf("%d rows, want %d", o.Len(), len(u))
	}
	var w float64
	for k := range u {
		w = math.Max(w, math.Hypot(o.U[k]-u[k], o.V[k]-v[k])/math.Hypot(u[k], v[k]))
	}
	if w > 1e-7 {
		t.Errorf("uv from UTC: max relative error %g", w)
	}
	t.Logf("uv from UTC with DUT1 = 0.4546 s: max relative error %.3g", w)
}

func TestSigmaAgainstReference(t *testing.T) {
	o := refObservation(t)
	ref := refFloats(t, "obs_sigma")
	for k := range ref {
		if relErr(o.Sigma[k], ref[k]) > 1e-14 {
			t.Fatalf("row %d: σ = %v, reference %v", k, o.Sigma[k], ref[k])
		}
	}
}

func TestGridAgainstReference(t *testing.T) {
	m := refImageMeta(t)
	g := refGrid(t)
	if relErr(g.PixelSize(), m.Psize) > 1e-15 {
		t.Errorf("psize %v, reference %v", g.PixelSize(), m.Psize)
	}
	for i := 0; i < 64; i++ {
		if math.Abs(g.X(i)-m.XCol[i]) > 1e-24 || math.Abs(g.Y(i)-m.YRow[i]) > 1e-24 {
			t.Fatalf("pixel %d centre (%v, %v), reference (%v, %v)", i, g.X(i), g.Y(i), m.XCol[i], m.YRow[i])
		}
	}
	// Orientation: a single pixel at (row 10, column 40).
	img := make([]float64, 64*64)
	img[m.Orient.Row*64+m.Orient.Col] = 1
	d, err := NewDFT(g, []float64{m.Orient.U}, []float64{m.Orient.V}, Separable)
	if err != nil {
		t.Fatal(err)
	}
	vis := make([]complex128, 1)
	d.Forward(vis, img, nil)
	want := complex(m.Orient.Vis[0], m.Orient.Vis[1])
	if cmplx.Abs(vis[0]-want) > 1e-12 {
		t.Errorf("single-pixel visibility %v, reference %v", vis[0], want)
	}
}

func TestVisibilitiesAgainstReference(t *testing.T) {
	img := refFloats(t, "image1")
	u, v := refFloats(t, "obs_u"), refFloats(t, "obs_v")
	ref := refComplex(t, "obs_vis_noiseless")
	g := refGrid(t)
	for _, m := range []Method{Separable, Dense} {
		d, err := NewDFT(g, u, v, m)
		if err != nil {
			t.Fatal(err)
		}
		vis := make([]complex128, len(u))
		d.Forward(vis, img, d.NewWorkspace())
		var w float64
		for k := range vis {
			w = math.Max(w, cmplx.Abs(vis[k]-ref[k]))
		}
		if w > 1e-12 {
			t.Errorf("%v: max |V − ehtim| = %g Jy", m, w)
		}
		t.Logf("%v: max |V − ehtim| = %.3g Jy", m, w)
		amp := refFloats(t, "obs_amp_noiseless")
		for k := range amp {
			if math.Abs(cmplx.Abs(vis[k])-amp[k]) > 1e-12 {
				t.Fatalf("amp %d", k)
			}
		}
	}
}

func TestDFTMatrixAgainstReference(t *testing.T) {
	rows := refInts(t, "dft_A_sample_rows")
	cols := refInts(t, "dft_A_subset_cols")
	A := refComplex(t, "dft_A_subset")
	u, v := refFloats(t, "obs_u"), refFloats(t, "obs_v")
	var su, sv []float64
	for _, r := range rows {
		su, sv = append(su, u[r]), append(sv, v[r])
	}
	d, err := NewDFT(refGrid(t), su, sv, Separable)
	if err != nil {
		t.Fatal(err)
	}
	// Columns of A through the separable kernel: transform unit images.
	img := make([]float64, 64*64)
	vis := make([]complex128, len(rows))
	var w float64
	for ci, c := range cols {
		img[c] = 1
		d.Forward(vis, img, nil)
		img[c] = 0
		for ri := range rows {
			w = math.Max(w, cmplx.Abs(vis[ri]-A[ri*len(cols)+ci]))
		}
	}
	if w > 1e-12 {
		t.Errorf("max |A − ehtim A| = %g", w)
	}
	M := d.Matrix()
	for ci, c := range cols {
		for ri := range rows {
			if cmplx.Abs(M[ri][c]-A[ri*len(cols)+ci]) > 1e-12 {
				t.Fatalf("Matrix()[%d][%d] = %v, reference %v", ri, c, M[ri][c], A[ri*len(cols)+ci])
			}
		}
	}
}
