"""torchvision's crops of images, as raw RGB bytes, for the parity tests of our transforms
(Igcv3.Tests/Train/Images/TorchvisionParityTests.cs).

  torchvision_crops.py JOBS

JOBS is a text file, one job a line (one interpreter start for all: importing torchvision takes seconds):
  IMAGE OUT eval CROP RESIZE          Resize(RESIZE) + CenterCrop(CROP)
  IMAGE OUT crop TOP LEFT H W SIZE    resized_crop(top, left, h, w, [SIZE, SIZE]) (RandomResizedCrop's body)

Each image is read as torchvision's ImageFolder reads it: PIL, convert("RGB"). OUT gets the
[H, W, 3] uint8 bytes and OUT.size the text "W H".
"""
import sys

import numpy as np
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as F


def run(image_path, out_path, mode, *args):
    with open(image_path, "rb") as f:
        image = Image.open(f).convert("RGB")
    if mode == "eval":
        crop, resize = int(args[0]), int(args[1])
        out = T.CenterCrop(crop)(T.Resize(resize)(image))
    elif mode == "crop":
        top, left, h, w, size = (int(a) for a in args[:5])
        out = F.resized_crop(image, top, left, h, w, [size, size])
    else:
        raise SystemExit(f"unknown mode {mode}")
    array = np.asarray(out, dtype=np.uint8)
    array.tofile(out_path)
    with open(out_path + ".size", "w") as f:
        f.write(f"{array.shape[1]} {array.shape[0]}")


def main(argv):
    with open(argv[1]) as jobs:
        for line in jobs:
            if line.strip():
                run(*line.split())


if __name__ == "__main__":
    main(sys.argv)
