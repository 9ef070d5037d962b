package unet

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/enkg-go/enkg/datasets"
)

// Load fills the network's tensors from a state_dict given as name → array (as read by
// datasets.LoadNPZ from the exported .npz). Keys may carry the wrapper's "model." prefix
// (the state_dict of EDMPrecond/VPPrecond/VEPrecond) or not (the network's own). Every
// tensor is checked: a missing, unexpected or mis-shaped tensor, or a non-finite value, is
// an error naming it. Values are rounded to float32.
func (n *Network) Load(state map[string]*datasets.Array) error {
	prefixed := 0
	for k := range state {
		if strings.HasPrefix(k, "model.") {
			prefixed++
		}
	}
	strip := prefixed > 0
	if strip && prefixed != len(state) {
		var odd []string
		for k := range state {
			if !strings.HasPrefix(k, "model.") {
				odd = append(odd, k)
			}
		}
		sort.Strings(odd)
		return fmt.Errorf("unet: unexpected tensor(s) outside the network: %s", strings.Join(odd, ", "))
	}
	keys := make([]string, 0, len(state))
	for k := range state {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic error messages
	seen := map[string]bool{}
	var extra []string
	for _, k := range keys {
		a := state[k]
		name := k
		if strip {
			name = strings.TrimPrefix(k, "model.")
		}
		t, ok := n.reg.byName[name]
		if !ok {
			extra = append(extra, k)
			continue
		}
		seen[name] = true
		if a.Data == nil {
			return fmt.Errorf("unet: tensor %s has dtype %s, want a real float array", k, a.Dtype)
		}
		if !sameShape(a.Shape, t.shape) {
			return fmt.Errorf("unet: tensor %s has shape %v, want %v", k, a.Shape, t.shape)
		}
		t.data = make([]float32, len(a.Data))
		for i, v := range a.Data {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("unet: tensor %s has a non-finite value at flat index %d", k, i)
			}
			t.data[i] = float32(v)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return fmt.Errorf("unet: unexpected tensor(s) for %s: %s", n.spec.Type, strings.Join(extra, ", "))
	}
	var missing []string
	for _, t := range n.reg.list {
		if !seen[t.name] {
			missing = append(missing, t.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("unet: missing tensor(s) for %s: %s", n.spec.Type, strings.Join(missing, ", "))
	}
	// the resample filters must be the outer product of the configured FIR taps
	for _, t := range n.reg.list {
		if !strings.HasSuffix(t.name, ".resample_filter") || len(t.shape) != 4 {
			continue
		}
		f := n.spec.ResampleFilter
		s := 0.0
		for _, v := range f {
			s += float64(v)
		}
		for i := range f {
			for j := range f {
				want := float32(float64(f[i]) * float64(f[j]) / (s * s))
				if got := t.data[i*len(f)+j]; math.Abs(float64(got-want)) > 1e-6*math.Abs(float64(want))+1e-12 {
					return fmt.Errorf("unet: %s[%d,%d] = %v, want %v for resample_filter %v", t.name, i, j, got, want, f)
				}
			}
		}
	}
	n.prepare()
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// prepare packs the convolution weights for the GEMM.
func (n *Network) prepare() {
	n.mapNoise.prepare()
	n.eachConv(func(c *conv2d) { c.prepare(n.trainable) })
}
