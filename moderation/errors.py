"""Errors the user can fix. The CLI prints each on one line and exits with status 2, or 1 for a ``RunError``.

``ModerationError`` is the base class; the subclasses say what went wrong so that
library users can catch one kind: a bad parameter value (``ParameterError``, which
names the parameter so the CLI can name its flag instead), a missing optional
dependency (``MissingExtra``), a model directory that cannot be trusted
(``ModelFileError`` and its subclasses), a run that failed after it began writing
its output (``RunError``: a full disk, a write error).
"""

from __future__ import annotations

from typing import Callable

__all__ = ["ModerationError", "ParameterError", "MissingExtra", "ModelFileError", "ModelIntegrityError",
           "UntrustedModelError", "RunError", "printable", "literal"]


def printable(text) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x1b``): input quoted in a message
    can neither drive the terminal nor break the message's one line."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


class ModerationError(Exception):
    """A user error: bad input, missing file or column. The CLI prints it on one line and exits 2."""


class ParameterError(ModerationError):
    """A parameter's value is refused (before any work is done).

    ``template`` names the parameters as ``{name}`` fields; ``str(e)`` fills them
    with the parameters' own names (``jobs must be at least 1``), ``render`` with
    any other spelling, such as the CLI's flags (``--jobs must be at least 1``).
    """

    def __init__(self, template: str, *params: str):
        self.template = template
        self.params = params
        super().__init__(self.render(lambda p: p))

    def render(self, name: Callable[[str], str]) -> str:
        return self.template.format(**{p: name(p) for p in self.params})


def literal(text) -> str:
    """``text`` (a path, a value read from the input) made safe to put into a ``ParameterError`` template."""
    return str(text).replace("{", "{{").replace("}", "}}")


class MissingExtra(ModerationError):
    """An optional dependency is not installed; the message names the extra to install."""


class ModelFileError(ModerationError):
    """A model directory, its card or its model file is missing or unreadable."""


class ModelIntegrityError(ModelFileError):
    """A model file's sha256 differs from its card's: tampered with or truncated."""


class UntrustedModelError(ModelFileError):
    """A model file holds types that are not trusted, or is a pickle that was not explicitly trusted."""


class RunError(ModerationError):
    """A run failed after it began writing its output (a full disk, a write error): the CLI exits 1, not 2."""
