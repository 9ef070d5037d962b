package interferometry

import (
	"math"
	"testing"

	"github.com/enkg-go/enkg/rng"
)

// The reference image is ehtim's add_crescent(Rp 25, Rn 17, a 2, b 5 μas), blur_circ(8 μas),
// renormalised to 0.6 Jy: Crescent, Blur and the grid geometry must reproduce it.
func TestCrescentBlurReproducesReferenceImage(t *testing.T) {
	g := refGrid(t)
	img := make([]float64, g.Len())
	if err := (Crescent{Flux: 0.6, Rp: 25, Rn: 17, A: 2, B: 5}).Render(img, g); err != nil {
		t.Fatal(err)
	}
	if err := Blur(img, img, g, 8); err != nil {
		t.Fatal(err)
	}
	if err := normalize(img, 0.6); err != nil {
		t.Fatal(err)
	}
	ref := refFloats(t, "image1")
	var w, mx float64
	for i := range img {
		w = math.Max(w, math.Abs(img[i]-ref[i]))
		mx = math.Max(mx, ref[i])
	}
	if w > 1e-12*mx {
		t.Errorf("max |image − ehtim| = %g (max pixel %g)", w, mx)
	}
	t.Logf("max |image − ehtim| = %.3g Jy (max pixel %.3g)", w, mx)
	// Brightest in the South: the lower half holds more flux.
	var north, south float64
	for j := 0; j < 64; j++ {
		for i := 0; i < 64; i++ {
			if j < 32 {
				north += img[j*64+i]
			} else {
				south += img[j*64+i]
			}
		}
	}
	if south <= north {
		t.Errorf("north %v ≥ south %v", north, south)
	}
}

func TestModels(t *testing.T) {
	g, _ := NewGrid(64, 160)
	img := make([]float64, g.Len())
	sum := func() (s float64) {
		for _, v := range img {
			s += v
		}
		return
	}
	// Ring: brightest side at PA = 90° (East = small column index).
	if err := (Ring{Flux: 1, R: 20, W: 3, Asym: 0.8, PA: math.Pi / 2}).Render(img, g); err != nil {
		t.Fatal(err)
	}
	if math.Abs(sum()-1) > 1e-12 {
		t.Errorf("ring flux %v", sum())
	}
	var east, west float64
	for j := 0; j < 64; j++ {
		for i := 0; i < 32; i++ {
			east += img[j*64+i]
			west += img[j*64+63-i]
		}
	}
	if east < 2*west {
		t.Errorf("ring with PA 90°: east %v, west %v", east, west)
	}
	// Gaussian: second moment along the major axis (North–South for PA 0).
	if err := (Gaussian{Flux: 2, FWHMMaj: 30, FWHMMin: 10}).Render(img, g); err != nil {
		t.Fatal(err)
	}
	var mxx, myy float64
	for j := 0; j < 64; j++ {
		for i := 0; i < 64; i++ {
			x, y := g.uas(i, j)
			mxx += img[j*64+i] * x * x / 2
			myy += img[j*64+i] * y * y / 2
		}
	}
	f := 2 * math.Sqrt(2*math.Ln2)
	if math.Abs(math.Sqrt(myy)-30/f) > 0.05 || math.Abs(math.Sqrt(mxx)-10/f) > 0.05 {
		t.Errorf("Gaussian σ (%v, %v), want (%v, %v)", math.Sqrt(mxx), math.Sqrt(myy), 10/f, 30/f)
	}
	// Blur keeps the flux away from the edges and widens.
	before := append([]float64(nil), img...)
	if err := Blur(img, img, g, 20); err != nil {
		t.Fatal(err)
	}
	if math.Abs(sum()-2) > 1e-9 || img[32*64+32] >= before[32*64+32] {
		t.Errorf("blur: flux %v, peak %v → %v", sum(), before[32*64+32], img[32*64+32])
	}
	// Bad parameters.
	if err := (Crescent{Flux: 1, Rp: 10, Rn: 12}).Render(img, g); err == nil {
		t.Error("Rn > Rp accepted")
	}
	if err := (Ring{Flux: 1, R: 500, W: 1}).Render(img, g); err == nil {
		t.Error("a ring outside the field accepted")
	}
	// Random images: reproducible, flux within range, non-negative.
	a, b := make([]float64, g.Len()), make([]float64, g.Len())
	for k := 0; k < 20; k++ {
		if err := RandomImage(a, g, GeneratorSettings{}, rng.Stream(3, k)); err != nil {
			t.Fatal(err)
		}
		if err := RandomImage(b, g, GeneratorSettings{}, rng.Stream(3, k)); err != nil {
			t.Fatal(err)
		}
		var s float64
		for i := range a {
			if a[i] != b[i] || a[i] < 0 {
				t.Fatalf("image %d: not reproducible or negative", k)
			}
			s += a[i]
		}
		if s < 0.4-1e-9 || s > 1.2+1e-9 {
			t.Errorf("image %d flux %v", k, s)
		}
	}
}
