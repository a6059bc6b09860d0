"""Copies a GPU session's reports under the names Igcv3.Bench/results/ keeps them by, read off
our report itself (its date and device):

    python3 dated_copies.py REPORT_DIR RESULTS_DIR

REPORT_DIR holds igcv3.{json,txt} (gpu-report) and, when the side by side ran, side_by_side.{json,txt};
RESULTS_DIR receives <date>_<device>_{igcv3,side-by-side}.{json,txt}."""
import os
import shutil
import sys

import sbs_core as core


def main(report_dir, results_dir):
    ours = core.load_json(os.path.join(report_dir, "igcv3.json"))
    date, device = ours["created_utc"][:10], core.report_device_name(ours)
    os.makedirs(results_dir, exist_ok=True)
    for src, kind in (("igcv3", "igcv3"), ("side_by_side", "side-by-side")):
        for ext in ("json", "txt"):
            p = os.path.join(report_dir, f"{src}.{ext}")
            if os.path.exists(p):
                shutil.copy(p, os.path.join(results_dir, f"{core.result_stem(date, device, kind)}.{ext}"))
    print("results:", sorted(os.listdir(results_dir)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
