"""onnxruntime sessions on the device really used.

onnxruntime-gpu asked for CUDA without the CUDA libraries logs an error and silently runs on CPU.
Here CUDA is probed once on a tiny model (quietly); `auto` then uses CUDA only when it really
loads, and `cuda` raises EmocamError when it does not.
"""

from __future__ import annotations

import base64
import ctypes
import functools
import struct
from pathlib import Path

import onnxruntime as ort

from emocam.errors import EmocamError
from emocam.modelstore.onnx_norms import fold_instance_norms

DEVICES = ("auto", "cpu", "cuda")
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# A 73-byte ONNX model (y = Relu(x), x float[1], opset 13) used to see whether CUDA really loads.
PROBE_MODEL = base64.b64decode(
    "CAgSBmVtb2NhbTo3CgwKAXgSAXkiBFJlbHUSBXByb2JlWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ=="
)
_QUIET = 4  # onnxruntime log severity FATAL: no error spam while CUDA is probed
_DEFAULT_SEVERITY = 2  # onnxruntime's default (WARNING)


def listed_providers() -> list[str]:
    """Execution providers this onnxruntime build lists (not necessarily loadable)."""
    return list(ort.get_available_providers())


def _cuda_load_error() -> str | None:
    """Why the CUDA provider library does not load (from the dynamic loader), or None."""
    lib = Path(ort.__file__).parent / "capi" / "libonnxruntime_providers_cuda.so"
    if not lib.is_file():
        return None
    try:
        ctypes.CDLL(str(lib))
    except OSError as e:
        return str(e)
    return None


@functools.lru_cache(maxsize=1)
def cuda_status() -> tuple[bool, str]:
    """(usable, reason): whether a CUDA session really loads here, probed once on a tiny model."""
    if CUDA not in listed_providers():
        return False, "this onnxruntime build has no CUDA provider (install onnxruntime-gpu)"
    so = ort.SessionOptions()
    so.log_severity_level = _QUIET
    ort.set_default_logger_severity(_QUIET)
    try:
        sess = ort.InferenceSession(PROBE_MODEL, so, providers=[CUDA, CPU])
        used = sess.get_providers()
    except Exception as e:  # noqa: BLE001 - any provider failure means "not usable"
        return False, f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    finally:
        ort.set_default_logger_severity(_DEFAULT_SEVERITY)
    if CUDA in used:
        return True, "CUDA provider loads"
    reason = _cuda_load_error() or (
        "the CUDA provider did not load (needs the CUDA and cuDNN versions this onnxruntime-gpu was built for)")
    return False, reason


def available_devices() -> list[str]:
    """Devices that really work here: always "cpu", plus "cuda" when a CUDA session loads."""
    return ["cuda", "cpu"] if cuda_status()[0] else ["cpu"]


def loadable(path: Path) -> str | bytes:
    """What onnxruntime loads for `path`: its bytes with spelled-out instance norms folded (the same output,
    faster), or the path itself when there is nothing to fold or the file is not a readable protobuf (then
    onnxruntime's own error is the one reported)."""
    try:
        folded, count = fold_instance_norms(path.read_bytes())
    except (OSError, ValueError, IndexError, struct.error):  # ValueError covers a bad UTF-8 name too
        return str(path)
    return folded if count else str(path)


def session_options(threads: int | None = None) -> ort.SessionOptions:
    """Every graph optimisation, one stream of operators, `threads` intra-op threads (None: onnxruntime's
    choice), warnings and below kept off stderr.

    Its threads do not spin-wait after a run: onnxruntime's default keeps them busy for a while, and on a small
    machine they then steal the cores from the next network (the emotion classifier's spinning threads made
    the style network on OpenVINO 40% slower, 47 vs 34 ms per 640x480 frame on 2 cores)."""
    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.inter_op_num_threads = 1
    so.intra_op_num_threads = threads or 0
    so.log_severity_level = 3
    return so


def create_session(path: str | Path, device: str = "auto",
                   threads: int | None = None) -> tuple[ort.InferenceSession, str]:
    """An InferenceSession for the ONNX file `path` and the device really used ("cuda" or "cpu").

    device: "auto" (CUDA when it really loads, else CPU), "cpu", or "cuda" (EmocamError if CUDA is
    not usable). threads: intra-op threads (default: onnxruntime's choice, one per physical core).
    """
    if device not in DEVICES:
        raise EmocamError(f"--device {device}: choose one of {', '.join(DEVICES)}")
    if threads is not None and threads < 1:
        raise EmocamError(f"threads must be at least 1, got {threads}")
    p = Path(path)
    if not p.is_file():
        raise EmocamError(f"model file {p} not found")
    want_cuda = device == "cuda" or (device == "auto" and cuda_status()[0])
    if device == "cuda" and not cuda_status()[0]:
        raise EmocamError(
            f"--device cuda: CUDA is not usable here (onnxruntime fell back to CPU: {cuda_status()[1]}); "
            "use --device cpu or auto")
    so = session_options(threads)
    providers = [CUDA, CPU] if want_cuda else [CPU]
    sess = None
    for model in dict.fromkeys([loadable(p), str(p)]):  # the file itself if the folded graph does not load
        try:
            sess = ort.InferenceSession(model, so, providers=providers)
            break
        except Exception as e:  # noqa: BLE001 - onnxruntime raises several types for a bad file
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    if sess is None:
        raise EmocamError(f"cannot load model {p}: {msg}")
    used = "cuda" if CUDA in sess.get_providers() else "cpu"
    if device == "cuda" and used != "cuda":
        raise EmocamError(
            f"--device cuda: CUDA is not usable here (onnxruntime fell back to CPU for {p.name}); "
            "use --device cpu or auto")
    return sess, used
