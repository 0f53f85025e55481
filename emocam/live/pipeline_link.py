"""The live window's link to the rest of emocam: pipeline settings, packs, cameras and the overlay."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocam.pipeline.annotate import Annotator
from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.live.settings_store import LiveSettings

# LiveSettings fields the pipeline reads every frame (it rebuilds models itself when device/pack change)
PIPELINE_FIELDS = (
    "device", "pack", "detector", "smoothing_s", "dwell_s", "strength", "process_size", "styles", "emotion_model",
)


@dataclass
class PackInfo:
    """What the style editor shows for a pack."""

    name: str
    kind: str
    mapping: dict[str, object]  # emotion -> style index (multistyle) or model file name
    choices: int
    editable: bool
    pack: object  # emocam.pipeline.style.StylePack


def pipeline_settings(live: LiveSettings):
    """emocam.pipeline.pipeline.Settings from the window's settings."""
    from emocam.settings import Settings

    return Settings(
        device=live.device,
        pack=live.pack,
        detector=live.detector,
        smoothing_s=live.smoothing_s,
        dwell_s=live.dwell_s,
        strength=live.strength,
        process_size=live.process_size,
        styles={live.pack: dict(live.styles.get(live.pack, {}))},
        emotion_model=live.emotion_model,
    )


def make_pipeline(live: LiveSettings):
    """A new Pipeline for `live` (loads the models: call it off the GUI thread)."""
    from emocam.pipeline.pipeline import Pipeline

    return Pipeline(pipeline_settings(live), video_mode=True)


def apply(pipeline, live: LiveSettings) -> None:
    """Copy every pipeline field of `live` into `pipeline.settings` (on the processing thread)."""
    pipeline.apply(pipeline_settings(live))


def list_packs() -> list[str]:
    from emocam.pipeline.style import list_packs

    try:
        return list_packs()
    except EmocamError:
        return []


def list_cameras() -> list[tuple[int, str]]:
    from emocam.pipeline.sources import list_cameras

    return list_cameras()


def check_pack(name: str) -> None:
    """Raise EmocamError when the pack cannot be loaded."""
    from emocam.pipeline.style import load_pack

    load_pack(name)


def pack_info(name: str, live: LiveSettings) -> PackInfo:
    """The editor's view of pack `name`, with the user's saved overrides applied."""
    from emocam.pipeline.style import MULTISTYLE_COUNT, load_pack

    pack = load_pack(name)
    if pack.kind == "multistyle":
        own = pack.raw.get("styles", {})
        saved = live.styles.get(name, {})
        mapping: dict[str, object] = {}
        for e in EMOTIONS:
            spec = saved.get(e, own.get(e))
            mapping[e] = spec if isinstance(spec, int) else int(np.argmax(pack.styles[e]))
        return PackInfo(pack.name, pack.kind, mapping, MULTISTYLE_COUNT, True, pack)
    mapping = {e: pack.models[e].name for e in EMOTIONS}
    return PackInfo(pack.name, pack.kind, mapping, 0, False, pack)


def thumbnail_packs(info: PackInfo) -> list[tuple[object, object, np.ndarray]]:
    """(key, pack variant, emotion weights) to render one thumbnail each: one per style or per emotion."""
    from emocam.pipeline.style import MULTISTYLE_COUNT

    onehot = np.eye(len(EMOTIONS), dtype=np.float32)
    if info.kind == "multistyle":
        items = []
        for i in range(MULTISTYLE_COUNT):
            vector = np.eye(MULTISTYLE_COUNT, dtype=np.float32)[i]
            variant = dataclasses.replace(info.pack, styles={e: vector for e in EMOTIONS})
            items.append((i, variant, onehot[EMOTIONS.index("neutral")]))
        return items
    return [(e, info.pack, onehot[k]) for k, e in enumerate(EMOTIONS)]


def draw_overlay(image, faces, boxes: bool = True, labels: bool = True, bars: bool = True):
    return Annotator(boxes, labels, bars).annotate(image, faces)
