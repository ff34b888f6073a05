"""The project's two scikit-learn estimators: ``TextNormalizer`` and ``HashedTfidf``.

Their work is done by ``normalize.TextNormalizerCore`` and ``features.HashedTfidfCore``,
which do not import scikit-learn, so that a loaded model scores without it (importing
it takes about a second of every run). These subclasses add scikit-learn's estimator
protocol (parameters, cloning, tags) for building and training a Pipeline. They keep
the names that model files and pickles record, ``moderation.normalize.TextNormalizer``
and ``moderation.features.HashedTfidf``: those modules hand them out on first use.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin

from .features import HashedTfidfCore
from .normalize import TextNormalizerCore

__all__ = ["HashedTfidf", "TextNormalizer"]


def _text_input(tags):
    """scikit-learn's tags of an estimator that takes a list of strings (not a 2-D array)."""
    tags.input_tags.string = True
    tags.input_tags.two_d_array = False
    return tags


class TextNormalizer(TextNormalizerCore, TransformerMixin, BaseEstimator):
    __doc__ = TextNormalizerCore.__doc__
    __module__ = "moderation.normalize"  # the name model files record

    def __sklearn_tags__(self):
        tags = _text_input(super().__sklearn_tags__())
        tags.requires_fit = False
        return tags


class HashedTfidf(HashedTfidfCore, TransformerMixin, BaseEstimator):
    __doc__ = HashedTfidfCore.__doc__
    __module__ = "moderation.features"  # the name model files record

    def __sklearn_tags__(self):
        return _text_input(super().__sklearn_tags__())
