"""Optional dependencies, imported when first needed, with one error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingExtra

__all__ = ["require"]


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise ``MissingExtra`` saying that ``purpose`` needs ``pip install ".[extra]"``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(f'{purpose} needs extra packages: pip install ".[{extra}]"') from None
