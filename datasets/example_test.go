package datasets_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/enkg-go/enkg/datasets"
)

// Save a field as .npy (numpy.load reads it) and a pair of arrays as .npz, then read them.
func Example() {
	dir, _ := os.MkdirTemp("", "npyexample")
	defer os.RemoveAll(dir)

	w := []float64{1, 2, 3, 4, 5, 6} // a 2×3 field, row-major
	if err := datasets.SaveNPY(filepath.Join(dir, "w.npy"), []int{2, 3}, w); err != nil {
		log.Fatal(err)
	}
	a, err := datasets.LoadNPY(filepath.Join(dir, "w.npy"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Dtype, a.Shape, a.Data)

	err = datasets.SaveNPZ(filepath.Join(dir, "run.npz"), map[string]*datasets.Array{
		"truth": {Shape: []int{2, 3}, Data: w},
		"obs":   {Shape: []int{2}, Data: []float64{0.5, 0.25}, Dtype: "<f4"},
	})
	if err != nil {
		log.Fatal(err)
	}
	m, _ := datasets.LoadNPZ(filepath.Join(dir, "run.npz"))
	fmt.Println(m["obs"].Dtype, m["obs"].Data, m["truth"].Shape)
	// Output:
	// <f8 [2 3] [1 2 3 4 5 6]
	// <f4 [0.5 0.25] [2 3]
}
