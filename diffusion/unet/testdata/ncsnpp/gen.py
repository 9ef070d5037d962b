#!/usr/bin/env python3
"""Generate the NCSN++-option fixtures of TestNCSNpp from NVlabs/edm's own model code.

usage: python3 gen.py /path/to/edm [outdir]

/path/to/edm is a checkout of NVlabs/edm (training/networks.py, torch_utils/). Cases (16x16,
1 channel, model_channels 8, channel_mult [1,2,2], attention at 8, num_blocks 1, VEPrecond):
  N1  NCSN++ as published: fourier embedding (channel_mult_noise 2), encoder 'residual'
      (fused 2x down conv), decoder 'skip', resample_filter [1,3,3,1]
  N2  positional embedding, encoder 'skip', decoder 'skip', resample_filter [1,1]
Weights are randomised like the shared reference (torch.manual_seed(1234); conv/linear
weights N(0, 1/fan_in), biases N(0, 0.05^2), GroupNorm 1+N(0, 0.1^2) / N(0, 0.05^2); buffers
as constructed). Inputs: x = randn(3,1,16,16; seed 4321) * sigma, sigma = [0.02, 1, 40].
Writes <case>.npz with weights (the state_dict, 'model.' names), and x, sigma, D, F and
every enc/dec module output (act:<name>), map_noise, map_layer0/1, emb; and <case>.json
(our model description).
"""
import io, json, sys, zipfile
import numpy as np
import torch

edm, out = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else '.')
sys.path.insert(0, edm)
from training import networks  # noqa: E402

torch.set_num_threads(1)
CASES = {
    'N1': dict(embedding_type='fourier', channel_mult_noise=2, encoder_type='residual', decoder_type='skip', resample_filter=[1, 3, 3, 1]),
    'N2': dict(embedding_type='positional', channel_mult_noise=1, encoder_type='skip', decoder_type='skip', resample_filter=[1, 1]),
}
BASE = dict(model_channels=8, channel_mult=[1, 2, 2], attn_resolutions=[8], num_blocks=1, dropout=0.0)

for case, opts in CASES.items():
    torch.manual_seed(1234)
    net = networks.VEPrecond(img_resolution=16, img_channels=1, model_type='SongUNet', **BASE, **opts).eval()
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, (networks.Conv2d, networks.Linear)):
                if m.weight is not None:
                    fan = m.weight[0].numel()
                    m.weight.copy_(torch.randn(m.weight.shape) / fan ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(0.05 * torch.randn(m.bias.shape))
            elif isinstance(m, networks.GroupNorm):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape))
                m.bias.copy_(0.05 * torch.randn(m.bias.shape))
    sigma = torch.tensor([0.02, 1.0, 40.0])
    x = torch.randn(3, 1, 16, 16, generator=torch.Generator().manual_seed(4321)) * sigma[:, None, None, None]
    acts = {}
    hooks = []
    for prefix, md in (('enc.', net.model.enc), ('dec.', net.model.dec)):
        for name, m in md.items():
            hooks.append(m.register_forward_hook(lambda mod, inp, o, n=prefix + name: acts.__setitem__(n, o.detach().clone())))
    for name in ('map_noise', 'map_layer0', 'map_layer1'):
        hooks.append(getattr(net.model, name).register_forward_hook(lambda mod, inp, o, n=name: acts.__setitem__(n, o.detach().clone())))
    Fout = {}
    hooks.append(net.model.register_forward_hook(lambda mod, inp, o: Fout.__setitem__('F', o.detach().clone())))
    with torch.no_grad():
        D = net(x, sigma)
    acts['emb'] = torch.nn.functional.silu(acts['map_layer1'])
    arrays = {'weights:' + k: v for k, v in net.state_dict().items()}
    arrays.update({'x': x, 'sigma': sigma, 'D': D, 'F': Fout['F']})
    arrays.update({'act:' + k: v for k, v in acts.items()})
    with zipfile.ZipFile(f'{out}/{case}.npz', 'w', compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in arrays.items():
            b = io.BytesIO()
            np.lib.format.write_array(b, np.ascontiguousarray(v.numpy().astype('<f4')))
            z.writestr(k + '.npy', b.getvalue())
    net_desc = dict(type='SongUNet', img_resolution=16, in_channels=1, out_channels=1, **BASE, **opts)
    net_desc.pop('dropout')
    json.dump({'format': 'enkg-unet/1', 'precond': {'type': 'VE'}, 'network': net_desc}, open(f'{out}/{case}.json', 'w'), indent=1)
    print(case, 'params', sum(p.numel() for p in net.parameters()), 'acts', len(acts), 'max|D|', float(D.abs().max()))
