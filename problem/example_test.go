package problem_test

import (
	"context"
	"fmt"

	"github.com/enkg-go/enkg/guidance"
	"github.com/enkg-go/enkg/problem"
)

// A linear-Gaussian problem from YAML, solved with EKI at the EnKG settings' forward budget;
// the prior lives in x = field/3 but the result is in field units. (J = 128 members in 256
// dimensions: EKI stays in their span, far from the exact posterior mean.)
func Example() {
	c, err := problem.Parse(`
problem: {kind: linear-gaussian, size: 16, stride: 1, noise: 0.1}
prior: {kind: gaussian, variance: 1, scale: 3}
truth: {seed: 1}
algorithm:
  name: eki
  enkg: {members: 128, steps: 10, updates: 1, scale: 1}
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := problem.Build(context.Background(), c)
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := c.Method()
	res, err := p.Run(context.Background(), m, guidance.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("budget", c.Budget(), "spent", res.Counts.Forward)
	fmt.Printf("rel L2 %.2f (exact posterior mean %.2f)\n", res.Metrics["rel_l2"], res.Metrics["posterior_mean_rel_l2"])
	// Output:
	// budget 896 spent 896
	// rel L2 0.75 (exact posterior mean 0.03)
}
