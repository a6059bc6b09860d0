"""PyTorch side by side with the Igcv3 engine, on a GPU host.

    python3 side_by_side.py --shapes shapes.json --ours igcv3.json --out DIR [--quick] [--modes eager,channels_last]

shapes.json comes from `Igcv3.Bench.dll export-shapes`, igcv3.json from `gpu-report`. Builds
IGCV3-D and MobileNetV2 (CIFAR, from IGC_SPEC.md via sbs_core.plan) in PyTorch, checks them
against ours parameter for parameter, times every distinct op of our training step (forward and
backward, at the same shapes) and whole training steps in three modes (eager NCHW, eager
channels_last, torch.compile; --modes picks some) with the .NET report's method: CUDA events, L2
flushed before each run by overwriting a buffer twice the L2, warm-up, median. --quick: CIFAR
only, and no per-op torch.compile (it compiles every op anew). Writes side_by_side.json and .txt.
Without igcv3.json (our report did not finish) PyTorch is timed alone, with no ratios."""
import argparse
import datetime
import json
import os
import subprocess
import sys

import sbs_core as core

import torch
import torch.nn as nn
import torch.nn.functional as F

# Where the networks and op callables live; dry_run_cpu.py sets "cpu" to check them without a GPU.
DEVICE = "cuda"


# ---- timing: the same method as the .NET CudaEventTimer -----------------------------------

class Timer:
    def __init__(self, l2_bytes):
        self.flush_buffer = torch.empty(max(1, 2 * l2_bytes // 4), dtype=torch.float32, device="cuda")
        self.method = "CUDA events, L2 flushed before each run, median"

    def _measure(self, fn, reps):
        starts = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        ends = [torch.cuda.Event(enable_timing=True) for _ in range(reps)]
        for i in range(reps):
            self.flush_buffer.zero_()
            starts[i].record()
            fn()
            ends[i].record()
        torch.cuda.synchronize()
        return [s.elapsed_time(e) for s, e in zip(starts, ends)]

    def time(self, fn, warmup_ms=25.0, min_warmup=2, target_ms=100.0, min_reps=10, max_reps=200):
        est, spent, runs = 0.0, 0.0, 0
        while runs < min_warmup or spent < warmup_ms:
            est = self._measure(fn, 1)[0]
            spent += est
            runs += 1
        return core.summarize(self._measure(fn, core.reps_for(est, target_ms, min_reps, max_reps)), self.method)


def ieee_fp32():
    """FP32 as ours: no TF32 in matmuls or convolutions. Torch 2.9+ has fp32_precision and
    refuses a mix of it with the legacy allow_tf32 flags, so use one API only."""
    if hasattr(torch.backends, "fp32_precision"):
        torch.backends.fp32_precision = "ieee"
        torch.backends.cuda.matmul.fp32_precision = "ieee"
        torch.backends.cudnn.fp32_precision = "ieee"
    else:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False


def ceilings(timer):
    """Copy bandwidth (1 GiB D2D, read + write) and FP32 SGEMM rate (8192^3, TF32 off), as ours."""
    n_bytes = 1 << 30
    a = torch.full((n_bytes // 4,), 1.5, device="cuda")
    b = torch.empty_like(a)
    copy = timer.time(lambda: b.copy_(a), warmup_ms=50, min_warmup=3, target_ms=300, max_reps=100)
    del a, b
    n = 8192
    x = torch.rand(n, n, device="cuda") * 2 - 1
    y = torch.rand(n, n, device="cuda") * 2 - 1
    gemm = timer.time(lambda: torch.mm(x, y), warmup_ms=50, min_warmup=3, target_ms=1000, min_reps=5, max_reps=100)
    return dict(copy_gbps=2 * n_bytes / (copy["median_ms"] * 1e-3) / 1e9, copy=copy,
                sgemm_gflops=2 * n ** 3 / (gemm["median_ms"] * 1e-3) / 1e9, sgemm=gemm)


# ---- networks: built from the plan, module names as ours ----------------------------------

def shuffle(x, groups):
    """IGC permutation out[:, j*G+g] = in[:, g*(C/G)+j], in the tensor's own memory format."""
    n, c, h, w = x.shape
    cl = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    y = x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)
    return y.contiguous(memory_format=torch.channels_last) if cl else y


class Pointwise(nn.Module):
    def __init__(self, cin, cout, groups, out_shuffle):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, groups=groups, bias=False)
        self.out_shuffle = out_shuffle

    def forward(self, x):
        y = self.conv(x)
        return shuffle(y, self.out_shuffle) if self.out_shuffle > 1 else y


class Net(nn.Module):
    """Runs the plan's layers in order; a block whose last BN carries residual=True adds its input."""

    def __init__(self, layers):
        super().__init__()
        self.plan = layers
        self.mods = nn.ModuleDict()
        for l in layers:
            k, key = l["kind"], l["name"].replace(".", "__")
            if k == "conv":
                m = nn.Conv2d(l["cin"], l["cout"], l["k"], stride=l["stride"], padding=l["k"] // 2, bias=False)
            elif k == "pointwise":
                m = Pointwise(l["cin"], l["cout"], l["groups"], l["out_shuffle"])
            elif k == "depthwise":
                m = nn.Conv2d(l["c"], l["c"], 3, stride=l["stride"], padding=1, groups=l["c"], bias=False)
            elif k == "bn":
                m = nn.BatchNorm2d(l["c"])
            elif k == "linear":
                m = nn.Linear(l["cin"], l["cout"])
            else:
                continue
            self.mods[key] = m

    def forward(self, x):
        block_in, block = x, None
        for l in self.plan:
            if l.get("block") != block:
                block, block_in = l.get("block"), x
            if l["kind"] == "pool":
                x = x.mean((2, 3))
                continue
            x = self.mods[l["name"].replace(".", "__")](x)
            if l["kind"] == "bn" and l.get("act") == "relu6":
                x = F.relu6(x)
            if l.get("residual"):
                x = x + block_in
        return x


def layer_param_counts(net):
    return {l["name"]: sum(p.numel() for p in net.mods[l["name"].replace(".", "__")].parameters())
            for l in net.plan if l["name"].replace(".", "__") in net.mods}


# ---- one op of our trace as a PyTorch callable ---------------------------------------------

def _act(x, name):
    return F.relu6(x) if name == "relu6" else F.relu(x) if name == "relu" else x


def op_callables(op, mode):
    """(forward_fn, backward_fn or None) for one distinct call of our trace, at its shapes, in
    `mode`. Backward ops time autograd.grad of the op's forward over the inputs our call
    differentiates (dx, dw, ...), the graph kept between runs."""
    name, spec = op["op"], op["spec"]
    args = {a["role"]: a for a in op["args"]}
    fmt = torch.channels_last if mode == "channels_last" else torch.contiguous_format
    dev = DEVICE

    def act(role, grad=False):
        t = torch.randn(core.nhwc_to_nchw(args[role]["shape"]), device=dev)
        t = t.contiguous(memory_format=fmt) if t.dim() == 4 else t
        return t.requires_grad_(grad)

    def weight(role, grad=False):
        return torch.randn(core.ohwi_to_oihw(args[role]["shape"]), device=dev).requires_grad_(grad)

    family, direction = (name.split(".") + [""])[:2]
    backward = direction == "backward"
    in_role = "x"
    if family in ("conv2d", "pointwise", "depthwise"):
        x, w = act("x", backward and "dx" in args), weight("w", backward and "dw" in args)
        if family == "conv2d":
            f = lambda: F.conv2d(x, w, stride=spec["stride"], padding=spec["padding"], groups=spec["groups"])
        elif family == "pointwise":
            g, osh, ish = spec["groups"], spec["output_shuffle"], spec["input_shuffle"]
            f = lambda: (lambda y: shuffle(y, osh) if osh > 1 else y)(F.conv2d(shuffle(x, ish) if ish > 1 else x, w, groups=g))
        else:
            f = lambda: F.conv2d(x, w, stride=spec["stride"], padding=1, groups=x.shape[1])
        grads = [t for t, r in ((x, "dx"), (w, "dw")) if r in args]
        out_role = "dy" if backward else "y"
    elif family == "batchnorm":
        x = act("x", backward and "dx" in args)
        c = x.shape[1]
        gamma = torch.rand(c, device=dev).add_(0.5).requires_grad_(backward and "dgamma" in args)
        beta = torch.randn(c, device=dev).requires_grad_(backward and "dbeta" in args)
        rm, rv = torch.zeros(c, device=dev), torch.ones(c, device=dev)
        f = lambda: _act(F.batch_norm(x, rm, rv, gamma, beta, training=spec["training"], momentum=spec["momentum"], eps=spec["epsilon"]), spec["activation"])
        grads = [t for t, r in ((x, "dx"), (gamma, "dgamma"), (beta, "dbeta")) if r in args]
        out_role = "dy" if backward else "y"
    elif family == "activation":
        x = act("y" if backward else "x", backward)
        f = lambda: _act(x, spec["activation"])
        grads, out_role = [x], "dy" if backward else "y"
    elif family == "shuffle":
        x = act("dy" if backward else "x", backward)
        f = lambda: shuffle(x, spec["groups"])
        grads, out_role = [x], "dy" if backward else "y"
    elif family == "avgpool":
        x = torch.randn(core.nhwc_to_nchw(args["dx"]["shape"] if backward else args["x"]["shape"]), device=dev).contiguous(memory_format=fmt).requires_grad_(backward)
        f = lambda: x.mean((2, 3))
        grads, out_role = [x], "dy" if backward else "y"
    elif family == "maxpool":
        x = act("x", backward)
        f = lambda: F.max_pool2d(x, spec["kernel"], spec["stride"], spec["padding"])
        grads, out_role = [x], "dy" if backward else "y"
    elif family == "linear":
        x = act("x", backward and "dx" in args)
        w = torch.randn(args["w"]["shape"], device=dev).requires_grad_(backward and "dw" in args)
        # The backward call names the bias gradient (db) but not the bias: its shape is the same.
        bias = args.get("b") or args.get("db")
        b = torch.randn(bias["shape"], device=dev).requires_grad_(backward and "db" in args) if bias else None
        f = lambda: F.linear(x, w, b)
        grads = [t for t, r in ((x, "dx"), (w, "dw"), (b, "db")) if r in args and t is not None]
        out_role = "dy" if backward else "y"
    elif family == "xent":
        k = (args.get("logits") or args["probabilities"])["shape"]
        logits = torch.randn(k, device=dev).requires_grad_(backward)
        labels = torch.randint(0, k[1], (k[0],), device=dev)
        f = lambda: F.cross_entropy(logits, labels, label_smoothing=spec["smoothing"])
        grads, out_role = [logits], "dloss"
    elif family in ("add", "accumulate", "fill", "copy"):
        shape = core.nhwc_to_nchw(args["y"]["shape"])
        a = torch.randn(shape, device=dev)
        a = a.contiguous(memory_format=fmt) if a.dim() == 4 else a
        bt, y = torch.randn_like(a), torch.randn_like(a)
        f = {"add": lambda: torch.add(a, bt, out=y), "accumulate": lambda: y.add_(a),
             "fill": lambda: y.zero_(), "copy": lambda: y.copy_(a)}[family]
        return f, None
    elif family == "sgd":
        p = torch.nn.Parameter(torch.randn(args["p"]["shape"], device=dev))
        p.grad = torch.randn_like(p)
        opt = torch.optim.SGD([p], lr=spec["learning_rate"], momentum=spec["momentum"], nesterov=spec["nesterov"], weight_decay=spec["weight_decay"])
        opt.step()
        return opt.step, None
    else:
        raise ValueError(f"no PyTorch equivalent for {name}")

    if mode == "compile":
        # Every op's lambda shares one code object: without a reset, Dynamo's guards on the
        # closure's shapes hit the recompile limit after a few ops and it falls back to eager
        # silently, so later "compile" rows would time eager code.
        torch._dynamo.reset()
        f = torch.compile(f, dynamic=False)
    if not backward:
        return (lambda: f()), None
    y = f()
    dy = torch.randn_like(y)
    return None, (lambda: torch.autograd.grad(y, grads, dy, retain_graph=True))


# ---- training steps ---------------------------------------------------------------------

def train_step_fn(net, batch, classes, mode):
    fmt = torch.channels_last if mode == "channels_last" else torch.contiguous_format
    net = net.to(DEVICE).to(memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x = torch.randn(batch, 3, 32, 32, device=DEVICE).contiguous(memory_format=fmt)
    labels = torch.randint(0, classes, (batch,), device=DEVICE)
    model = torch.compile(net) if mode == "compile" else net

    def step():
        opt.zero_grad(set_to_none=False)
        F.cross_entropy(model(x), labels).backward()
        opt.step()
    return step


def environment():
    def smi(q):
        try:
            return subprocess.run(["nvidia-smi", f"--query-gpu={q}", "--format=csv,noheader"], capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    p = torch.cuda.get_device_properties(0)
    return dict(device=torch.cuda.get_device_name(0), driver=smi("driver_version"), cuda=torch.version.cuda,
                torch=torch.__version__, cudnn=torch.backends.cudnn.version(), sms=p.multi_processor_count,
                l2_bytes=getattr(p, "L2_cache_size", 50 << 20), commit=os.environ.get("IGCV3_COMMIT"),
                python=sys.version.split()[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--ours", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="CIFAR workloads only, no per-op compile")
    ap.add_argument("--modes", default=",".join(core.MODES), help="comma-separated, of " + ", ".join(core.MODES))
    a = ap.parse_args()
    step_modes = tuple(m for m in core.MODES if m in a.modes.split(","))
    op_modes = tuple(m for m in step_modes if not (a.quick and m == "compile"))
    torch.backends.cudnn.benchmark = True
    ieee_fp32()

    env = environment()
    shapes = core.load_json(a.shapes)
    ours = core.load_json(a.ours) if os.path.exists(a.ours) else {}
    timer = Timer(env["l2_bytes"])
    report = dict(schema="igcv3-side-by-side/1", created_utc=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  environment=env, method=timer.method, ours_report=dict(device=ours.get("device"), commit=ours.get("commit"), backend=ours.get("backend")),
                  ceilings=ceilings(timer), parameters=[], ops=[], steps=[], notes=[])
    print(f"{env['device']}, driver {env['driver']}, CUDA {env['cuda']}, torch {env['torch']}; "
          f"copy {report['ceilings']['copy_gbps']:.0f} GB/s, SGEMM {report['ceilings']['sgemm_gflops']:.0f} GFLOP/s", flush=True)

    # 1. Identical networks: parameter for parameter, layer for layer.
    nets = {}
    for w in shapes["workloads"]:
        if w["input"] != "cifar":
            continue
        layers = core.plan(w["network"], cifar=True, classes=w["classes"])
        net = Net(layers)
        total = sum(p.numel() for p in net.parameters())
        mismatches = core.compare_params(layers, w["layers"])
        torch_layers = layer_param_counts(net)
        report["parameters"].append(dict(workload=w["workload"], ours=w["parameters"], pytorch=total, plan=core.plan_params(layers), mismatched_layers=mismatches))
        print(f"{w['workload']}: parameters ours {w['parameters']:,}, PyTorch {total:,}{'' if total == w['parameters'] and not mismatches else '  MISMATCH ' + str(mismatches[:5])}", flush=True)
        if total != w["parameters"] or mismatches or sum(torch_layers.values()) != total:
            report["notes"].append(f"{w['workload']}: PyTorch network differs from ours; its step timings are not comparable")
        nets[w["workload"]] = (layers, w)

    # 2. Per op, every mode.
    ours_ops = {(o["workload"], o["key"]): o["time"]["median_ms"] for o in ours.get("ops", []) if o.get("time")}
    torch_ops = {m: {} for m in core.MODES}
    if not ours:
        report["notes"].append(f"no {a.ours}: PyTorch timed alone, no ratios")
    for w in shapes["workloads"]:
        if a.quick and w["input"] != "cifar":
            continue
        for op in w["ops"] if op_modes else []:
            for m in op_modes:
                try:
                    fwd, bwd = op_callables(op, m)
                    t = timer.time(fwd or bwd)
                    torch_ops[m][(w["workload"], op["key"])] = t["median_ms"]
                    report["ops"].append(dict(workload=w["workload"], key=op["key"], op=op["op"], count=op["count"], mode=m, time=t))
                except Exception as e:  # one op that PyTorch cannot express must not lose the run
                    report["notes"].append(f"{w['workload']} {op['key']} [{m}]: {type(e).__name__}: {e}")
                torch.cuda.empty_cache()
            # The times as they come, so that a run cut short by its time limit still shows them.
            times = " ".join(f"{m} {torch_ops[m][(w['workload'], op['key'])]:.4f}" for m in op_modes if (w["workload"], op["key"]) in torch_ops[m])
            print(f"  {w['workload']:<26} {times} ms  {op['key'][:90]}", flush=True)

    # 3. Training steps, every mode.
    ours_steps = {s["workload"]: s["time"]["median_ms"] for s in ours.get("steps", []) if s.get("time")}
    torch_steps = {m: {} for m in core.MODES}
    for name, (layers, w) in nets.items():
        for m in step_modes:
            step = train_step_fn(Net(layers), w["batch"], w["classes"], m)
            torch.cuda.reset_peak_memory_stats()
            t = timer.time(step, warmup_ms=500 if m == "compile" else 200, min_warmup=3, target_ms=2000, max_reps=100)
            peak = torch.cuda.max_memory_allocated()
            torch_steps[m][(name, "training step")] = t["median_ms"]
            report["steps"].append(dict(workload=name, mode=m, time=t, images_per_second=w["batch"] / (t["median_ms"] * 1e-3), peak_memory_bytes=peak))
            print(f"  {name} step [{m}] {t['median_ms']:.3f} ms, {w['batch'] / (t['median_ms'] * 1e-3):.0f} images/s, peak {peak / 2**20:.0f} MiB", flush=True)

    op_rows = core.ratio_rows(ours_ops, torch_ops)
    step_rows = core.step_ratio_rows(ours_steps, torch_steps)
    report["op_ratios"], report["step_ratios"] = op_rows, step_rows
    text = "\n\n".join([
        f"{env['device']} driver {env['driver']} CUDA {env['cuda']} torch {env['torch']} commit {env['commit']}; {timer.method}",
        "\n".join(f"parameters {p['workload']}: ours {p['ours']:,}  PyTorch {p['pytorch']:,}" for p in report["parameters"]),
        core.format_table(step_rows, title="training step: ours / PyTorch time (below 1: ours faster)"),
        core.format_table(op_rows),
        "\n".join("note: " + n for n in report["notes"])])
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "side_by_side.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1, default=str)
    with open(os.path.join(a.out, "side_by_side.txt"), "w", encoding="utf-8") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
