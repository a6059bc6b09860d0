"""torchvision's ImageFolder + DataLoader on a folder of JPEGs, timed as the image-loader bench
mode times ours (Igcv3.Bench/Modes/ImageLoaderThroughput.cs), with the same transforms:

  train: RandomResizedCrop(224) + RandomHorizontalFlip() + ToTensor() + Normalize(ImageNet)
  eval:  Resize(256) + CenterCrop(224) + ToTensor() + Normalize(ImageNet)

  torchvision_loader.py FOLDER MODE WORKERS BATCH EPOCHS

Prints one line per epoch, then 'result MODE IMAGES SECONDS' for the fastest epoch (the first
one warms the page cache and starts the worker processes like ours). Threads inside each
worker are limited to one, so that WORKERS processes use WORKERS cores, as our threads do.
"""
import sys
import time

import torch
from torchvision import datasets, transforms as T

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def main(argv):
    folder, mode, workers, batch, epochs = argv[1], argv[2], int(argv[3]), int(argv[4]), int(argv[5])
    torch.set_num_threads(1)
    if mode == "train":
        transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    else:
        transform = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(MEAN, STD)])
    dataset = datasets.ImageFolder(folder, transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=(mode == "train"), num_workers=workers,
                                         worker_init_fn=lambda _: torch.set_num_threads(1), persistent_workers=workers > 0)
    best = None
    for epoch in range(epochs):
        start = time.perf_counter()
        images = 0
        for x, _ in loader:
            images += x.shape[0]
        seconds = time.perf_counter() - start
        print(f"torchvision {mode} epoch {epoch}: {images} images in {seconds:.2f} s, {images / seconds:.0f} images/s", flush=True)
        if best is None or seconds < best[1]:
            best = (images, seconds)
    print(f"result {mode} {best[0]} {best[1]:.4f}")


if __name__ == "__main__":
    main(sys.argv)
