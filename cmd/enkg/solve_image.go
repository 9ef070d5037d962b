package main

import (
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/imaging"
	"github.com/enkg-go/enkg/problem"
)

// solveImageMetrics scores each member of an ensemble (the paper's per-sample numbers): mean
// and standard deviation over members of PSNR and SSIM, clipped, data range 2.
func solveImageMetrics(ens *mat.Dense, truth []float64, sh imaging.Shape) (psnr, ssim [2]float64, err error) {
	j, _ := ens.Dims()
	var ps, ss []float64
	for i := 0; i < j; i++ {
		c := problem.Clip(ens.RawRowView(i))
		p, err := imaging.PSNR(c, truth, 2)
		if err != nil {
			return psnr, ssim, err
		}
		s, err := imaging.SSIM(c, truth, sh, 2)
		if err != nil {
			return psnr, ssim, err
		}
		ps, ss = append(ps, p), append(ss, s)
	}
	return meanStd(ps), meanStd(ss), nil
}

func meanStd(v []float64) [2]float64 {
	var m, s float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	if len(v) > 1 {
		s /= float64(len(v) - 1)
	}
	return [2]float64{m, math.Sqrt(s)}
}
