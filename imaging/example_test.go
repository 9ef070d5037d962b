package imaging_test

import (
	"context"
	"fmt"
	"math"

	"github.com/enkg-go/enkg/imaging"
)

func Example() {
	// A 3-channel 32×32 image in [−1, 1].
	sh := imaging.Shape{C: 3, H: 32, W: 32}
	x := make([]float64, sh.Dim())
	for c := 0; c < sh.C; c++ {
		for i := 0; i < sh.H; i++ {
			for j := 0; j < sh.W; j++ {
				x[(c*sh.H+i)*sh.W+j] = math.Sin(float64(i+c)/5) * math.Cos(float64(j)/7)
			}
		}
	}
	ctx := context.Background()

	// ×4 super-resolution by average pooling, and the published Gaussian blur (k = 9, σ = 3).
	sr, _ := imaging.NewDownsample(sh, 4, imaging.AvgPool)
	blur, _ := imaging.NewGaussianBlur(sh, 9, 3, imaging.BlurSettings{})
	y := make([]float64, sr.OutputDim())
	_ = sr.Forward(ctx, y, x)
	fmt.Println("super-resolution measurement:", sr.OutShape())

	b := make([]float64, blur.OutputDim())
	_ = blur.Forward(ctx, b, x)
	psnr, _ := imaging.PSNR(b, x, 2)
	ssim, _ := imaging.SSIM(b, x, sh, 2)
	fmt.Printf("blurred image: %v method, PSNR %.2f dB, SSIM %.3f\n", blur.Method(), psnr, ssim)

	// Box inpainting: a 16×16 hole at least 2 pixels from the top-left borders.
	mask, box, _ := imaging.BoxMask(sh.H, sh.W, imaging.BoxMaskSettings{SizeRange: [2]int{16, 17}}, 1)
	inp, _ := imaging.NewInpaint(sh, mask)
	m := make([]float64, inp.OutputDim())
	_ = inp.Forward(ctx, m, x)
	fmt.Printf("box %d×%d\n", box.Height, box.Width)

	// Phase retrieval with the published oversampling 2: pad 8 on each side.
	pr, _ := imaging.NewPhaseRetrieval(sh, 2)
	fmt.Println("phase-retrieval measurement:", pr.OutShape())
	// Output:
	// super-resolution measurement: 3×8×8
	// blurred image: separable method, PSNR 25.23 dB, SSIM 0.968
	// box 16×16
	// phase-retrieval measurement: 3×48×48
}
