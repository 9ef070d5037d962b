package unet

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// pythonWithTorch returns a python3 that imports torch and numpy, or skips the test.
func pythonWithTorch(t *testing.T) string {
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", "import torch, numpy").Run() == nil {
			return p
		}
	}
	t.Skip("python3 with torch and numpy not available (Debian: apt-get install python3-torch python3-numpy)")
	return ""
}

// TestExportWeights runs tools/export_weights.py on checkpoints built from the reference
// weights, in the layouts it accepts, and checks that the exported pair (npz + JSON)
// reproduces PyTorch's D in Go:
//   - {'ema': state_dict} with the reference config (case B, VPPrecond + SongUNet);
//   - a bare network state_dict with an InverseBench-style YAML config (case A);
//   - a pickled module (stand-in EDM classes with EDM's attribute and parameter names),
//     whose description is read from the module itself (case C, EDMPrecond + SongUNet);
//   - a Hugging Face snapshot, model.safetensors + config.json, with --precond VE (case D).
func TestExportWeights(t *testing.T) {
	py := pythonWithTorch(t)
	script, err := filepath.Abs(filepath.Join("..", "..", "tools", "export_weights.py"))
	if err != nil {
		t.Fatal(err)
	}
	td, _ := filepath.Abs("testdata")
	dir := t.TempDir()
	mk := `
import json, sys, numpy as np, torch
sys.path.insert(0, sys.argv[2])
import fakeedm
td, out = sys.argv[1], sys.argv[3]
w = np.load(td + '/BCD_weights.npz')
torch.save({'ema': {k: torch.from_numpy(w[k]) for k in w.files}, 'step': 1}, out + '/B.pt')
a = np.load(td + '/A_weights.npz')
torch.save({k[len('model.'):]: torch.from_numpy(a[k]) for k in a.files}, out + '/A.pt')
open(out + '/A.yaml', 'w').write('''model:
  _target_: models.precond.EDMPrecond
  img_resolution: 16
  img_channels: 1
  model_type: DhariwalUNet
  model_channels: 16
  channel_mult: [1, 2]
  attn_resolutions: [8]
  num_blocks: 1
  dropout: 0.0
''')
# a Hugging Face hub snapshot (PyTorchModelHubMixin): model.safetensors + config.json
hdr, blobs, off = {}, [], 0
for k in w.files:
    b = np.ascontiguousarray(w[k], dtype='<f4').tobytes()
    hdr[k] = {'dtype': 'F32', 'shape': list(w[k].shape), 'data_offsets': [off, off + len(b)]}
    blobs.append(b); off += len(b)
hdr['__metadata__'] = {'format': 'pt'}
h = json.dumps(hdr).encode()
h += b' ' * ((8 - len(h) % 8) % 8)
with open(out + '/model.safetensors', 'wb') as f:
    f.write(len(h).to_bytes(8, 'little')); f.write(h); f.write(b''.join(blobs))
json.dump({'img_resolution': 16, 'img_channels': 1, 'label_dim': 0, 'sigma_min': 0.02, 'sigma_max': 100,
           'model_type': 'SongUNet', 'model_channels': 16, 'channel_mult': [1, 2], 'attn_resolutions': [8],
           'num_blocks': 1, 'dropout': 0.0}, open(out + '/config.json', 'w'))
cfg = json.load(open(td + '/C_config.json'))
inner = fakeedm.SongUNet({k[len('model.'):]: torch.from_numpy(w[k]) for k in w.files}, **cfg['model_constructor_resolved'])
torch.save({'ema': fakeedm.EDMPrecond(inner, 16, 1)}, out + '/C.pt')
`
	cmd := exec.Command(py, "-c", mk, td, filepath.Join(td, "export"), dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building checkpoints: %v\n%s", err, b)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"B", []string{filepath.Join(dir, "B.pt"), "--config", filepath.Join(td, "B_config.json")}},
		{"A", []string{filepath.Join(dir, "A.pt"), "--config", filepath.Join(dir, "A.yaml")}},
		{"C", []string{filepath.Join(dir, "C.pt"), "--code-dir", filepath.Join(td, "export")}},
		{"D", []string{filepath.Join(dir, "model.safetensors"), "--config", filepath.Join(dir, "config.json"), "--precond", "VE"}},
	} {
		out := filepath.Join(dir, "out", c.name)
		args := append([]string{script}, c.args...)
		args = append(args, "--out", out)
		if b, err := exec.Command(py, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s: export: %v\n%s", c.name, err, b)
		}
		m, err := Load(out+".npz", out+".json", Settings{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		x := load(t, filepath.Join(td, c.name+"_x.npy"))
		s := load(t, filepath.Join(td, c.name+"_sigma.npy"))
		want := load(t, filepath.Join(td, c.name+"_D.npy"))
		n := x.Shape[0]
		dst := mat.NewDense(n, m.Dim(), nil)
		if err := m.DenoiseEach(context.Background(), dst, mat.NewDense(n, m.Dim(), x.Data), s.Data); err != nil {
			t.Fatal(err)
		}
		if e := relErr64(dst.RawMatrix().Data, want.Data); e > tol {
			t.Errorf("%s: D relative error %.3g", c.name, e)
		}
		if _, err := os.Stat(out + ".json"); err != nil {
			t.Error(err)
		}
	}
}
