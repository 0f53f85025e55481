"""`emocam info`: versions, devices that really work, model files and style packs found."""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import emocam
from emocam.errors import EmocamError
from emocam.modelstore.manifest import BUNDLED_MODELS, load_manifest, locate, model_dirs, models_home, sha256_file

PACKAGES = (("onnxruntime-gpu", "onnxruntime"), ("openvino",), ("mediapipe",), ("av",), ("numpy",), ("platformdirs",))


@dataclass
class ModelStatus:
    """One manifest model: where it was found and whether its sha256 matches."""

    name: str
    required: bool
    path: Path | None
    verified: bool

    @property
    def line(self) -> str:
        tag = "required" if self.required else "optional"
        if self.path is None:
            state = "MISSING: run `emocam models fetch`"
        elif self.verified:
            state = f"ok, sha256 verified: {self.path}"
        else:
            state = f"BAD sha256 at {self.path}: delete it and run `emocam models fetch`"
        return f"  {self.name:42s} {tag:9s} {state}"


def _version(*dists: str) -> str:
    """`dist version` of the first installed distribution name, or `dist not installed`."""
    for d in dists:
        try:
            return f"{d} {metadata.version(d)}"
        except metadata.PackageNotFoundError:
            continue
    return f"{dists[0]} not installed"


def model_status() -> list[ModelStatus]:
    """The status of every file in the manifest (first copy found in model_dirs())."""
    out = []
    for name, entry in load_manifest().items():
        p = locate(name)
        ok = p is not None and sha256_file(p) == entry.get("sha256")
        out.append(ModelStatus(name, bool(entry.get("required", False)), p, ok))
    return out


def packs_found() -> list[tuple[str, str, Path]]:
    """(name, kind, folder) of every style pack under packs/ in each models dir."""
    out = []
    for d in model_dirs():
        for pj in sorted(d.glob("packs/*/pack.json")):
            try:
                data = json.loads(pj.read_text(encoding="utf-8"))
                out.append((str(data.get("name", pj.parent.name)), str(data.get("kind", "?")), pj.parent))
            except (OSError, ValueError) as e:
                out.append((pj.parent.name, f"unreadable pack.json ({e})", pj.parent))
    return out


def info_ok() -> bool:
    """True when every required model is found with the right sha256."""
    try:
        return all(m.verified for m in model_status() if m.required)
    except EmocamError:
        return False


def info_report() -> str:
    """A human-readable report: versions, providers and devices, models, packs."""
    from emocam.modelstore.runtime import cuda_status
    from emocam.runtime.chooser import describe, usable_devices

    lines = [
        f"emocam {emocam.__version__} (python {platform.python_version()}, {platform.platform()})",
        "packages: " + ", ".join(_version(*d) for d in PACKAGES),
        *describe(),
    ]
    usable, reason = cuda_status()
    lines.append("devices usable: " + ", ".join(usable_devices()) + ("" if usable else f" (cuda: {reason})"))
    home = models_home()
    lines.append(f"models folder: {home.path} ({home.reason}; `emocam models fetch` writes here)")
    lines.append(f"bundled with emocam: {BUNDLED_MODELS}")
    lines.append("model folders searched: " + ", ".join(str(d) for d in model_dirs()))
    lines.append("models:")
    try:
        lines += [m.line for m in model_status()]
    except EmocamError as e:
        lines.append(f"  {e}")
    packs = packs_found()
    lines.append("style packs:" if packs else "style packs: none found")
    lines += [f"  {name:20s} {kind:12s} {folder}" for name, kind, folder in packs]
    if not info_ok():
        lines.append("a required model is missing or damaged: run `emocam models fetch`")
    return "\n".join(lines)


if __name__ == "__main__":
    print(info_report())
    sys.exit(0 if info_ok() else 1)
