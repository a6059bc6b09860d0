"""Unit tests of the side-by-side script's pure parts: python3 -m unittest test_sbs_core (no torch)."""
import unittest

import sbs_core as c


class PlanTests(unittest.TestCase):
    # IGC_SPEC.md's required counts, CIFAR-10/100 at 1.0x.
    def test_parameter_counts_match_the_spec(self):
        self.assertEqual(c.plan_params(c.plan("igcv3-d", classes=10)), 2_223_498)
        self.assertEqual(c.plan_params(c.plan("igcv3-d", classes=100)), 2_338_788)
        self.assertEqual(c.plan_params(c.plan("mobilenetv2", classes=10)), 2_236_682)
        self.assertEqual(c.plan_params(c.plan("mobilenetv2", classes=100)), 2_351_972)

    def test_imagenet_counts_match_the_spec(self):
        self.assertEqual(c.plan_params(c.plan("igcv3-d", cifar=False, classes=1000)), 3_491_688)
        self.assertEqual(c.plan_params(c.plan("mobilenetv2", cifar=False, classes=1000)), 3_504_872)

    def test_compare_params_reports_only_differences(self):
        layers = c.plan("mobilenetv2")
        ours = [dict(name=l["name"], parameters=c.layer_params(l)) for l in layers]
        self.assertEqual(c.compare_params(layers, ours), [])
        ours[3]["parameters"] += 1
        self.assertEqual(len(c.compare_params(layers, ours)), 1)


class LayoutTests(unittest.TestCase):
    def test_layouts(self):
        self.assertEqual(c.nhwc_to_nchw([2, 5, 7, 3]), [2, 3, 5, 7])
        self.assertEqual(c.nhwc_to_nchw([2, 3]), [2, 3])
        self.assertEqual(c.ohwi_to_oihw([8, 3, 3, 4]), [8, 4, 3, 3])
        self.assertEqual(c.ohwi_to_oihw([8, 4]), [8, 4, 1, 1])
        self.assertEqual(c.ohwi_to_oihw([8, 3, 3]), [8, 1, 3, 3])


class TimingTests(unittest.TestCase):
    def test_quantiles_as_numpy(self):
        self.assertEqual(c.quantile([4, 1, 3, 2], 0.5), 2.5)
        self.assertEqual(c.quantile([1, 2, 3, 4, 5], 0.25), 2.0)
        s = c.summarize([3.0, 1.0, 2.0], "m")
        self.assertEqual((s["median_ms"], s["min_ms"], s["max_ms"], s["reps"]), (2.0, 1.0, 3.0, 3))

    def test_reps_clamped(self):
        self.assertEqual(c.reps_for(1.0), 100)
        self.assertEqual(c.reps_for(1000.0), 10)
        self.assertEqual(c.reps_for(0.0001), 200)


class RatioTests(unittest.TestCase):
    def test_rows_and_ratios(self):
        ours = {("w", "a"): 2.0, ("w", "b"): 1.0}
        torch = {"eager": {("w", "a"): 4.0, ("w", "c"): 1.0}, "compile": {("w", "b"): 0.5}}
        rows = c.ratio_rows(ours, torch)
        self.assertEqual([r["key"] for r in rows], ["a", "b", "c"])
        self.assertEqual(rows[0]["eager_ratio"], 0.5)
        self.assertIsNone(rows[0]["compile_ratio"])
        self.assertEqual(rows[1]["compile_ratio"], 2.0)
        self.assertIsNone(rows[2]["eager_ratio"])
        self.assertAlmostEqual(c.geomean([0.5, 2.0]), 1.0)
        text = c.format_table(rows)
        self.assertIn("geometric mean", text)
        self.assertEqual(len(text.splitlines()), 3 + 3 + 1)

    def test_step_variants_compare_with_the_base_workload(self):
        ours = {"w": 2.0, "w [1x1 via cuBLAS]": 3.0, "w [1x1 auto]": 1.0}
        torch = {"eager": {("w", "training step"): 4.0, ("v", "training step"): 1.0}}
        rows = c.step_ratio_rows(ours, torch, modes=["eager"])
        self.assertEqual([r["workload"] for r in rows], ["w", "w [1x1 via cuBLAS]", "w [1x1 auto]", "v"])
        self.assertEqual([r["eager_ratio"] for r in rows], [0.5, 0.75, 0.25, None])
        self.assertEqual(rows[2]["eager_ms"], 4.0)

    def test_report_device_name(self):
        line = "cuda:0 (NVIDIA H200, sm_90, 132 SMs, 139.8 GiB, driver 13.0)"
        self.assertEqual(c.report_device_name({"device": line, "platform": {"device_name": "NVIDIA H200"}}), "NVIDIA H200")
        self.assertEqual(c.report_device_name({"device": line}), "NVIDIA H200")
        self.assertEqual(c.report_device_name({"device": "cpu"}), "cpu")

    def test_result_stem(self):
        self.assertEqual(c.result_stem("2026-11-20", "NVIDIA H100 80GB HBM3"), "2026-11-20_nvidia-h100-80gb-hbm3_side-by-side")


if __name__ == "__main__":
    unittest.main()
