package interferometry

import (
	"context"
	"errors"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"

	"github.com/enkg-go/enkg/operator"
	"github.com/enkg-go/enkg/rng"
	"gonum.org/v1/gonum/mat"
)

func TestNoisyVisibilitiesFromStoredNormals(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	want := refComplex(t, "obs_vis_noisy")
	zre, zim := refFloats(t, "obs_noise_std_normal_re"), refFloats(t, "obs_noise_std_normal_im")
	got := make([]complex128, len(vis))
	AddNoiseFrom(got, vis, o.Sigma, zre, zim)
	for k := range got {
		if cmplx.Abs(got[k]-want[k]) > 1e-15 {
			t.Fatalf("row %d: %v, reference %v", k, got[k], want[k])
		}
	}
}

func TestNoiseStatistics(t *testing.T) {
	n := 20000
	vis := make([]complex128, n)
	sig := make([]float64, n)
	for k := range sig {
		sig[k] = 0.5 + float64(k%7)
	}
	out := make([]complex128, n)
	AddNoise(out, vis, sig, rng.New(5))
	var sr, si float64
	for k, v := range out {
		sr += real(v) * real(v) / (sig[k] * sig[k])
		si += imag(v) * imag(v) / (sig[k] * sig[k])
	}
	for _, s := range []float64{sr / float64(n), si / float64(n)} {
		if math.Abs(s-1) > 5*math.Sqrt(2/float64(n)) {
			t.Errorf("normalised variance %v", s)
		}
	}
}

func TestChiSqDefinitions(t *testing.T) {
	o := refObservation(t)
	img := refFloats(t, "image1")
	clean := refComplex(t, "obs_vis_noiseless")
	noisy := refComplex(t, "obs_vis_noisy")
	tr, q := o.Triangles(Min), o.Quadrangles(Min)
	cp, scp := make([]float64, tr.Len()), make([]float64, tr.Len())
	ca, sca := make([]float64, q.Len()), make([]float64, q.Len())
	// Noiseless data: χ² of the true image is 0 for vis and cphase (and tiny for logcamp,
	// whose data are debiased).
	tr.ClosurePhases(cp, scp, clean, o.Sigma)
	if c := ChiSqVis(clean, clean, o.Sigma); c != 0 {
		t.Errorf("vis χ² of the truth on noiseless data = %v", c)
	}
	if c := ChiSqCPhase(clean, tr, cp, scp); c > 1e-20 {
		t.Errorf("cphase χ² of the truth on noiseless data = %v", c)
	}
	// Noisy data: the true image has χ² ≈ 1 for every term.
	tr.ClosurePhases(cp, scp, noisy, o.Sigma)
	q.LogClosureAmplitudes(ca, sca, noisy, o.Sigma, true)
	amp := make([]float64, len(noisy))
	for k, v := range noisy {
		amp[k] = DebiasedAmp(cmplx.Abs(v), o.Sigma[k])
	}
	bs, sbs := make([]complex128, tr.Len()), make([]float64, tr.Len())
	tr.Bispectra(bs, sbs, noisy, o.Sigma)
	camp, scamp := make([]float64, q.Len()), make([]float64, q.Len())
	q.ClosureAmplitudes(camp, scamp, noisy, o.Sigma, true)
	_ = img
	for name, c := range map[string]float64{
		"vis":     ChiSqVis(clean, noisy, o.Sigma),
		"amp":     ChiSqAmp(clean, amp, o.Sigma),
		"cphase":  ChiSqCPhase(clean, tr, cp, scp),
		"logcamp": ChiSqLogCAmp(clean, q, ca, sca),
		"bs":      ChiSqBispectrum(clean, tr, bs, sbs),
		"camp":    ChiSqCAmp(clean, q, camp, scamp),
	} {
		if c < 0.7 || c > 1.3 {
			t.Errorf("%s χ² of the truth on noisy data = %v, want ≈ 1", name, c)
		}
		t.Logf("%s χ² = %.4f", name, c)
	}
	// A wrong image is far off.
	wrong := make([]complex128, len(clean))
	for k := range wrong {
		wrong[k] = clean[k] * cmplx.Rect(1, 0.3*float64(k%5))
	}
	if c := ChiSqCPhase(wrong, tr, cp, scp); c < 10 {
		t.Errorf("cphase χ² of a wrong model = %v", c)
	}
	// Hand-computed cases.
	if c := ChiSqVis([]complex128{1 + 1i}, []complex128{0}, []float64{2}); math.Abs(c-0.25) > 1e-15 {
		t.Errorf("vis χ² %v, want 2/4/2 = 0.25", c)
	}
	if c := ChiSqAmp([]complex128{3 + 4i}, []float64{4}, []float64{0.5}); math.Abs(c-4) > 1e-15 {
		t.Errorf("amp χ² %v, want 4", c)
	}
}

func TestGainsChangeDataButNotClosures(t *testing.T) {
	o := refObservation(t)
	clean := refComplex(t, "obs_vis_noiseless")
	vis := append([]complex128(nil), clean...)
	if _, err := o.ApplyGains(vis, GainSettings{Std: 0.1, OffsetStd: 0.1, PhaseErrors: true}, rng.New(1)); err != nil {
		t.Fatal(err)
	}
	if ChiSqVis(vis, clean, o.Sigma) < 1 {
		t.Error("gain errors did not change the visibilities")
	}
	tr := o.Triangles(Max)
	a, b := make([]float64, tr.Len()), make([]float64, tr.Len())
	tr.ClosurePhases(a, nil, clean, o.Sigma)
	tr.ClosurePhases(b, nil, vis, o.Sigma)
	for n := range a {
		if angleDiffDeg(a[n], b[n]) > 1e-9 {
			t.Fatalf("closure phase %d changed: %v → %v", n, a[n], b[n])
		}
	}
}

func refBlackHole(t testing.TB, m Method) (*BlackHole, []float64) {
	o := refObservation(t)
	img := refFloats(t, "image1")
	var mx float64
	for _, v := range img {
		mx = math.Max(mx, v)
	}
	b, err := NewBlackHole(o, refGrid(t), BlackHoleSettings{Multiplier: mx, Method: m})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, len(img))
	for i, v := range img {
		x[i] = v/mx/0.5 - 1 // normalise: image units in [0, 1] ↦ [−1, 1]
	}
	return b, x
}

func TestBlackHoleForward(t *testing.T) {
	b, x := refBlackHole(t, Auto)
	if b.OutputDim() != 837+508+427+1 {
		t.Fatalf("output dim %d", b.OutputDim())
	}
	y := make([]float64, b.OutputDim())
	if err := b.Forward(context.Background(), y, x); err != nil {
		t.Fatal(err)
	}
	l := b.Layout()
	// Compare with the reference products (image units = Jy/multiplier).
	img := refFloats(t, "image1")
	var mx, flux float64
	for _, v := range img {
		mx = math.Max(mx, v)
		flux += v
	}
	amp := refFloats(t, "obs_amp_noiseless")
	for k, a := range l.Amp.Of(y) {
		if math.Abs(a*mx-amp[k]) > 1e-12 {
			t.Fatalf("amp %d: %v, reference %v", k, a*mx, amp[k])
		}
	}
	cp := refFloats(t, "cphase_min_cphase_deg")
	for n, c := range l.CPhase.Of(y) {
		if angleDiffDeg(c/Degree, cp[n]) > 1e-9 {
			t.Fatalf("cphase %d: %v°, reference %v°", n, c/Degree, cp[n])
		}
	}
	ca := refFloats(t, "logcamp_min_nodebias_camp")
	for n, c := range l.LogCAmp.Of(y) {
		if math.Abs(c-ca[n]) > 1e-9 {
			t.Fatalf("logcamp %d: %v, reference %v", n, c, ca[n])
		}
	}
	if f := l.Flux.Of(y)[0]; math.Abs(f*mx-flux) > 1e-12 {
		t.Errorf("flux %v, want %v", f*mx, flux)
	}
	if a := testing.AllocsPerRun(5, func() { _ = b.Forward(context.Background(), y, x) }); a != 0 {
		t.Errorf("Forward allocates %v times", a)
	}
	// Batch = one by one, for any number of workers.
	const m = 5
	X := mat.NewDense(m, len(x), nil)
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < m; i++ {
		for j := range x {
			X.Set(i, j, x[j]+0.1*r.NormFloat64())
		}
	}
	for _, workers := range []int{1, 3} {
		Y := mat.NewDense(m, b.OutputDim(), nil)
		if err := b.ForwardBatch(context.Background(), Y, X, workers); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < m; i++ {
			c := b.Clone()
			if err := c.Forward(context.Background(), y, X.RawRowView(i)); err != nil {
				t.Fatal(err)
			}
			for k := range y {
				if Y.At(i, k) != y[k] {
					t.Fatalf("workers %d: row %d entry %d: batch %v, single %v", workers, i, k, Y.At(i, k), y[k])
				}
			}
		}
	}
	// Bad input.
	x[7] = math.NaN()
	if err := b.Forward(context.Background(), y, x); err == nil {
		t.Error("NaN pixel accepted")
	}
	if err := b.Forward(context.Background(), y, x[:10]); err == nil {
		t.Error("wrong image length accepted")
	}
	for i := range x {
		x[i] = -1 // an empty image: zero visibilities
	}
	if err := b.Forward(context.Background(), y, x); !errors.Is(err, operator.ErrNonFinite) {
		t.Errorf("empty image: %v, want ErrNonFinite", err)
	}
}

func TestBlackHoleMisfitGradient(t *testing.T) {
	b, x := refBlackHole(t, Auto)
	meas, err := b.Measure(x, rng.New(2))
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewBlackHoleMisfit(b.Layout(), meas, Weights{Amp: 0.3, CPhase: 1, LogCAmp: 1, Flux: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	x2 := append([]float64(nil), x...)
	for i := range x2 {
		x2[i] += 0.01 * math.Sin(float64(i))
	}
	p := make([]float64, b.OutputDim())
	if err := b.Forward(context.Background(), p, x2); err != nil {
		t.Fatal(err)
	}
	g := make([]float64, len(p))
	f.Gradient(g, p, meas.Y)
	r := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 40; trial++ {
		k := r.IntN(len(p))
		if trial == 0 {
			k = b.Layout().Flux.Offset
		}
		h := 1e-6 * math.Max(1, math.Abs(p[k]))
		old := p[k]
		p[k] = old + h
		lp := f.Loss(p, meas.Y)
		p[k] = old - h
		lm := f.Loss(p, meas.Y)
		p[k] = old
		fd := (lp - lm) / (2 * h)
		if math.Abs(fd-g[k]) > 1e-5*math.Max(1, math.Abs(g[k])) {
			t.Errorf("∂Loss/∂y[%d] = %v, finite difference %v", k, g[k], fd)
		}
	}
	// The published weighting: the loss of the truth on its own noisy data is
	// 2·(N_cp·χ²_cp + N_ca·χ²_ca) ≈ 2·(508 + 427) with χ² ≈ 1 each (amp weight 0, flux exact).
	pub, _ := NewBlackHoleMisfit(b.Layout(), meas, PublishedWeights)
	if err := b.Forward(context.Background(), p, x); err != nil {
		t.Fatal(err)
	}
	l := pub.Loss(p, meas.Y)
	if l < 2*0.7*935 || l > 2*1.3*935 {
		t.Errorf("published loss of the truth = %v, want ≈ %v", l, 2*935)
	}
	t.Logf("published loss of the truth on its noisy data: %.1f (2·935 = 1870 expected)", l)
}

func TestAmplitudesAgainstReference(t *testing.T) {
	o := refObservation(t)
	vis := refComplex(t, "obs_vis_noiseless")
	for _, c := range []struct {
		debias bool
		ref    string
	}{{false, "obs_amp_noiseless"}, {true, "obs_amp_noiseless_debiased"}} {
		got := make([]float64, len(vis))
		Amplitudes(got, vis, o.Sigma, c.debias)
		ref := refFloats(t, c.ref)
		for k := range got {
			if math.Abs(got[k]-ref[k]) > 1e-15 {
				t.Fatalf("debias %v: amp %d = %v, reference %v", c.debias, k, got[k], ref[k])
			}
		}
	}
}
