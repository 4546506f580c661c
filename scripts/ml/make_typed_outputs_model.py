#!/usr/bin/env python3
"""Builds crates/ml/tests/data/typed_outputs.onnx: a model whose outputs
are int64 and bool (ArgMax and Greater over a float input [batch, 4] and a
scalar threshold), for the session test that reads every output type.

    target/venv/bin/pip install onnx==1.19.1
    target/venv/bin/python scripts/ml/make_typed_outputs_model.py
"""
import os

import onnx
from onnx import TensorProto, helper

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "crates", "ml", "tests", "data", "typed_outputs.onnx")

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])
threshold = helper.make_tensor_value_info("threshold", TensorProto.FLOAT, [])
loudest = helper.make_tensor_value_info("loudest", TensorProto.INT64, ["batch"])
over = helper.make_tensor_value_info("over", TensorProto.BOOL, ["batch", 4])
graph = helper.make_graph(
    [
        helper.make_node("ArgMax", ["x"], ["loudest"], axis=1, keepdims=0),
        helper.make_node("Greater", ["x", "threshold"], ["over"]),
    ],
    "typed_outputs",
    [x, threshold],
    [loudest, over],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="kmidi")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, OUT)
print(f"wrote {OUT}")
