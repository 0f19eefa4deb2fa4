"""Tiny random-weight stand-ins for U²-Net-p and IS-Net, built in code (tests, offline checks).

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


ISNET_INPUT_NAME = "input"
ISNET_OUTPUT_NAMES = ["output", "side1"]


def build_tiny_isnet(path: Path, side: int = 1024, seed: int = 0, *, fp16: bool = False) -> Path:
    """A tiny random-weight stand-in for IS-Net with the shipped model's signature: a float
    ``input`` of 1 x 3 x side x side, the mask ``output`` (1 x 1 x side x side, a sigmoid)
    first, then a side map that must not be used. ``fp16=True`` builds it the way the npm
    package ships IS-Net (fp16 weights, casts at the graph's input and outputs), the input of
    the fetch's fp16 -> fp32 conversion."""
    import onnx  # test-only dependency
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    dtype = np.float16 if fp16 else np.float32
    weights = {
        "trunk_w": rng.normal(0, 0.5, (4, 3, 3, 3)),
        "mask_w": rng.normal(0, 1.0, (1, 4, 1, 1)),
        "side_w": rng.normal(0, 1.0, (1, 4, 1, 1)),
    }
    initializers = [numpy_helper.from_array(w.astype(dtype), n) for n, w in weights.items()]
    nodes = []
    src = ISNET_INPUT_NAME
    if fp16:
        nodes.append(helper.make_node("Cast", [src], ["input_half"], to=TensorProto.FLOAT16))
        src = "input_half"
    nodes += [
        helper.make_node("Conv", [src, "trunk_w"], ["trunk"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["trunk"], ["trunk_relu"]),
    ]
    for head, out in zip(("mask", "side"), ISNET_OUTPUT_NAMES, strict=True):
        nodes.append(helper.make_node("Conv", ["trunk_relu", f"{head}_w"], [f"{head}_logit"]))
        sig = f"{head}_sig" if fp16 else out
        nodes.append(helper.make_node("Sigmoid", [f"{head}_logit"], [sig]))
        if fp16:
            nodes.append(helper.make_node("Cast", [sig], [out], to=TensorProto.FLOAT))
    graph = helper.make_graph(
        nodes,
        "tiny_isnet",
        [helper.make_tensor_value_info(ISNET_INPUT_NAME, TensorProto.FLOAT, [1, 3, side, side])],
        [
            helper.make_tensor_value_info(o, TensorProto.FLOAT, [1, 1, side, side])
            for o in ISNET_OUTPUT_NAMES
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])
    model.ir_version = 8  # as the shipped model; readable by any onnxruntime >= 1.18
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
