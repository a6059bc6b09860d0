"""The side-by-side script's PyTorch half, run once on the CPU with no timing: every distinct op of
our CIFAR training steps (eager and channels_last) and one training step per network, so that a
broken op callable shows here instead of as a note in a GPU report that cost device time.

    python3 dry_run_cpu.py --shapes shapes.json [--batch 8]

shapes.json comes from `Igcv3.Bench.dll export-shapes`. --batch scales every op's batch axis
down (the shapes' layout is otherwise kept) so that a 2-core machine finishes in seconds. Exits 1
listing each op whose callable raised."""
import argparse
import copy
import sys

import torch

import sbs_core as core
import side_by_side as sbs


# Argument roles that hold activations (batch first); weights, gradients of weights and flat
# parameter buffers keep their shapes.
ACTIVATIONS = {"x", "y", "dx", "dy", "logits", "probabilities", "dlogits", "labels"}


def with_batch(op, full, batch):
    """The op with every activation's leading (batch) axis `full` set to `batch`."""
    op = copy.deepcopy(op)
    family = op["op"].split(".")[0]
    for a in op["args"]:
        activation = a["role"] in ACTIVATIONS or (family == "add" and a["role"] in ("a", "b"))
        if activation and a["shape"] and a["shape"][0] == full:
            a["shape"][0] = batch
    return op


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    sbs.DEVICE = "cpu"
    torch.manual_seed(0)
    shapes = core.load_json(a.shapes)
    failures, ran = [], 0
    for w in shapes["workloads"]:
        if w["input"] != "cifar":
            continue
        for op in w["ops"]:
            op = with_batch(op, w["batch"], a.batch)
            for mode in ("eager", "channels_last"):
                try:
                    fwd, bwd = sbs.op_callables(op, mode)
                    (fwd or bwd)()
                    ran += 1
                except Exception as e:  # every failure is reported, not just the first
                    failures.append(f"{w['workload']} {op['key']} [{mode}]: {type(e).__name__}: {e}")
        layers = core.plan(w["network"], cifar=True, classes=w["classes"])
        try:
            sbs.train_step_fn(sbs.Net(layers), a.batch, w["classes"], "eager")()
            ran += 1
        except Exception as e:
            failures.append(f"{w['workload']} training step: {type(e).__name__}: {e}")
    print(f"dry run: {ran} op callables and steps ran, {len(failures)} failed")
    for f in failures:
        print("  FAILED " + f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
