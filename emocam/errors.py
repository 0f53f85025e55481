"""The one error type users see: printed as a single line, exit status 2."""


class EmocamError(Exception):
    """A problem with the user's input or environment, explained in one line."""
