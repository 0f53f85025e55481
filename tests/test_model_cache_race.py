"""Several processes, each loading from two threads at once, on one empty model cache: all must load and agree.

Before the cache lock, OpenVINO's compiled blob was written in place while another process mapped it (SIGBUS),
and two threads compiling at once could deadlock; the live window's thumbnails and pipeline did exactly that."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from emocam.modelstore.manifest import find_model
from emocam.runtime import openvino as ov_backend

LOADER = textwrap.dedent("""
    import sys, threading
    import numpy as np
    from emocam.runtime import load_network

    device, path = sys.argv[1], sys.argv[2]
    frame = np.random.default_rng(0).random((1, 3, 96, 128), np.float32)
    style = np.eye(26, dtype=np.float32)[19]
    sums = []

    def load_and_run():
        network = load_network(path, device, "auto")
        sums.append(float(network.run({"image": frame, "style_weights": style})[0].sum()))

    threads = [threading.Thread(target=load_and_run) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(sums) == 2 and abs(sums[0] - sums[1]) < 1e-3 * abs(sums[0]), sums
    print("loaded", sums[0])
""")

DEVICES = ["cpu-onnxruntime"] + (["cpu"] if "cpu" in ov_backend.devices() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_processes_loading_at_once_on_an_empty_cache(tmp_path, device):
    env = dict(os.environ, EMOCAM_CACHE_DIR=str(tmp_path / "cache"))
    model = str(find_model("multistyle26.onnx"))
    procs = [subprocess.Popen([sys.executable, "-c", LOADER, device, model], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(4)]
    outputs = []
    try:
        for proc in procs:
            outputs.append((proc.communicate(timeout=240)[0], proc.returncode))
    finally:
        for proc in procs:
            proc.kill()
    for output, code in outputs:
        assert code == 0, f"exit {code}: {output[-1500:]}"
    sums = {round(float(o.split()[-1]), 1) for o, _ in outputs}
    assert len(sums) == 1, sums  # every process ran the same network the same way
