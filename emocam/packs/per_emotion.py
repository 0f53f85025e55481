"""The `per_emotion` pack kind: one network per emotion (Johnson-style fast networks, e.g. distilled ones).

pack.json: {"kind": "per_emotion", "models": {"happy": "happy.onnx", ...}}. Each network takes one image
[1,3,H,W] 0..1 (float32, or float16 for fp16 files) and gives one; an emotion change crossfades the outputs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.packs.base import EditorView, PackKind, StylePack, register
from emocam.packs.checks import check_emotion_keys, check_image_input, input_names, resolve_file
from emocam.runtime import Network, load_network
from emocam.runtime.base import image_tensor, tensor_image


class PerEmotion(PackKind):
    name = "per_emotion"
    cost = "one network run per frame, two while an emotion change fades"

    def parse(self, raw: dict, folder: Path, where: Path) -> StylePack:
        models = raw.get("models")
        if not isinstance(models, dict):
            raise EmocamError(f"{where}: a per_emotion pack needs `models` (an object of emotion: file name)")
        check_emotion_keys(models, "models", where)
        bad = [e for e in EMOTIONS if not isinstance(models[e], str) or not models[e]]
        if bad:
            raise EmocamError(f"{where}: the model for {', '.join(bad)} must be a file name")
        files = {e: resolve_file(folder, models[e]) for e in EMOTIONS}
        for path in dict.fromkeys(files.values()):
            names = input_names(path)
            if len(names) != 1:
                raise EmocamError(f"{path}: a per_emotion pack's model must take one image input, "
                                  f"not {', '.join(names) or 'none'}")
        return StylePack(raw.get("name", folder.name), self.name, folder, files, {}, raw.get("description", ""), raw)

    def load(self, pack: StylePack, device: str, precision: str) -> dict[str, Network]:
        networks = {e: load_network(path, device, precision) for e, path in pack.models.items()}
        for emotion, path in pack.models.items():
            check_image_input(networks[emotion], path)
        return networks

    def editor_view(self, pack: StylePack, choices: dict[str, int]) -> EditorView:
        """Each emotion's network file: the networks are fixed, so nothing to choose."""
        return EditorView({e: pack.models[e].name for e in EMOTIONS})

    def run(self, pack: StylePack, networks: dict[str, Network], image: np.ndarray, emotion_weights: np.ndarray) -> np.ndarray:
        """Crossfade the outputs of the networks in play (as tensors: one rounding, after the blend)."""
        x = image_tensor(image)
        active = [(e, float(a)) for e, a in zip(EMOTIONS, emotion_weights) if a > 1e-3]
        total = sum(a for _, a in active)
        out = 0.0
        for emotion, a in active:
            network = networks[emotion]
            inp = network.inputs[0]
            out = out + (a / total) * network.run({inp.name: x.astype(inp.dtype, copy=False)})[0].astype(np.float32)
        return tensor_image(out)

    def look(self, pack: StylePack, emotion_weights: np.ndarray) -> np.ndarray:
        """Each emotion is its own network: the look is the emotion weights themselves."""
        return np.asarray(emotion_weights, np.float32)


register(PerEmotion())
