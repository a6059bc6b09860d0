"""Pure parts of the PyTorch side-by-side (no torch needed): the networks as data, shape and
layout conversion, the timing plan, the ratio table and the report file names.

The architecture is rebuilt here from IGC_SPEC.md (stage tables, CIFAR layout, official width
arithmetic at 1.0x) independently of the .NET code, and compared with the counts the .NET side
exports, parameter for parameter and layer for layer."""
import json
import math
import re

# (t, c, n, s) per stage, IGC_SPEC.md.
IGCV3_D = [(1, 16, 1, 1), (6, 24, 4, 2), (6, 32, 6, 2), (6, 64, 8, 2), (6, 96, 6, 1), (6, 160, 6, 2), (6, 320, 1, 1)]
MOBILENETV2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
STEM, HEAD = 32, 1280


def py2_round(v):
    """Python 2's round: half away from zero (the released code's arithmetic)."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def plan(network, cifar=True, classes=10, g1=2, g2=2):
    """The network as a list of layer dicts, in execution order, named as the .NET side names them:
    {name, kind: conv|pointwise|depthwise|bn|linear|pool, cin, cout, groups, stride, k, act,
    out_shuffle, block (shortcut block path or None)}. Width multiplier 1.0, official arithmetic."""
    table = {"igcv3-d": IGCV3_D, "mobilenetv2": MOBILENETV2}[network]
    if cifar:
        table = [(t, c, n, 1 if i == 1 else s) for i, (t, c, n, s) in enumerate(table)]
    layers = [dict(name="stem.conv", kind="conv", cin=3, cout=STEM, groups=1, k=3, stride=1 if cifar else 2),
              dict(name="stem.bn", kind="bn", c=STEM, act="relu6")]
    in_c = actual = STEM
    for s, (t, c, n, stride) in enumerate(table):
        for i in range(n):
            p = f"stages.{s}.blocks.{i}"
            e = py2_round((in_c if i == 0 else c) * t)
            st = stride if i == 0 else 1
            if network == "igcv3-d":
                layers += [dict(name=f"{p}.expand", kind="pointwise", cin=actual, cout=e, groups=g1, out_shuffle=g1 if g1 > 1 else 0, block=p),
                           dict(name=f"{p}.expand_bn", kind="bn", c=e, act=None, block=p)]
            elif t != 1:
                layers += [dict(name=f"{p}.expand", kind="pointwise", cin=actual, cout=e, groups=1, out_shuffle=0, block=p),
                           dict(name=f"{p}.expand_bn", kind="bn", c=e, act="relu6", block=p)]
            else:
                e = actual
            layers += [dict(name=f"{p}.dw", kind="depthwise", c=e, stride=st, block=p),
                       dict(name=f"{p}.dw_bn", kind="bn", c=e, act="relu6", block=p),
                       dict(name=f"{p}.project", kind="pointwise", cin=e, cout=c, groups=g2 if network == "igcv3-d" else 1, out_shuffle=0, block=p),
                       dict(name=f"{p}.project_bn", kind="bn", c=c, act=None, block=p, residual=i > 0)]
            actual = c
        in_c = py2_round(c * 1.0)
        if in_c % 2:
            in_c = c + 1
    layers += [dict(name="head.conv", kind="conv", cin=actual, cout=HEAD, groups=1, k=1, stride=1),
               dict(name="head.bn", kind="bn", c=HEAD, act="relu6"),
               dict(name="pool", kind="pool"),
               dict(name="classifier", kind="linear", cin=HEAD, cout=classes)]
    return layers


def layer_params(layer):
    k = layer["kind"]
    if k == "conv":
        return layer["cout"] * layer["k"] * layer["k"] * layer["cin"] // layer["groups"]
    if k == "pointwise":
        return layer["cout"] * layer["cin"] // layer["groups"]
    if k == "depthwise":
        return layer["c"] * 9
    if k == "bn":
        return 2 * layer["c"]
    if k == "linear":
        return layer["cout"] * layer["cin"] + layer["cout"]
    return 0


def plan_params(layers):
    return sum(layer_params(l) for l in layers)


def compare_params(layers, ours_layers):
    """Per-layer parameter mismatches between our plan and the .NET export: [(name, torch, ours)]."""
    ours = {l["name"]: l["parameters"] for l in ours_layers}
    mine = {l["name"]: layer_params(l) for l in layers}
    names = list(dict.fromkeys(list(mine) + list(ours)))
    return [(n, mine.get(n), ours.get(n)) for n in names if mine.get(n, 0) != ours.get(n, 0)]


# ---- shapes and layouts -------------------------------------------------------------------

def nhwc_to_nchw(shape):
    """Activations [N,H,W,C] -> [N,C,H,W]; other ranks unchanged."""
    return [shape[0], shape[3], shape[1], shape[2]] if len(shape) == 4 else list(shape)


def ohwi_to_oihw(shape):
    """Conv weights OHWI [O,K,K,I] -> OIHW [O,I,K,K]; pointwise [O,I] -> [O,I,1,1]; depthwise [C,3,3] -> [C,1,3,3]."""
    if len(shape) == 4:
        return [shape[0], shape[3], shape[1], shape[2]]
    if len(shape) == 2:
        return [shape[0], shape[1], 1, 1]
    if len(shape) == 3:
        return [shape[0], 1, shape[1], shape[2]]
    return list(shape)


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- timing --------------------------------------------------------------------------------

def reps_for(estimate_ms, target_ms=100.0, min_reps=10, max_reps=200):
    """The .NET TimingPlan's rule: as many runs as fit the target time, clamped."""
    if estimate_ms <= 0:
        return max_reps
    return int(min(max(target_ms / estimate_ms, min_reps), max_reps))


def quantile(values, q):
    """Linear interpolation between order statistics (numpy's default), as the .NET side."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def summarize(samples_ms, method):
    s = sorted(samples_ms)
    return dict(median_ms=quantile(s, 0.5), min_ms=s[0], q1_ms=quantile(s, 0.25), q3_ms=quantile(s, 0.75),
                max_ms=s[-1], reps=len(s), method=method)


# ---- ratios and the table ------------------------------------------------------------------

MODES = ("eager", "channels_last", "compile")


def ratio(ours_ms, torch_ms):
    """ours / torch time: below 1 ours is faster. None when either side is missing or zero."""
    if ours_ms is None or torch_ms is None or ours_ms <= 0 or torch_ms <= 0:
        return None
    return ours_ms / torch_ms


def ratio_rows(ours, torch_results, modes=MODES):
    """ours: {(workload, key): ms}; torch_results: {mode: {(workload, key): ms}} -> rows
    [{workload, key, ours_ms, <mode>_ms, <mode>_ratio}] in ours' order, then keys only torch has."""
    keys = list(ours) + [k for m in modes for k in torch_results.get(m, {}) if k not in ours]
    rows, seen = [], set()
    for k in keys:
        if k in seen:
            continue
        seen.add(k)
        row = dict(workload=k[0], key=k[1], ours_ms=ours.get(k))
        for m in modes:
            t = torch_results.get(m, {}).get(k)
            row[f"{m}_ms"] = t
            row[f"{m}_ratio"] = ratio(row["ours_ms"], t)
        rows.append(row)
    return rows


def step_ratio_rows(ours_steps, torch_steps, modes=MODES):
    """ours_steps: {workload: ms}, where a workload may carry a variant suffix ("igcv3-d ... [1x1 auto]");
    torch_steps: {mode: {(workload, "training step"): ms}}. Every variant of ours is set against
    PyTorch's step of its base workload."""
    ours = {(k, "training step"): v for k, v in ours_steps.items()}
    torch_for_ours = {m: {(k, "training step"): torch_steps.get(m, {}).get((k.split(" [", 1)[0], "training step"))
                          for k in ours_steps} for m in modes}
    for m in modes:
        torch_for_ours[m] = {k: v for k, v in torch_for_ours[m].items() if v is not None}
        torch_for_ours[m].update({k: v for k, v in torch_steps.get(m, {}).items() if k not in torch_for_ours[m]})
    return ratio_rows(ours, torch_for_ours, modes)


def geomean(values):
    v = [x for x in values if x is not None and x > 0]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else None


def format_table(rows, modes=MODES, title="ours / PyTorch time (below 1: ours faster)"):
    def f(x, spec):
        return format(x, spec) if x is not None else "-"
    head = f"{'workload':<26} {'ours ms':>9} " + " ".join(f"{m + ' ms':>17} {'ratio':>6}" for m in modes) + "  op"
    lines = [title, head, "-" * len(head)]
    for r in rows:
        cells = " ".join(f"{f(r[m + '_ms'], '.4f'):>17} {f(r[m + '_ratio'], '.2f'):>6}" for m in modes)
        lines.append(f"{r['workload']:<26} {f(r['ours_ms'], '.4f'):>9} {cells}  {r['key']}")
    gm = " ".join(f"{'':>17} {f(geomean([r[m + '_ratio'] for r in rows]), '.2f'):>6}" for m in modes)
    lines.append(f"{'geometric mean':<26} {'':>9} {gm}")
    return "\n".join(lines)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def report_device_name(ours):
    """The GPU's name in our report: its platform record, else the device line
    'cuda:0 (NVIDIA H200, sm_90, ...)' read inside the parentheses (never the ordinal)."""
    platform = ours.get("platform") or {}
    if platform.get("device_name"):
        return platform["device_name"]
    line = ours["device"]
    return line.split(" (", 1)[1].split(",")[0] if " (" in line else line


def result_stem(date, device, kind="side-by-side"):
    """Igcv3.Bench/results/ file name stem: '2026-11-20_nvidia-h100-80gb-hbm3_side-by-side'."""
    return f"{date}_{slug(device)}_{kind}"
