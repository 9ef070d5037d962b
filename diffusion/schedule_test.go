package diffusion

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"testing"
)

func TestKarrasSigmasFormula(t *testing.T) {
	s, err := KarrasSigmas(18, 0.002, 80, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 19 || s[18] != 0 {
		t.Fatalf("want 19 values ending in 0, got %d (last %v)", len(s), s[len(s)-1])
	}
	if math.Abs(s[0]-80) > 1e-12 || math.Abs(s[17]-0.002) > 1e-15 {
		t.Fatalf("endpoints %v, %v", s[0], s[17])
	}
	// σ_i^{1/ρ} is linear in i.
	for i := 1; i < 17; i++ {
		a, b, c := math.Pow(s[i-1], 1.0/7), math.Pow(s[i], 1.0/7), math.Pow(s[i+1], 1.0/7)
		if math.Abs((a-b)-(b-c)) > 1e-12 {
			t.Fatalf("σ^{1/ρ} not equally spaced at %d", i)
		}
		if !(s[i] < s[i-1]) {
			t.Fatalf("not decreasing at %d", i)
		}
	}
	one, err := KarrasSigmas(1, 0.002, 80, 7)
	if err != nil || len(one) != 2 || one[0] != 80 || one[1] != 0 {
		t.Fatalf("n=1: %v %v", one, err)
	}
}

func TestKarrasFloat32MatchesPublished(t *testing.T) {
	b, err := os.ReadFile("testdata/lin_trace_steps.json")
	if err != nil {
		t.Fatal(err)
	}
	var steps []struct {
		Sigma    float64 `json:"sigma"`
		ODESteps int     `json:"ode_steps"`
	}
	if err := json.Unmarshal(b, &steps); err != nil {
		t.Fatal(err)
	}
	s, err := Karras{SigmaMin: 0.002, SigmaMax: 80, Rho: 7, Float32: true}.AppendSigmas(nil, 20)
	if err != nil {
		t.Fatal(err)
	}
	s64, _ := KarrasSigmas(20, 0.002, 80, 7)
	for k, st := range steps {
		i := k + 2
		if s[i] != st.Sigma {
			t.Errorf("step %d: float32 schedule %v, published %v", i, s[i], st.Sigma)
		}
		// ρ = 7 multiplies the float32 rounding of the base (~6e-8) by 7 and more.
		if r := math.Abs(s64[i]-st.Sigma) / st.Sigma; r > 3e-6 || r == 0 {
			t.Errorf("step %d: float64 schedule differs from float32 by %g relative", i, r)
		}
		if want := min(1+(20-i)/4, 20); want != st.ODESteps {
			t.Errorf("step %d: k = %d, reference %d", i, want, st.ODESteps)
		}
	}
}

func TestKarrasBadInput(t *testing.T) {
	for _, c := range []struct {
		n             int
		smin, smax, r float64
	}{{0, 0.002, 80, 7}, {5, 0, 80, 7}, {5, -1, 80, 7}, {5, 1, 0.5, 7}, {5, 0.002, 80, 0}, {5, math.NaN(), 80, 7}, {5, 0.002, math.Inf(1), 7}} {
		if _, err := KarrasSigmas(c.n, c.smin, c.smax, c.r); !errors.Is(err, ErrParam) {
			t.Errorf("%+v: want ErrParam, got %v", c, err)
		}
	}
}
