package h5_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/enkg-go/enkg/datasets/h5"
)

// Generate a dataset member by member, interrupt it, resume it, and read it back.
func Example() {
	dir, _ := os.MkdirTemp("", "h5example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "ns.h5")

	const n, nx, ny = 3, 4, 4
	field := func(i int) []float64 {
		f := make([]float64, nx*ny)
		for k := range f {
			f[k] = float64(100*i + k)
		}
		return f
	}
	f, err := h5.Create(path, n, nx, ny, &h5.Settings{Deflate: 4})
	if err != nil {
		log.Fatal(err)
	}
	_ = h5.SetAttr(f, "re", 200.0)
	_ = h5.SetAttr(f, "seed", int64(1))
	_ = h5.SetAttr(f, "forcing", "kolmogorov")
	_ = f.WriteMember(0, field(0))
	f.Close() // interrupted after one member

	f, _ = h5.Resume(path, "")
	pending, _ := f.Pending()
	fmt.Println("pending:", pending)
	for _, i := range pending {
		_ = f.WriteMember(i, field(i))
	}
	f.Close()

	f, _ = h5.Open(path, "")
	defer f.Close()
	dst := make([]float64, nx*ny)
	_ = f.ReadMember(dst, 2)
	re, _ := h5.Attr[float64](f, "re")
	forcing, _ := h5.Attr[string](f, "forcing")
	fmt.Println("member 2:", dst[:3], "re:", re, "forcing:", forcing)
	// Output:
	// pending: [1 2]
	// member 2: [200 201 202] re: 200 forcing: kolmogorov
}
