"""Errors the user can fix: the CLI prints them on one line and exits with status 2."""


class ModerationError(Exception):
    """A user error: bad input, missing file or column. The CLI prints it on one line and exits 2."""
