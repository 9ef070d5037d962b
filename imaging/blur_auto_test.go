package imaging

import "testing"

func TestAutoBlurMethodFollowsCrossover(t *testing.T) {
	sh := Shape{3, 64, 64}
	for _, c := range []struct {
		k    int
		sep  bool
		want BlurMethod
	}{
		{3, false, BlurDirect}, {9, false, BlurDirect}, {15, false, BlurFFT}, {61, false, BlurFFT},
		{3, true, BlurSeparable}, {21, true, BlurSeparable}, {45, true, BlurFFT}, {61, true, BlurFFT},
	} {
		var b *Blur
		var err error
		if c.sep {
			b, err = NewGaussianBlur(sh, c.k, 3, BlurSettings{})
		} else {
			k, _ := MotionKernel(c.k, float64(c.k-1), 45)
			b, err = NewBlur(sh, k, c.k, BlurSettings{})
		}
		if err != nil {
			t.Fatal(err)
		}
		if b.Method() != c.want {
			t.Errorf("k = %d (separable %v): auto chose %v, want %v", c.k, c.sep, b.Method(), c.want)
		}
	}
}
