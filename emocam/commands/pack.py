"""`emocam pack new|set`: style packs made from your own pictures (any painting or photo), no training.

    emocam pack new NAME --happy painting.jpg --sad photo.png:0.7,sky.jpg:0.3 [--neutral ...] [--out DIR]
    emocam pack set NAME|DIR --happy other.jpg

An emotion not given takes neutral's pictures; with no --neutral, the unlisted emotions take the mean of the
given emotions' styles. The pack lands in <models folder>/packs/NAME (so `--pack NAME` finds it) unless --out
names the pack folder itself.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from emocam.labels import EMOTIONS

PICTURE_HELP = "picture for {emotion}: PICTURE, or a blend PICTURE:WEIGHT,PICTURE:WEIGHT"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="pack_command", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="make a pack from pictures, one (or a blend) per emotion")
    new.add_argument("name", help="the pack's name (letters, digits, . _ -)")
    new.add_argument("--out", type=Path, help="the pack folder to create (default: <models folder>/packs/NAME)")
    change = actions.add_parser("set", help="give emotions of an existing pictures pack new pictures")
    change.add_argument("pack", help="pack name or folder")
    for sub in (new, change):
        for emotion in EMOTIONS:
            sub.add_argument(f"--{emotion}", metavar="PICTURE", help=PICTURE_HELP.format(emotion=emotion))


def _choices(args: argparse.Namespace) -> dict:
    from emocam.packs.authoring import parse_picture_option

    return {e: parse_picture_option(getattr(args, e), e) for e in EMOTIONS if getattr(args, e) is not None}


def _describe(folder: Path) -> str:
    from emocam.packs.registry import load_pack

    raw = load_pack(folder).raw
    listed = ", ".join(f"{e} <- {_names(raw['pictures'][e])}" for e in EMOTIONS if e in raw["pictures"])
    unlisted = raw.get("unlisted", {})
    source = "neutral's style" if "neutral" in unlisted.values() else "the mean of the given styles"
    follow = f"; {', '.join(unlisted)} take {source}" if unlisted else ""
    return f"{listed}{follow}"


def _names(entry) -> str:
    if isinstance(entry, str):
        return Path(entry).name
    return " + ".join(f"{Path(p).name}:{w:g}" for p, w in entry.items())


def run(args: argparse.Namespace) -> int:
    from emocam.errors import EmocamError
    from emocam.modelstore.manifest import models_home
    from emocam.packs.authoring import check_name, new_pack, set_pictures
    from emocam.packs.registry import load_pack, pack_folders

    if args.pack_command == "new":
        check_name(args.name)
        if args.out is None:
            if args.name in pack_folders():
                raise EmocamError(f"a pack named {args.name} already exists in {pack_folders()[args.name]}; "
                                  "choose another name, or --out DIR")
            folder = models_home().path / "packs" / args.name
        else:
            folder = args.out
        new_pack(folder, args.name, _choices(args))
        use = args.name if args.out is None else str(folder)
        print(f"wrote pack {args.name} to {folder}: {_describe(folder)}")
        print(f"use it: emocam render --pack {use}   or   emocam live --pack {use}")
        return 0
    folder = load_pack(args.pack).folder
    set_pictures(folder, _choices(args))
    print(f"updated pack {folder}: {_describe(folder)}")
    return 0
