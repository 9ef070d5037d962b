package unet_test

import (
	"context"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/enkg-go/enkg/datasets"
	"github.com/enkg-go/enkg/diffusion/unet"
)

// Load a DhariwalUNet behind EDMPrecond (reference case A: weights exported from PyTorch
// and the generator's config) and denoise three images with their own noise levels.
func Example() {
	m, err := unet.Load("testdata/A_weights.npz", "testdata/A_config.json", unet.Settings{Workers: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	x, _ := datasets.LoadNPY("testdata/A_x.npy")         // (3, 1, 16, 16)
	sigma, _ := datasets.LoadNPY("testdata/A_sigma.npy") // 0.02, 1, 40
	ref, _ := datasets.LoadNPY("testdata/A_D.npy")       // PyTorch's D(x; σ)
	n := x.Shape[0]
	X := mat.NewDense(n, m.Dim(), x.Data)
	D := mat.NewDense(n, m.Dim(), nil)
	if err := m.DenoiseEach(context.Background(), D, X, sigma.Data); err != nil {
		fmt.Println(err)
		return
	}
	var md, mr float64
	for i, r := range ref.Data {
		md = math.Max(md, math.Abs(D.RawMatrix().Data[i]-r))
		mr = math.Max(mr, math.Abs(r))
	}
	s := m.Spec()
	fmt.Printf("%sPrecond + %s, %d parameters, %d pixels per image\n", s.Precond.Type, s.Network.Type, m.Network().NumParams(), m.Dim())
	fmt.Println("agrees with PyTorch to 1e-5 of max|D|:", md <= 1e-5*mr)
	// Output:
	// EDMPrecond + DhariwalUNet, 191217 parameters, 256 pixels per image
	// agrees with PyTorch to 1e-5 of max|D|: true
}
