"""The seed's 21-layer emotion CNN (Keras), its ONNX export, and predictors for Keras and ONNX models.

Network (seed 000, section 3.2): five blocks of [3x3 valid conv (ReLU), batch norm, 2x2 max pool] with
16, 32, 64, 128, 256 filters, dropout 0.25 after blocks 2 and 4, flatten, dense 512 and 256 (ReLU),
dense 7 softmax. Input 128x128x3 RGB scaled to 0..1. Five valid blocks need an input of at least 94
pixels; for smaller quick-run sizes a block whose input is too small for a valid conv uses a padded
conv, and one whose output is smaller than 2x2 skips its pool (at 94 and above it is exactly the seed's).

TensorFlow is imported lazily so that evaluating an ONNX model never loads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from emocam.errors import EmocamError
from tools.emotion.data import EMOTIONS, canonical_label

FILTERS = (16, 32, 64, 128, 256)
DROPOUT_BLOCKS = (2, 4)
DENSE = (512, 256)
OPSET = 17
MAX_EXPORT_DIFF = 1e-4
META_INPUT, META_LABELS = "emocam.input", "emocam.labels"


def input_spec(size: int) -> dict[str, Any]:
    """The emocam.input metadata of a model trained here: RGB, NHWC, 0..255 mapped onto 0..1."""
    return {"size": [size, size], "channels": 3, "layout": "NHWC", "range": [0.0, 1.0]}


def build_model(size: int = 128, n_classes: int = len(EMOTIONS), seed: int | None = None) -> Any:
    """The seed's CNN for size x size x 3 inputs (see the module docstring for sizes below 94)."""
    import keras

    if size < 8:
        raise EmocamError(f"input size {size} is too small (at least 8; the seed uses 128)")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3), name="image")
    x, side = inp, size
    for block, filters in enumerate(FILTERS, 1):
        valid = side >= 3
        x = keras.layers.Conv2D(filters, 3, padding="valid" if valid else "same", activation="relu",
                                name=f"conv{block}")(x)
        side = side - 2 if valid else side
        x = keras.layers.BatchNormalization(name=f"bn{block}")(x)
        if side >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"pool{block}")(x)
            side //= 2
        if block in DROPOUT_BLOCKS:
            x = keras.layers.Dropout(0.25, name=f"drop{block}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate(DENSE, 1):
        x = keras.layers.Dense(units, activation="relu", name=f"dense{i}")(x)
    out = keras.layers.Dense(n_classes, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="emotion_cnn")


def compile_model(model: Any, lr: float) -> None:
    """Adam(lr), sparse categorical cross-entropy, accuracy (seed section 3.2 / 4.3)."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def to_unit_range(images: np.ndarray) -> np.ndarray:
    """uint8 RGB batch -> float32 0..1, the training preprocessing."""
    return images.astype(np.float32) / 255.0


def export_onnx(model: Any, path: Path, labels: tuple[str, ...], check: np.ndarray) -> float:
    """Write model as ONNX (opset 17) with emocam metadata; returns the max |ORT - Keras| on `check`.

    `check` is a uint8 RGB batch at the model's size; a difference above 1e-4 is an error.
    """
    import onnx
    import tensorflow as tf
    import tf2onnx

    size = int(model.input_shape[1])
    sig = [tf.TensorSpec((None, size, size, 3), tf.float32, name="image")]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=sig, opset=OPSET)
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    meta = {META_INPUT: json.dumps(input_spec(size)), META_LABELS: json.dumps(list(labels))}
    del proto.metadata_props[:]
    for key, value in meta.items():
        proto.metadata_props.add(key=key, value=value)
    proto.producer_name = "emocam tools.emotion.train"
    onnx.checker.check_model(proto)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
    x = to_unit_range(check)
    want = model.predict(x, verbose=0)
    got = OnnxPredictor(path).run(x)
    diff = float(np.abs(got - want).max())
    if diff > MAX_EXPORT_DIFF:
        raise EmocamError(f"exported {path} differs from the Keras model by {diff:.2e} (limit {MAX_EXPORT_DIFF})")
    return diff


def label_columns(labels: list[str]) -> list[int | None]:
    """For each model output, its canonical emotion index (None for classes outside the seven)."""
    cols = []
    for name in labels:
        c = canonical_label(str(name))
        cols.append(None if c is None else EMOTIONS.index(c))
    if not any(c is not None for c in cols):
        raise EmocamError(f"model labels {labels} name none of {', '.join(EMOTIONS)}")
    return cols


def prepare(images: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """uint8 RGB crops -> the model's input per its emocam.input spec (size, channels, layout, range)."""
    h, w = (int(v) for v in spec["size"])
    lo, hi = (float(v) for v in spec["range"])
    out = []
    for im in images:
        if im.shape[:2] != (h, w):
            im = cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA if h < im.shape[0] else cv2.INTER_LINEAR)
        if int(spec["channels"]) == 1:
            im = cv2.cvtColor(im, cv2.COLOR_RGB2GRAY)[:, :, None]
        out.append(im)
    x = np.stack(out).astype(np.float32) * ((hi - lo) / 255.0) + lo
    return x.transpose(0, 3, 1, 2) if spec["layout"] == "NCHW" else x


class OnnxPredictor:
    """An ONNX emotion model with emocam metadata, run by onnxruntime on the CPU."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        try:
            self.session = ort.InferenceSession(str(self.path), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise EmocamError(f"cannot load ONNX model {self.path}: {str(e).splitlines()[0]}") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.spec = json.loads(meta[META_INPUT])
            self.labels = list(json.loads(meta[META_LABELS]))
            _ = [self.spec[k] for k in ("size", "channels", "layout", "range")]
        except (KeyError, ValueError, TypeError):
            raise EmocamError(f"{self.path} lacks valid {META_INPUT}/{META_LABELS} metadata "
                              "(see docs/ARCHITECTURE.md)") from None
        self.columns = label_columns(self.labels)
        self.input_name = self.session.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        """Raw model outputs for an already prepared float32 batch."""
        return self.session.run(None, {self.input_name: x})[0]

    def predict(self, images: np.ndarray, batch: int = 64) -> np.ndarray:
        """Probabilities [N, 7] in canonical order for uint8 RGB crops."""
        raw = np.concatenate([self.run(prepare(images[i:i + batch], self.spec))
                              for i in range(0, len(images), batch)])
        return to_canonical(raw, self.columns)


class KerasPredictor:
    """A Keras model saved by train_emotion (.keras): RGB input scaled to 0..1, canonical labels."""

    def __init__(self, path: str | Path) -> None:
        import keras

        self.path = Path(path)
        try:
            self.model = keras.models.load_model(self.path, compile=False)
        except Exception as e:  # keras raises many types for a bad file
            raise EmocamError(f"cannot load Keras model {self.path}: {str(e).splitlines()[0]}") from None
        shape = self.model.input_shape
        if len(shape) != 4 or shape[3] not in (1, 3) or self.model.output_shape[-1] != len(EMOTIONS):
            raise EmocamError(f"{self.path}: expected an NHWC image input and {len(EMOTIONS)} outputs")
        self.spec = {"size": [shape[1], shape[2]], "channels": shape[3], "layout": "NHWC", "range": [0.0, 1.0]}
        self.labels = list(EMOTIONS)

    def predict(self, images: np.ndarray, batch: int = 64) -> np.ndarray:
        """Probabilities [N, 7] in canonical order for uint8 RGB crops."""
        return self.model.predict(prepare(images, self.spec), batch_size=batch, verbose=0)


def to_canonical(raw: np.ndarray, columns: list[int | None]) -> np.ndarray:
    """Reorder model outputs into the canonical emotion order (classes outside the seven dropped)."""
    out = np.zeros((raw.shape[0], len(EMOTIONS)), np.float32)
    for j, c in enumerate(columns):
        if c is not None:
            out[:, c] = raw[:, j]
    return out


def load_predictor(path: str | Path) -> OnnxPredictor | KerasPredictor:
    """A predictor for an .onnx or .keras/.h5 file."""
    p = Path(path)
    if not p.is_file():
        raise EmocamError(f"model {p} does not exist")
    if p.suffix.lower() == ".onnx":
        return OnnxPredictor(p)
    if p.suffix.lower() in (".keras", ".h5"):
        return KerasPredictor(p)
    raise EmocamError(f"{p}: unknown model type (expected .onnx or .keras)")
