"""`emocam live` options: bad input is one clear line and exit 2, before any window opens."""

import pytest

from emocam.cli import main
from emocam.live.window import SAMPLE_CLIP


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
