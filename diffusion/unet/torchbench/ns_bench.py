#!/usr/bin/env python3
"""PyTorch baseline for BenchmarkNSPrior*: the EnKG Navier-Stokes prior (EDMPrecond +
DhariwalUNet, 128x128, model_channels 128, channel_mult [1,1,1,2,2], attention at 16,
num_blocks 1; 26,790,785 parameters) written with torch ops following NVlabs/edm
training/networks.py (fused_resample=False), random weights, float32, CPU.

usage: python3 ns_bench.py [--threads 2] [--batch 1 4] [--reps 3] [--export PREFIX]

Prints wall and CPU seconds per image (best of --reps) for each batch size. With --export it
also writes the random weights and a test vector (PREFIX.npz, PREFIX.json, PREFIX_x.npy,
PREFIX_sigma.npy, PREFIX_D.npy) for a full-size cross-check of the Go network.
"""
import argparse, io, json, math, time, zipfile
import numpy as np
import torch
import torch.nn.functional as F


def build(mc=128, mult=(1, 1, 1, 2, 2), attn=(16,), nb=1, res=128, ch=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    P = {}
    def lin(n, i, o):
        P[n + '.weight'] = torch.randn(o, i, generator=g) / math.sqrt(i); P[n + '.bias'] = 0.05 * torch.randn(o, generator=g)
    def conv(n, i, o, k):
        P[n + '.weight'] = torch.randn(o, i, k, k, generator=g) / math.sqrt(i * k * k); P[n + '.bias'] = 0.05 * torch.randn(o, generator=g)
    def gn(n, c):
        P[n + '.weight'] = 1 + 0.1 * torch.randn(c, generator=g); P[n + '.bias'] = 0.05 * torch.randn(c, generator=g)
    emb = mc * 4
    blocks = []
    def block(n, cin, cout, up=False, down=False, a=False):
        gn(n + '.norm0', cin); conv(n + '.conv0', cin, cout, 3); lin(n + '.affine', emb, 2 * cout)
        gn(n + '.norm1', cout); conv(n + '.conv1', cout, cout, 3)
        for c in (['conv0'] + (['skip'] if (up or down) else [])) if (up or down) else []:
            P[n + '.' + c + '.resample_filter'] = torch.full((1, 1, 2, 2), 0.25)
        skip = cout != cin or up or down
        if skip and cout != cin:
            conv(n + '.skip', cin, cout, 1)
        heads = cout // 64 if a else 0
        if heads:
            gn(n + '.norm2', cout); conv(n + '.qkv', cout, 3 * cout, 1); conv(n + '.proj', cout, cout, 1)
        return dict(n=n, cin=cin, cout=cout, up=up, down=down, skip=skip, heads=heads)
    lin('map_layer0', mc, emb); lin('map_layer1', emb, emb)
    enc, cout = [], ch
    for lvl, m in enumerate(mult):
        r = res >> lvl
        if lvl == 0:
            cin, cout = cout, mc * m; conv(f'enc.{r}x{r}_conv', cin, cout, 3); enc.append(dict(n=f'enc.{r}x{r}_conv', conv=True, cout=cout))
        else:
            enc.append(block(f'enc.{r}x{r}_down', cout, cout, down=True))
        for i in range(nb):
            cin, cout = cout, mc * m; enc.append(block(f'enc.{r}x{r}_block{i}', cin, cout, a=r in attn))
    skips = [e['cout'] for e in enc]
    dec = []
    for lvl in reversed(range(len(mult))):
        r, m = res >> lvl, mult[lvl]
        if lvl == len(mult) - 1:
            dec.append(block(f'dec.{r}x{r}_in0', cout, cout, a=True)); dec.append(block(f'dec.{r}x{r}_in1', cout, cout))
        else:
            dec.append(block(f'dec.{r}x{r}_up', cout, cout, up=True))
        for i in range(nb + 1):
            cin, cout = cout + skips.pop(), mc * m; dec.append(block(f'dec.{r}x{r}_block{i}', cin, cout, a=r in attn))
    gn('out_norm', cout); conv('out_conv', cout, ch, 3)
    return P, enc, dec, mc


def forward(P, enc, dec, mc, x, noise):
    def c(n, x, pad=True):
        w = P[n + '.weight']; return F.conv2d(x, w, P[n + '.bias'], padding=w.shape[-1] // 2)
    def gn(n, x):
        C = x.shape[1]; return F.group_norm(x, min(32, C // 4), P[n + '.weight'], P[n + '.bias'], eps=1e-5)
    def blk(b, x, emb):
        n, orig = b['n'], x
        x = F.silu(gn(n + '.norm0', x))
        if b['up']: x = F.interpolate(x, scale_factor=2, mode='nearest')
        if b['down']: x = F.avg_pool2d(x, 2)
        x = c(n + '.conv0', x)
        p = F.linear(emb, P[n + '.affine.weight'], P[n + '.affine.bias'])[:, :, None, None]
        scale, shift = p.chunk(2, dim=1)
        x = F.silu(torch.addcmul(shift, gn(n + '.norm1', x), scale + 1))
        x = c(n + '.conv1', x)
        if b['skip']:
            s = orig
            if b['up']: s = F.interpolate(s, scale_factor=2, mode='nearest')
            if b['down']: s = F.avg_pool2d(s, 2)
            if b['cout'] != b['cin']: s = c(n + '.skip', s)
            x = x + s
        else:
            x = x + orig
        if b['heads']:
            N, C, H, W = x.shape; h = b['heads']
            q, k, v = c(n + '.qkv', gn(n + '.norm2', x)).reshape(N * h, C // h, 3, H * W).permute(0, 3, 2, 1).unbind(2)
            a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(C // h), dim=-1) @ v
            x = c(n + '.proj', a.permute(0, 2, 1).reshape(N, C, H, W)) + x
        return x
    fr = (1 / 10000) ** (torch.arange(mc // 2, dtype=torch.float32) / (mc // 2))
    e = torch.outer(noise, fr); e = torch.cat([e.cos(), e.sin()], 1)
    e = F.silu(F.linear(e, P['map_layer0.weight'], P['map_layer0.bias']))
    e = F.silu(F.linear(e, P['map_layer1.weight'], P['map_layer1.bias']))
    skips = []
    for b in enc:
        x = c(b['n'], x) if b.get('conv') else blk(b, x, e); skips.append(x)
    for b in dec:
        if x.shape[1] != b['cin']: x = torch.cat([x, skips.pop()], 1)
        x = blk(b, x, e)
    return c('out_conv', F.silu(gn('out_norm', x)))


def denoise(P, enc, dec, mc, x, sigma, sd=0.5):
    s = sigma.reshape(-1, 1, 1, 1)
    c_skip = sd ** 2 / (s ** 2 + sd ** 2); c_out = s * sd / (s ** 2 + sd ** 2).sqrt(); c_in = 1 / (sd ** 2 + s ** 2).sqrt()
    return c_skip * x + c_out * forward(P, enc, dec, mc, c_in * x, (s.log() / 4).flatten())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--batch', type=int, nargs='+', default=[1, 4])
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--export')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    P, enc, dec, mc = build()
    print('parameters:', sum(v.numel() for k, v in P.items() if not k.endswith('resample_filter')))
    with torch.no_grad():
        if a.export:
            g = torch.Generator().manual_seed(7)
            sigma = torch.tensor([0.05, 1.0, 30.0])
            x = torch.randn(3, 1, 128, 128, generator=g) * (1 + sigma.reshape(-1, 1, 1, 1))
            d = denoise(P, enc, dec, mc, x, sigma)
            with zipfile.ZipFile(a.export + '.npz', 'w') as z:
                for k, v in P.items():
                    b = io.BytesIO(); np.lib.format.write_array(b, v.numpy().astype('<f4')); z.writestr('model.' + k + '.npy', b.getvalue())
            json.dump({'precond': {'type': 'EDM'}, 'network': {'type': 'DhariwalUNet', 'img_resolution': 128, 'in_channels': 1, 'out_channels': 1,
                       'model_channels': 128, 'channel_mult': [1, 1, 1, 2, 2], 'attn_resolutions': [16], 'num_blocks': 1}}, open(a.export + '.json', 'w'))
            for n, v in (('x', x), ('sigma', sigma), ('D', d)):
                np.save(f'{a.export}_{n}.npy', v.numpy().astype('<f4'))
        for bs in a.batch:
            x = torch.randn(bs, 1, 128, 128)
            sigma = torch.ones(bs)
            denoise(P, enc, dec, mc, x, sigma)  # warm-up
            best_w, best_c = 1e9, 1e9
            for _ in range(a.reps):
                t0, c0 = time.perf_counter(), time.process_time()
                denoise(P, enc, dec, mc, x, sigma)
                best_w = min(best_w, time.perf_counter() - t0); best_c = min(best_c, time.process_time() - c0)
            print(f'batch {bs}: {best_w / bs:.3f} s/image wall, {best_c / bs:.3f} cpu-s/image (best of {a.reps}, {a.threads} threads)')


if __name__ == '__main__':
    main()
