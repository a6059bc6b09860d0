"""ONNX's own checker on exported models (no GPU, no PyTorch needed).

    python3 onnx_check.py MODEL.onnx [MODEL.onnx ...]

Loads each file with the onnx package and runs onnx.checker.check_model(model, full_check=True):
the schema of every node against its operator set, the graph's wiring and topological order, and
ONNX's shape inference in strict mode. Prints one line per model; exits 1 at the first failure,
with the checker's message."""
import sys

import onnx


def main(paths):
    for path in paths:
        model = onnx.load(path)
        try:
            onnx.checker.check_model(model, full_check=True)
        except onnx.checker.ValidationError as e:
            print(f"{path}: onnx {onnx.__version__} checker: FAILED: {e}")
            return 1
        print(f"{path}: onnx {onnx.__version__} checker: ok (IR {model.ir_version}, opset {model.opset_import[0].version}, "
              f"{len(model.graph.node)} nodes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
