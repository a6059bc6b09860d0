"""Loads an `export --format pytorch-safetensors` file into torchvision's own MobileNetV2 and
compares its eval logits with ours (no GPU needed).

    python3 torchvision_load.py --weights W.safetensors --io IO.safetensors --classes K --width-mult M [--cifar]

W is the exported state_dict (torchvision's names, OIHW float32); IO holds x [N, 3, H, W] (NCHW,
normalised) and logits [N, K], our engine's eval logits on x. The model is
torchvision.models.mobilenet_v2(num_classes=K, width_mult=M), loaded with strict=True (every key
present, none extra, every shape equal); --cifar sets the two strides our CIFAR variant changes
(the stem's and the second stage's depthwise) to 1. Prints the relative error max|theirs - ours| /
max|ours| and exits 1 above --tolerance. Needs torch, torchvision and numpy."""
import argparse
import sys

import numpy as np
import torch
import torchvision

from crosscheck import read_safetensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--io", required=True)
    parser.add_argument("--classes", type=int, required=True)
    parser.add_argument("--width-mult", type=float, default=1.0)
    parser.add_argument("--cifar", action="store_true")
    parser.add_argument("--tolerance", type=float, default=1e-5)
    args = parser.parse_args()

    net = torchvision.models.mobilenet_v2(num_classes=args.classes, width_mult=args.width_mult)
    if args.cifar:
        net.features[0][0].stride = (1, 1)
        net.features[2].conv[1][0].stride = (1, 1)
    state = {name: torch.from_numpy(value) for name, value in read_safetensors(args.weights).items()}
    net.load_state_dict(state, strict=True)
    net.eval()

    io = read_safetensors(args.io)
    with torch.no_grad():
        theirs = net(torch.from_numpy(io["x"])).numpy()
    ours = io["logits"]
    error = float(np.abs(theirs - ours).max() / np.abs(ours).max())
    print(f"torchvision {torchvision.__version__} mobilenet_v2: {len(state)} tensors loaded (strict), "
          f"logits {list(theirs.shape)}, relative error {error:.2e}")
    return 0 if error <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
