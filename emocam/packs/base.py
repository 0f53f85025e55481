"""What every pack kind is: the pack record it loads into, and the small interface a kind implements.

A pack kind is one module (multistyle.py, per_emotion.py, pictures.py) that registers itself here with
`register`: it reads and checks its pack.json (`parse`), loads its networks (`load`), runs them on a frame
(`run`), says what look a blend of emotions asks for (`look`), what a frame costs (`cost`), and what the live
style editor shows of it (`editor_view`, `thumbnail_jobs`). The stylizer, the registry and the live window only
call this interface, so a new kind touches its own module and nothing else.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emocam.errors import EmocamError
from emocam.labels import EMOTIONS
from emocam.runtime import Network


@dataclass
class StylePack:
    """A loaded pack: its kind, its networks' files and, per emotion, the style it asks for."""

    name: str
    kind: str
    folder: Path
    models: dict[str, Path]  # emotion -> ONNX (per_emotion), or {"*": the one network}
    styles: dict[str, np.ndarray] = field(default_factory=dict)  # emotion -> style vector (multistyle, pictures)
    description: str = ""
    raw: dict = field(default_factory=dict)


@dataclass
class EditorView:
    """What the live style editor shows of a pack, and what it lets the user choose there."""

    mapping: dict[str, object]  # emotion -> its style as shown: a style index (multistyle), a file name, pictures
    choices: int = 0  # styles to choose from (multistyle), else 0
    editable: bool = False  # whether the editor's choices change the pack's styles (see PackKind.choose_styles)
    pictures: dict[str, Path] | None = None  # emotion -> its (first) style picture, for a pictures pack


class PackKind(ABC):
    """One kind of pack: how its pack.json reads, how its networks load and run."""

    name: str  # the `kind` in pack.json
    cost: str  # what one frame costs, for `emocam pack` and the docs

    @abstractmethod
    def parse(self, raw: dict, folder: Path, where: Path) -> StylePack:
        """The pack from its pack.json (`raw`, read from `where`), checked; EmocamError in one line naming the file."""

    @abstractmethod
    def load(self, pack: StylePack, device: str, precision: str) -> dict[str, Network]:
        """The pack's networks on the device asked for."""

    @abstractmethod
    def run(self, pack: StylePack, networks: dict[str, Network], image: np.ndarray, emotion_weights: np.ndarray) -> np.ndarray:
        """Restyle `image` (uint8 HxWx3) by the blend of emotions `emotion_weights` ([7]); a uint8 HxWx3 picture out.
        Pictures, not tensors, so that a backend can convert inside its graph (Network.run_image)."""

    def choose_styles(self, pack: StylePack, choices: dict[str, object]) -> None:
        """Take the style editor's choices (emotion -> style) over the pack's own; kinds without styles to choose
        ignore them."""

    @abstractmethod
    def editor_view(self, pack: StylePack, choices: dict[str, int]) -> EditorView:
        """What the style editor shows of the pack, with the user's `choices` (emotion -> style) where it takes any."""

    def thumbnail_jobs(self, pack: StylePack) -> list[tuple[object, StylePack, np.ndarray]]:
        """(key, pack variant, emotion weights) for each thumbnail the editor shows: here one per emotion."""
        onehot = np.eye(len(EMOTIONS), dtype=np.float32)
        return [(e, pack, onehot[k]) for k, e in enumerate(EMOTIONS)]

    def look(self, pack: StylePack, emotion_weights: np.ndarray) -> np.ndarray:
        """What the network is asked for: the blended style vector. Emotions that share a style blend into the same
        look, so a fade between them is no change of style (the temporal engine keeps its history through it)."""
        return np.asarray(blend(pack, emotion_weights), np.float32)


def blend(pack: StylePack, emotion_weights: np.ndarray) -> np.ndarray:
    """The emotions' style vectors mixed by their weights."""
    return sum(float(a) * pack.styles[e] for e, a in zip(EMOTIONS, emotion_weights) if a > 0)


KINDS: dict[str, PackKind] = {}


def register(kind: PackKind) -> PackKind:
    """Make a pack kind known by its name (each kind's module calls this once, when imported)."""
    KINDS[kind.name] = kind
    return kind


def kind_of(name: object, where: Path) -> PackKind:
    """The registered kind called `name`, or one line naming the pack file and the kinds there are."""
    if isinstance(name, str) and name in KINDS:
        return KINDS[name]
    known = ", ".join(sorted(KINDS)[:-1]) + f" or {sorted(KINDS)[-1]}"
    raise EmocamError(f"{where}: kind must be {known}, not {json.dumps(name)[:40]}")
