"""The `emocam` subcommands other than `live`: render, still, info, models."""
