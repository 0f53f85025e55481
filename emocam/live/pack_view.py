"""What the style editor shows of a pack: each emotion's style (with the user's choices) and thumbnails."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.packs.multistyle import MULTISTYLE_COUNT
from emocam.packs.base import StylePack
from emocam.packs.registry import load_pack


@dataclass
class PackInfo:
    name: str
    kind: str
    mapping: dict[str, object]  # emotion -> style index (multistyle) or model file name
    choices: int  # styles to pick from (multistyle), else 0
    editable: bool
    pack: StylePack
    pictures: dict[str, Path] | None = None  # a pictures pack: emotion -> its (first) picture; None otherwise


def list_packs() -> list[str]:
    from emocam.packs.registry import list_packs as packs

    try:
        return packs()
    except EmocamError:
        return []


def pack_info(name: str, overrides: dict[str, int]) -> PackInfo:
    """Pack `name` as the editor shows it: `overrides` (emotion -> style index) over the pack's own styles."""
    pack = load_pack(name)
    if pack.kind == "multistyle":
        mapping = {e: overrides.get(e, int(np.argmax(pack.styles[e]))) for e in EMOTIONS}
        return PackInfo(pack.name, pack.kind, mapping, MULTISTYLE_COUNT, True, pack)
    if pack.kind == "pictures":  # each emotion's picture (or the emotion it follows); pictures are dropped in
        from emocam.packs.pictures import fallback_source, pack_pictures

        listed = pack_pictures(pack.raw, pack.folder)
        follows = {e: f"as {s if s == 'neutral' else 'the mean'}" for e, s in fallback_source(set(listed)).items()}
        mapping = {e: " + ".join(p.name for p, _ in listed[e]) if e in listed else follows[e] for e in EMOTIONS}
        return PackInfo(pack.name, pack.kind, mapping, 0, False, pack, {e: b[0][0] for e, b in listed.items()})
    return PackInfo(pack.name, pack.kind, {e: pack.models[e].name for e in EMOTIONS}, 0, False, pack)


def thumbnail_jobs(info: PackInfo) -> list[tuple[object, StylePack, np.ndarray]]:
    """(key, pack variant, emotion weights) for one thumbnail each: one per style, or one per emotion."""
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)
    if info.kind == "multistyle":
        neutral = onehot[EMOTIONS.index("neutral")]
        styles = np.eye(MULTISTYLE_COUNT, dtype=np.float32)
        return [(i, dataclasses.replace(info.pack, styles={e: styles[i] for e in EMOTIONS}), neutral)
                for i in range(MULTISTYLE_COUNT)]
    return [(e, info.pack, onehot[k]) for k, e in enumerate(EMOTIONS)]


def picture_thumbnail(path: Path, side: int) -> np.ndarray | None:
    """A small RGB thumbnail of a style picture (decoded at 1/4 size: fast on the GUI thread), or None."""
    import cv2

    try:
        data = np.fromfile(str(path), dtype=np.uint8)
        bgr = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_4) if data.size else None
    except (OSError, cv2.error):
        return None
    if bgr is None:
        return None
    h, w = bgr.shape[:2]
    s = min(h, w)
    crop = bgr[(h - s) // 2:(h + s) // 2, (w - s) // 2:(w + s) // 2]
    return cv2.cvtColor(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
