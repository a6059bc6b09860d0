"""torchvision's adjust_hue on the [0, 1] float tensor of an image, for the parity test of our hue
jitter (Igcv3.Tests/Train/Images/TorchvisionHueTests.cs).

  torchvision_hue.py JOBS

JOBS is a text file, one job a line: IMAGE OUT FACTOR. The image is read as ImageFolder reads it
(PIL, convert("RGB")), made a tensor by ToTensor(), then F.adjust_hue(tensor, FACTOR) (FACTOR in
[-0.5, 0.5], given exactly representable in float32). OUT gets the result as [H, W, 3] float32.
"""
import sys

import numpy as np
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F


def run(image_path, out_path, factor):
    with open(image_path, "rb") as f:
        image = Image.open(f).convert("RGB")
    tensor = F.adjust_hue(T.ToTensor()(image), float(factor))
    tensor.permute(1, 2, 0).contiguous().numpy().astype(np.float32).tofile(out_path)


def main(argv):
    with open(argv[1]) as jobs:
        for line in jobs:
            if line.strip():
                run(*line.split())


if __name__ == "__main__":
    main(sys.argv)
