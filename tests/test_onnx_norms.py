"""Folding spelled-out instance norms: the same pictures out of multistyle26, the exact pattern only."""

from __future__ import annotations

import cv2
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from emocam.modelstore import runtime
from emocam.modelstore.manifest import find_model
from emocam.modelstore.onnx_norms import fold_instance_norms
from onnx_patterns import spelled_out_norm

CPU = ["CPUExecutionProvider"]


def _ops(model: bytes) -> dict[str, int]:
    graph = onnx.load_from_string(model).graph
    return {op: sum(n.op_type == op for n in graph.node) for op in {n.op_type for n in graph.node}}


def _run(model: bytes, feed: dict) -> np.ndarray:
    return ort.InferenceSession(model, providers=CPU).run(None, feed)[0]


def test_multistyle26_folds_to_the_same_pictures(astronaut):
    model = find_model("multistyle26.onnx").read_bytes()
    folded, count = fold_instance_norms(model)
    assert count == 18
    onnx.checker.check_model(onnx.load_from_string(folded))
    ops = _ops(folded)
    assert ops["InstanceNormalization"] == 18 and "Pow" not in ops and "Sqrt" not in ops
    one_style = np.eye(26, dtype=np.float32)[19]
    blend = (0.6 * np.eye(26)[3] + 0.4 * np.eye(26)[7]).astype(np.float32)
    for size, weights in [((512, 384), one_style), ((320, 240), blend)]:
        x = (cv2.resize(astronaut, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255).transpose(2, 0, 1)[None]
        feed = {"image": np.ascontiguousarray(x), "style_weights": weights}
        want, got = _run(model, feed), _run(folded, feed)
        assert np.abs(got - want).max() < 1e-4
        assert want.std() > 0.05  # a real picture came out, not a flat one


def test_a_spelled_out_norm_folds_and_matches_numpy():
    model = spelled_out_norm()
    folded, count = fold_instance_norms(model)
    assert count == 1 and _ops(folded).get("InstanceNormalization") == 1
    assert "Constant" in _ops(folded)  # the Reshape target stays; eps, 2 and 1 go with the nodes that read them
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (1, 4, 9, 7)).astype(np.float32)
    gain, shift = rng.normal(size=4).astype(np.float32), rng.normal(size=4).astype(np.float32)
    mean, var = x.mean((2, 3), keepdims=True), x.var((2, 3), keepdims=True)
    want = np.maximum(gain[None, :, None, None] * (x - mean) / np.sqrt(var + 1e-5) + shift[None, :, None, None], 0)
    got = _run(folded, {"x": x, "gain": gain, "shift": shift})
    assert np.abs(got - want).max() < 1e-4


@pytest.mark.parametrize("exponent", [3.0, 1.0])
def test_a_different_formula_is_left_alone(exponent):
    model = spelled_out_norm(exponent=exponent)
    assert fold_instance_norms(model) == (model, 0)


@pytest.mark.parametrize("name", ["emotion_fer_minixception.onnx", "packs/johnson-distilled/happy.onnx"])
def test_models_without_spelled_out_norms_come_back_unchanged(name):
    model = find_model(name).read_bytes()
    assert fold_instance_norms(model) == (model, 0)


def test_sessions_load_the_folded_graph_only_where_there_is_one(tmp_path):
    assert isinstance(runtime.loadable(find_model("multistyle26.onnx")), bytes)
    emotion = find_model("emotion_fer_minixception.onnx")
    assert runtime.loadable(emotion) == str(emotion)
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff" * 40)
    assert runtime.loadable(junk) == str(junk)
