"""moderation: flag slurs, insults, obscenity and threats in news-site comments.

    import moderation
    m = moderation.load_model()          # the shipped default model
    m.score(["you are an idiot"])        # P(remove) per text

The names below are imported on first use, so ``import moderation`` (and the
command line's ``--help``) does not load scikit-learn, pandas or skops.
"""

from __future__ import annotations

import importlib

from .errors import ModerationError

__version__ = "0.2.0"

_LAZY = {"Model": "model", "Span": "model", "build_pipeline": "model", "load_model": "persist",
         "train": "training", "Recipe": "recipe", "ModelCard": "card"}

__all__ = ["Model", "ModelCard", "ModerationError", "Recipe", "Span", "build_pipeline", "load_model", "train",
           "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
