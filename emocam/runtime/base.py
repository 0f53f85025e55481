"""The one interface the stages use to run a network, whatever runs it.

A stage asks the chooser (`emocam.runtime.load_network`) for a `Network` and only calls `run`; `ran` says what
really ran it (backend, device, precision), so the HUD, `emocam info`, the render summary and the JSON records
can show it: nothing falls back without saying so.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

BACKENDS = ("onnxruntime", "openvino")


@dataclass(frozen=True)
class Ran:
    """What actually runs a network: backend ("onnxruntime" | "openvino"), device ("cpu" | "cuda" | "intel-gpu")
    and the precision of its arithmetic ("fp32" | "bf16" | "fp16")."""

    backend: str
    device: str
    precision: str

    def __str__(self) -> str:
        return f"{self.device} {self.precision} ({self.backend})"


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: name, shape (ints, or None/str for a free axis) and numpy dtype."""

    name: str
    shape: tuple
    dtype: np.dtype


class Network(ABC):
    """A loaded network: its inputs, outputs and metadata, `run` on numpy arrays, and what ran it."""

    ran: Ran
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    metadata: dict[str, str]  # the ONNX file's metadata_props (emotion models carry their input spec there)

    @abstractmethod
    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """The outputs, in `outputs` order, as arrays the caller owns (a later run does not overwrite them)."""

    def run_image(self, image: np.ndarray, name: str, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """An image-to-image network on a picture: `image` (uint8 HxWx3) goes in as input `name` ([1,3,H,W],
        0..1) beside `feeds`; the first output comes back as a uint8 HxWx3 picture (clipped, rounded). A backend
        that can make these conversions inside its compiled graph overrides this (OpenVINO)."""
        return tensor_image(self.run({name: image_tensor(image), **feeds})[0])


def image_tensor(image: np.ndarray) -> np.ndarray:
    """A uint8 HxWx3 picture as the [1,3,H,W] float32 0..1 tensor image networks take."""
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0


def tensor_image(tensor: np.ndarray) -> np.ndarray:
    """An image network's [1,3,H,W] output (0..1, may overshoot) as a uint8 HxWx3 picture, rounded."""
    return (np.clip(tensor[0].transpose(1, 2, 0), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def ran_line(devices: dict[str, str]) -> str:
    """Stage -> what ran it, as one line for summaries: "classify cpu fp32 (onnxruntime), stylize ..."."""
    return ", ".join(f"{stage} {what}" for stage, what in devices.items())
