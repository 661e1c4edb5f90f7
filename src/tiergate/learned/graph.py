"""The same BERT as an ONNX graph, built from the weights with onnx's helper API (no torch, no export), and its
dynamically quantised int8 copy.

The graph uses onnxruntime's fused CPU operators, the ones its own BERT optimiser produces:
``EmbedLayerNormalization`` (word + position embeddings, LayerNorm, and the padding mask),
``Attention`` (QKV projection and all heads in one kernel), ``SkipLayerNormalization`` (bias, residual and
LayerNorm) and ``BiasGelu`` (the erf GELU). Its output is the last hidden state; pooling stays in numpy.

``quantize`` turns the dense ``MatMul`` weights into per-channel int8 (activations are quantised per call).
On this machine's AVX-512 VNNI that halves the forward pass; cosine to the float model is about 0.99-0.998
per sentence. The attention projections stay float: quantising them too (``QAttention``, measured with
per-tensor weights) dropped cosine to 0.93 and was no faster (docs/encoders.md).

    model = build_graph(weights)                        # onnx.ModelProto, float32
    quantize(model, Path("minilm-int8.onnx"))
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tiergate.learned.weights import Weights

#: Bumped when the graph or the quantisation changes, so a cached model from the old recipe is not reused.
GRAPH_RECIPE = "q1"
_MS = "com.microsoft"


def build_graph(weights: Weights) -> Any:
    """The float32 ``onnx.ModelProto``: inputs ``input_ids``, ``attention_mask`` (batch, seq) int64."""
    from onnx import TensorProto, helper, numpy_helper

    c, t = weights.config, weights.tensors
    eps = c.layer_norm_eps
    initializers = []
    nodes = []

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array, dtype=np.float32), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    ids = node("Cast", ["input_ids"], "ids32", to=TensorProto.INT32)
    mask = node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    position = t["embeddings.position_embeddings.weight"] + t["embeddings.token_type_embeddings.weight"][0]
    nodes.append(
        helper.make_node(
            "EmbedLayerNormalization",
            [
                ids,
                "",
                const("word", t["embeddings.word_embeddings.weight"]),
                const("position", position),
                "",
                const("embeddings.norm.g", t["embeddings.LayerNorm.weight"]),
                const("embeddings.norm.b", t["embeddings.LayerNorm.bias"]),
                mask,
            ],
            ["x0", "mask_index"],
            name="embeddings",
            domain=_MS,
            epsilon=eps,
        )
    )
    x = "x0"
    for n in range(c.num_layers):
        p, q = f"encoder.layer.{n}.", f"l{n}."
        qkv = [p + f"attention.self.{name}" for name in ("query", "key", "value")]
        qkv_w = np.concatenate([t[name + ".weight"] for name in qkv]).T
        qkv_b = np.concatenate([t[name + ".bias"] for name in qkv])
        attended = node(
            "Attention",
            [x, const(q + "qkv.w", qkv_w), const(q + "qkv.b", qkv_b), "mask_index"],
            q + "attention",
            _MS,
            num_heads=c.num_heads,
        )
        projected = node("MatMul", [attended, const(q + "out.w", t[p + "attention.output.dense.weight"].T)], q + "out")
        x1 = node(
            "SkipLayerNormalization",
            [
                projected,
                x,
                const(q + "norm1.g", t[p + "attention.output.LayerNorm.weight"]),
                const(q + "norm1.b", t[p + "attention.output.LayerNorm.bias"]),
                const(q + "out.b", t[p + "attention.output.dense.bias"]),
            ],
            q + "x1",
            _MS,
            epsilon=eps,
        )
        up = node("MatMul", [x1, const(q + "up.w", t[p + "intermediate.dense.weight"].T)], q + "up")
        gelu = node("BiasGelu", [up, const(q + "up.b", t[p + "intermediate.dense.bias"])], q + "gelu", _MS)
        down = node("MatMul", [gelu, const(q + "down.w", t[p + "output.dense.weight"].T)], q + "down")
        x = node(
            "SkipLayerNormalization",
            [
                down,
                x1,
                const(q + "norm2.g", t[p + "output.LayerNorm.weight"]),
                const(q + "norm2.b", t[p + "output.LayerNorm.bias"]),
                const(q + "down.b", t[p + "output.dense.bias"]),
            ],
            q + "x2",
            _MS,
            epsilon=eps,
        )
    node("Identity", [x], "hidden")
    graph = helper.make_graph(
        nodes,
        "tiergate-bert",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "seq", c.hidden_size])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)])
    model.ir_version = 9
    # The graph is already what onnxruntime's pre-processing would make; saying so stops quantize_dynamic
    # from logging on the root logger (which would configure logging for the whole process).
    helper.set_model_props(model, {"onnx.quant.pre_process": "onnxruntime.quant"})
    return model


def quantize(model: Any, out: Path) -> None:
    """Write the int8 copy of float ``model`` to ``out`` (dense MatMul weights per channel, attention float)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="tiergate-onnx-") as scratch:
        source = Path(scratch) / "float.onnx"
        onnx.save(model, str(source))
        quantize_dynamic(
            str(source),
            str(out),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
