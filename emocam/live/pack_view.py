"""What the style editor shows of a pack: each emotion's style (with the user's choices) and thumbnails."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.pipeline.style import MULTISTYLE_COUNT, StylePack, load_pack


@dataclass
class PackInfo:
    name: str
    kind: str
    mapping: dict[str, object]  # emotion -> style index (multistyle) or model file name
    choices: int  # styles to pick from (multistyle), else 0
    editable: bool
    pack: StylePack


def list_packs() -> list[str]:
    from emocam.pipeline.style import list_packs as packs

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
