#!/usr/bin/env python3
"""PyTorch baseline for BenchmarkTrainStep: EDM training steps (EDMLoss, backward, Adam) of
NVlabs/edm's own EDMPrecond + SongUNet at 64x64, 1 channel, model_channels 32,
channel_mult [1,2,2], num_blocks 1, attention at 16 (EDM's default), dropout 0
(1,259,393 parameters), float32, CPU.

usage: /usr/bin/python3 train_bench.py /path/to/edm [--threads 2] [--batch 16] [--steps 6]

/path/to/edm is a checkout of NVlabs/edm (training/networks.py, training/loss.py,
torch_utils/). Prints images/s of each step and the best, after one warm-up step.
Run it right after `go test -run '^$' -bench TrainStep ./diffusion/unet/` on the same
machine and compare the img/s columns (scripts/train-bench.sh does both).
"""
import argparse, sys, time
import torch

ap = argparse.ArgumentParser()
ap.add_argument('edm')
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--batch', type=int, default=16)
ap.add_argument('--steps', type=int, default=6)
a = ap.parse_args()
sys.path.insert(0, a.edm)
from training import networks  # noqa: E402
from training.loss import EDMLoss  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(0)
net = networks.EDMPrecond(img_resolution=64, img_channels=1, model_type='SongUNet', model_channels=32,
                          channel_mult=[1, 2, 2], num_blocks=1, attn_resolutions=[16], dropout=0.0)
print('parameters', sum(p.numel() for p in net.parameters()))
opt = torch.optim.Adam(net.parameters(), lr=2e-4)
loss_fn = EDMLoss()
x = torch.randn(a.batch, 1, 64, 64) * 0.5
best = 0.0
for i in range(a.steps + 1):
    t = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(net, x).sum() / a.batch
    loss.backward()
    opt.step()
    ips = a.batch / (time.perf_counter() - t)
    if i > 0:
        best = max(best, ips)
        print(f'step {i}: {ips:.2f} img/s', flush=True)
print(f'best {best:.2f} img/s')
