"""moderation: flag slurs, insults, obscenity and threats in news-site comments.

    import moderation
    m = moderation.load_model()          # the shipped default model
    m.score(["you are an idiot"])        # P(remove) per text
"""

from .errors import ModerationError
from .model import Model, Span, build_pipeline, load_model
from .training import train

__version__ = "0.1.0"

__all__ = ["Model", "ModerationError", "Span", "build_pipeline", "load_model", "train", "__version__"]
