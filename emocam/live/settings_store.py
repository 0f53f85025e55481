"""Live-window settings that persist between runs, as a JSON file in the user config dir."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

CONFIG_ENV = "EMOCAM_CONFIG_DIR"


@dataclass
class LiveSettings:
    """Everything the controls panel can change; plain JSON types only."""

    pack: str = "default"
    styles: dict[str, dict[str, int]] = field(default_factory=dict)  # pack -> emotion -> style index
    strength: float = 1.0
    smoothing_s: float = 0.4
    dwell_s: float = 0.4
    detector: str = "short"
    overlay: bool = True
    boxes: bool = True
    labels: bool = True
    bars: bool = True
    hud: bool = True
    record_overlay: bool = False
    process_size: int = 384  # longest side the style network sees; 0 = full size
    device: str = "auto"
    emotion_model: str = ""  # an ONNX from tools.emotion.train; "" = the FER model
    record_dir: str = ""
    last_file_dir: str = ""


def default_path() -> Path:
    """`$EMOCAM_CONFIG_DIR/live.json`, else the platform's user config dir."""
    root = os.environ.get(CONFIG_ENV) or platformdirs.user_config_dir("emocam", appauthor=False)
    return Path(root) / "live.json"


class SettingsStore:
    """Loads and saves `LiveSettings`; a missing or broken file gives the defaults."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()

    def load(self) -> LiveSettings:
        """Read the file; keys of the wrong type or unknown keys are ignored."""
        settings = LiveSettings()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return settings
        if not isinstance(data, dict):
            return settings
        for f in dataclasses.fields(LiveSettings):
            if f.name not in data:
                continue
            value, current = data[f.name], getattr(settings, f.name)
            if isinstance(current, bool):
                ok = isinstance(value, bool)
            elif isinstance(current, float):
                ok = isinstance(value, (int, float)) and not isinstance(value, bool)
                value = float(value) if ok else value
            elif isinstance(current, int):
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif isinstance(current, dict):
                ok = _valid_styles(value)
            else:
                ok = isinstance(value, type(current))
            if ok:
                setattr(settings, f.name, value)
        return settings

    def save(self, settings: LiveSettings) -> None:
        """Write atomically (temp file + rename); an unwritable dir is silently skipped."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(dataclasses.asdict(settings), indent=2), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass


def _valid_styles(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str)
        and isinstance(m, dict)
        and all(isinstance(e, str) and isinstance(i, int) and not isinstance(i, bool) for e, i in m.items())
        for k, m in value.items()
    )
