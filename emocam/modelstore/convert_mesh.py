"""MediaPipe's face_landmark.tflite (468-point face mesh) converted to ONNX, checked against TF's own interpreter.

The installed mediapipe (Tasks API only) cannot run the bare tflite without a .task bundle nobody ships, so the
model is converted once with tf2onnx (`--tflite`) and the ONNX ships as package data, like the FER model. The
conversion is canonicalised to stable bytes (the manifest's sha256); `emocam models fetch --convert always`
redoes it, and parity is measured on the astronaut's real face crop plus noise before the file is kept.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from emocam.errors import EmocamError
from emocam.modelstore.convert import _canonicalise, save_if_parity

Log = Callable[[str], None]

OPSET = 13
PARITY_TOL = 2e-3  # crop pixels (0..192); fp16 weights in the tflite, fp32 in the ONNX
# the astronaut's face crop for the landmark model: centre and side (1.5x the detector's box), upright
ASTRONAUT_CROP = (218.0, 118.0, 150.0)


def astronaut_crop192() -> np.ndarray:
    """[1,192,192,3] float32 0..1: the astronaut's face (skimage.data.astronaut) as the landmark model takes it."""
    import cv2
    from skimage import data

    cx, cy, side = ASTRONAUT_CROP
    img = data.astronaut()
    x0, y0 = int(cx - side / 2), int(cy - side / 2)
    crop = img[max(0, y0):y0 + int(side), max(0, x0):x0 + int(side)]
    return (cv2.resize(crop, (192, 192), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0)[None]


def tflite_run(tflite: Path, x: np.ndarray) -> list[np.ndarray]:
    """TF's own tflite interpreter's outputs for `x` (the reference of the parity check), largest output first."""
    import tensorflow as tf

    interp = tf.lite.Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    outs = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
    return sorted(outs, key=lambda a: -a.size)


def _positional_names(model) -> None:
    """Name every inner tensor and node by its node's position and op. tf2onnx merges identical nodes (the
    model's parallel MaxPools) keeping whichever name it met first, which varies between runs in one process;
    positional names make the bytes stable anyway."""
    g = model.graph
    keep = {v.name for v in g.input} | {v.name for v in g.output} | {i.name for i in g.initializer}
    rename: dict[str, str] = {}
    for k, n in enumerate(g.node):
        for j, x in enumerate(n.output):
            if x and x not in keep:
                rename[x] = f"{n.op_type.lower()}_{k}" + (f"_{j}" if j else "")
        n.name = f"{n.op_type.lower()}_{k}"
    for n in g.node:
        n.input[:] = [rename.get(x, x) for x in n.input]
        n.output[:] = [rename.get(x, x) for x in n.output]
    for v in g.value_info:
        v.name = rename.get(v.name, v.name)


def convert_face_mesh(tflite: Path, out: Path, log: Log = print) -> float:
    """Convert face_landmark.tflite to ONNX at `out`; returns the parity max abs diff (crop pixels) on the
    astronaut's face and noise images. EmocamError if tensorflow/tf2onnx are missing or parity fails."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import onnx
        import tf2onnx
    except ImportError as e:
        raise EmocamError(f"converting the face mesh model needs tensorflow and tf2onnx ({e.name} is missing): "
                          'pip install "emocam[train]"') from None
    import onnxruntime as ort

    proto, _ = tf2onnx.convert.from_tflite(str(tflite), opset=OPSET)
    _canonicalise(proto)
    _positional_names(proto)
    del proto.metadata_props[:]
    prop = proto.metadata_props.add()
    prop.key, prop.value = "emocam.source", "mediapipe==0.10.21 mediapipe/modules/face_landmark/face_landmark.tflite"
    onnx.checker.check_model(proto)
    data = proto.SerializeToString(deterministic=True)

    rng = np.random.default_rng(0)
    batch = [astronaut_crop192(), rng.uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)]
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    diff = 0.0
    for x in batch:
        want = tflite_run(tflite, x)
        got = sorted(sess.run(None, {sess.get_inputs()[0].name: x}), key=lambda a: -a.size)
        diff = max(diff, *(float(np.abs(w.ravel() - g.ravel()).max()) for w, g in zip(want, got)))
    return save_if_parity(data, out, diff, PARITY_TOL, f"face mesh ({tflite.name})", "TFLite", len(batch), log)
