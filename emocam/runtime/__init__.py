"""Network runtimes behind one interface (`base.Network`): onnxruntime and OpenVINO, chosen by `chooser`."""
from __future__ import annotations

from emocam.runtime.base import Network, Ran, TensorSpec, ran_line
from emocam.runtime.chooser import DEVICES, PRECISIONS, Plan, auto_device, load_network, plan

__all__ = ["DEVICES", "PRECISIONS", "Network", "Plan", "Ran", "TensorSpec", "auto_device", "load_network", "plan", "ran_line"]
