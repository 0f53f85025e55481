"""onnxruntime sessions: the device really used, CUDA refusal and fallback, bad input."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from emocam.modelstore import runtime
from emocam.errors import EmocamError
from emocam.modelstore.fetch import ensure_models
from emocam.modelstore.manifest import find_model


@pytest.fixture(scope="module")
def emotion_path():
    ensure_models()
    return find_model("emotion_fer_minixception.onnx")


def test_probe_model_is_valid():
    sess = ort.InferenceSession(runtime.PROBE_MODEL, providers=["CPUExecutionProvider"])
    y = sess.run(None, {"x": np.array([-2.0], np.float32)})[0]
    assert y.tolist() == [0.0]


def test_cpu_session_runs(emotion_path):
    sess, used = runtime.create_session(emotion_path, "cpu", threads=1)
    assert used == "cpu" and sess.get_providers() == ["CPUExecutionProvider"]
    out = sess.run(None, {"input": np.zeros((2, 64, 64, 1), np.float32)})[0]
    assert out.shape == (2, 7) and np.allclose(out.sum(1), 1, atol=1e-4)


def test_cuda_refused_or_used(emotion_path):
    usable, reason = runtime.cuda_status()
    if usable:
        sess, used = runtime.create_session(emotion_path, "cuda")
        assert used == "cuda" and "CUDAExecutionProvider" in sess.get_providers()
        return
    assert reason
    with pytest.raises(EmocamError) as e:
        runtime.create_session(emotion_path, "cuda")
    msg = str(e.value)
    assert msg.startswith("--device cuda: CUDA is not usable here") and "use --device cpu or auto" in msg
    assert reason in msg and "\n" not in msg


def test_auto_falls_back_to_cpu(emotion_path, capfd):
    usable, _ = runtime.cuda_status()
    sess, used = runtime.create_session(emotion_path, "auto")
    assert used == ("cuda" if usable else "cpu")
    assert ("CUDAExecutionProvider" in sess.get_providers()) == usable
    assert runtime.available_devices() == (["cuda", "cpu"] if usable else ["cpu"])
    out = sess.run(None, {"input": np.zeros((1, 64, 64, 1), np.float32)})[0]
    assert out.shape == (1, 7)
    if not usable:
        assert "EP Error" not in capfd.readouterr().err


def test_cuda_status_agrees_with_a_real_session():
    """emocam's verdict on CUDA is what a real session asked for CUDA gets (onnxruntime alone falls back quietly)."""
    if runtime.CUDA not in runtime.listed_providers():
        pytest.skip("this onnxruntime build has no CUDA provider")
    so = ort.SessionOptions()
    so.log_severity_level = 4
    ort.set_default_logger_severity(4)
    try:
        sess = ort.InferenceSession(runtime.PROBE_MODEL, so, providers=[runtime.CUDA, runtime.CPU])
    finally:
        ort.set_default_logger_severity(2)
    usable, reason = runtime.cuda_status()
    assert ("CUDAExecutionProvider" in sess.get_providers()) == usable
    assert usable or reason  # a refusal always says why


def test_bad_arguments(emotion_path, tmp_path):
    with pytest.raises(EmocamError, match="--device gpu: choose one of auto, cpu, cuda"):
        runtime.create_session(emotion_path, "gpu")
    with pytest.raises(EmocamError, match="threads must be at least 1"):
        runtime.create_session(emotion_path, "cpu", threads=0)
    with pytest.raises(EmocamError, match="not found"):
        runtime.create_session(tmp_path / "nope.onnx", "cpu")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not an onnx model")
    with pytest.raises(EmocamError, match="cannot load model") as e:
        runtime.create_session(junk, "cpu")
    assert "\n" not in str(e.value)
