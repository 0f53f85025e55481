"""Every fuzz case, from the modules that generate them by theme."""
from __future__ import annotations

from fuzz import cases_folders, cases_images, cases_media, cases_models, cases_paths, cases_tools

ALL_CASES = [*cases_media.CASES, *cases_images.CASES, *cases_paths.CASES, *cases_folders.CASES,
             *cases_models.CASES, *cases_tools.CASES]
