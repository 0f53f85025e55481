"""The one settings schema: CLI options, validation and live.json all come from the same fields."""
from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from emocam import settings as schema
from emocam.errors import EmocamError
from emocam.settings import Settings, SettingsFile


def parse(surface: str, argv: list[str]) -> tuple[Settings, list[str]]:
    parser = argparse.ArgumentParser()
    schema.add_arguments(parser, surface)
    return schema.from_args(parser.parse_args(argv), Settings.for_surface(surface))


NUMERIC = [f for f in schema.fields_for(schema.RENDER) if isinstance(f.default, (int, float)) and not isinstance(f.default, bool)]


@pytest.mark.parametrize("field", NUMERIC, ids=lambda f: f.name)
@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e9"])
def test_every_numeric_option_refuses_the_same_way(field, value):
    option = schema.meta(field.name).cli
    with pytest.raises(EmocamError) as error:
        parse(schema.RENDER, [option, value])
    message = str(error.value)
    assert message.startswith(option) and "\n" not in message


def test_options_given_override_the_base_and_are_reported():
    settings, given = parse(schema.RENDER, ["--smoothing", "1.5", "--policy", "majority", "--process-size", "0"])
    assert (settings.smoothing_s, settings.policy, settings.process_size) == (1.5, "majority", 0)
    assert sorted(given) == ["policy", "process_size", "smoothing_s"]
    assert settings.dwell_s == Settings().dwell_s and isinstance(settings.process_size, int)
    with pytest.raises(EmocamError, match="--process-size must be a whole number"):
        parse(schema.RENDER, ["--process-size", "300.5"])


def test_render_and_live_share_the_pipeline_options():
    def options(surface: str) -> set[str]:
        parser = argparse.ArgumentParser()
        schema.add_arguments(parser, surface)
        return {a.option_strings[0] for a in parser._actions if a.option_strings and a.dest != "help"}

    shared = options(schema.RENDER) & options(schema.LIVE)
    assert {"--device", "--pack", "--strength", "--smoothing", "--dwell", "--blend", "--process-size"} <= shared
    from emocam.runtime.chooser import fast_style

    # render's size follows the machine (full size where the style network runs fast here, else 512); live stays
    # at 320: the camera's 30 fps in the window on 2 cores with the steadying and the edit (docs/backends.md)
    want = (320, 0) if fast_style() else (320, 512)
    assert (Settings.for_surface(schema.LIVE).process_size, Settings.for_surface(schema.RENDER).process_size) == want


def test_a_missing_emotion_model_is_refused(tmp_path):
    with pytest.raises(EmocamError, match="emotion model not found"):
        parse(schema.RENDER, ["--emotion-model", str(tmp_path / "none.onnx")])


def test_settings_file_round_trips_and_ignores_bad_fields(tmp_path):
    store = SettingsFile(tmp_path / "live.json")
    assert store.load() == Settings.for_surface(schema.LIVE)  # no file: the live defaults
    saved = dataclasses.replace(Settings.for_surface(schema.LIVE), strength=0.25, styles={"default": {"happy": 3}})
    store.save(saved)
    assert store.load() == saved
    data = json.loads((tmp_path / "live.json").read_text())
    data.update(strength=7.0, smoothing_s="slow", dwell_s=2, device="tpu", unknown=1)
    (tmp_path / "live.json").write_text(json.dumps(data))
    loaded = store.load()
    assert loaded.strength == Settings.for_surface(schema.LIVE).strength  # out of range: default kept
    assert loaded.smoothing_s == Settings().smoothing_s and loaded.device == "auto"
    assert loaded.dwell_s == 2.0 and loaded.styles == {"default": {"happy": 3}}
    (tmp_path / "live.json").write_text("[1, 2")
    assert store.load() == Settings.for_surface(schema.LIVE)


def test_changed_names_the_fields_that_differ():
    a = Settings()
    b = dataclasses.replace(a, strength=0.5, detector="full")
    assert schema.changed(a, b) == ["detector", "strength"]
