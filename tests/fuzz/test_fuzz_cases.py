"""The fuzz suite: every generated hostile (or valid but odd) input keeps emocam's promises.

The fast subset runs in a normal `pytest`; the whole set runs with `pytest --fuzz-full` (or EMOCAM_FUZZ=full).
"""
from __future__ import annotations


from fuzz.cases import ALL_CASES
from fuzz.harness import check_case


def pytest_generate_tests(metafunc) -> None:
    if "fuzz_case" in metafunc.fixturenames:
        full = metafunc.config.getoption("--fuzz-full")
        chosen = [c for c in ALL_CASES if full or c.fast]
        metafunc.parametrize("fuzz_case", chosen, ids=[c.id for c in chosen])


def test_case_keeps_the_promises(fuzz_case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EMOCAM_CONFIG_DIR", str(tmp_path / "config"))  # a live case never touches real settings
    check_case(fuzz_case, tmp_path)


def test_the_suite_covers_every_category():
    categories = {c.category for c in ALL_CASES}
    assert len(ALL_CASES) >= 150 and len({c.id for c in ALL_CASES}) == len(ALL_CASES)
    assert {"input", "formats", "images", "folders", "outputs", "names", "options", "packs", "models",
            "signals", "live", "tools"} <= categories
