"""Every fuzz case, from the modules that generate them by theme."""
from __future__ import annotations

from fuzz import cases_media, cases_paths

ALL_CASES = [*cases_media.CASES, *cases_paths.CASES]
