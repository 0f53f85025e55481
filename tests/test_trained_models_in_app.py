"""Models made with tools/ run in the app: an exported emotion model and an exported per-emotion pack."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow")

from emocam.labels import EMOTIONS  # noqa: E402
from tools.emotion import make_dataset as make_emotion_dataset, train as train_emotion  # noqa: E402
from tools.style import export as export_style  # noqa: E402
from tools.style.teacher import slim_from_multistyle  # noqa: E402


def render(sample_clip: Path, out: Path, *extra: str) -> list[dict]:
    records = out.with_suffix(".jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "emocam", "render", str(sample_clip), "-o", str(out), "--json", str(records),
         "--process-size", "96", "--device", "cpu", *extra],
        capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    with av.open(str(out)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 210
    return [json.loads(line) for line in records.read_text().splitlines()]


def test_render_with_an_exported_emotion_model(sample_clip, tmp_path):
    data = make_emotion_dataset.make_all(tmp_path / "data", per_class=12, seed=3)
    run = tmp_path / "run"
    assert train_emotion.main(["--data", str(data["folder"]), "--out", str(run), "--size", "48",
                               "--epochs", "1", "--seed", "0", "--name", "tiny"]) == 0
    frames = render(sample_clip, tmp_path / "out.mp4", "--emotion-model", str(run / "tiny.onnx"))
    faces = [face for frame in frames for face in frame["faces"]]
    assert faces and all(sum(face["probs"].values()) == pytest.approx(1.0, abs=1e-3) for face in faces)


def test_render_with_an_exported_per_emotion_pack(sample_clip, tmp_path):
    runs = tmp_path / "runs"
    for emotion, style in zip(EMOTIONS, (20, 13, 6, 5, 19, 3, 18)):
        (runs / emotion).mkdir(parents=True)
        net = slim_from_multistyle(str(style))
        torch.save({"arch": "slim", "state_dict": net.state_dict(), "step": 0}, runs / emotion / "model.pt")
        (runs / emotion / "train.json").write_text(json.dumps(
            {"command": f"python -m tools.style.train --arch slim --init-from-teacher --teacher-style {style}",
             "arch": "slim", "loss_description": "none (teacher weights folded in)", "steps": 0, "final": {}}))
    pack = tmp_path / "pack"
    export_style.export_pack(pack, runs, False, "folded", "default")
    frames = render(sample_clip, tmp_path / "out.mp4", "--pack", str(pack))
    assert frames[30]["emotion"] == "happy"
    # the per-emotion networks reproduce the default pack's styles: compare a frame of both renders
    reference = tmp_path / "reference.mp4"
    render(sample_clip, reference)
    with av.open(str(tmp_path / "out.mp4")) as a, av.open(str(reference)) as b:
        x = next(a.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        y = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(x - y).mean() < 6
