"""Training recipes: how labelled sources are pooled, weighted and filtered, and how the Pipeline is configured.

A ``Recipe`` holds every choice that turns labelled sources into a model, so a
model card can record it and an ablation can switch one choice at a time.
``SITE_RECIPE`` is for one site's own labelled comments; ``CORPUS_RECIPE`` is the
one the default model is trained with on the public corpora. ``training_pool``
reads the sources (files, tables such as the review queue's decisions, the
corpora, the augmentation) into one frame; ``trainable`` and ``sample_weights``
apply the recipe to it.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .card import Source
from .categories import CATEGORIES
from .errors import ModerationError
from .labels import parse_labels, read_labelled_set

__all__ = ["Recipe", "SITE_RECIPE", "CORPUS_RECIPE", "HATE_ONLY_CORPORA", "training_pool", "trainable", "sample_weights",
           "source_weights", "prevalence_weights", "describe_file"]


@dataclass(frozen=True)
class Recipe:
    """Every choice that turns labelled sources into a model.

    Pipeline: ``C`` and ``class_weight`` of the logistic regression, the n-gram
    ranges, ``min_df``, the hashed feature counts, and whether the normaliser drops
    the marks of where a text was collected (``markers``: mentions, links, retweet
    marks). Data: the public corpora trained on (``corpora``, default all, and
    ``open_licences_only``), which of our augmentation sets are added (``augment``:
    their source names, ``augment.augmentation_names()``), the sources whose "keep" rows using a
    lexicon word are not trained on (``unreliable_negatives``), each source's
    weight multiplier (``source_emphasis``; every class of every source otherwise
    has the same total weight when there are several sources). After fitting:
    whether identity words lose their positive weights (``neutralize_identities``),
    whether longer texts are also read sentence by sentence (``sentences``; the comments
    joined from held-out rows that teach the combination weigh as much as
    ``joined_weight`` sources), and the
    share of abusive comments the scores are calibrated for (``prevalence``: a score
    is the probability of "remove" on a site where that share of comments is abusive).
    For the category classifiers: whether a row whose source does not say if it is
    obscene counts as obscene when it uses an obscenity (``obscene_from_lexicon``).
    """

    name: str = "site"
    C: float = 4.0
    class_weight: str | None = "balanced"
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2
    word_features: int = 2 ** 19
    char_features: int = 2 ** 20
    markers: bool = False
    corpora: tuple[str, ...] | None = None
    open_licences_only: bool = False
    augment: tuple[str, ...] = ()
    unreliable_negatives: tuple[str, ...] = ()
    source_emphasis: dict = field(default_factory=dict)
    neutralize_identities: bool = False
    sentences: bool = False
    joined_weight: float = 1.0
    prevalence: float = 0.1
    obscene_from_lexicon: bool = False

    def pipeline_options(self) -> dict:
        """The keyword arguments of ``build_pipeline``."""
        return {"C": self.C, "class_weight": self.class_weight, "word_ngrams": self.word_ngrams,
                "char_ngrams": self.char_ngrams, "min_df": self.min_df, "word_features": self.word_features,
                "char_features": self.char_features, "markers": self.markers}

    def corpus_names(self) -> list[str]:
        """The public corpora this recipe trains on: ``corpora`` (default all), only the openly licensed ones
        with ``open_licences_only``."""
        from .corpora import CORPORA

        names = list(self.corpora) if self.corpora is not None else list(CORPORA)
        unknown = [n for n in names if n not in CORPORA]
        if unknown:
            raise ModerationError(f"unknown corpus {unknown[0]!r}; known: {', '.join(CORPORA)}")
        return [n for n in names if CORPORA[n].open_licence or not self.open_licences_only]

    def with_options(self, **changes) -> "Recipe":
        """A copy with some choices changed (an ablation, or a user's ``C``)."""
        unknown = set(changes) - set(asdict(self))
        if unknown:
            raise ModerationError(f"unknown recipe setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def describe(self) -> dict:
        """The recipe for the model card: every setting (enough to train it again) and what the weights mean."""
        from .identities import identity_words

        settings = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        out = {"name": self.name, "settings": settings,
               "weights": "each class of each source the same total weight, times the emphasis"}
        if self.neutralize_identities:
            out["identity_words_neutralised"] = len(identity_words())
        return out


SITE_RECIPE = Recipe()
# Every class of the same total weight would make corpora that label only hate teach that insults and
# obscenities are fine: their "keep" rows that use a lexicon word are not trained on.
HATE_ONLY_CORPORA = ("hateval", "stormfront", "toxigen", "conan", "hatemoji_build", "edos")
# The default model's recipe on the public corpora: the plain recipe (TF-IDF word and character n-grams,
# logistic regression with C=0.5, each class of each corpus the same total weight) and each step that raised
# the leave-one-corpus-out mean over the thirteen corpora (benchmarks/ablation.py, README "The recipe, step by
# step"); the obscene labels from the lexicon, which leave the remove score as it was and put the top category
# right on more of our category probes; reading sentences, which costs a little of the mean and keeps more abuse
# inside civil text flagged, with the joined comments that teach it weighing as much as all the corpora.
CORPUS_RECIPE = Recipe(name="corpus", C=0.5, word_ngrams=(1, 3), char_ngrams=(1, 5),
                       unreliable_negatives=HATE_ONLY_CORPORA, sentences=True, joined_weight=13.0,
                       obscene_from_lexicon=True)


def source_weights(sources: Sequence[str], emphasis: dict[str, float] | None = None,
                   labels: Sequence[int] | None = None) -> np.ndarray:
    """Sample weights giving every source the same total weight (mean weight 1).

    Corpora differ in size by an order of magnitude and define "abusive"
    differently; equal weight keeps the biggest from defining the model alone.
    With ``labels``, each class of each source gets the same total weight, since a
    corpus's share of abusive comments is an artefact of how it was collected (the
    toxic-spans comments were selected as likely toxic). ``emphasis`` multiplies the
    total weight of the sources it names.
    """
    s = pd.Series(list(sources))
    if labels is not None:  # balance the classes within each source too
        s = s.astype(str) + "\0" + pd.Series(np.asarray(labels)).astype(str)
    counts = s.map(s.value_counts())
    w = 1.0 / counts.to_numpy(dtype=float)
    s = pd.Series(list(sources))
    if emphasis:
        w = w * s.map(lambda name: emphasis.get(name, 1.0)).to_numpy(dtype=float)
    return w * len(w) / w.sum()


def prevalence_weights(labels, sources, prevalence: float) -> np.ndarray:
    """Weights that make every source count the same and its share of "remove" equal ``prevalence``.

    Held-out rows weighted so stand for a site where that share of comments is
    abusive (averaged over sources, whose own shares are artefacts of how they were
    collected); calibration, the threshold and the card's figures use them.
    """
    y = np.asarray(labels, dtype=int)
    s = pd.Series(list(sources)).astype(str).to_numpy()
    w = np.zeros(len(y), dtype=float)
    for source in np.unique(s):
        for label, share in ((1, prevalence), (0, 1.0 - prevalence)):
            mask = (s == source) & (y == label)
            if mask.any():
                w[mask] = share / mask.sum()
    return w * len(w) / w.sum() if w.sum() else w


def sample_weights(pool: pd.DataFrame, recipe: Recipe) -> np.ndarray | None:
    """The recipe's sample weights for a pool's rows; None (all equal) for a single source."""
    if pool["source"].nunique() <= 1:
        return None
    return source_weights(pool["source"].tolist(), recipe.source_emphasis, pool["label"].tolist())


def trainable(pool: pd.DataFrame, recipe: Recipe) -> pd.DataFrame:
    """The rows of a pool that are trained on, with the category labels the recipe adds.

    All but the negatives of the recipe's ``unreliable_negatives`` sources that use
    a word of the normaliser's lexicon (obscenities, slurs, insults): those are
    "not hate" for their corpus but abusive under a comments policy. Their other
    negatives stay, so the model does not learn that the corpus's style (tweets)
    means abuse.
    """
    from .normalize import LEXICON, OBSCENITIES, as_texts, normalize_many

    if recipe.obscene_from_lexicon and "obscene" in pool.columns:
        obscenity = re.compile(r"\b(?:" + "|".join(map(re.escape, OBSCENITIES)) + r")\b")
        unknown = pool["obscene"].isna()
        pool = pool.copy()
        texts = normalize_many(as_texts(pool.loc[unknown, "text"]))
        pool.loc[unknown, "obscene"] = pd.array([float(bool(obscenity.search(t))) for t in texts], dtype="Float64")
    if not recipe.unreliable_negatives:
        return pool.reset_index(drop=True)
    lexicon = re.compile(r"\b(?:" + "|".join(map(re.escape, LEXICON)) + r")\b")
    suspect = (pool["source"].isin(recipe.unreliable_negatives) & (pool["label"] == 0)).to_numpy(dtype=bool, copy=True)
    rows = np.flatnonzero(suspect)
    texts = normalize_many(as_texts(pool["text"].iloc[rows]))
    suspect[rows] = [bool(lexicon.search(t)) for t in texts]
    return pool[~suspect].reset_index(drop=True)


def describe_file(path: str | Path, labels: np.ndarray) -> Source:
    """A training source for the card: name, rows, positive rate and the file's sha256."""
    from .persist import sha256_file

    p = Path(path)
    return Source(name=p.name, rows=int(len(labels)), positive_rate=round(float(np.mean(labels)), 4),
                  sha256=sha256_file(p) if p.is_file() else None)


def _augmentation(names: Sequence[str]) -> tuple[list[pd.DataFrame], list[Source]]:
    """The augmentation sets named (``moderation.augment``) and their card entries."""
    from .augment import augmentation_sets

    frames, sources = [], []
    for extra in augmentation_sets(names):
        frames.append(extra)
        sources.append(Source(name=extra["source"].iloc[0], rows=int(len(extra)),
                              positive_rate=round(float(extra["label"].mean()), 4),
                              licence="MIT (written for this project)", source_url="moderation/augment.py",
                              open_licence=True))
    return frames, sources


def training_pool(paths: Sequence[str | Path] = (), *, corpus: str | Path | None = None, text_col: str = "text",
                  label_col: str = "label", positive: str | None = None, augment: Sequence[str] = (),
                  tables: Sequence[tuple[str, pd.DataFrame]] = (), corpora: Sequence[str] | None = None,
                  read=None) -> tuple[pd.DataFrame, list[Source]]:
    """All training rows (text, label, source, category columns) and a card entry per source.

    Sources are the labelled table files, ``tables`` (name, frame with ``text`` and
    0/1 ``label``, e.g. the review queue's decisions), the public corpora in
    ``corpus`` (those named in ``corpora``, default all), and the augmentation sets
    named in ``augment``. Columns named like the
    categories are read as category labels (0/1, empty where not annotated).
    ``read`` (``io.ReadOptions``) says how to read the files.
    """
    frames: list[pd.DataFrame] = []
    sources: list[Source] = []
    for path in paths:
        labelled = read_labelled_set(path, text_col, label_col, positive, CATEGORIES, read=read)
        frames.append(_frame(labelled.texts, labelled.labels, str(path), labelled.categories))
        sources.append(describe_file(path, labelled.labels))
    for name, df in tables:
        y = parse_labels(df["label"], where=f"{name}: column 'label'")
        frames.append(_frame(list(df["text"]), y, name, None))
        sources.append(Source(name=name, rows=int(len(y)), positive_rate=round(float(np.mean(y)), 4)))
    if corpus is not None:
        from . import corpora as corpora_module

        names = list(corpora) if corpora is not None else None
        frame = corpora_module.load_corpora(corpus, names)
        frames.append(frame)
        sources += [Source.from_dict(d) for d in corpora_module.describe(corpus, names, frame=frame)]
    if augment:
        extra_frames, extra_sources = _augmentation(augment)
        frames += extra_frames
        sources += extra_sources
    if not frames or sum(len(f) for f in frames) == 0:
        raise ModerationError("no rows to train on")
    pool = pd.concat(frames, ignore_index=True)
    for c in CATEGORIES:
        if c in pool.columns:
            pool[c] = pool[c].astype("Float64")
    return pool, sources


def _frame(texts: list, labels: np.ndarray, source: str, categories: pd.DataFrame | None) -> pd.DataFrame:
    from .normalize import as_texts

    part = pd.DataFrame({"text": as_texts(texts), "label": labels, "source": source})
    if categories is not None:
        for c in categories.columns:
            part[c] = categories[c].to_numpy()
    return part
