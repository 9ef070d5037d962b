package interferometry

import (
	"fmt"
	"math"
	"math/cmplx"
	"sort"
)

// Count selects a closure set: Min is ehtim's count='min' (a set of independent closures per
// time, built around a reference station), Max is count='max' (all triangles, or three
// quadrangles per 4-subset of stations).
type Count int

const (
	Min Count = iota
	Max
)

func (c Count) String() string {
	if c == Max {
		return "max"
	}
	return "min"
}

// edge is the visibility V(a, b) for stations a, b: row Row of the observation, conjugated
// when the row stores (b, a).
type edge struct {
	Row  int
	Conj bool
}

func (e edge) vis(v []complex128) complex128 {
	if e.Conj {
		return cmplx.Conj(v[e.Row])
	}
	return v[e.Row]
}

// Triangles is a closure-phase set: triangle n is stations (T[n][0], T[n][1], T[n][2])
// (indices into Observation.Stations) at time Time[n], with bispectrum
// B = V(t1,t2)·V(t2,t3)·V(t3,t1).
type Triangles struct {
	Count Count
	Time  []float64
	T     [][3]int
	edges [][3]edge
}

// Len returns the number of triangles.
func (tr *Triangles) Len() int { return len(tr.Time) }

// Row returns the observation row of side s (0: t1–t2, 1: t2–t3, 2: t3–t1) of triangle n and
// whether that row stores the baseline reversed (so that V must be conjugated).
func (tr *Triangles) Row(n, s int) (row int, conj bool) {
	e := tr.edges[n][s]
	return e.Row, e.Conj
}

// Quadrangles is a log-closure-amplitude set: quadrangle n is (t1,t2,t3,t4) at Time[n], with
// closure amplitude |V(t1,t2)|·|V(t3,t4)| / (|V(t1,t4)|·|V(t2,t3)|).
type Quadrangles struct {
	Count Count
	Time  []float64
	T     [][4]int
	edges [][4]edge // blue1 = (1,2), blue2 = (3,4), red1 = (1,4), red2 = (2,3)
}

// Len returns the number of quadrangles.
func (q *Quadrangles) Len() int { return len(q.Time) }

// Row returns the observation row of baseline s of quadrangle n: 0 = (t1,t2), 1 = (t3,t4),
// 2 = (t1,t4), 3 = (t2,t3), and whether it is stored reversed.
func (q *Quadrangles) Row(n, s int) (row int, conj bool) {
	e := q.edges[n][s]
	return e.Row, e.Conj
}

// timeGroups calls fn for each time with data: the visible stations in SEFD order and a
// lookup of the row of each (a, b).
func (o *Observation) timeGroups(fn func(t float64, st []int, find func(a, b int) edge)) {
	ns := len(o.Stations)
	rowOf := make([]int, ns*ns)
	for start := 0; start < o.Len(); {
		end := start
		for end < o.Len() && o.Time[end] == o.Time[start] {
			end++
		}
		for i := range rowOf {
			rowOf[i] = -1
		}
		present := make([]bool, ns)
		for r := start; r < end; r++ {
			rowOf[o.T1[r]*ns+o.T2[r]] = r
			present[o.T1[r]], present[o.T2[r]] = true, true
		}
		var st []int
		for i, p := range present {
			if p {
				st = append(st, i)
			}
		}
		find := func(a, b int) edge {
			if r := rowOf[a*ns+b]; r >= 0 {
				return edge{Row: r}
			}
			if r := rowOf[b*ns+a]; r >= 0 {
				return edge{Row: r, Conj: true}
			}
			return edge{Row: -1}
		}
		fn(o.Time[start], st, find)
		start = end
	}
}

// Triangles returns the closure-phase triangles of the observation (ehtim's
// Obsdata.c_phases(count=...)):
//
//   - Min: per time, ref = the first visible station in SEFD order, and the triangles
//     (ref, a, b) for every pair a < b of the others, in SEFD order: (n−1)(n−2)/2 per time;
//   - Max: every 3-subset of the visible stations with labels sorted by name, rows sorted by
//     the three names: n(n−1)(n−2)/6 per time.
//
// Triangles with a missing baseline are skipped.
func (o *Observation) Triangles(c Count) *Triangles {
	tr := &Triangles{Count: c}
	add := func(t float64, s [3]int, find func(a, b int) edge) {
		e := [3]edge{find(s[0], s[1]), find(s[1], s[2]), find(s[2], s[0])}
		for _, x := range e {
			if x.Row < 0 {
				return
			}
		}
		tr.Time = append(tr.Time, t)
		tr.T = append(tr.T, s)
		tr.edges = append(tr.edges, e)
	}
	o.timeGroups(func(t float64, st []int, find func(a, b int) edge) {
		n := len(st)
		if n < 3 {
			return
		}
		if c == Min {
			for a := 1; a < n; a++ {
				for b := a + 1; b < n; b++ {
					add(t, [3]int{st[0], st[a], st[b]}, find)
				}
			}
			return
		}
		byName := o.sortedByName(st)
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				for d := b + 1; d < n; d++ {
					add(t, [3]int{byName[a], byName[b], byName[d]}, find)
				}
			}
		}
	})
	return tr
}

// Quadrangles returns the log-closure-amplitude quadrangles (ehtim's
// Obsdata.c_amplitudes(count=...)):
//
//   - Min: with s the visible stations in SEFD order and ref = s[0], for i = 3…n−1 and
//     j = 1…i−1, k = j+1 (k = 1 when j = i−1), the quadrangle (ref, s[i], s[j], s[k]):
//     n(n−3)/2 per time;
//   - Max: every 4-subset q (labels sorted by name) gives q, (q0,q2,q1,q3) and
//     (q0,q1,q3,q2), rows sorted by the four names: 3·C(n,4) per time.
func (o *Observation) Quadrangles(c Count) *Quadrangles {
	q := &Quadrangles{Count: c}
	add := func(t float64, s [4]int, find func(a, b int) edge) {
		e := [4]edge{find(s[0], s[1]), find(s[2], s[3]), find(s[0], s[3]), find(s[1], s[2])}
		for _, x := range e {
			if x.Row < 0 {
				return
			}
		}
		q.Time = append(q.Time, t)
		q.T = append(q.T, s)
		q.edges = append(q.edges, e)
	}
	o.timeGroups(func(t float64, st []int, find func(a, b int) edge) {
		n := len(st)
		if n < 4 {
			return
		}
		if c == Min {
			for i := 3; i < n; i++ {
				for j := 1; j < i; j++ {
					k := j + 1
					if j == i-1 {
						k = 1
					}
					add(t, [4]int{st[0], st[i], st[j], st[k]}, find)
				}
			}
			return
		}
		byName := o.sortedByName(st)
		var rows [][4]int
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				for d := b + 1; d < n; d++ {
					for e := d + 1; e < n; e++ {
						s := [4]int{byName[a], byName[b], byName[d], byName[e]}
						rows = append(rows, s, [4]int{s[0], s[2], s[1], s[3]}, [4]int{s[0], s[1], s[3], s[2]})
					}
				}
			}
		}
		sort.SliceStable(rows, func(x, y int) bool {
			for m := 0; m < 4; m++ {
				if a, b := o.Stations[rows[x][m]], o.Stations[rows[y][m]]; a != b {
					return a < b
				}
			}
			return false
		})
		for _, s := range rows {
			add(t, s, find)
		}
	})
	return q
}

func (o *Observation) sortedByName(st []int) []int {
	s := append([]int(nil), st...)
	sort.Slice(s, func(a, b int) bool { return o.Stations[s[a]] < o.Stations[s[b]] })
	return s
}

// UV returns the (u, v) of side s of triangle n in the orientation used by the bispectrum.
func (tr *Triangles) UV(o *Observation, n, s int) (u, v float64) {
	return edgeUV(o, tr.edges[n][s])
}

// UV returns the (u, v) of baseline s of quadrangle n (see Row for the order).
func (q *Quadrangles) UV(o *Observation, n, s int) (u, v float64) {
	return edgeUV(o, q.edges[n][s])
}

func edgeUV(o *Observation, e edge) (float64, float64) {
	if e.Conj {
		return -o.U[e.Row], -o.V[e.Row]
	}
	return o.U[e.Row], o.V[e.Row]
}

// Bispectra writes the bispectra B = V12·V23·V31 of vis into dst, and, when dstSigma is not
// nil, σ_B = |B|·sqrt(Σ σ²/|V|²) (ehtim's make_bispectrum).
func (tr *Triangles) Bispectra(dst []complex128, dstSigma []float64, vis []complex128, sigma []float64) {
	for n, e := range tr.edges {
		v1, v2, v3 := e[0].vis(vis), e[1].vis(vis), e[2].vis(vis)
		b := v1 * v2 * v3
		dst[n] = b
		if dstSigma != nil {
			s1, s2, s3 := sigma[e[0].Row]/cmplx.Abs(v1), sigma[e[1].Row]/cmplx.Abs(v2), sigma[e[2].Row]/cmplx.Abs(v3)
			dstSigma[n] = cmplx.Abs(b) * math.Sqrt(s1*s1+s2*s2+s3*s3)
		}
	}
}

// ClosurePhases writes the closure phases ψ = arg(V12·V23·V31)/Degree (degrees, ehtim's
// DEGREE) of vis into dst, and, when dstSigma is not nil, their standard deviation
// σ_ψ = sqrt(σ12²/|V12|² + σ23²/|V23|² + σ31²/|V31|²)/Degree (degrees). There is no debiasing.
func (tr *Triangles) ClosurePhases(dst, dstSigma []float64, vis []complex128, sigma []float64) {
	tr.check(len(dst), dstSigma)
	for n, e := range tr.edges {
		v1, v2, v3 := e[0].vis(vis), e[1].vis(vis), e[2].vis(vis)
		b := v1 * v2 * v3
		dst[n] = math.Atan2(imag(b), real(b)) / Degree
		if dstSigma != nil {
			s1, s2, s3 := sigma[e[0].Row]/cmplx.Abs(v1), sigma[e[1].Row]/cmplx.Abs(v2), sigma[e[2].Row]/cmplx.Abs(v3)
			dstSigma[n] = math.Sqrt(s1*s1+s2*s2+s3*s3) / Degree
		}
	}
}

func (tr *Triangles) check(n int, s []float64) {
	if n != tr.Len() || (s != nil && len(s) != tr.Len()) {
		panic(fmt.Sprintf("interferometry: closure phases: dst lengths %d, %d for %d triangles", n, len(s), tr.Len()))
	}
}

func (q *Quadrangles) check(n int, s []float64) {
	if n != q.Len() || (s != nil && len(s) != q.Len()) {
		panic(fmt.Sprintf("interferometry: closure amplitudes: dst lengths %d, %d for %d quadrangles", n, len(s), q.Len()))
	}
}

// DebiasedAmp returns ehtim's debiased amplitude (amp_debias with force_nonzero):
// sqrt(|V|² − σ²) when |V| > σ, else σ.
func DebiasedAmp(amp, sigma float64) float64 {
	if amp > sigma {
		return math.Sqrt(amp*amp - sigma*sigma)
	}
	return sigma
}

// LogClosureAmplitudes writes ln(|V12|·|V34| / (|V14|·|V23|)) of vis into dst and, when
// dstSigma is not nil, σ = sqrt(Σ 1/snr_i²) with snr_i = p_i/σ_i.
//
// With debias (ehtim's default, also what its imager uses) p_i = DebiasedAmp(|V_i|, σ_i) and
// the log closure amplitude gains ehtim's logcamp_debias term
// ½(1/snr1² + 1/snr2² − 1/snr3² − 1/snr4²); without, p_i = |V_i|.
func (q *Quadrangles) LogClosureAmplitudes(dst, dstSigma []float64, vis []complex128, sigma []float64, debias bool) {
	q.check(len(dst), dstSigma)
	for n, e := range q.edges {
		var p, is2 [4]float64
		for m := 0; m < 4; m++ {
			a, s := cmplx.Abs(vis[e[m].Row]), sigma[e[m].Row]
			if debias {
				a = DebiasedAmp(a, s)
			}
			p[m] = a
			snr := a / s
			is2[m] = 1 / (snr * snr)
		}
		c := math.Log(p[0]) + math.Log(p[1]) - math.Log(p[2]) - math.Log(p[3])
		if debias {
			c += 0.5 * (is2[0] + is2[1] - is2[2] - is2[3])
		}
		dst[n] = c
		if dstSigma != nil {
			dstSigma[n] = math.Sqrt(is2[0] + is2[1] + is2[2] + is2[3])
		}
	}
}

// ClosureAmplitudes writes the (linear) closure amplitudes of vis with ehtim's debiasing
// (make_closure_amplitude, ctype='camp', debias=True): c = p1·p2/(p3·p4),
// σ_c = c·sqrt(Σ 1/snr_i²), then c ← c/(1 + 1/snr3² + 1/snr4²) (σ_c is not rescaled).
// Without debias, p_i = |V_i| and c is not rescaled.
func (q *Quadrangles) ClosureAmplitudes(dst, dstSigma []float64, vis []complex128, sigma []float64, debias bool) {
	q.check(len(dst), dstSigma)
	for n, e := range q.edges {
		var p, is2 [4]float64
		for m := 0; m < 4; m++ {
			a, s := cmplx.Abs(vis[e[m].Row]), sigma[e[m].Row]
			if debias {
				a = DebiasedAmp(a, s)
			}
			p[m] = a
			snr := a / s
			is2[m] = 1 / (snr * snr)
		}
		c := p[0] * p[1] / (p[2] * p[3])
		if dstSigma != nil {
			dstSigma[n] = c * math.Sqrt(is2[0]+is2[1]+is2[2]+is2[3])
		}
		if debias {
			c /= 1 + is2[2] + is2[3]
		}
		dst[n] = c
	}
}

// edgeFinder returns a lookup of the row of baseline (a, b) at time t, or of (b, a) conjugated.
func (o *Observation) edgeFinder() func(t float64, a, b int) edge {
	type key struct {
		t    float64
		a, b int
	}
	m := make(map[key]int, o.Len())
	for r := 0; r < o.Len(); r++ {
		m[key{o.Time[r], o.T1[r], o.T2[r]}] = r
	}
	return func(t float64, a, b int) edge {
		if r, ok := m[key{t, a, b}]; ok {
			return edge{Row: r}
		}
		if r, ok := m[key{t, b, a}]; ok {
			return edge{Row: r, Conj: true}
		}
		return edge{Row: -1}
	}
}

// NewTriangles returns the closure-phase triangles (t[n][0], t[n][1], t[n][2]) at times
// time[n] of observation o (e.g. read back from a file); every baseline must have data.
func (o *Observation) NewTriangles(time []float64, t [][3]int) (*Triangles, error) {
	if len(time) != len(t) {
		return nil, fmt.Errorf("interferometry: %d times for %d triangles", len(time), len(t))
	}
	find := o.edgeFinder()
	tr := &Triangles{Time: append([]float64(nil), time...), T: append([][3]int(nil), t...)}
	for n, s := range t {
		e := [3]edge{find(time[n], s[0], s[1]), find(time[n], s[1], s[2]), find(time[n], s[2], s[0])}
		for _, x := range e {
			if x.Row < 0 {
				return nil, fmt.Errorf("interferometry: triangle %d %v at %v h: a baseline has no data", n, s, time[n])
			}
		}
		tr.edges = append(tr.edges, e)
	}
	return tr, nil
}

// NewQuadrangles returns the quadrangles (t1, t2, t3, t4) at times time[n] of observation o.
func (o *Observation) NewQuadrangles(time []float64, t [][4]int) (*Quadrangles, error) {
	if len(time) != len(t) {
		return nil, fmt.Errorf("interferometry: %d times for %d quadrangles", len(time), len(t))
	}
	find := o.edgeFinder()
	q := &Quadrangles{Time: append([]float64(nil), time...), T: append([][4]int(nil), t...)}
	for n, s := range t {
		e := [4]edge{find(time[n], s[0], s[1]), find(time[n], s[2], s[3]), find(time[n], s[0], s[3]), find(time[n], s[1], s[2])}
		for _, x := range e {
			if x.Row < 0 {
				return nil, fmt.Errorf("interferometry: quadrangle %d %v at %v h: a baseline has no data", n, s, time[n])
			}
		}
		q.edges = append(q.edges, e)
	}
	return q, nil
}
