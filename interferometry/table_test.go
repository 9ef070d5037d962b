package interferometry

import (
	"strings"
	"testing"
)

// ehtim's arrays/EHT2017.txt (13-column format), abridged to four stations.
const ehtimTable = `#NAME X             Y             Z             SEFDR SEFDL FR_PAR_ANGLE FR_ELEV_ANGLE FR_OFFSET[d] DR_RE   DR_IM   DL_RE    DL_IM
PV    5088967.9000 -301681.6000   3825015.8000  1400  1400  1            -1            0            0       0       0        0
SMT   -1828796.200 -5054406.800   3427865.200   5000  5000  1             1            0            0       0       0        0
LMT   -768713.9637 -5988541.7982  2063275.9472  600   600   1            -1            0            0       0       0        0

ALMA  2225061.164  -5440057.37   -2481681.15    90    90    0             0            0            0       0       0        0
`

func TestReadArrayTable(t *testing.T) {
	a, err := ReadArrayTable(strings.NewReader(ehtimTable), "mini")
	if err != nil {
		t.Fatal(err)
	}
	ref := EHT2017()
	for _, s := range a.Stations {
		i, err := ref.Index(s.Name)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Stations[i] != s {
			t.Errorf("%s: %+v, embedded %+v", s.Name, s, ref.Stations[i])
		}
	}
	if got := a.SEFDOrder(); a.Stations[got[0]].Name != "ALMA" || a.Stations[got[3]].Name != "SMT" {
		t.Errorf("SEFD order %v", got)
	}
	// The sub-array observes M87 like the full one restricted to its baselines.
	o, err := Observe(a, DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	full, _ := Observe(ref, DefaultSettings())
	n := 0
	for k := 0; k < full.Len(); k++ {
		in := func(s string) bool { _, err := a.Index(s); return err == nil }
		if in(full.Stations[full.T1[k]]) && in(full.Stations[full.T2[k]]) {
			if o.U[n] != full.U[k] || o.Stations[o.T1[n]] != full.Stations[full.T1[k]] {
				t.Fatalf("row %d differs from the full array's row %d", n, k)
			}
			n++
		}
	}
	if n != o.Len() {
		t.Errorf("%d rows, full array restricted %d", o.Len(), n)
	}
	for _, bad := range []string{
		"ALMA 1 2\n",
		"ALMA 2225061 -5440057 -2481681 90 90\nALMA 2225061 -5440057 -2481681 90 90\n",
		"ALMA 2225061 -5440057 -2481681 -90 90\nLMT -768713 -5988541 2063275 600 600\n",
		"ALMA 2225061 x -2481681 90 90\nLMT -768713 -5988541 2063275 600 600\n",
		"ALMA 0 0 0 90 90\nLMT -768713 -5988541 2063275 600 600\n",
		"ALMA 2225061 -5440057 -2481681 90 90\n",
	} {
		if _, err := ReadArrayTable(strings.NewReader(bad), "bad"); err == nil {
			t.Errorf("table %q accepted", bad)
		}
	}
}

func TestObservationTableRoundTrip(t *testing.T) {
	o := refObservation(t)
	p, err := NewObservationTable(o.Stations, o.Time, o.GMST, o.T1, o.T2, o.U, o.V, o.Sigma)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Count{Min, Max} {
		tr, q := o.Triangles(c), o.Quadrangles(c)
		tr2, err := p.NewTriangles(tr.Time, tr.T)
		if err != nil {
			t.Fatal(err)
		}
		q2, err := p.NewQuadrangles(q.Time, q.T)
		if err != nil {
			t.Fatal(err)
		}
		for n := range tr.edges {
			if tr.edges[n] != tr2.edges[n] {
				t.Fatalf("%v triangle %d: %v, rebuilt %v", c, n, tr.edges[n], tr2.edges[n])
			}
		}
		for n := range q.edges {
			if q.edges[n] != q2.edges[n] {
				t.Fatalf("%v quadrangle %d differs", c, n)
			}
		}
		if p.Triangles(c).Len() != tr.Len() || p.Quadrangles(c).Len() != q.Len() {
			t.Errorf("%v sets of the rebuilt table differ in size", c)
		}
	}
	if _, err := p.NewTriangles([]float64{0}, [][3]int{{0, 1, 6}}); err == nil {
		t.Error("a triangle with SPT (no data) accepted")
	}
	if _, err := NewObservationTable(o.Stations, o.Time[:3], nil, []int{0, 1, 9}, o.T2[:3], o.U[:3], o.V[:3], o.Sigma[:3]); err == nil {
		t.Error("station index out of range accepted")
	}
}
