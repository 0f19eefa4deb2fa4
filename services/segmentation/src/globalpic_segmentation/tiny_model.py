"""A tiny random-weight stand-in for U²-Net-p, built in code (tests and offline checks).

Same signature as the shipped model: one NCHW float input named ``input.1`` and seven
1 x 1 x H x W sigmoid outputs (the fused map first, then six side outputs), so tests anywhere
in the repo load it through exactly the production code path. Needs the ``[test]`` extra (onnx).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_NAME = "input.1"
OUTPUT_NAMES = [str(n) for n in range(1959, 1966)]


def build_tiny_u2net(path: Path, side: int = 320, seed: int = 0) -> Path:
    import onnx  # test-only dependency
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    initializers = []
    nodes = []
    # A shared 3x3 conv trunk, then a 1x1 conv + sigmoid head per output so the outputs differ.
    trunk_w = rng.normal(0, 0.5, (4, 3, 3, 3)).astype(np.float32)
    initializers.append(numpy_helper.from_array(trunk_w, "trunk_w"))
    nodes.append(helper.make_node("Conv", [INPUT_NAME, "trunk_w"], ["trunk"], pads=[1, 1, 1, 1]))
    nodes.append(helper.make_node("Relu", ["trunk"], ["trunk_relu"]))
    for i, out in enumerate(OUTPUT_NAMES):
        w = rng.normal(0, 1.0, (1, 4, 1, 1)).astype(np.float32)
        initializers.append(numpy_helper.from_array(w, f"head{i}_w"))
        nodes.append(helper.make_node("Conv", ["trunk_relu", f"head{i}_w"], [f"head{i}"]))
        nodes.append(helper.make_node("Sigmoid", [f"head{i}"], [out]))
    out_shape = [1, 1, side, side]
    outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, out_shape) for o in OUTPUT_NAMES]
    graph = helper.make_graph(
        nodes,
        "tiny_u2netp",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, 3, side, side])],
        outputs,
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8  # readable by any onnxruntime >= 1.18
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
