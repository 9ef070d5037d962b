package problem_test

import (
	"path/filepath"
	"testing"

	"github.com/enkg-go/enkg/problem"
)

// TestConfigsLoad: every shipped config loads strictly and names a valid method, and EKI
// with equal_budget matches the EnKG budget.
func TestConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "configs", "*.yaml"))
	if len(files) < 10 {
		t.Fatalf("found %d configs", len(files))
	}
	for _, f := range files {
		c, err := problem.Load(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := c.Method(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		c.Algorithm.Name = "eki"
		if c.Algorithm.EKI.EqualBudget {
			s := c.EKISettings()
			if got := int64(s.Members) * int64(s.Iterations); got != c.Budget() && c.Budget() > 0 {
				t.Errorf("%s: EKI spends %d, EnKG %d", f, got, c.Budget())
			}
		}
	}
}
