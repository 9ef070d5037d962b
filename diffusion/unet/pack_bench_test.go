package unet

import "testing"

func BenchmarkPackAIm2col(b *testing.B) {
	cin, h, w, k := 32, 64, 64, 3
	x := make([]float32, cin*h*w)
	for i := range x {
		x[i] = float32(i % 7)
	}
	dst := make([]float32, packASize(cin*k*k, h*w))
	b.SetBytes(int64(4 * cin * k * k * h * w))
	for i := 0; i < b.N; i++ {
		packAIm2col(dst, x, cin, h, w, k)
	}
}
