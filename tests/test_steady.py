"""The `steady` pack: multistyle26 fine-tuned to be steady by itself (tools/style/steady.py, docs/steady.md).

Real pixels throughout: held-back photos, a real camera pan over an opencv-doc photo, the bundled clip.
"""
from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest

from emocam.packs.registry import load_pack, pack_folders

torch = pytest.importorskip("torch")

# the floor docs/steady.md states for the student against multistyle26 (held-back photo, per style)
PSNR_FLOOR_DB = 24.0


@pytest.fixture(scope="module")
def nets():
    from tools.style.steady_eval import OrtNet, teacher_net

    pack = load_pack("steady")
    return teacher_net(), OrtNet(pack.models["*"])


def test_pack_is_a_multistyle_pack_with_provenance():
    pack = load_pack("steady")
    default = load_pack("default")
    assert pack.kind == "multistyle"
    for emotion, vector in default.styles.items():
        np.testing.assert_array_equal(pack.styles[emotion], vector)
    raw = json.loads((pack_folders()["steady"] / "pack.json").read_text())
    prov = raw["provenance"]
    assert prov["train_commands"] and prov["steps"] > 0 and len(prov["teacher"]["sha256"]) == 64
    assert pack.models["*"].stat().st_size < 10_000_000


def test_student_keeps_the_teachers_look_on_a_held_back_photo(nets):
    from tools.style.steady import HELD_BACK_SKIMAGE, TRAIN_SKIMAGE
    from tools.style.steady_eval import eval_photos, psnr

    assert "astronaut" in HELD_BACK_SKIMAGE and "astronaut" not in TRAIN_SKIMAGE
    teacher, student = nets
    photo = eval_photos(256)["astronaut"]
    for style in (19, 5):
        value = psnr(teacher(photo, style), student(photo, style))
        assert PSNR_FLOOR_DB <= value < 60, f"style {style}: {value:.2f} dB"  # < 60: not the teacher itself
    blend = np.zeros(26, np.float32)
    blend[[19, 3]] = 0.5
    out = student(photo, blend)
    assert np.abs(out.astype(int) - student(photo, 19)).mean() > 3  # blends still blend


def test_student_is_steadier_than_the_teacher_on_a_pan(nets):
    from tools.style.steady_eval import pan_rows

    teacher, student = nets
    row = pan_rows(teacher, student, [19], count=4)[0]
    for flow in ("dis", "farneback"):
        assert row[f"student_vs_oracle_{flow}"] < 0.8 * row[f"teacher_vs_oracle_{flow}"], row
    assert row["sharpness_vs_teacher"] > 0.5


def test_render_with_the_steady_pack(tmp_path, sample_clip):
    clip = tmp_path / "short.mp4"
    with av.open(str(sample_clip)) as src, av.open(str(clip), "w") as dst:
        stream = dst.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i >= 8:
                break
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="rgb24"), format="rgb24")):
                dst.mux(packet)
        for packet in stream.encode():
            dst.mux(packet)
    out = tmp_path / "styled.mp4"
    done = subprocess.run([sys.executable, "-m", "emocam", "render", str(clip), "-o", str(out), "--pack", "steady",
                           "--device", "cpu", "--process-size", "320"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        src = [f.to_ndarray(format="rgb24") for f in a.decode(video=0)]
        styled = [f.to_ndarray(format="rgb24") for f in b.decode(video=0)]
    assert len(styled) == len(src) == 8
    assert min(np.abs(x.astype(int) - y).mean() for x, y in zip(src, styled)) > 15


def test_training_resumes_from_its_checkpoint(tmp_path):
    from tools.style.steady import load_checkpoint, main

    common = ["--steps", "3", "--crop", "32", "--batch", "1", "--threads", "1", "--save-every", "1", "--gram-size", "32"]
    assert main(["train", "--out", str(tmp_path / "whole"), *common]) == 0
    assert main(["train", "--out", str(tmp_path / "split"), *common, "--minutes", "1e-9"]) == 0  # stops at step 1
    _, first = load_checkpoint(tmp_path / "split" / "ckpt.pt")
    assert first["step"] == 1
    assert main(["train", "--out", str(tmp_path / "split"), *common, "--resume"]) == 0
    whole, a = load_checkpoint(tmp_path / "whole" / "ckpt.pt")
    split, b = load_checkpoint(tmp_path / "split" / "ckpt.pt")
    assert a["step"] == b["step"] == 3
    assert len(json.loads(b["commands"])) == 2
    for (name, p), q in zip(whole.state_dict().items(), split.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-6, msg=name)
    from tools.style.steady import from_multistyle

    moved = [float((p - q).abs().max()) for p, q in zip(whole.state_dict().values(),
                                                       from_multistyle().state_dict().values())]
    assert max(moved) > 1e-5  # it trained: the weights left the teacher's


def test_bad_checkpoint_is_one_line_exit_2(tmp_path, capsys):
    from tools.style.steady import main

    bad = tmp_path / "ckpt.pt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["export", str(bad), "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tools.style.steady: error:") and "\n" not in err
    assert main(["train", "--out", str(tmp_path / "r"), "--resume", "--steps", "2"]) == 2
