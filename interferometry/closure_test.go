package interferometry

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func angleDiffDeg(a, b float64) float64 {
	d := math.Mod(a-b, 360)
	if d > 180 {
		d -= 360
	} else if d < -180 {
		d += 360
	}
	return math.Abs(d)
}

func TestClosurePhasesMinAgainstReference(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	tr := o.Triangles(Min)
	tm := refFloats(t, "cphase_min_time")
	t1, t2, t3 := refInts(t, "cphase_min_t1"), refInts(t, "cphase_min_t2"), refInts(t, "cphase_min_t3")
	uv := refFloats(t, "cphase_min_uv") // [508, 6]: u1 v1 u2 v2 u3 v3
	cp, scp := refFloats(t, "cphase_min_cphase_deg"), refFloats(t, "cphase_min_sigmacp_deg")
	if tr.Len() != 508 || len(tm) != 508 {
		t.Fatalf("%d triangles, reference %d (want 508)", tr.Len(), len(tm))
	}
	for n := range tm {
		if tr.Time[n] != tm[n] || tr.T[n] != [3]int{t1[n], t2[n], t3[n]} {
			t.Fatalf("triangle %d: %v at %v, reference %v at %v", n, tr.T[n], tr.Time[n], [3]int{t1[n], t2[n], t3[n]}, tm[n])
		}
		for s := 0; s < 3; s++ {
			u, v := tr.UV(o, n, s)
			if relErr(u, uv[6*n+2*s]) > 1e-9 || relErr(v, uv[6*n+2*s+1]) > 1e-9 {
				t.Fatalf("triangle %d side %d uv (%v, %v), reference (%v, %v)", n, s, u, v, uv[6*n+2*s], uv[6*n+2*s+1])
			}
		}
	}
	got, gs := make([]float64, tr.Len()), make([]float64, tr.Len())
	tr.ClosurePhases(got, gs, vis, o.Sigma)
	var w, ws float64
	for n := range got {
		w = math.Max(w, angleDiffDeg(got[n], cp[n]))
		ws = math.Max(ws, relErr(gs[n], scp[n]))
	}
	if w > 1e-9 || ws > 1e-9 {
		t.Errorf("closure phases: max error %g deg, σ relative error %g", w, ws)
	}
	t.Logf("closure phases: max error %.3g deg, σ relative error %.3g", w, ws)
}

func TestLogClosureAmplitudesMinAgainstReference(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	q := o.Quadrangles(Min)
	tm := refFloats(t, "logcamp_min_time")
	ti := [4][]int{refInts(t, "logcamp_min_t1"), refInts(t, "logcamp_min_t2"), refInts(t, "logcamp_min_t3"), refInts(t, "logcamp_min_t4")}
	uv := refFloats(t, "logcamp_min_uv") // [427, 8]
	if q.Len() != 427 || len(tm) != 427 {
		t.Fatalf("%d quadrangles, reference %d (want 427)", q.Len(), len(tm))
	}
	for n := range tm {
		want := [4]int{ti[0][n], ti[1][n], ti[2][n], ti[3][n]}
		if q.Time[n] != tm[n] || q.T[n] != want {
			t.Fatalf("quadrangle %d: %v at %v, reference %v at %v", n, q.T[n], q.Time[n], want, tm[n])
		}
		for s := 0; s < 4; s++ {
			u, v := q.UV(o, n, s)
			if relErr(u, uv[8*n+2*s]) > 1e-9 || relErr(v, uv[8*n+2*s+1]) > 1e-9 {
				t.Fatalf("quadrangle %d baseline %d uv (%v, %v), reference (%v, %v)", n, s, u, v, uv[8*n+2*s], uv[8*n+2*s+1])
			}
		}
	}
	for _, c := range []struct {
		debias     bool
		vals, sigs string
	}{{true, "logcamp_min_camp", "logcamp_min_sigmaca"}, {false, "logcamp_min_nodebias_camp", "logcamp_min_nodebias_sigmaca"}} {
		ref, rs := refFloats(t, c.vals), refFloats(t, c.sigs)
		got, gs := make([]float64, q.Len()), make([]float64, q.Len())
		q.LogClosureAmplitudes(got, gs, vis, o.Sigma, c.debias)
		var w, ws float64
		for n := range got {
			w = math.Max(w, math.Abs(got[n]-ref[n]))
			ws = math.Max(ws, relErr(gs[n], rs[n]))
		}
		if w > 1e-9 || ws > 1e-9 {
			t.Errorf("debias %v: max error %g, σ relative error %g", c.debias, w, ws)
		}
		t.Logf("log closure amplitudes (debias %v): max error %.3g, σ relative error %.3g", c.debias, w, ws)
	}
}

func TestClosureSetCounts(t *testing.T) {
	o := refObservation(t)
	binom := func(n, k int) int {
		r := 1
		for i := 0; i < k; i++ {
			r = r * (n - i) / (i + 1)
		}
		return r
	}
	var wantMinT, wantMinQ, wantMaxT, wantMaxQ int
	o.timeGroups(func(_ float64, st []int, _ func(a, b int) edge) {
		n := len(st)
		if n >= 3 {
			wantMinT += (n - 1) * (n - 2) / 2
			wantMaxT += binom(n, 3)
		}
		if n >= 4 {
			wantMinQ += n * (n - 3) / 2
			wantMaxQ += 3 * binom(n, 4)
		}
	})
	if got := o.Triangles(Min).Len(); got != wantMinT || got != 508 {
		t.Errorf("min triangles %d, want %d (508)", got, wantMinT)
	}
	if got := o.Quadrangles(Min).Len(); got != wantMinQ || got != 427 {
		t.Errorf("min quadrangles %d, want %d (427)", got, wantMinQ)
	}
	maxT, maxQ := o.Triangles(Max), o.Quadrangles(Max)
	if maxT.Len() != wantMaxT || maxQ.Len() != wantMaxQ {
		t.Errorf("max sets %d, %d, want %d, %d", maxT.Len(), maxQ.Len(), wantMaxT, wantMaxQ)
	}
	// Max rows: sorted labels, ordered by time then names.
	for n := 1; n < maxT.Len(); n++ {
		a, b := maxT.T[n-1], maxT.T[n]
		na := o.Stations[a[0]] + " " + o.Stations[a[1]] + " " + o.Stations[a[2]]
		nb := o.Stations[b[0]] + " " + o.Stations[b[1]] + " " + o.Stations[b[2]]
		if maxT.Time[n] == maxT.Time[n-1] && na >= nb {
			t.Fatalf("max triangles %d, %d out of order: %s, %s", n-1, n, na, nb)
		}
		if !(o.Stations[b[0]] < o.Stations[b[1]] && o.Stations[b[1]] < o.Stations[b[2]]) {
			t.Fatalf("max triangle %d labels not sorted: %v", n, b)
		}
	}
	// The example of the reference README: (ALMA, APEX, JCMT) uses V(ALMA,APEX)·V(APEX,JCMT)·V(JCMT,ALMA).
	for n := range maxT.T {
		if o.Stations[maxT.T[n][0]] == "ALMA" && o.Stations[maxT.T[n][1]] == "APEX" && o.Stations[maxT.T[n][2]] == "JCMT" {
			r, c := maxT.Row(n, 2)
			if !c || o.Stations[o.T1[r]] != "ALMA" || o.Stations[o.T2[r]] != "JCMT" {
				t.Errorf("side JCMT–ALMA uses row %d (%s, %s) conj %v", r, o.Stations[o.T1[r]], o.Stations[o.T2[r]], c)
			}
			break
		}
	}
}

// Station-based errors V_ab → g_a g_b e^{i(φ_a−φ_b)} V_ab leave closure phases and log
// closure amplitudes unchanged, for both sets.
func TestClosureInvariance(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	r := rand.New(rand.NewPCG(3, 4))
	bad := make([]complex128, len(vis))
	// One gain and phase per station and time.
	gains := map[[2]float64]complex128{}
	gain := func(tm float64, s int) complex128 {
		k := [2]float64{tm, float64(s)}
		if g, ok := gains[k]; ok {
			return g
		}
		g := cmplx.Rect(0.5+r.Float64(), 2*math.Pi*r.Float64())
		gains[k] = g
		return g
	}
	for k := range vis {
		bad[k] = gain(o.Time[k], o.T1[k]) * cmplx.Conj(gain(o.Time[k], o.T2[k])) * vis[k]
	}
	for _, c := range []Count{Min, Max} {
		tr := o.Triangles(c)
		a, b := make([]float64, tr.Len()), make([]float64, tr.Len())
		tr.ClosurePhases(a, nil, vis, o.Sigma)
		tr.ClosurePhases(b, nil, bad, o.Sigma)
		for n := range a {
			if angleDiffDeg(a[n], b[n]) > 1e-9 {
				t.Fatalf("%v closure phase %d changed by station phases: %v → %v", c, n, a[n], b[n])
			}
		}
		q := o.Quadrangles(c)
		a, b = make([]float64, q.Len()), make([]float64, q.Len())
		q.LogClosureAmplitudes(a, nil, vis, o.Sigma, false)
		q.LogClosureAmplitudes(b, nil, bad, o.Sigma, false)
		for n := range a {
			if math.Abs(a[n]-b[n]) > 1e-9 {
				t.Fatalf("%v log closure amplitude %d changed by station gains: %v → %v", c, n, a[n], b[n])
			}
		}
	}
	// ... and an error on a single baseline is not invariant (the test can fail).
	bad2 := append([]complex128(nil), vis...)
	bad2[100] *= cmplx.Rect(1.3, 0.4)
	tr := o.Triangles(Min)
	a, b := make([]float64, tr.Len()), make([]float64, tr.Len())
	tr.ClosurePhases(a, nil, vis, o.Sigma)
	tr.ClosurePhases(b, nil, bad2, o.Sigma)
	changed := false
	for n := range a {
		changed = changed || angleDiffDeg(a[n], b[n]) > 1
	}
	if !changed {
		t.Error("a baseline-based phase error left every closure phase unchanged")
	}
}

// Every closure phase is a combination of the minimal set's: with r the reference station,
// ψ(a,b,c) = ψ(r,a,b) + ψ(r,b,c) − ψ(r,a,c) (mod 360°). This checks the max set's baselines and
// conjugations independently of how they were found.
func TestMaxClosurePhasesFromMinimalSet(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	mn, mx := o.Triangles(Min), o.Triangles(Max)
	a, b := make([]float64, mn.Len()), make([]float64, mx.Len())
	mn.ClosurePhases(a, nil, vis, o.Sigma)
	mx.ClosurePhases(b, nil, vis, o.Sigma)
	type key struct {
		t       float64
		x, y, z int
	}
	minCP := map[key]float64{}
	ref := map[float64]int{}
	for n, tri := range mn.T {
		minCP[key{mn.Time[n], tri[0], tri[1], tri[2]}] = a[n]
		ref[mn.Time[n]] = tri[0]
	}
	// ψ(r,p,q) for any p ≠ q from the minimal set (which stores p < q in SEFD order).
	psi := func(t float64, p, q int) float64 {
		r := ref[t]
		if p == r || q == r || p == q {
			return 0
		}
		if p < q {
			return minCP[key{t, r, p, q}]
		}
		return -minCP[key{t, r, q, p}]
	}
	for n, tri := range mx.T {
		tm := mx.Time[n]
		want := psi(tm, tri[0], tri[1]) + psi(tm, tri[1], tri[2]) + psi(tm, tri[2], tri[0])
		if angleDiffDeg(b[n], want) > 1e-8 {
			t.Fatalf("max triangle %d %v at %v: %v°, from the minimal set %v°", n, tri, tm, b[n], want)
		}
	}
}

// Log closure amplitudes of both sets recomputed from a plain (time, name, name) table with
// the convention (12)(34)/(14)(23).
func TestLogClosureAmplitudesFromNames(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	type key struct {
		t    float64
		a, b string
	}
	amp := map[key]float64{}
	for k := range vis {
		a, b := o.Stations[o.T1[k]], o.Stations[o.T2[k]]
		amp[key{o.Time[k], a, b}] = cmplx.Abs(vis[k])
		amp[key{o.Time[k], b, a}] = cmplx.Abs(vis[k])
	}
	for _, c := range []Count{Min, Max} {
		q := o.Quadrangles(c)
		got := make([]float64, q.Len())
		q.LogClosureAmplitudes(got, nil, vis, o.Sigma, false)
		for n, s := range q.T {
			nm := func(i int) string { return o.Stations[s[i]] }
			l := func(i, j int) float64 { return math.Log(amp[key{q.Time[n], nm(i), nm(j)}]) }
			want := l(0, 1) + l(2, 3) - l(0, 3) - l(1, 2)
			if math.Abs(got[n]-want) > 1e-12 {
				t.Fatalf("%v quadrangle %d %v: %v, from names %v", c, n, s, got[n], want)
			}
		}
	}
}
