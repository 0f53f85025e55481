"""Instance-norm statistics from a sample: every s-th row and column, s the largest odd step that leaves 32768
pixels, exact below twice that; the normalisation still covers every pixel."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from emocam.modelstore.manifest import find_model
from emocam.modelstore.onnx_norm_stats import sample_norm_statistics
from onnx_patterns import spelled_out_norm

CPU = ["CPUExecutionProvider"]


def _norm(x: np.ndarray, gain: np.ndarray, shift: np.ndarray, step: int) -> np.ndarray:
    """relu(gain * (x - mean) / sqrt(var + eps) + shift), mean and var of x[:, :, ::step, ::step]."""
    sample = x[:, :, ::step, ::step].astype(np.float64)
    mean, var = sample.mean((2, 3), keepdims=True), sample.var((2, 3), keepdims=True)
    y = gain[None, :, None, None] * (x - mean) / np.sqrt(var + 1e-5) + shift[None, :, None, None]
    return np.maximum(y, 0)


@pytest.mark.parametrize("height, width, step", [(90, 70, 1), (256, 255, 1), (480, 640, 3), (720, 1280, 5),
                                                 (1080, 1920, 7)])
def test_the_sample_step_follows_the_map_size(height, width, step):
    sampled, count = sample_norm_statistics(spelled_out_norm())
    assert count == 1
    onnx.checker.check_model(onnx.load_from_string(sampled))
    rng = np.random.default_rng(height)
    # a map whose rows and columns differ (a gradient and a checkerboard of a 2x upsampled layer's kind), so that
    # any other step gives other statistics
    rows, cols = np.mgrid[0:height, 0:width]
    x = (rng.normal(0, 1, (1, 4, height, width)) + rows / height * 3 + (rows // 2 + cols // 2) % 2).astype(np.float32)
    gain, shift = rng.normal(size=4).astype(np.float32), rng.normal(size=4).astype(np.float32)
    got = ort.InferenceSession(sampled, providers=CPU).run(None, {"x": x, "gain": gain, "shift": shift})[0]
    assert np.abs(got - _norm(x, gain, shift, step)).max() < 1e-3
    for other in {1, 2, 3, 5, 7} - {step}:
        assert np.abs(got - _norm(x, gain, shift, other)).max() > 1e-3, other


@pytest.mark.parametrize("name", ["multistyle26.onnx", "packs/steady/steady26.onnx"])
def test_both_multistyle_exports_have_their_18_norms_sampled(name):
    assert sample_norm_statistics(find_model(name).read_bytes())[1] == 18


@pytest.mark.parametrize("name", ["emotion_fer_minixception.onnx", "packs/johnson-distilled/happy.onnx"])
def test_models_without_spelled_out_norms_come_back_unchanged(name):
    model = find_model(name).read_bytes()
    assert sample_norm_statistics(model) == (model, 0)


def test_an_opset_without_slice_steps_and_other_formulas_are_left_alone():
    for model in (spelled_out_norm(opset=9), spelled_out_norm(exponent=3.0)):
        assert sample_norm_statistics(model) == (model, 0)
