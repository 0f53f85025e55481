"""`emocam desktop-entry install|remove`: put emocam in the Linux application menu (XDG desktop entry and icon).

pip and pipx cannot write outside their environment, so the menu entry is a step the user asks for. The
entry starts the `emocam` program of this very installation by its absolute path, so it works even where
the desktop session's PATH lacks ~/.local/bin (where pipx links programs).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

from emocam.errors import EmocamError
from emocam.modelstore.manifest import bundled_path

MARKER = "X-Emocam-Managed=true"  # a desktop entry we wrote; anything else is never overwritten or removed
ICON_ID = 'id="emocam-icon"'


def data_home() -> Path:
    """$XDG_DATA_HOME, else ~/.local/share (the XDG base directory default)."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def targets() -> tuple[Path, Path]:
    """(desktop entry, icon) paths in the user's data folder."""
    home = data_home()
    return home / "applications" / "emocam.desktop", home / "icons" / "hicolor" / "scalable" / "apps" / "emocam.svg"


def emocam_program() -> Path:
    """The absolute path of this installation's `emocam` program."""
    argv0 = Path(sys.argv[0])
    for candidate in (argv0 if argv0.name == "emocam" else None, Path(sys.executable).parent / "emocam",
                      shutil.which("emocam")):
        if candidate and Path(candidate).is_file():
            return Path(candidate).absolute()
    raise EmocamError("cannot find the `emocam` program of this installation to put in the desktop entry")


def desktop_entry(program: Path) -> str:
    """The bundled desktop entry with Exec/TryExec pointing at `program`."""
    lines = []
    for line in bundled_path("emocam", "data", "emocam.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f'Exec="{program}" live'
        elif line.startswith("TryExec="):
            line = f"TryExec={program}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def _ours(path: Path, mark: str) -> bool:
    """True if `path` does not exist or is a file emocam wrote (it carries `mark`)."""
    if not path.exists():
        return True
    try:
        return path.is_file() and mark in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _refresh_caches(home: Path) -> None:
    """Tell the desktop about the new files where the usual tools exist (best effort, quiet)."""
    for cmd in (["update-desktop-database", str(home / "applications")],
                ["gtk-update-icon-cache", "-q", "-t", str(home / "icons" / "hicolor")]):
        if shutil.which(cmd[0]):
            subprocess.run(cmd, capture_output=True, check=False)


def install() -> tuple[Path, Path]:
    """Write the desktop entry and icon (replacing only our own earlier copies); returns their paths."""
    entry, icon = targets()
    for path, mark in ((entry, MARKER), (icon, ICON_ID)):
        if not _ours(path, mark):
            raise EmocamError(f"{path} exists and was not written by emocam: move it away first")
    text = desktop_entry(emocam_program())
    try:
        for path, data in ((entry, text.encode()), (icon, bundled_path("emocam", "data", "emocam.svg").read_bytes())):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(data)
            os.replace(tmp, path)
    except OSError as e:
        raise EmocamError(f"cannot write {e.filename}: {e.strerror}") from None
    _refresh_caches(data_home())
    return entry, icon


def remove() -> list[Path]:
    """Delete our desktop entry and icon; returns what was removed."""
    removed = []
    for path, mark in zip(targets(), (MARKER, ICON_ID)):
        if path.exists():
            if not _ours(path, mark):
                raise EmocamError(f"{path} was not written by emocam: left as it is")
            path.unlink()
            removed.append(path)
    _refresh_caches(data_home())
    return removed


def run(args: argparse.Namespace) -> int:
    if args.action == "install":
        entry, icon = install()
        print(f"desktop entry: {entry}\nicon: {icon}\nemocam is in the application menu (log out and in if it does not show)")
    else:
        removed = remove()
        print("\n".join(f"removed {p}" for p in removed) or "no emocam desktop entry was installed")
    return 0
