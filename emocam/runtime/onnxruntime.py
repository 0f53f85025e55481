"""The onnxruntime backend: CPU everywhere, CUDA with onnxruntime-gpu (refused in one line when it does not load).

Its graph optimisation is done once: the optimised graph of the prepared model is saved beside it in the cache
(per device, onnxruntime version and processor, since an optimised CPU graph holds kernels chosen for it) and
later sessions load that file with optimisation off.
"""
from __future__ import annotations

import hashlib
import platform
from pathlib import Path

import numpy as np
import onnxruntime as ort

from emocam.errors import EmocamError
from emocam.modelstore import runtime as ort_runtime
from emocam.runtime import cache
from emocam.runtime.base import Network, Ran, TensorSpec

NAME = "onnxruntime"
_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
           "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(uint8)": np.uint8}


def devices() -> list[str]:
    """Devices onnxruntime really runs on here ("cuda" only when a CUDA session loads)."""
    return ort_runtime.available_devices()


def _specs(args) -> list[TensorSpec]:
    return [TensorSpec(a.name, tuple(a.shape), np.dtype(_DTYPES.get(a.type, object))) for a in args]


class OrtNetwork(Network):
    """An onnxruntime InferenceSession behind the Network interface."""

    def __init__(self, session: ort.InferenceSession, ran: Ran) -> None:
        self.session, self.ran = session, ran
        self.inputs, self.outputs = _specs(session.get_inputs()), _specs(session.get_outputs())
        self.metadata = dict(session.get_modelmeta().custom_metadata_map)

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, feeds)


def _optimized_path(prepared: Path, device: str) -> Path:
    """Where the optimised graph of `prepared` for `device` lives (it sits in its model's cache folder)."""
    machine = hashlib.sha256(f"{platform.machine()}/{platform.processor()}/{_cpu_flags()}".encode()).hexdigest()[:8]
    return prepared.parent / f"{prepared.stem}.ort-{ort.__version__}-{device}-{machine}.onnx"


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return ""


def load(path: Path, device: str, precision: str, threads: int | None = None,
         axes: dict[str, dict[int, str]] | None = None) -> OrtNetwork:
    """A network on onnxruntime: device "cpu" or "cuda" (EmocamError when CUDA does not really load).
    precision: onnxruntime runs the file's own types, so only "fp32" (or "auto") is taken."""
    if device not in ("cpu", "cuda"):
        raise EmocamError(f"onnxruntime runs on cpu or cuda, not {device}")
    p = Path(path)
    if not p.is_file():
        raise EmocamError(f"model file {p} not found")
    try:
        model = cache.prepared(p, axes)
    except (OSError, ValueError) as exc:
        raise EmocamError(f"cannot load model {p}: {exc}") from None
    if device == "cuda" and not ort_runtime.cuda_status()[0]:
        raise EmocamError(f"--device cuda: CUDA is not usable here (onnxruntime: {ort_runtime.cuda_status()[1]}); "
                          "use --device cpu or auto")
    providers = [ort_runtime.CUDA, ort_runtime.CPU] if device == "cuda" else [ort_runtime.CPU]
    with cache.loading(p):  # the optimised graph is written in place: one process at a time
        session = _session(p, model, device, threads, providers)
    used = "cuda" if ort_runtime.CUDA in session.get_providers() else "cpu"
    if used != device:
        raise EmocamError(f"--device {device}: onnxruntime fell back to CPU for {p.name}; use --device cpu or auto")
    half = any(i.type == "tensor(float16)" for i in session.get_inputs())  # an fp16 file runs in fp16
    return OrtNetwork(session, Ran(NAME, used, "fp16" if half else "fp32"))


def _session(p: Path, model: Path, device: str, threads: int | None, providers: list[str]) -> ort.InferenceSession:
    """A session on the cached optimised graph when there is one, else on the prepared graph (caching it)."""
    session = None
    optimized = _optimized_path(model, device) if model != p else None
    if optimized is not None and optimized.is_file():
        so = ort_runtime.session_options(threads)
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            session = ort.InferenceSession(str(optimized), so, providers=providers)
        except Exception:  # noqa: BLE001 - a damaged cache entry: rebuild it below
            optimized.unlink(missing_ok=True)
    if session is None:
        for candidate in dict.fromkeys([model, p]):  # the file itself if the prepared graph does not load
            so = ort_runtime.session_options(threads)
            if optimized is not None and candidate == model:
                optimized.parent.mkdir(parents=True, exist_ok=True)
                so.optimized_model_filepath = str(optimized)
            try:
                session = ort.InferenceSession(str(candidate), so, providers=providers)
                break
            except Exception as e:  # noqa: BLE001 - onnxruntime raises several types for a bad file
                msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if session is None:
            raise EmocamError(f"cannot load model {p}: {msg}")
    return session
