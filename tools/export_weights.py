#!/usr/bin/env python3
"""Export an EDM / EnKG / InverseBench diffusion checkpoint for enkg (Go).

Step 1 of the two-step workflow (step 2: `enkg prior denoise`, or unet.Load in Go):

    python3 tools/export_weights.py CHECKPOINT --out PREFIX [options]

writes
    PREFIX.npz   every tensor of the preconditioned network's state_dict (float32, PyTorch
                 names, e.g. model.enc.128x128_block0.conv0.weight), uncompressed .npz;
    PREFIX.json  the model description enkg reads: preconditioner, network class and
                 constructor arguments, normalisation (format "enkg-unet/1");
and with --check N also PREFIX_check_{x,sigma,D}.npy: N random inputs, their noise levels
and PyTorch's D(x; sigma), to compare with `enkg prior denoise` (float32: expect agreement
to about 1e-5 of max|D|).

CHECKPOINT may be
  * an EDM snapshot pickle (network-snapshot-*.pkl) holding {'ema': module, ...}; EDM's
    persistence needs its source tree importable: pass --code-dir /path/to/edm;
  * a torch file (.pt/.pth) holding a module, a state_dict, or a dict with the network
    under one of the keys ema, net, model, state_dict (InverseBench/EnKG checkpoints store
    {'ema': state_dict, ...} or {'net': ...}); --key KEY selects another key;
  * a safetensors file (model.safetensors of a Hugging Face hub snapshot saved by
    PyTorchModelHubMixin, e.g. hzzheng/InverseBench-NS2d-diffusion-prior): read with numpy
    alone (torch not needed); pass the snapshot's config.json as --config and --precond.

The description comes from the module itself when there is one (class names, sigma_data /
beta_d / beta_min / M / epsilon_t / sigma_min / sigma_max, and EDM's init_kwargs). For a
bare state_dict give it with --config FILE: a YAML or JSON file with the preconditioner's
constructor arguments (what EnKG/InverseBench pass to EDMPrecond(**kwargs): img_resolution,
img_channels, model_type, model_channels, channel_mult, attn_resolutions, num_blocks, ...),
optionally under a key "model" or "net" or with "_target_: models.precond.EDMPrecond";
--precond EDM|VP|VE names the wrapper when the file does not. A reference
<case>_config.json (precond_class, *_constructor_resolved) is accepted as well.

Requires: python3, numpy, and torch for .pt/.pkl files (any version that can read the
checkpoint; safetensors need numpy only); PyYAML for YAML configs. Only the CPU is used. Class-conditional networks (label_dim > 0) are exported, but enkg rejects them.
"""
import argparse
import io
import json
import math
import os
import pickle
import sys
import zipfile

import numpy as np

FORMAT = "enkg-unet/1"

PRECOND_DEFAULTS = {
    "EDM": {"sigma_data": 0.5, "sigma_min": 0.0, "sigma_max": math.inf},
    "VP": {"beta_d": 19.9, "beta_min": 0.1, "M": 1000, "epsilon_t": 1e-5},
    "VE": {"sigma_min": 0.02, "sigma_max": 100.0},
}
PRECOND_KEYS = {"img_resolution", "img_channels", "label_dim", "use_fp16", "model_type",
                "sigma_data", "sigma_min", "sigma_max", "beta_d", "beta_min", "M", "epsilon_t"}
NETWORK_KEYS = ["img_resolution", "in_channels", "out_channels", "label_dim", "augment_dim",
                "model_channels", "channel_mult", "channel_mult_emb", "num_blocks", "attn_resolutions",
                "embedding_type", "channel_mult_noise", "encoder_type", "decoder_type", "resample_filter"]


def fail(msg):
    sys.exit("export_weights: " + msg)


def precond_type(name):
    n = str(name).split(".")[-1].lower()
    return {"edmprecond": "EDM", "edm": "EDM", "vpprecond": "VP", "vp": "VP",
            "veprecond": "VE", "ve": "VE"}.get(n)


SAFETENSORS_DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "BF16": "<u2"}


def load_safetensors(path):
    """state_dict of a .safetensors file as float32 numpy arrays (no torch needed)."""
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > 100 << 20:
            fail(f"{path}: safetensors header of {n} bytes")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dt = SAFETENSORS_DTYPES.get(v["dtype"])
        if dt is None:
            fail(f"{path}: tensor {k} has dtype {v['dtype']}")
        b, e = v["data_offsets"]
        a = np.frombuffer(data[b:e], dtype=dt)
        if v["dtype"] == "BF16":
            a = (a.astype(np.uint32) << 16).view("<f4")
        out[k] = a.astype(np.float32).reshape(v["shape"])
    return out


def load_checkpoint(path, key, code_dir):
    if path.endswith(".safetensors"):
        return load_safetensors(path)
    import torch
    if code_dir:
        sys.path.insert(0, code_dir)
    obj = None
    if path.endswith(".pkl"):
        with open(path, "rb") as f:
            try:
                obj = pickle.load(f)
            except ModuleNotFoundError as e:
                fail(f"{path}: {e}; EDM pickles need the EDM source tree importable (--code-dir)")
    else:
        try:
            obj = torch.load(path, map_location="cpu")
        except Exception as e:  # older/newer torch defaults (weights_only) or a plain pickle
            try:
                obj = torch.load(path, map_location="cpu", weights_only=False)
            except TypeError:
                raise e
    if isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        keys = [key] if key else ["ema", "net", "model", "state_dict", "ema_model"]
        for k in keys:
            if k in obj:
                obj = obj[k]
                break
        else:
            fail(f"{path}: none of the keys {keys} in the checkpoint (it has {sorted(obj)[:20]}); use --key")
    return obj


def module_description(net):
    """Description from an EDMPrecond/VPPrecond/VEPrecond module instance."""
    desc = {"format": FORMAT}
    pt = precond_type(type(net).__name__)
    if pt is None:
        fail(f"the checkpoint's network is a {type(net).__name__}, not EDMPrecond/VPPrecond/VEPrecond")
    p = {"type": pt}
    for k in PRECOND_DEFAULTS[pt]:
        if hasattr(net, k):
            v = float(getattr(net, k))
            p[k] = v if math.isfinite(v) else None
    desc["precond"] = {k: v for k, v in p.items() if v is not None}
    inner = net.model
    n = {"type": type(inner).__name__}
    kw = dict(getattr(inner, "init_kwargs", {}) or {})
    if not kw:
        # a non-persistent module: the precond's init_kwargs carry the model kwargs
        pk = dict(getattr(net, "init_kwargs", {}) or {})
        kw = {k: v for k, v in pk.items() if k not in PRECOND_KEYS}
        kw.update({"img_resolution": net.img_resolution, "in_channels": net.img_channels,
                   "out_channels": net.img_channels, "label_dim": net.label_dim})
    if not kw.get("img_resolution"):
        fail("cannot read the network's constructor arguments from the module; give them with --config")
    for k in NETWORK_KEYS:
        if k in kw:
            n[k] = kw[k]
    desc["network"] = n
    return desc


def config_description(path, precond):
    with open(path) as f:
        text = f.read()
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError:
        import yaml
        cfg = yaml.safe_load(text)
    if "precond_class" in cfg:  # a reference <case>_config.json
        pt = precond_type(cfg["precond_class"])
        pk = dict(cfg.get("precond_params", {}))
        mk = cfg["model_constructor_resolved"]
        mt = cfg["model_class"].split(".")[-1]
    else:
        for k in ("model", "net", "network"):
            if isinstance(cfg.get(k), dict) and ("img_resolution" in cfg[k] or "_target_" in cfg[k]):
                cfg = cfg[k]
                break
        pt = precond or precond_type(cfg.get("_target_", "")) or precond_type(cfg.get("precond", ""))
        if pt is None:
            fail(f"{path}: which preconditioner? give --precond EDM|VP|VE")
        kw = dict(cfg.get("model_kwargs", {}))
        kw.update({k: v for k, v in cfg.items() if k not in PRECOND_KEYS and k not in ("_target_", "precond", "model_kwargs")})
        pk = {k: v for k, v in cfg.items() if k in PRECOND_KEYS}
        mt = cfg.get("model_type", {"EDM": "DhariwalUNet"}.get(pt, "SongUNet"))
        if "img_resolution" not in cfg:
            fail(f"{path}: no img_resolution")
        ch = cfg.get("img_channels", 1)
        mk = dict(kw, img_resolution=cfg["img_resolution"], in_channels=ch, out_channels=ch,
                  label_dim=cfg.get("label_dim", 0))
    p = {"type": pt}
    for k, d in PRECOND_DEFAULTS[pt].items():
        v = pk.get(k, d)
        v = float("inf") if v == "inf" else float(v)
        if math.isfinite(v):
            p[k] = v
    n = {"type": mt}
    for k in NETWORK_KEYS:
        if k in mk:
            n[k] = mk[k]
    return {"format": FORMAT, "precond": p, "network": n}


def state_dict_of(obj):
    if isinstance(obj, dict) and all(isinstance(v, np.ndarray) for v in obj.values()):
        sd = obj  # from safetensors
    else:
        import torch
        if isinstance(obj, torch.nn.Module):
            sd = obj.state_dict()
        elif isinstance(obj, dict):
            sd = obj
        else:
            fail(f"cannot get a state_dict from a {type(obj).__name__}")
    out = {}
    for k, v in sd.items():
        if not isinstance(v, np.ndarray):
            import torch
            if not torch.is_tensor(v):
                fail(f"state_dict entry {k} is a {type(v).__name__}, not a tensor")
            v = v.detach().to("cpu").float().numpy()
        k = k.replace("module.", "", 1) if k.startswith("module.") else k
        if not k.startswith("model."):
            k = "model." + k  # the network's own state_dict: add the wrapper's prefix
        out[k] = np.asarray(v, dtype=np.float32)
    return out


def write_npz(path, arrays):
    # uncompressed, one <key>.npy per tensor, as numpy.savez writes it
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for k, a in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(a, dtype="<f4"), allow_pickle=False)
            z.writestr(k + ".npy", buf.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("--out", required=True, help="output prefix: writes PREFIX.npz and PREFIX.json")
    ap.add_argument("--key", help="checkpoint key holding the network (default: ema, net, model, state_dict)")
    ap.add_argument("--config", help="YAML/JSON with the constructor arguments (needed for a bare state_dict)")
    ap.add_argument("--precond", choices=["EDM", "VP", "VE"], help="preconditioner, when --config does not say")
    ap.add_argument("--code-dir", help="directory to put on sys.path before unpickling (EDM source tree)")
    ap.add_argument("--mean", type=float, default=0.0, help="data normalisation: x_model = (x - mean)/std")
    ap.add_argument("--std", type=float, default=1.0)
    ap.add_argument("--check", type=int, default=0, metavar="N",
                    help="also write N random test inputs and PyTorch's D (needs the module, not a bare state_dict)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    obj = load_checkpoint(a.checkpoint, a.key, a.code_dir)
    is_module = False
    if not a.checkpoint.endswith(".safetensors"):
        import torch
        is_module = isinstance(obj, torch.nn.Module)
    if a.config:
        desc = config_description(a.config, a.precond)
    elif is_module:
        desc = module_description(obj)
    else:
        fail("the checkpoint holds a bare state_dict: give the constructor arguments with --config")
    if not (a.std > 0 and math.isfinite(a.std) and math.isfinite(a.mean)):
        fail(f"--std {a.std} must be positive and finite")
    desc["normalization"] = {"mean": a.mean, "std": a.std}
    sd = state_dict_of(obj)
    for k, v in sd.items():
        if not np.all(np.isfinite(v)):
            fail(f"tensor {k} has non-finite values")
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    write_npz(a.out + ".npz", sd)
    with open(a.out + ".json", "w") as f:
        json.dump(desc, f, indent=2)
        f.write("\n")
    nparam = sum(v.size for k, v in sd.items() if not k.endswith(("resample_filter", "freqs")))
    print(f"wrote {a.out}.npz ({len(sd)} tensors, {nparam:,} values) and {a.out}.json "
          f"({desc['precond']['type']}Precond + {desc['network']['type']})")

    if a.check:
        import torch
        if not is_module:
            fail("--check needs the network module (the checkpoint holds a bare state_dict)")
        net = obj.eval().float()
        res, ch = desc["network"]["img_resolution"], desc["network"].get("in_channels", 1)
        g = torch.Generator().manual_seed(a.seed)
        sigma = torch.exp(torch.empty(a.check).uniform_(math.log(0.01), math.log(80.0), generator=g)).float()
        x = (torch.randn(a.check, ch, res, res, generator=g) * (1 + sigma.reshape(-1, 1, 1, 1))).float()
        with torch.no_grad():
            # enkg's normalisation acts outside the network: x_model = (x - mean)/std
            xm = (x - a.mean) / a.std
            d = net(xm, sigma / a.std).float() * a.std + a.mean
        for name, t in (("x", x), ("sigma", sigma), ("D", d)):
            np.save(f"{a.out}_check_{name}.npy", t.numpy().astype("<f4"))
        print(f"wrote {a.out}_check_{{x,sigma,D}}.npy: compare with\n"
              f"  enkg prior denoise --weights {a.out}.npz --config {a.out}.json "
              f"--x {a.out}_check_x.npy --sigma {a.out}_check_sigma.npy --out D_go.npy")


if __name__ == "__main__":
    main()
