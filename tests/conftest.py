"""Shared fixtures: model files (fetched once if missing), real test pictures and the bundled clip."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from emocam.io.sources import SAMPLE_CLIP

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session", autouse=True)
def models() -> None:
    """The model files from `emocam models fetch`, fetched into the models folder when they are missing."""
    from emocam.modelstore.fetch import ensure_models

    ensure_models()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """NASA's portrait of Eileen Collins (public domain): one real, smiling face."""
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def sample_clip() -> Path:
    return SAMPLE_CLIP


def pytest_addoption(parser) -> None:
    """`--fuzz-full` runs every case of tests/fuzz (a normal run takes the fast subset); so does EMOCAM_FUZZ=full."""
    parser.addoption("--fuzz-full", action="store_true", default=os.environ.get("EMOCAM_FUZZ") == "full",
                     help="run the whole fuzz suite in tests/fuzz, not just its fast subset")
