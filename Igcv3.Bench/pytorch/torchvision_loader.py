"""torchvision's ImageFolder + DataLoader on a folder of JPEGs, timed as the image-loader bench
mode times ours (Igcv3.Bench/Modes/ImageLoaderThroughput.cs), with the same transforms:

  train: RandomResizedCrop(224) + RandomHorizontalFlip() + ToTensor() + Normalize(ImageNet)
  eval:  Resize(256) + CenterCrop(224) + ToTensor() + Normalize(ImageNet)

  torchvision_loader.py FOLDER MODE WORKERS BATCH EPOCHS

Prints one line per epoch, then 'result MODE IMAGES SECONDS CPU_SECONDS' for the fastest epoch (the
first one warms the page cache and starts the worker processes like ours), CPU_SECONDS the least CPU
time of an epoch: this process's and its workers' (their /proc/PID/stat utime + stime), the measure
of images/s per core that a host shared with other jobs does not skew as it skews the wall clock. Threads inside each
worker are limited to one, so that WORKERS processes use WORKERS cores, as our threads do.
"""
import os
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
    best, best_cpu = None, None
    for epoch in range(epochs):
        iterator = iter(loader)  # starts (or, persistent, reuses) the workers
        cpu_start = cpu_seconds(iterator)
        start = time.perf_counter()
        images = 0
        for x, _ in iterator:
            images += x.shape[0]
        seconds = time.perf_counter() - start
        cpu = cpu_seconds(iterator) - cpu_start
        print(f"torchvision {mode} epoch {epoch}: {images} images in {seconds:.2f} s, {images / seconds:.0f} images/s, CPU {cpu:.2f} s", flush=True)
        if best is None or seconds < best[1]:
            best = (images, seconds)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    print(f"result {mode} {best[0]} {best[1]:.4f} {best_cpu:.4f}")


def cpu_seconds(iterator):
    """This process's CPU time and its DataLoader workers' (user + system), in seconds."""
    total = time.process_time()
    tick = os.sysconf("SC_CLK_TCK")
    for worker in getattr(iterator, "_workers", []):
        try:
            with open(f"/proc/{worker.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15)
        except (OSError, IndexError, ValueError):
            pass
    return total


if __name__ == "__main__":
    main(sys.argv)
