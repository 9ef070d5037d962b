package enkgtest_test

import (
	"fmt"

	"github.com/enkg-go/enkg/enkgtest"
)

func ExampleCompare() {
	d := enkgtest.Compare([]float64{1, 2.5, 3}, []float64{1, 2, 3}, enkgtest.Tol{Rel: 1e-6})
	fmt.Println(d.Violations, d.Worst)
	// Output: 1 1
}
