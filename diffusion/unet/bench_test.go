package unet

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
)

// nsSpec is the EnKG Navier–Stokes prior: EDMPrecond + DhariwalUNet at 128², model_channels
// 128, channel_mult [1,1,1,2,2], attention at 16, one block per level (26,790,785 parameters).
func nsSpec() *Spec {
	return &Spec{Precond: PrecondSpec{Type: "EDM"}, Network: NetworkSpec{Type: "DhariwalUNet", ImgResolution: 128,
		InChannels: 1, OutChannels: 1, ModelChannels: 128, ChannelMult: []int{1, 1, 1, 2, 2}, ChannelMultEmb: 4,
		NumBlocks: 1, AttnResolutions: []int{16}}}
}

// randomState draws weights as the reference generator does (N(0, 1/fan_in) for conv and
// linear weights, N(0, 0.05²) biases, 1 + N(0, 0.1²) GroupNorm scales), with the FIR filter
// buffers set to their constructor values.
func randomState(t testing.TB, spec *Spec, seed uint64) map[string]*datasets.Array {
	s := *spec
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	net, err := NewNetwork(s.Network)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 99))
	st := map[string]*datasets.Array{}
	for _, tn := range net.reg.list {
		a := &datasets.Array{Shape: tn.shape, Data: make([]float64, tn.size()), Dtype: "<f4"}
		isNorm := len(tn.shape) == 1 && (contains(tn.name, "norm"))
		switch {
		case tn.buffer && hasSuffix(tn.name, ".freqs"):
			for i := range a.Data {
				a.Data[i] = 16 * r.NormFloat64()
			}
		case tn.buffer:
			f := s.Network.ResampleFilter
			sum := 0.0
			for _, v := range f {
				sum += float64(v)
			}
			for i := range f {
				for j := range f {
					a.Data[i*len(f)+j] = float64(float32(float64(f[i]*f[j]) / (sum * sum)))
				}
			}
		case isNorm && hasSuffix(tn.name, ".weight"):
			for i := range a.Data {
				a.Data[i] = 1 + 0.1*r.NormFloat64()
			}
		case len(tn.shape) == 1:
			for i := range a.Data {
				a.Data[i] = 0.05 * r.NormFloat64()
			}
		default:
			fan := tn.size() / tn.shape[0]
			sd := 1 / math.Sqrt(float64(fan))
			for i := range a.Data {
				a.Data[i] = sd * r.NormFloat64()
			}
		}
		st["model."+tn.name] = a
	}
	return st
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func hasSuffix(s, suf string) bool { return len(s) >= len(suf) && s[len(s)-len(suf):] == suf }

func TestNSParamCount(t *testing.T) {
	s := nsSpec()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	net, err := NewNetwork(s.Network)
	if err != nil {
		t.Fatal(err)
	}
	if got := net.NumParams(); got != 26790785 {
		t.Errorf("NS prior: %d parameters, want 26,790,785 (reference README §6)", got)
	}
}

func benchNS(b *testing.B, batch int) {
	m, err := New(nsSpec(), randomState(b, nsSpec(), 1), Settings{Workers: runtime.GOMAXPROCS(0)})
	if err != nil {
		b.Fatal(err)
	}
	dim := m.Dim()
	r := rand.New(rand.NewPCG(5, 6))
	x := mat.NewDense(batch, dim, nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = r.NormFloat64()
	}
	dst := mat.NewDense(batch, dim, nil)
	ctx := context.Background()
	if err := m.Denoise(ctx, dst, x, 1.0); err != nil { // warm-up: sizes the workspaces
		b.Fatal(err)
	}
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Denoise(ctx, dst, x, 1.0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(batch), "s/image")
	// CPU time (user+system) per image: robust when other processes share the cores
	b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N)/float64(batch), "cpu-s/image")
	m.mu.Lock()
	var bytes int
	for _, l := range m.pool {
		for _, ws := range l {
			bytes += ws.bytes()
		}
	}
	m.mu.Unlock()
	b.ReportMetric(float64(bytes)/float64(max(batch, 1))/(1<<20), "MiB-ws/image")
}

// BenchmarkNSPrior times the full Navier–Stokes prior (random weights). PyTorch 1.13 CPU
// on this kind of machine (2 threads): 0.43 s per image at batch 1, 1.99 s per batch of 4.
func BenchmarkNSPriorBatch1(b *testing.B) { benchNS(b, 1) }
func BenchmarkNSPriorBatch4(b *testing.B) { benchNS(b, 4) }

// TestNSFullSize cross-checks the full Navier–Stokes network (128², 5 levels, 4-head
// attention, K and N far beyond one GEMM block) against the PyTorch implementation in
// torchbench/ns_bench.py: run `python3 torchbench/ns_bench.py --export DIR/ns` and set
// ENKG_UNET_NS=DIR/ns. Skipped otherwise (the files are 107 MB).
func TestNSFullSize(t *testing.T) {
	p := os.Getenv("ENKG_UNET_NS")
	if p == "" {
		t.Skip("set ENKG_UNET_NS to the prefix written by torchbench/ns_bench.py --export")
	}
	m, err := Load(p+".npz", p+".json", Settings{})
	if err != nil {
		t.Fatal(err)
	}
	x := load(t, p+"_x.npy")
	s := load(t, p+"_sigma.npy")
	want := load(t, p+"_D.npy")
	n := x.Shape[0]
	dst := mat.NewDense(n, m.Dim(), nil)
	if err := m.DenoiseEach(context.Background(), dst, mat.NewDense(n, m.Dim(), x.Data), s.Data); err != nil {
		t.Fatal(err)
	}
	if e := relErr64(dst.RawMatrix().Data, want.Data); e > tol {
		t.Errorf("D relative error %.3g > %g", e, tol)
	} else {
		t.Logf("%s: D relative error %.2e", filepath.Base(p), e)
	}
}
