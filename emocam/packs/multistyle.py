"""The `multistyle` pack kind: one conditional network (multistyle26 and its like), a style vector per emotion.

pack.json: {"kind": "multistyle", "model": "multistyle26.onnx", "styles": {"happy": 5, "sad": {"19": 0.7, "3": 0.3}, ...}}.
The network takes `image` [1,3,H,W] 0..1 and `style_weights` [26]; an emotion change blends the weight vectors.
"""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.packs.base import EditorView, PackKind, StylePack, blend, register
from emocam.packs.checks import check_emotion_keys, check_image_input, input_names, resolve_file
from emocam.runtime import Network, load_network

MULTISTYLE_COUNT = 26


def style_vector(spec, emotion: str, pack: Path) -> np.ndarray:
    """A style index 0-25, or {index: weight} with finite positive weights, as a normalised [26] weight vector."""
    weights = np.zeros(MULTISTYLE_COUNT, np.float32)
    items = list(spec.items()) if isinstance(spec, dict) else [(spec, 1.0)]
    for index, weight in items:
        index = _style_index(index)
        if index is None:
            raise EmocamError(f"{pack}: the style for {emotion} must be an index 0-{MULTISTYLE_COUNT - 1} "
                              f"or {{index: weight}}, got {json.dumps(spec)[:60]}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight <= 0:
            raise EmocamError(f"{pack}: style weights for {emotion} must be finite numbers above 0, got {weight!r}")
        weights[index] += float(weight)
    if not items or not weights.sum() > 0:
        raise EmocamError(f"{pack}: the style for {emotion} is empty")
    return weights / weights.sum()


def _style_index(value) -> int | None:
    """An int (or a string of one, as JSON object keys are) in 0..25, else None (no bool, no 5.5, no -1)."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MULTISTYLE_COUNT:
        return None
    return value


class Multistyle(PackKind):
    name = "multistyle"
    cost = "one network run per frame, whatever the blend of emotions"

    def parse(self, raw: dict, folder: Path, where: Path) -> StylePack:
        styles, model = raw.get("styles"), raw.get("model")
        if not isinstance(styles, dict) or not isinstance(model, str) or not model:
            raise EmocamError(f"{where}: a multistyle pack needs `model` (a file name) and `styles` (an object of emotion: style)")
        check_emotion_keys(styles, "styles", where)
        vectors = {e: style_vector(styles[e], e, folder) for e in EMOTIONS}
        path = resolve_file(folder, model)
        names = input_names(path)
        if set(names) != {"image", "style_weights"}:
            raise EmocamError(f"{path}: a multistyle pack's model must take inputs image and style_weights, "
                              f"not {', '.join(names) or 'none'}")
        return StylePack(raw.get("name", folder.name), self.name, folder, {"*": path}, vectors,
                         raw.get("description", ""), raw)

    def load(self, pack: StylePack, device: str, precision: str) -> dict[str, Network]:
        network = load_network(pack.models["*"], device, precision)
        check_image_input(network, pack.models["*"])
        return {"*": network}

    def choose_styles(self, pack: StylePack, choices: dict[str, object]) -> None:
        """The style editor's choices (emotion -> style index or blend) over the pack's own mapping."""
        for emotion in EMOTIONS:
            pack.styles[emotion] = style_vector(choices.get(emotion, pack.raw["styles"][emotion]), emotion, pack.folder)

    def editor_view(self, pack: StylePack, choices: dict[str, int]) -> EditorView:
        """Each emotion's strongest style, or the one chosen for it; any of the 26 styles can be chosen."""
        mapping = {e: choices.get(e, int(np.argmax(pack.styles[e]))) for e in EMOTIONS}
        return EditorView(mapping, MULTISTYLE_COUNT, editable=True)

    def thumbnail_jobs(self, pack: StylePack) -> list[tuple[object, StylePack, np.ndarray]]:
        """One thumbnail per style (the editor chooses among styles, not emotions), each asked for as neutral."""
        neutral = np.eye(len(EMOTIONS), dtype=np.float32)[EMOTIONS.index("neutral")]
        styles = np.eye(MULTISTYLE_COUNT, dtype=np.float32)
        return [(i, dataclasses.replace(pack, styles={e: styles[i] for e in EMOTIONS}), neutral)
                for i in range(MULTISTYLE_COUNT)]

    def run(self, pack: StylePack, networks: dict[str, Network], image: np.ndarray, emotion_weights: np.ndarray) -> np.ndarray:
        weights = np.asarray(blend(pack, emotion_weights), np.float32)
        return networks["*"].run_image(image, "image", {"style_weights": weights})


register(Multistyle())
