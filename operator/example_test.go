package operator_test

import (
	"context"
	"fmt"

	"github.com/enkg-go/enkg/operator"
	"gonum.org/v1/gonum/mat"
)

func Example() {
	// A linear forward model y = A·x and the Gaussian misfit of noise σ = 0.5.
	op, err := operator.NewMatrix(mat.NewDense(2, 2, []float64{1, 1, 0, 2}))
	if err != nil {
		panic(err)
	}
	x := []float64{1, 2}
	y := make([]float64, op.OutputDim())
	if err := op.Forward(context.Background(), y, x); err != nil {
		panic(err)
	}
	obs := []float64{3.5, 4}
	m := operator.Gaussian{Sigma: 0.5}
	fmt.Println("G(x) =", y, "loss =", m.Loss(y, obs))
	// Output: G(x) = [3 4] loss = 0.5
}
