package interferometry

import (
	"math"
	"testing"

	"github.com/enkg-go/enkg/rng"
)

func TestClosureChiSqMetric(t *testing.T) {
	b, x := refBlackHole(t, Auto)
	meas, err := b.Measure(x, rng.New(11))
	if err != nil {
		t.Fatal(err)
	}
	img := make([]float64, len(x))
	b.Unnormalize(img, x)
	cp, ca, err := b.ClosureChiSq(img, meas, false)
	if err != nil {
		t.Fatal(err)
	}
	if cp < 0.8 || cp > 1.25 || ca < 0.8 || ca > 1.25 {
		t.Errorf("truth: χ²_cp = %v, χ²_logcamp = %v, want ≈ 1", cp, ca)
	}
	// Closure quantities do not see the flux: a scaled truth scores the same.
	for i := range img {
		img[i] *= 3
	}
	cp2, ca2, _ := b.ClosureChiSq(img, meas, false)
	if math.Abs(cp2-cp) > 1e-9 || math.Abs(ca2-ca) > 1e-9 {
		t.Errorf("flux scaling changed χ²: %v → %v, %v → %v", cp, cp2, ca, ca2)
	}
	// A shifted ring is far off; normalisation maps χ² < 1 to 1/χ².
	other := make([]float64, len(img))
	if err := (Ring{Flux: 1, R: 15, W: 3, Asym: 0.5, PA: 1}).Render(other, b.DFT().Grid()); err != nil {
		t.Fatal(err)
	}
	cp3, ca3, _ := b.ClosureChiSq(other, meas, true)
	if cp3 < 5 || ca3 < 5 {
		t.Errorf("wrong image: χ²_cp = %v, χ²_logcamp = %v", cp3, ca3)
	}
	if NormalizeChiSq(0.5) != 2 || NormalizeChiSq(3) != 3 {
		t.Error("NormalizeChiSq")
	}
}

func TestAlignedAndBlurredPSNR(t *testing.T) {
	g, _ := NewGrid(64, 160)
	truth := make([]float64, g.Len())
	if err := (Ring{Flux: 1, R: 20, W: 4, Asym: 0.6, PA: 2}).Render(truth, g); err != nil {
		t.Fatal(err)
	}
	var mx float64
	for _, v := range truth {
		mx = math.Max(mx, v)
	}
	for i := range truth {
		truth[i] /= mx // image units in [0, 1]
	}
	if p := PSNR(truth, truth); math.Abs(p-80) > 1e-9 {
		t.Errorf("PSNR of identical images %v, want 80 (the 1e-8 floor)", p)
	}
	// A prediction shifted by exactly one step of the search grid is realigned.
	step := 1.0 / 29 * 63 / 2 // pixels per search step
	pred := make([]float64, g.Len())
	Shift(pred, truth, g, -3*step, 2*step)
	raw := PSNR(truth, pred)
	best, aligned, err := AlignedPSNR(truth, pred, g)
	if err != nil {
		t.Fatal(err)
	}
	if best < raw+10 {
		t.Errorf("alignment did not help: %v → %v", raw, best)
	}
	for _, f := range []float64{10, 15, 20} {
		bp, err := BlurredPSNR(truth, aligned, g, f)
		if err != nil {
			t.Fatal(err)
		}
		if bp < best-1 {
			t.Errorf("blurred PSNR (f = %v) %v below the unblurred %v", f, bp, best)
		}
	}
	// Shift by whole pixels moves the image exactly.
	Shift(pred, truth, g, 2, 0)
	if pred[10*64+5] != truth[10*64+7] {
		t.Error("Shift by 2 columns")
	}
}
