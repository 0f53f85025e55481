"""The FER emotion model, converted from the `fer` package's Keras mini-Xception to ONNX.

The conversion is deterministic (tf2onnx's auto-numbered names are canonicalised, and TensorFlow's
grappler does no constant folding, see `_grappler_without_constfold`), so its bytes, and the sha256 in
the manifest, are the same on every run and every x86 CPU; `emocam models fetch --convert always`
redoes it and checks it against Keras on a real face before the file is used.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from emocam.errors import EmocamError

Log = Callable[[str], None]

FER_LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
EMOTION_INPUT = {"size": [64, 64], "channels": 1, "layout": "NHWC", "range": [-1, 1]}
OPSET = 17
PARITY_TOL = 1e-4
# A fixed box (x0, y0, x1, y1) around the face in skimage.data.astronaut() (512x512).
ASTRONAUT_FACE = (170, 60, 265, 185)


def astronaut_face_gray64() -> np.ndarray:
    """The astronaut's face (skimage.data.astronaut) as a [1,64,64,1] float32 batch in [-1, 1]."""
    from skimage import data

    x0, y0, x1, y1 = ASTRONAUT_FACE
    return preprocess_gray64(data.astronaut()[y0:y1, x0:x1])


def preprocess_gray64(rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 crop -> [1,64,64,1] float32, grayscale, 0..255 mapped onto -1..1."""
    import cv2

    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    gray = cv2.resize(gray, (64, 64), interpolation=cv2.INTER_AREA)
    return (gray.astype(np.float32) / 127.5 - 1.0)[None, :, :, None]


def _parity_inputs() -> np.ndarray:
    """Parity batch: the astronaut's face (when scikit-image is there) and seeded noise images."""
    rng = np.random.default_rng(0)
    batch = [rng.uniform(-1, 1, (3, 64, 64, 1)).astype(np.float32)]
    try:
        batch.insert(0, astronaut_face_gray64())
    except ImportError:
        pass
    return np.concatenate(batch)


def _canonicalise(model) -> None:
    """Rename tf2onnx's auto-numbered names by first use and order initializers the same way.

    tf2onnx numbers folded constants in set-iteration order (varies with the hash seed), so without
    this the bytes differ between runs; afterwards the file is byte-stable.
    """
    g = model.graph
    keep = {v.name for v in g.input} | {v.name for v in g.output}
    inits = {i.name: i for i in g.initializer}
    order: list[str] = []
    seen: set[str] = set()
    for n in g.node:
        for x in [*n.input, *n.output]:
            if x and x not in seen:
                seen.add(x)
                order.append(x)
    for x in inits:
        if x not in seen:
            seen.add(x)
            order.append(x)
    auto = re.compile(r"__\d+(?=(:\d+)?$)")
    rename: dict[str, str] = {}
    for k, x in enumerate(order):
        if x not in keep and auto.search(x):
            rename[x] = auto.sub(f"__t{k}", x)
    for k, n in enumerate(g.node):
        for j, x in enumerate(n.input):
            n.input[j] = rename.get(x, x)
        for j, x in enumerate(n.output):
            n.output[j] = rename.get(x, x)
        if auto.search(n.name):
            n.name = auto.sub(f"__n{k}", n.name)
    ordered = [inits[x] for x in order if x in inits]
    for i in ordered:
        i.name = rename.get(i.name, i.name)
    del g.initializer[:]
    g.initializer.extend(ordered)
    for v in g.value_info:
        v.name = rename.get(v.name, v.name)
    for v in [*g.input, *g.output]:
        dims = v.type.tensor_type.shape.dim
        if dims and dims[0].dim_param:
            dims[0].dim_param = "N"


@contextmanager
def _grappler_without_constfold() -> Iterator[None]:
    """Run tf2onnx's grappler pass without 'constfold' while converting; restored afterwards.

    Grappler folds each batch norm into its convolution with TensorFlow's vectorised kernels, whose
    rsqrt differs by one ulp between AVX2 and AVX-512 CPUs, so the file's sha256 depended on the CPU.
    Left to tf2onnx's own optimiser, the same folding is done in numpy (IEEE sqrt, multiply and divide,
    exactly rounded on every CPU), and the bytes are the same everywhere.
    """
    import tensorflow as tf
    import tf2onnx.tf_loader as loader
    from tensorflow.core.protobuf import config_pb2, meta_graph_pb2
    from tensorflow.python.grappler import tf_optimizer

    def optimize(input_names: list[str], output_names: list[str], graph_def):
        config = config_pb2.ConfigProto()
        config.graph_options.infer_shapes = True
        rewrite = config.graph_options.rewrite_options
        rewrite.optimizers[:] = ["function", "dependency"]
        rewrite.experimental_disable_folding_quantization_emulation = True
        meta_graph = tf.compat.v1.train.export_meta_graph(graph_def=graph_def)
        fetch = meta_graph_pb2.CollectionDef()
        fetch.node_list.value.extend(input_names + output_names)
        meta_graph.collection_def["train_op"].CopyFrom(fetch)
        return tf_optimizer.OptimizeGraph(config, meta_graph)

    original = loader.tf_optimize_grappler
    loader.tf_optimize_grappler = optimize
    try:
        yield
    finally:
        loader.tf_optimize_grappler = original


def convert_emotion_model(hdf5: Path, out: Path, log: Log = print) -> float:
    """Convert the fer Keras model to ONNX at `out` (deterministic bytes); returns the parity max abs diff.

    Raises EmocamError if tensorflow/tf2onnx are missing or the ONNX output differs from Keras by
    more than PARITY_TOL on the parity batch (the astronaut's face and noise images).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras
        import onnx
        import tensorflow as tf
        import tf2onnx
    except ImportError as e:
        raise EmocamError(
            f"converting the emotion model needs tensorflow and tf2onnx ({e.name} is missing): "
            'pip install "emocam[train]"') from None
    import onnxruntime as ort

    model = keras.models.load_model(str(hdf5), compile=False)
    spec = [tf.TensorSpec([None, 64, 64, 1], tf.float32, name="input")]
    with _grappler_without_constfold():
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    _canonicalise(proto)
    del proto.metadata_props[:]
    for key, value in (("emocam.input", EMOTION_INPUT), ("emocam.labels", FER_LABELS)):
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, json.dumps(value)
    onnx.checker.check_model(proto)
    data = proto.SerializeToString(deterministic=True)

    x = _parity_inputs()
    want = np.asarray(model([x], training=False))
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    diff = float(np.abs(want - got).max())
    return save_if_parity(data, out, diff, PARITY_TOL, f"emotion model ({hdf5.name})", "Keras", len(x), log)


def save_if_parity(data: bytes, out: Path, diff: float, tolerance: float, what: str, source: str, images: int,
                   log: Log) -> float:
    """Write a converted model to `out` (whole or not at all) when it matched its source within `tolerance`;
    returns the difference, or raises EmocamError in one line."""
    if not diff < tolerance:
        raise EmocamError(f"{what} conversion failed parity: ONNX differs from {source} by {diff:.2e}")
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    log(f"converted {what} to ONNX: parity vs {source} max abs diff {diff:.1e} on {images} images")
    return diff
