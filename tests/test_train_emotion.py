"""Emotion CNN tooling: dataset formats and label mapping, splits, balancing, metrics, a tiny training
run with ONNX export and evaluation, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.modelstore.manifest import find_model
from tools.emotion import data as ed
from tools.emotion import formats
from tools.emotion import evaluate as eval_emotion, make_dataset as make_emotion_dataset, report as emotion_report, train as train_emotion

ROOT = Path(__file__).resolve().parent.parent
FER_MODEL = find_model("emotion_fer_minixception.onnx")  # bundled with the package


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A small generated dataset in all three formats."""
    return make_emotion_dataset.make_all(tmp_path_factory.mktemp("gen"), per_class=24, seed=1)


def _write_rgb(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def test_expw_label_order_columns_and_crop(tmp_path: Path) -> None:
    # One picture, seven coloured squares; label i sits in square i. Columns: top left right bottom.
    pic = np.zeros((60, 7 * 20, 3), np.uint8)
    colors = [(40 * i, 255 - 30 * i, 100) for i in range(7)]
    lines = []
    for i, c in enumerate(colors):
        pic[20:40, 20 * i:20 * i + 20] = c
        lines.append(f"p.png {i} 20 {20 * i} {20 * i + 20} 40 50.0 {i}")
    _write_rgb(tmp_path / "origin" / "p.png", pic)
    (tmp_path / "label.lst").write_text("\n".join(lines) + "\n")
    data = formats.load_dataset(tmp_path, margin=0.0)
    assert data.name == "ExpW" and data.split is None
    assert [EMOTIONS[i] for i in data.labels] == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    crops = ed.load_images(data, None, 10)
    for crop, c in zip(crops, colors):
        assert np.abs(crop.reshape(-1, 3).mean(0) - c).max() < 1.0


def test_expw_errors(tmp_path: Path) -> None:
    (tmp_path / "origin").mkdir()
    (tmp_path / "label.lst").write_text("p.png 0 1 2 3\n")
    with pytest.raises(EmocamError, match=r"label.lst:1: expected 8 fields"):
        formats.load_dataset(tmp_path / "label.lst")
    (tmp_path / "label.lst").write_text("p.png 0 0 0 10 10 50.0 9\n")
    with pytest.raises(EmocamError, match="not 0-6"):
        formats.load_dataset(tmp_path / "label.lst")
    (tmp_path / "label.lst").write_text("missing.png 0 0 0 10 10 50.0 1\n")
    with pytest.raises(EmocamError, match="no faces with a picture"):
        formats.load_dataset(tmp_path / "label.lst")


def test_fer2013_order_and_usage_split(tmp_path: Path) -> None:
    rows = [(3, "Training", 10), (0, "PublicTest", 20), (5, "PrivateTest", 30), (6, "Training", 40)]
    text = "emotion,pixels,Usage\n" + "".join(f"{e},{' '.join([str(v)] * 2304)},{u}\n" for e, u, v in rows)
    (tmp_path / "fer2013.csv").write_text(text)
    data = formats.load_dataset(tmp_path)
    assert data.name == "FER2013"
    assert [EMOTIONS[i] for i in data.labels] == ["happy", "angry", "surprise", "neutral"]
    assert data.split.tolist() == [ed.TRAIN, ed.VAL, ed.TEST, ed.TRAIN]
    img = ed.load_images(data, [1], 64)[0]
    assert img.shape == (64, 64, 3) and np.all(img == 20)
    # Without Usage: the seeded 70/20/10 split.
    plain = "".join(f"{e},{' '.join(['1'] * 2304)}\n" for e, _, _ in rows)
    (tmp_path / "fer2013.csv").write_text("emotion,pixels\n" + plain)
    assert formats.load_dataset(tmp_path / "fer2013.csv").split is None
    (tmp_path / "fer2013.csv").write_text("emotion,pixels,Usage\n3,1 2 3,Training\n")
    with pytest.raises(EmocamError, match=r"fer2013.csv:2: 3 pixels is not a square"):
        formats.load_dataset(tmp_path / "fer2013.csv")
    (tmp_path / "fer2013.csv").write_text("label,image\n")
    with pytest.raises(EmocamError, match="emotion and pixels"):
        formats.load_dataset(tmp_path / "fer2013.csv")


def test_folder_synonyms_skip_and_refuse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("Happiness", "anger", "surprised", "contempt"):
        _write_rgb(tmp_path / name / "a.png", np.full((20, 20, 3), 128, np.uint8))
    data = formats.load_dataset(tmp_path)
    assert data.name == "folder"
    assert sorted(EMOTIONS[i] for i in data.labels) == ["angry", "happy", "surprise"]
    assert "skipped class folder(s) contempt" in capsys.readouterr().err
    _write_rgb(tmp_path / "bored" / "a.png", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(EmocamError, match="bored match none of"):
        formats.load_dataset(tmp_path)


def test_folder_split_dirs(tmp_path: Path) -> None:
    for split in ("train", "test"):
        for emo in ("happy", "sad"):
            for i in range(10):
                _write_rgb(tmp_path / split / emo / f"{i}.png", np.zeros((8, 8, 3), np.uint8))
    data = formats.load_dataset(tmp_path, "folder")
    split = ed.assign_split(data, 0)
    # test/ stays the test split; val is cut from train/ (70:20), never from test/.
    assert np.array_equal(split == ed.TEST, data.split == ed.TEST)
    assert np.sum(split == ed.VAL) == 4 and np.sum(split == ed.TRAIN) == 16


def test_detect_format_and_unknown(tmp_path: Path) -> None:
    with pytest.raises(EmocamError, match="does not exist"):
        formats.load_dataset(tmp_path / "nope")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(EmocamError, match="unknown dataset file"):
        formats.load_dataset(tmp_path / "x.txt")
    with pytest.raises(EmocamError, match="unknown dataset format"):
        formats.load_dataset(tmp_path, "imagenet")


def test_generated_formats_agree(generated: dict[str, Path]) -> None:
    counts = [formats.load_dataset(p).counts().tolist() for p in generated.values()]
    want = [make_emotion_dataset.class_counts(24, False)[e] for e in EMOTIONS]
    assert counts == [want] * 3


def test_stratified_split_and_limit() -> None:
    labels = np.repeat(np.arange(7), 50)
    a, b = ed.stratified_split(labels, 3), ed.stratified_split(labels, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, ed.stratified_split(labels, 4))
    for c in range(7):
        assert np.bincount(a[labels == c], minlength=3).tolist() == [35, 10, 5]


def test_epoch_plan_balances_with_copies() -> None:
    labels = np.array([0] * 10 + [1] * 3 + [3] * 25)
    idx, copies = train_emotion.epoch_plan(labels, 12, np.random.default_rng(0))
    assert np.bincount(labels[idx], minlength=7).tolist() == [12, 12, 0, 12, 0, 0, 0]
    assert copies[labels[idx] == 1].sum() == 9 and copies[labels[idx] == 0].sum() == 2
    assert not copies[labels[idx] == 3].any() and len(set(idx[labels[idx] == 3])) == 12
    idx, copies = train_emotion.epoch_plan(labels, 0, np.random.default_rng(0))
    assert sorted(idx) == list(range(len(labels))) and not copies.any()


def test_metrics_known_values() -> None:
    m = emotion_report.metrics(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), ("a", "b", "c"))
    assert m["accuracy"] == pytest.approx(0.6)
    assert m["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "support": 2}
    assert m["per_class"]["b"]["precision"] == pytest.approx(2 / 3) and m["per_class"]["b"]["recall"] == 1.0
    assert m["per_class"]["c"] == {"precision": None, "recall": 0.0, "support": 1}
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_seed_architecture_at_128() -> None:
    from tools.emotion.model import build_model

    model = build_model(128)
    assert len(model.layers) - 1 == 21  # the seed's 21 layers after the input
    assert model.get_layer("flatten").output.shape[-1] == 2 * 2 * 256
    assert model.output_shape == (None, 7)


def test_tiny_training_export_and_eval(generated: dict[str, Path], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import onnx

    out = tmp_path / "run"
    rc = train_emotion.main(["--data", str(generated["folder"]), "--out", str(out), "--size", "48",
                             "--epochs", "4", "--seed", "0", "--name", "tiny"])
    assert rc == 0
    rep = json.loads((out / "report.json").read_text())
    loss = rep["history"]["loss"]
    assert len(loss) == 4 and loss[-1] < 0.9 * loss[0]
    assert rep["export_max_diff"] < 1e-4
    for name in ("tiny.keras", "tiny.onnx", "report.md", "confusion.png", "curves.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    meta = {p.key: json.loads(p.value) for p in onnx.load(str(out / "tiny.onnx")).metadata_props}
    assert meta["emocam.input"] == {"size": [48, 48], "channels": 3, "layout": "NHWC", "range": [0.0, 1.0]}
    assert meta["emocam.labels"] == list(EMOTIONS)
    entry = json.loads((out / "tiny.manifest.json").read_text())["tiny.onnx"]
    from emocam.modelstore.manifest import sha256_file

    assert entry["sha256"] == sha256_file(out / "tiny.onnx")
    assert entry["source"].startswith("python -m tools.emotion.train --data ")
    assert entry["license"].startswith("trained by you on folder")
    assert entry["input"] == meta["emocam.input"] and entry["labels"] == list(EMOTIONS)
    capsys.readouterr()

    # The app's classifier (its crop, resize and scaling) gives the same output as training-side preprocessing.
    from emocam.pipeline.emotion import EmotionClassifier
    from tools.emotion.model import OnnxPredictor

    expw = formats.load_dataset(generated["expw"])
    idx = np.arange(12)
    clf = EmotionClassifier(out / "tiny.onnx", "cpu")
    app = np.concatenate([clf.classify(formats.read_image(expw.items[i][0]), [expw.items[i][1]]) for i in idx])
    tool = OnnxPredictor(out / "tiny.onnx").predict(ed.load_images(expw, idx, 48))
    assert np.abs(app - tool).max() < 1e-5

    # The exported ONNX and the Keras model score the test split identically.
    accuracies = []
    for model in ("tiny.onnx", "tiny.keras"):
        rc = eval_emotion.main(["--model", str(out / model), "--data", str(generated["folder"]),
                                "--split", "test", "--out", str(tmp_path / model)])
        printed = capsys.readouterr().out
        assert rc == 0 and "precision" in printed and "true \\ predicted" in printed
        accuracies.append(json.loads((tmp_path / model / "report.json").read_text())["metrics"]["accuracy"])
    assert accuracies[0] == pytest.approx(accuracies[1]) == pytest.approx(rep["results"]["test"]["accuracy"])


def test_eval_default_fer_model(generated: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    # 64x64 gray, range [-1, 1]: fed per its metadata; on the FER-format set's PrivateTest rows.
    assert eval_emotion.main(["--model", str(FER_MODEL), "--data", str(generated["fer2013"])]) == 0
    printed = capsys.readouterr().out
    assert "split test" in printed and "accuracy" in printed


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "label.lst").write_text("only three fields\n")
    for args in (("tools.emotion.train", "--data", str(tmp_path / "missing")),
                 ("tools.emotion.train", "--data", str(tmp_path / "label.lst"), "--images", str(tmp_path)),
                 ("tools.emotion.evaluate", "--model", str(FER_MODEL), "--data", str(tmp_path / "missing"))):
        r = _run(*args)
        assert r.returncode == 2, r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr
