from emocam.cli import entry

raise SystemExit(entry())
