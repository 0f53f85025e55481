"""The one settings schema: every option a user can set, described once.

Each field of `Settings` carries its help text, unit, range or choices, the surfaces it shows on (the
`render` and `live` command lines, the live window, the saved `live.json`) and how a change is applied
(which component it rebuilds, or that it is a plain parameter). The CLI options, validation, persistence
and the window's controls are all made from these fields, so adding a setting is one edit here.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocam.errors import EmocamError

RENDER, LIVE, GUI, SAVED = "render", "live", "gui", "saved"
ALL = (RENDER, LIVE, GUI, SAVED)
CONFIG_ENV = "EMOCAM_CONFIG_DIR"
PROCESS_SIZES = (256, 320, 384, 512, 640, 768, 1024, 0)  # the window's choices; 0 = full size


@dataclass(frozen=True)
class Meta:
    """What a field means to the user and to the pipeline."""

    help: str
    label: str  # short name in the window
    group: str  # the window panel it belongs to
    cli: str | None = None  # command-line option, e.g. "--smoothing"
    unit: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # the range excludes `low` itself
    zero_ok: bool = False  # 0 is allowed below `low` (process size: 0 = full size)
    choices: tuple = ()
    surfaces: tuple[str, ...] = ALL
    applies: str = "param"  # detector | classifier | stylizer | models (classifier + stylizer) | styles | param | view
    defaults: tuple[tuple[str, Any], ...] = ()  # per-surface defaults, e.g. (("live", 320),)
    fast_defaults: tuple[tuple[str, Any], ...] = ()  # per-surface defaults where the style network runs fast here


def setting(default: Any, help: str, label: str, group: str, **meta: Any) -> Any:
    """A dataclass field with its `Meta`."""
    factory = (lambda: type(default)(default)) if isinstance(default, (dict, list)) else None
    info = {"emocam": Meta(help, label, group, **meta)}
    if factory:
        return field(default_factory=factory, metadata=info)
    return field(default=default, metadata=info)


@dataclass
class Settings:
    """Everything a user can set about the pipeline and the live view."""

    device: str = setting("auto", "where the networks run: auto = the fastest that works here (CUDA, else the CPU "
                          "through OpenVINO); cpu = OpenVINO's CPU plugin; cpu-onnxruntime = onnxruntime's CPU "
                          "kernels; cuda = NVIDIA through onnxruntime-gpu; intel-gpu = Intel graphics through OpenVINO",
                          "Device", "Processing", cli="--device",
                          choices=("auto", "cpu", "cpu-onnxruntime", "cuda", "intel-gpu"), applies="models")
    precision: str = setting("auto", "arithmetic of the style network: auto = what the device runs natively (bf16 on "
                             "CPUs with AMX or AVX-512 BF16, fp16 on Intel graphics, else fp32); fp32 = always fp32",
                             "Precision", "Processing", cli="--precision", choices=("auto", "fp32"), applies="models")
    pack: str = setting("default", "style pack name or folder", "Pack", "Style", cli="--pack", applies="stylizer")
    detector: str = setting("short", "face detector range (full finds smaller, farther faces)", "Detector", "Emotion",
                            cli="--detector", choices=("short", "full"), applies="detector")
    min_confidence: float = setting(0.5, "face detector threshold", "Detector threshold", "Emotion",
                                    cli="--min-confidence", low=0.0, high=1.0, low_open=True, applies="detector",
                                    surfaces=(RENDER, LIVE, SAVED))
    emotion_model: str = setting("", "an emotion ONNX exported by tools.emotion.train (default: FER mini-Xception)",
                                 "Emotion model", "Emotion", cli="--emotion-model", applies="classifier",
                                 surfaces=(RENDER, LIVE, SAVED))
    strength: float = setting(1.0, "0 = original, 1 = fully stylized", "Strength", "Style", cli="--strength",
                              low=0.0, high=1.0)
    regions: str = setting("frame", "where styles fall: frame = one style for all; person = each person in their own "
                           "emotion's style, the background in the frame's; background = only the background styled. "
                           "Render starts at person (faces stay recognizable), the live view at frame (person ran "
                           "below 24 fps on 2 cores; docs/regions.md)",
                           "Regions", "Style", cli="--regions", choices=("frame", "person", "background"),
                           defaults=((RENDER, "person"),))
    face_strength: float = setting(0.3, "share of the style that falls on faces (person) or people (background), "
                                   "so faces stay recognizable; not used by --regions frame", "Face strength",
                                   "Style", cli="--face-strength", low=0.0, high=1.0)
    process_size: int = setting(512, "longest side the style network sees, 0 = full size (output keeps the input size); "
                                "the default is 320 for live (30 fps on 2 cores with the steadying and the expression edit, bf16 included), "
                                "and for render full size where the style network runs fast here (CUDA, or bf16/fp16 "
                                "through OpenVINO), else 512",
                                "Style size (longest side)", "Processing", cli="--process-size", unit="px",
                                low=32, high=8192, zero_ok=True, defaults=((LIVE, 320),),
                                fast_defaults=((RENDER, 0),))
    temporal: str = setting("stable", "how frames follow each other: off = each frame on its own, scaled up bilinearly; "
                            "guided = scaled up edge-aware with the full-size input's own detail; stable = blended with "
                            "the previous output carried along the optical flow where it still fits (steadier; resets "
                            "on cuts), scaled up bilinearly; keyframe = CPU speed option, the style network only every "
                            "3rd frame, carried along the flow in between; texture = styled every 3rd frame, one reference "
                            "carried along the flow and sampled once, the network's own output where that is not "
                            "trusted, carried in between (sharper and faster than stable: no texture averaged; "
                            "less steady)", "Temporal", "Processing",
                            cli="--temporal", choices=("off", "guided", "stable", "keyframe", "texture"))
    smoothing_s: float = setting(0.4, "emotion smoothing time constant", "Smoothing time", "Emotion",
                                 cli="--smoothing", unit="s", low=0.0, high=60.0)
    dwell_s: float = setting(0.4, "how long a new emotion must lead before the style switches",
                             "Dwell before a change", "Emotion", cli="--dwell", unit="s", low=0.0, high=60.0)
    margin: float = setting(0.1, "how far a new emotion must lead (in smoothed probability)", "Lead margin",
                            "Emotion", cli="--margin", low=0.0, high=1.0, surfaces=(RENDER, LIVE, SAVED))
    hold_s: float = setting(1.0, "with no face, keep the last emotion this long, then neutral", "Hold without faces",
                            "Emotion", cli="--hold", unit="s", low=0.0, high=3600.0, surfaces=(RENDER, LIVE, SAVED))
    crop_margin: float = setting(0.1, "how far the emotion crop reaches around the detected face box (share of its "
                                 "side; chosen on real faces, see docs/training.md)", "Emotion crop margin", "Emotion",
                                 cli="--crop-margin", low=0.0, high=1.0, surfaces=(RENDER, LIVE, SAVED))
    max_miss_s: float = setting(0.7, "a face track survives misses this long", "Track survives", "Emotion",
                                cli="--track-hold", unit="s", low=0.0, high=60.0, surfaces=(RENDER, LIVE, SAVED))
    policy: str = setting("largest", "which face decides the frame's emotion", "Frame emotion from", "Emotion",
                          cli="--policy", choices=("largest", "confident", "majority"))
    blend_s: float = setting(0.5, "how long a style change fades", "Style fade", "Style", cli="--blend", unit="s",
                             low=0.0, high=60.0)
    expression: str = setting("off", "change each face's expression before styling: one of the 7 emotions (neutral = "
                              "back toward rest), amplify = exaggerate each face's own emotion, mirror = everyone "
                              "takes the largest face's expression", "Expression", "Expression", cli="--expression",
                              choices=("off", "amplify", "mirror", "angry", "disgust", "fear", "happy", "sad",
                                       "surprise", "neutral"))
    expression_strength: float = setting(1.0, "how far the expression edit goes (0 = none, 1.5 = exaggerated)",
                                         "Expression strength", "Expression", cli="--expression-strength",
                                         low=0.0, high=1.5)
    expression_from: str = setting("", "a picture whose face's expression every face takes (emotion transfer; "
                                   "overrides --expression)", "Expression from picture", "Expression",
                                   cli="--expression-from")
    styles: dict = setting({}, "per pack, emotion -> style index overrides from the style editor", "Styles", "Style",
                           applies="styles", surfaces=(GUI, SAVED))
    overlay: bool = setting(False, "draw face boxes, track ids and emotion bars", "Show overlay [O]", "Overlay",
                            cli="--overlay", applies="view", surfaces=(RENDER, GUI, SAVED), defaults=((LIVE, True),))
    boxes: bool = setting(True, "overlay: face boxes", "Boxes", "Overlay", applies="view", surfaces=(GUI, SAVED))
    labels: bool = setting(True, "overlay: track id and emotion", "Labels", "Overlay", applies="view",
                           surfaces=(GUI, SAVED))
    bars: bool = setting(True, "overlay: smoothed probability bars", "Probability bars", "Overlay", applies="view",
                         surfaces=(GUI, SAVED))
    hud: bool = setting(True, "fps, latency and emotions over the live view", "HUD", "Overlay", applies="view",
                        surfaces=(GUI, SAVED))
    record_overlay: bool = setting(False, "draw the overlay into recordings and the virtual camera too",
                                   "Overlay in recording", "Overlay", applies="view", surfaces=(GUI, SAVED))
    record_dir: str = setting("", "folder for recordings (default: ~/Videos, else the current folder)",
                              "Record folder", "Output", applies="view", surfaces=(SAVED,))
    last_file_dir: str = setting("", "where the file dialog opens", "Last folder", "Source", applies="view",
                                 surfaces=(SAVED,))

    @classmethod
    def for_surface(cls, surface: str) -> "Settings":
        """The defaults as that surface starts them (e.g. the live view styles at 320 px, render at 512; where the
        style network runs fast here, render at full size: docs/backends.md)."""
        settings = cls()
        fast = _fast_style_here() if surface in (RENDER, LIVE) else False
        for f in dataclasses.fields(cls):
            m = meta(f.name)
            value = dict(m.fast_defaults).get(surface) if fast else None
            value = dict(m.defaults).get(surface) if value is None else value
            if value is not None:
                setattr(settings, f.name, value)
        return settings

    def copy(self) -> "Settings":
        """An independent copy: the style editor's nested `styles` dicts are copied too."""
        return dataclasses.replace(self, styles={pack: dict(m) for pack, m in self.styles.items()})

    def styles_for(self, pack: str | None = None) -> dict[str, int]:
        """The style editor's overrides for a pack (default: the current one)."""
        return dict(self.styles.get(pack or self.pack, {}))


def _fast_style_here() -> bool:
    """Whether --device auto runs the style network in a fast mode on this machine (imported late: it loads the
    runtimes, which `emocam --help` never needs)."""
    from emocam.runtime.chooser import fast_style

    return fast_style()


def meta(name: str) -> Meta:
    return _FIELDS[name].metadata["emocam"]


def fields_for(surface: str) -> list[dataclasses.Field]:
    """The fields a surface shows, in schema order."""
    return [f for f in dataclasses.fields(Settings) if surface in f.metadata["emocam"].surfaces]


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


# --- validation ------------------------------------------------------------------------------------------
def check_value(name: str, value: Any) -> Any:
    """`value` for field `name` if it is allowed, else EmocamError with one line naming the option."""
    m, f = meta(name), _FIELDS[name]
    label = m.cli or name
    if m.choices and value not in m.choices:
        raise EmocamError(f"{label} must be one of {', '.join(map(str, m.choices))}, got {value!r}")
    kind = type(f.default) if f.default is not dataclasses.MISSING else dict
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise EmocamError(f"{label} must be a number, got {value!r}")
        if not math.isfinite(value) or not _in_range(value, m):
            raise EmocamError(f"{label} must be {_range_text(m)}, got {value}")
        if kind is int and float(value) != int(value):
            raise EmocamError(f"{label} must be a whole number, got {value}")
        return kind(value)
    if kind in (bool, str, dict) and not isinstance(value, kind):
        raise EmocamError(f"{label} must be a {kind.__name__}, got {value!r}")
    if name == "styles":
        _check_styles(value)
    return value


def _in_range(value: float, m: Meta) -> bool:
    if m.zero_ok and value == 0:
        return True
    above = value > m.low if m.low_open else value >= m.low
    return (m.low is None or above) and (m.high is None or value <= m.high)


def _range_text(m: Meta) -> str:
    unit = f" {m.unit}" if m.unit else ""
    low = f"above {m.low:g}" if m.low_open else f"at least {m.low:g}"
    text = f"between {m.low:g} and {m.high:g}{unit}" if not m.low_open else f"{low} and at most {m.high:g}{unit}"
    return f"0 (full size) or {text}" if m.zero_ok else text


def _check_styles(value: dict) -> None:
    ok = all(isinstance(pack, str) and isinstance(mapping, dict) and all(
        isinstance(e, str) and isinstance(i, int) and not isinstance(i, bool) for e, i in mapping.items())
        for pack, mapping in value.items())
    if not ok:
        raise EmocamError("styles must map pack -> emotion -> style index")


def validate(settings: Settings) -> Settings:
    """Every field checked against the schema; the emotion model must exist. Returns `settings`."""
    for f in dataclasses.fields(Settings):
        setattr(settings, f.name, check_value(f.name, getattr(settings, f.name)))
    if settings.emotion_model and not Path(settings.emotion_model).is_file():
        raise EmocamError(f"emotion model not found: {settings.emotion_model}")
    if settings.expression_from and not Path(settings.expression_from).expanduser().is_file():
        raise EmocamError(f"--expression-from {settings.expression_from}: no such picture")
    return settings


def changed(old: Settings, new: Settings) -> list[str]:
    """Names of the fields that differ."""
    return [f.name for f in dataclasses.fields(Settings) if getattr(old, f.name) != getattr(new, f.name)]


# --- command line ----------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser, surface: str) -> None:
    """The options of `surface` ("render" or "live"); an option left out stays None (see `from_args`)."""
    base = Settings.for_surface(surface)
    for f in fields_for(surface):
        m = meta(f.name)
        default = getattr(base, f.name)
        shown = f" (default: {default})" if surface == RENDER else ""
        if isinstance(default, bool):
            parser.add_argument(m.cli, dest=f.name, action="store_true", default=None, help=m.help)
            continue
        unit = f", {m.unit}" if m.unit and m.unit != "px" else ""
        kind = float if isinstance(default, (int, float)) else str  # whole numbers are checked by the schema
        parser.add_argument(m.cli, dest=f.name, type=kind, choices=m.choices or None, default=None,
                            metavar=None if m.choices else f.name.upper().removesuffix("_S"),
                            help=f"{m.help}{unit}{shown}")


def from_args(args: argparse.Namespace, base: Settings) -> tuple[Settings, list[str]]:
    """`base` with the options given on the command line; validated. Also returns the names given."""
    settings = dataclasses.replace(base, styles=dict(base.styles))
    given = []
    for f in dataclasses.fields(Settings):
        value = getattr(args, f.name, None)
        if value is not None:
            setattr(settings, f.name, value)
            given.append(f.name)
    if "emotion_model" in given:
        settings.emotion_model = str(Path(settings.emotion_model).expanduser().resolve())
    if "expression_from" in given and settings.expression_from:
        settings.expression_from = str(Path(settings.expression_from).expanduser().resolve())
    return validate(settings), given


# --- live.json ---------------------------------------------------------------------------------------------
def config_path() -> Path:
    """`$EMOCAM_CONFIG_DIR/live.json`, else the platform's user config folder."""
    import platformdirs

    root = os.environ.get(CONFIG_ENV) or platformdirs.user_config_dir("emocam", appauthor=False)
    return Path(root) / "live.json"


class SettingsFile:
    """The live window's saved settings; a missing or broken file, or a bad value, gives the defaults."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config_path()

    def load(self) -> Settings:
        settings = Settings.for_surface(LIVE)
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return settings
        if not isinstance(data, dict):
            return settings
        for f in fields_for(SAVED):
            if f.name in data:
                value = data[f.name]
                if isinstance(getattr(settings, f.name), float) and isinstance(value, int) and not isinstance(value, bool):
                    value = float(value)
                try:
                    setattr(settings, f.name, check_value(f.name, value))
                except EmocamError:
                    pass  # a hand-edited or older file: keep the default for that field
        return settings

    def save(self, settings: Settings) -> None:
        """Write what differs from the defaults (so a better default in a new version reaches settings nobody
        chose), atomically (temp file + rename); an unwritable folder is skipped (the window keeps running)."""
        defaults = Settings.for_surface(LIVE)
        data = {f.name: getattr(settings, f.name) for f in fields_for(SAVED)
                if getattr(settings, f.name) != getattr(defaults, f.name)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass
