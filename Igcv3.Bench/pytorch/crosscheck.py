"""Our CPU engine against PyTorch on the same network, weights and batch (no GPU needed).

    python3 crosscheck.py --network igcv3-d --input cifar --classes 10 --weights W.safetensors --io IO.safetensors

W is a checkpoint our engine wrote (Checkpoint.Save: parameters and BN running statistics by
hierarchical name, convolution weights OHWI); IO holds what our engine computed on it:
  x [N, H, W, 3] (NHWC), labels [N], eval.logits [N, K] (eval mode),
  train.loss [] and grad.<name> for every parameter (one training-mode forward + backward of the
  mean softmax cross-entropy), after.<name> for every BN running statistic after that forward.
Builds the network in PyTorch independently of our builders, from IGC_SPEC.md: IGCV3-D and
MobileNetV2 through sbs_core.plan, IGCV2 and the IGCV1 family with its dense baselines through igc_torch;
loads W into it, recomputes all of the above in float64 and prints the normwise relative error of
each; exits 1 if any exceeds --tolerance. Needs torch (CPU is enough) and numpy; reads
safetensors with its own 30-line parser, so the safetensors package is not needed either."""
import argparse
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

import igc_torch
import sbs_core as core
from side_by_side import Net

INVERTED_RESIDUAL = ("igcv3-d", "mobilenetv2")

DTYPES = {"F64": np.float64, "F32": np.float32, "I32": np.int32, "I64": np.int64, "U8": np.uint8}


def read_safetensors(path):
    """name -> numpy array, from the format's definition: u64 header length, JSON header, data."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        begin, end = t["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).copy()
    return out


def to_torch_layout(name, value, module):
    """Our convolution weights in PyTorch's OIHW: a KxK conv's OHWI permuted, a 1x1 conv's
    [O, I] and a depthwise conv's [C, 3, 3] given their unit axes. Anything else is as is."""
    if not (isinstance(module, torch.nn.Conv2d) and name.endswith(".weight")):
        return value
    if value.ndim == 4:
        return value.transpose(0, 3, 1, 2)
    if value.ndim == 2:
        return value.reshape(value.shape[0], value.shape[1], 1, 1)
    return value.reshape(value.shape[0], 1, value.shape[1], value.shape[2])


def copy_ours(name, weights, module, tensor):
    """Copies our tensor `name` into PyTorch's `tensor` of `module`, in PyTorch's layout."""
    if name not in weights:
        raise KeyError(f"{name} is in the PyTorch network but not in our checkpoint")
    value = to_torch_layout(name, weights[name], module)
    if tuple(value.shape) != tuple(tensor.shape):
        raise ValueError(f"{name}: ours {value.shape}, PyTorch {tuple(tensor.shape)}")
    with torch.no_grad():
        tensor.copy_(torch.from_numpy(np.ascontiguousarray(value)))


def load_into(net, weights):
    """Copies every tensor of the plan's modules from our checkpoint; returns (our name, tensor) pairs."""
    params = []
    for layer in net.plan:
        key = layer["name"].replace(".", "__")
        if key not in net.mods:
            continue
        module = net.mods[key]
        conv = module.conv if hasattr(module, "conv") else module
        for attr in ("weight", "bias", "running_mean", "running_var"):
            tensor = getattr(conv, attr, None)
            if tensor is None:
                continue
            name = f"{layer['name']}.{attr}"
            copy_ours(name, weights, conv, tensor)
            params.append((name, conv, tensor))
    return params


def load_by_name(net, weights):
    """Copies our checkpoint into a network whose parameter and buffer paths are our names;
    returns (name, owning module, tensor) for each. Every tensor of ours must be used."""
    modules = dict(net.named_modules())
    tensors = list(net.named_parameters()) + [(n, b) for n, b in net.named_buffers() if not n.endswith("num_batches_tracked")]
    unused = set(weights) - {n for n, _ in tensors}
    if unused:
        raise KeyError(f"our checkpoint has tensors the PyTorch network lacks: {sorted(unused)[:5]}")
    params = []
    for name, tensor in tensors:
        owner = modules[name.rsplit(".", 1)[0]]
        copy_ours(name, weights, owner, tensor)
        params.append((name, owner, tensor))
    return params


def relative(ours, theirs, floor=1e-3):
    """‖ours − theirs‖ / max(‖theirs‖, floor). The floor makes it absolute for tensors that are
    zero up to round-off: the β gradient of a BN with no activation after it, whose per-channel
    shift the next training-mode BN subtracts again, is exactly 0 in exact arithmetic and ~1e-15
    on both sides (float64 sums over a batch), so a plain relative error between two round-offs
    would mean nothing. With the default tolerance that is 1e-12 absolute; every other tensor
    compared here has a norm far above the floor."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return float(np.linalg.norm(ours - theirs) / max(np.linalg.norm(theirs), floor))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--network", required=True, choices=[*INVERTED_RESIDUAL, "igcv2", "plain-igc", "resnet-igc", "plain", "resnet",
                                                          "resnet-igc-imagenet-d18", "resnet-imagenet-d18"])
    ap.add_argument("--input", default="cifar", choices=["cifar", "imagenet"], help="IGCV3-D, MobileNetV2 and IGCV2 only")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--l", type=int, default=2)
    ap.add_argument("--m", type=int, default=8)
    ap.add_argument("--width", type=int)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--io", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-9)
    a = ap.parse_args()
    torch.set_default_dtype(torch.float64)

    weights, io = read_safetensors(a.weights), read_safetensors(a.io)
    if a.network in INVERTED_RESIDUAL:
        net = Net(core.plan(a.network, cifar=a.input == "cifar", classes=a.classes)).double()
        params = load_into(net, weights)
    elif a.network == "igcv2":
        net = igc_torch.Igcv2Network(a.input == "cifar", a.classes, igc_torch.igcv2_group_sizes(weights)).double()
        params = load_by_name(net, weights)
    else:
        net = igc_torch.build(a.network, a.classes, a.depth, a.l, a.m, a.width or None).double()
        params = load_by_name(net, weights)
    x = torch.from_numpy(io["x"].astype(np.float64)).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    labels = torch.from_numpy(io["labels"].astype(np.int64))

    errors = {}
    net.eval()
    with torch.no_grad():
        errors["eval.logits"] = relative(io["eval.logits"], net(x).numpy())

    net.train()
    loss = F.cross_entropy(net(x), labels)
    loss.backward()
    errors["train.loss"] = relative(io["train.loss"], loss.detach().numpy())
    for name, module, tensor in params:
        if name.endswith(("running_mean", "running_var")):
            errors[f"after.{name}"] = relative(io[f"after.{name}"], tensor.detach().numpy())
        else:
            ours = to_torch_layout(name, io[f"grad.{name}"], module)
            errors[f"grad.{name}"] = relative(ours, tensor.grad.numpy())

    worst = max(errors, key=errors.get)
    bad = {k: v for k, v in errors.items() if not v <= a.tolerance}
    print(f"{a.network} {a.input}: {len(errors)} comparisons, worst {worst} {errors[worst]:.3e} (tolerance {a.tolerance:g})")
    kinds = {}
    for k, v in errors.items():
        kind = k.split(".")[0] + "." + k.split(".")[-1] if "." in k else k
        worst_kind = kinds.get(kind, (0, 0.0))
        kinds[kind] = (worst_kind[0] + 1, max(worst_kind[1], v))
    print("  " + "; ".join(f"{k} x{n} worst {w:.1e}" for k, (n, w) in sorted(kinds.items())))
    for k, v in sorted(bad.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  MISMATCH {k}: {v:.3e}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
