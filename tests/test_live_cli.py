"""`emocam live` options: bad input is one clear line and exit 2, before any window opens."""

import pytest

from emocam.cli import main
from emocam.io.sources import SAMPLE_CLIP


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--source", "no/such/clip.mp4"], "input not found: no/such/clip.mp4"),
        (["--record", "out.avi"], "--record must name an .mp4 file"),
        (["--record", "no/such/dir/out.mp4"], "--record: folder no/such/dir does not exist"),
        (["--duration", "0"], "--duration must be a positive number"),
        (["--screenshot", "shot.txt"], "--screenshot must end in .png"),
        (["--pack", "no-such-pack"], "style pack 'no-such-pack' not found"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, extra, message):
    args = ["live", "--source", str(SAMPLE_CLIP)] + extra if extra[0] != "--source" else ["live"] + extra
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("emocam: error: ") and message in err and err.count("\n") == 1


def test_a_missing_emotion_model_is_a_one_line_error(capsys):
    assert main(["live", "--source", str(SAMPLE_CLIP), "--emotion-model", "no/such.onnx"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emocam: error: ") and "emotion model not found" in err and err.count("\n") == 1


def test_settings_options_come_from_the_schema_and_override_the_saved_ones(tmp_path):
    from emocam.cli import build_parser
    from emocam.live.app import live_settings
    from emocam.settings import LIVE, SettingsFile, fields_for, meta

    config = SettingsFile(tmp_path / "live.json")
    saved = config.load()
    saved.strength, saved.dwell_s = 0.3, 2.0
    config.save(saved)
    args = build_parser("live").parse_args(["live", "--smoothing", "1.5", "--policy", "majority"])
    for field in fields_for(LIVE):
        assert hasattr(args, field.name), meta(field.name).cli
    chosen = live_settings(args, config)
    assert (chosen.smoothing_s, chosen.policy, chosen.strength, chosen.dwell_s) == (1.5, "majority", 0.3, 2.0)
    again = config.load()
    assert (again.smoothing_s, again.policy, again.strength) == (1.5, "majority", 0.3)


@pytest.mark.parametrize("option", [["--strength", "1.5"], ["--smoothing", "-1"], ["--process-size", "7"]])
def test_out_of_range_settings_are_one_line_errors(capsys, option):
    assert main(["live", "--source", str(SAMPLE_CLIP), *option]) == 2
    err = capsys.readouterr().err
    assert err.startswith("emocam: error: ") and option[0] in err and err.count("\n") == 1


def test_saved_settings_keep_only_what_differs_from_the_defaults(tmp_path):
    """A default improved in a new version reaches everyone who never changed that setting."""
    import json

    from emocam.settings import LIVE, Settings, SettingsFile

    config = SettingsFile(tmp_path / "live.json")
    settings = Settings.for_surface(LIVE)
    config.save(settings)
    assert json.loads((tmp_path / "live.json").read_text()) == {}
    settings.process_size, settings.temporal = 512, "off"
    config.save(settings)
    assert json.loads((tmp_path / "live.json").read_text()) == {"process_size": 512, "temporal": "off"}
    again = config.load()
    assert (again.process_size, again.temporal, again.strength) == (512, "off", Settings.for_surface(LIVE).strength)
