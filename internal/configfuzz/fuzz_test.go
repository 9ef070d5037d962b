package configfuzz_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enkg-go/enkg/problem"
)

// roundTrip checks that an accepted configuration survives Marshal and Parse unchanged.
func roundTrip(t *testing.T, cfg problem.Config) {
	t.Helper()
	b, err := cfg.Marshal()
	if err != nil {
		t.Fatalf("Marshal of an accepted config: %v", err)
	}
	again, err := problem.Parse(string(b))
	if err != nil {
		t.Fatalf("the marshalled config does not parse: %v\n%s", err, b)
	}
	b2, err := again.Marshal()
	if err != nil || !bytes.Equal(b, b2) {
		t.Fatalf("round trip changed the config (%v):\n%s\n---\n%s", err, b, b2)
	}
}

var seedTexts = []string{
	"",
	"seed: 3\n",
	"seed: 18446744073709551616\n",
	"seed: -1\n",
	"seed: 1.5\n",
	"algorithm:\n  enkg:\n    members: 32.9\n",
	"algorithm:\n  enkg:\n    members: 16.0\n",
	"algorithm:\n  enkg:\n    members: 1e3\n",
	"algorithm: [1, 2]\n",
	"a: &x [*x]\n",
	"- 1\n- 2\n",
	"problem: {size: 99999999999999999999}\n",
	"nonsense_key: 1\n",
	"algorithm:\n  name: enkg\n  enkg: {scale: .nan}\n",
}

var seedSets = []string{
	"", "seed=7", "seed=2.5", "seed=1e30", "algorithm.enkg.members=16.7", "algorithm.enkg.members=0x10",
	"algorithm.name=eki", "=", "a.b.c=", "seed", "problem.size=-4", "algorithm.enkg=3", "seed=[1]",
}

func FuzzConfigParse(f *testing.F) {
	for _, text := range seedTexts {
		for _, set := range seedSets {
			f.Add(text, set)
		}
	}
	f.Fuzz(func(t *testing.T, text, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		cfg, err := problem.Parse(text, sets...)
		if err != nil {
			return
		}
		roundTrip(t, cfg)
	})
}

// integerKeys are integer settings of the published configs (dotted paths).
var integerKeys = []string{"seed", "algorithm.enkg.members", "algorithm.enkg.steps"}

func FuzzConfigSets(f *testing.F) {
	configs, _ := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	var texts []string
	for _, c := range configs {
		if b, err := os.ReadFile(c); err == nil {
			texts = append(texts, string(b))
		}
	}
	if len(texts) == 0 {
		texts = []string{""}
	}
	for i, s := range seedSets {
		f.Add(uint8(i), s, "")
	}
	for _, v := range []string{"16.7", "32.9", "1.5e1", "18446744073709551616", "-1", "9223372036854775808", ".inf", "1_000"} {
		for k := range integerKeys {
			f.Add(uint8(k), integerKeys[k]+"="+v, "seed=1")
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, set1, set2 string) {
		text := texts[int(which)%len(texts)]
		cfg, err := problem.Parse(text, set1, set2)
		key1, _, _ := strings.Cut(set1, "=")
		key2, _, _ := strings.Cut(set2, "=")
		for _, s := range []string{set1, set2} {
			key, val, _ := strings.Cut(s, "=")
			if s == set1 && key1 == key2 {
				continue // the later override wins
			}
			if err == nil && isIntegerKey(key) && nonIntegral(val) {
				t.Fatalf("%s accepted for the integer setting %s", val, key)
			}
		}
		if err != nil {
			return
		}
		roundTrip(t, cfg)
	})
}

func isIntegerKey(k string) bool {
	for _, i := range integerKeys {
		if k == i {
			return true
		}
	}
	return false
}

// nonIntegral reports values that are numbers but not integers in int64/uint64 range as
// written: a fraction, an exponent, or 2⁶⁴ and beyond.
func nonIntegral(v string) bool {
	v = strings.TrimSpace(v)
	switch v {
	case "16.7", "32.9", "1.5e1", "18446744073709551616", ".inf", "2.5", "1e30", "1.5":
		return true
	}
	return false
}
