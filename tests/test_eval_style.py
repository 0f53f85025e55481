"""tools.style.evaluate: metrics on a short generated clip; a student equal to its teacher scores as such."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tools.style import evaluate as eval_style, export as export_style  # noqa: E402
from tools.style.teacher import slim_from_multistyle  # noqa: E402


def pan_clip(image: np.ndarray, n: int, size: tuple[int, int] = (128, 96), step: int = 3) -> list[np.ndarray]:
    """A camera pan: n crops of `image`, each shifted `step` px right of the last."""
    w, h = size
    small = cv2.resize(image, (w * 2, h * 2), interpolation=cv2.INTER_AREA)
    return [small[20:20 + h, 10 + i * step:10 + i * step + w] for i in range(n)]


def write_clip(path, frames: list[np.ndarray]) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()


def test_warping_error_sees_flicker(astronaut):
    frames = pan_clip(astronaut, 4)
    flow = eval_style.flows(frames)
    steady = eval_style.warping_error(frames, flow)
    rng = np.random.default_rng(0)
    flicker = [np.clip(f.astype(int) + rng.integers(-40, 40, 3), 0, 255).astype(np.uint8) for f in frames]
    assert steady < 0.03
    assert eval_style.warping_error(flicker, flow) > steady + 0.05


def test_eval_student_equal_to_teacher(tmp_path, astronaut, capsys):
    clip = tmp_path / "pan.mp4"
    write_clip(clip, pan_clip(astronaut, 4))
    onnx = tmp_path / "sad.onnx"
    export_style.export(slim_from_multistyle("19").eval(), onnx, fp16=False)
    out = tmp_path / "eval.json"
    rc = eval_style.main(["--onnx", str(onnx), "--teacher-style", "19", "--video", str(clip), "--frames", "4",
                          "--clip-size", "128", "--still-size", "96", "--json", str(out)])
    assert rc == 0
    assert "PSNR" in capsys.readouterr().out
    res = json.loads(out.read_text())["results"]["sad"]
    assert res["psnr"] > 40 and res["gram"] < 0.01 < res["gram_content"]
    assert res["face_kept_student"] == res["face_kept_teacher"]
    assert 0 <= res["emotion_score_student"] <= 1.0001
    assert res["emotion_score_student"] == pytest.approx(res["emotion_score_teacher"], abs=0.02)
    assert res["flicker_ratio_student"] == pytest.approx(res["flicker_ratio_teacher"], rel=0.05)


def test_eval_errors(capsys):
    assert eval_style.main(["--pack", "default"]) == 2
    assert "is a multistyle pack" in capsys.readouterr().err
    assert eval_style.main(["--onnx", "x.onnx"]) == 2
    assert "needs --teacher-style" in capsys.readouterr().err
