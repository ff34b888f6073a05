"""The classifier: one scikit-learn Pipeline plus the threshold and card that travel with it.

``build_pipeline`` makes the Pipeline (normalise → word and character TF-IDF →
logistic regression). ``Model`` wraps a fitted Pipeline with its operating
threshold and model card, and is what users score, flag and explain with.
A model on disk is a directory: ``model.skops``, ``card.json``, ``MODEL_CARD.md``.
The model file is in skops's format, which rebuilds objects from a schema without
running pickled code and refuses types it has not been told to trust.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Iterable, NamedTuple

import joblib
import numpy as np
import pandas as pd
import scipy.sparse as sp
import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from .errors import ModerationError
from .features import HashedTfidf
from .normalize import TextNormalizer, is_dropped, normalize, normalize_with_offsets

__all__ = ["Model", "Span", "build_pipeline", "load_model", "verify_model", "DEFAULT_MODEL", "MAX_TEXT_CHARS"]

MODEL_FILE = "model.skops"
LEGACY_MODEL_FILE = "model.joblib"  # written by moderation 0.1.0; a pickle, loaded only when its sha256 matches
# the project's own classes in a Pipeline; skops trusts scikit-learn's estimators, numpy arrays and builtins itself
TRUSTED_TYPES = ("moderation.features.HashedTfidf", "moderation.normalize.TextNormalizer")
CARD_FILE = "card.json"
CARD_MD_FILE = "MODEL_CARD.md"
DEFAULT_MODEL = "default"
# Longer texts are scored and explained on their first MAX_TEXT_CHARS characters:
# enough for any comment, and it bounds the time and memory one hostile row can take.
MAX_TEXT_CHARS = 100_000
# Texts scored at a time within one score_table call: scoring 10,000 news comments
# (about 200 characters each) peaks at about 135 MB of Python allocations.
SCORE_BLOCK = 10_000


class Span(NamedTuple):
    """Characters ``text[start:end]`` of the original text that pushed the score up by ``weight``."""

    start: int
    end: int
    fragment: str
    weight: float


def build_pipeline(*, C: float = 4.0, word_ngrams=(1, 2), char_ngrams=(2, 5), min_df: int = 2,
                   word_features: int = 2 ** 19, char_features: int = 2 ** 20,
                   class_weight: str | None = "balanced") -> Pipeline:
    """An unfitted Pipeline: ``normalize`` → ``features`` (``words`` + ``chars``) → ``classifier``.

    The features are TF-IDF over hashed word n-grams and character n-grams within
    words (``HashedTfidf``): vectorised, so scoring is fast, and stateless apart from
    the idf weights, so the model file stays small.
    """
    words = HashedTfidf(analyzer="word", ngram_range=word_ngrams, n_features=word_features, min_df=min_df)
    chars = HashedTfidf(analyzer="char_wb", ngram_range=char_ngrams, n_features=char_features, min_df=min_df)
    return Pipeline([
        ("normalize", TextNormalizer()),
        ("features", FeatureUnion([("words", words), ("chars", chars)])),
        # liblinear shuffles the data: a fixed random_state makes training reproducible
        ("classifier", LogisticRegression(C=C, class_weight=class_weight, max_iter=2000,
                                          solver="liblinear", random_state=0)),
    ])


def as_texts(texts: Iterable) -> list[str]:
    """Texts as a list of str; a single str is one text, missing values (None, NaN) are empty."""
    if isinstance(texts, str):
        return [texts]
    out = []
    for t in texts:
        if isinstance(t, str):
            out.append(t)
        elif t is None or (isinstance(t, float) and t != t):
            out.append("")
        else:
            try:
                missing = bool(t != t)
            except (TypeError, ValueError):
                missing = False
            out.append("" if missing else str(t))
    return out


@dataclass
class Model:
    """A fitted Pipeline with its operating threshold and model card.

    ``score`` gives P(remove) per text, ``flag`` compares it with the threshold,
    ``explain`` returns the character spans of one text that pushed its score up.
    """

    pipeline: Pipeline
    threshold: float = 0.5
    card: dict = field(default_factory=dict)
    categories: dict = field(default_factory=dict)

    # -- scoring -----------------------------------------------------------
    def _features(self, normalized: list[str], occurrences: bool = False, word_occurrences: bool = False):
        """Per feature block (words, chars): its matrix, and its n-gram occurrences if asked for
        (``word_occurrences``: for the word block only, which is all the reasons need)."""
        union = self.pipeline.named_steps["features"]
        return [t.transform_with_occurrences(normalized) if occurrences or (word_occurrences and name == "words")
                else (t.transform(normalized), None) for name, t in union.transformer_list]

    def features_matrix(self, texts: Iterable) -> sp.csr_matrix:
        """The feature matrix the classifier sees for ``texts`` (normalised, word + char TF-IDF)."""
        return sp.hstack([X for X, _ in self._features([normalize(t) for t in as_texts(texts)])], format="csr")

    @cached_property
    def _stacked(self) -> tuple[np.ndarray, np.ndarray]:
        """The coefficients (one column per classifier: main, then categories) and intercepts.

        Computed on first use; a model whose classifiers are changed afterwards needs a new ``Model``.
        """
        classifiers = [self.pipeline.named_steps["classifier"], *self.categories.values()]
        coef = np.column_stack([np.ravel(c.coef_) for c in classifiers])
        intercept = np.array([float(np.ravel(c.intercept_)[0]) for c in classifiers])
        return coef, intercept

    def _probabilities(self, X) -> np.ndarray:
        """P(positive) of the main classifier (column 0) and of each category classifier, in order."""
        coef, intercept = self._stacked
        logits = np.asarray(X @ coef) + intercept
        return 1.0 / (1.0 + np.exp(-logits))

    def score(self, texts: Iterable, categories: bool = False):
        """P(remove) for each text, as a float array; empty or missing text scores 0.

        With ``categories=True``: a DataFrame with ``score`` and one column per category.
        """
        table = self.score_table(texts, categories=categories, reasons=0)
        if categories:
            return table.drop(columns="reasons")
        return table["score"].to_numpy()

    def score_with_reasons(self, texts: Iterable, k: int = 3) -> tuple[np.ndarray, list[str]]:
        """Scores and, per text, the up to ``k`` words or phrases that pushed its score up most."""
        table = self.score_table(texts, reasons=k)
        return table["score"].to_numpy(), table["reasons"].tolist()

    def score_table(self, texts: Iterable, categories: bool = False, reasons: int = 3) -> pd.DataFrame:
        """``score``, the category scores (with ``categories``) and ``reasons`` per text.

        ``reasons`` holds up to ``reasons`` words or phrases that pushed the score up
        most, led by the top category (``insult: idiot; moron``) when the model has
        categories. Empty or missing text scores 0 with no reasons.
        """
        texts = [t[:MAX_TEXT_CHARS] for t in as_texts(texts)]
        if categories and not self.categories:
            raise ModerationError("this model has no categories (train it on data with category labels)")
        if len(texts) > SCORE_BLOCK:  # bound the memory the feature matrices take
            return pd.concat([self._score_block(texts[i:i + SCORE_BLOCK], categories, reasons)
                              for i in range(0, len(texts), SCORE_BLOCK)], ignore_index=True)
        return self._score_block(texts, categories, reasons)

    def _score_block(self, texts: list[str], categories: bool, reasons: int) -> pd.DataFrame:
        normalized = [normalize(t) for t in texts]
        present = np.array([bool(n) for n in normalized], dtype=bool)
        table = pd.DataFrame({"score": np.zeros(len(texts), dtype=np.float64)})
        cat_scores = {name: np.zeros(len(texts), dtype=np.float64) for name in self.categories}
        reason_strings = np.full(len(texts), "", dtype=object)
        if present.any():
            kept = [n for n, p in zip(normalized, present) if p]
            blocks = self._features(kept, word_occurrences=bool(reasons))
            X = sp.hstack([b for b, _ in blocks], format="csr")
            # one sparse product for the main classifier and every category
            probabilities = self._probabilities(X)
            table.loc[present, "score"] = probabilities[:, 0]
            for i, name in enumerate(self.categories, start=1):
                cat_scores[name][present] = probabilities[:, i]
            if reasons:
                top = self._top_terms(kept, *blocks[0], reasons)
                if self.categories:
                    names = list(self.categories)
                    stacked = np.column_stack([cat_scores[n][present] for n in names])
                    leaders = [names[i] for i in stacked.argmax(axis=1)]
                    top = [f"{c}: {r}" if r else "" for c, r in zip(leaders, top)]
                reason_strings[present] = top
        if categories:
            for name in self.categories:
                table[name] = cat_scores[name]
        table["reasons"] = reason_strings
        return table

    def _top_terms(self, normalized: list[str], Xw: sp.csr_matrix, occ, k: int) -> list[str]:
        """Per text, the ``k`` word n-grams with the largest positive contribution (coefficient × TF-IDF)."""
        coef = np.ravel(self.pipeline.named_steps["classifier"].coef_)[:Xw.shape[1]]
        contrib = Xw.data * coef[Xw.indices]
        rows = np.repeat(np.arange(Xw.shape[0]), np.diff(Xw.indptr))
        positive = contrib > 0
        rows, cols, contrib = rows[positive], Xw.indices[positive], contrib[positive]
        order = np.lexsort((-contrib, rows))
        rows, cols = rows[order], cols[order]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)  # position within its row
        rows, cols = rows[rank < k], cols[rank < k]
        if not len(rows):
            return ["" for _ in normalized]
        # the first occurrence of each chosen (text, column) gives the phrase to show; only the
        # occurrences of chosen pairs are sorted, not all of them
        chosen = rows.astype(np.int64) * Xw.shape[1] + cols
        wanted = np.unique(chosen)
        keys = occ.doc.astype(np.int64) * Xw.shape[1] + occ.col
        hits = np.flatnonzero(wanted[np.minimum(np.searchsorted(wanted, keys), len(wanted) - 1)] == keys)
        unique, first = np.unique(keys[hits], return_index=True)
        at = hits[first[np.searchsorted(unique, chosen)]]
        out: list[list[str]] = [[] for _ in normalized]
        for row, s, e in zip(rows.tolist(), occ.start[at].tolist(), occ.end[at].tolist()):
            out[row].append(normalized[row][s:e])
        return ["; ".join(terms) for terms in out]

    def flag(self, texts: Iterable, threshold: float | None = None) -> np.ndarray:
        """Boolean array: score ≥ threshold (the model's own unless given)."""
        t = self.threshold if threshold is None else threshold
        return self.score(texts) >= t

    # -- explanation -------------------------------------------------------
    def explain(self, text: str, min_weight: float = 0.7) -> list[Span]:
        """Spans of ``text`` (character offsets into the original) that pushed the score up.

        Each word and character n-gram's contribution (coefficient × TF-IDF value)
        is spread over the characters it covers; words of the normalised text whose
        summed contribution is at least ``min_weight`` times the strongest word's,
        and positive, are highlighted, adjacent ones merged. Offsets are mapped back
        through the normalisation, so an obfuscated ``f.u.c.k`` is highlighted whole.
        """
        if not isinstance(text, str) or not text.strip():
            return []
        normalized, offsets = normalize_with_offsets(text[:MAX_TEXT_CHARS])
        if not normalized:
            return []
        char_weight = self._char_contributions(normalized)
        words = [(m.start(), m.end()) for m in re.finditer(r"\S+", normalized)]
        weights = [float(char_weight[s:e].sum()) for s, e in words]
        if not weights or max(weights) <= 0:
            return []
        cutoff = max(weights) * min_weight
        spans: list[list] = []
        for (s, e), w in zip(words, weights):
            if w <= 0 or w < cutoff:
                continue
            # trim punctuation around the word so "idiot!" highlights "idiot"
            while s < e and not normalized[s].isalnum() and normalized[s] not in "@$*#":
                s += 1
            while e > s and not normalized[e - 1].isalnum() and normalized[e - 1] not in "*#":
                e -= 1
            if s == e:
                continue
            start, end = offsets[s], _original_end(text, offsets[e - 1])
            # merge with the previous span when they touch, overlap (one original character
            # can expand to several words) or only white space lies between them
            if spans and (start <= spans[-1][1] or _only_space_between(text, spans[-1][1], start)):
                spans[-1][1] = max(spans[-1][1], end)
                spans[-1][2] += w
            else:
                spans.append([start, end, w])
        return [Span(s, e, text[s:e], round(w, 4)) for s, e, w in spans]

    def _char_contributions(self, normalized: str) -> np.ndarray:
        """Per character of the normalised text, the summed contribution of the n-grams covering it.

        An n-gram's contribution (coefficient × its TF-IDF value) is shared by its
        occurrences and spread evenly over the characters each covers.
        """
        coef = np.ravel(self.pipeline.named_steps["classifier"].coef_)
        weight = np.zeros(len(normalized) + 1, dtype=np.float64)
        offset = 0
        for X, occ in self._features([normalized], occurrences=True):
            x = X.toarray().ravel()
            counts = np.bincount(occ.col, minlength=X.shape[1])
            share = coef[offset + occ.col] * x[occ.col] / np.maximum(counts[occ.col], 1)
            length = occ.end - occ.start
            keep = length > 0
            per_char = share[keep] / length[keep]
            # add per_char over [start, end) with a difference array
            np.add.at(weight, occ.start[keep], per_char)
            np.add.at(weight, occ.end[keep], -per_char)
            offset += X.shape[1]
        return np.cumsum(weight)[:-1]

    # -- persistence -------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``model.skops``, ``card.json`` (with the model file's sha256) and ``MODEL_CARD.md``.

        The same model gives the same bytes: skops's object ids and the zip's dates are
        replaced by fixed ones (``_canonical_skops``).
        """
        import skops.io as sio

        from .card import render_model_card

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        model_path = path / MODEL_FILE
        tmp = model_path.with_suffix(".skops.tmp")
        data = sio.dumps({"pipeline": self.pipeline, "threshold": float(self.threshold), "categories": self.categories})
        tmp.write_bytes(_canonical_skops(data))
        tmp.replace(model_path)
        (path / LEGACY_MODEL_FILE).unlink(missing_ok=True)
        card = dict(self.card)
        card["threshold"] = float(self.threshold)
        card["file"] = {"name": MODEL_FILE, "sha256": sha256_file(model_path),
                        "bytes": model_path.stat().st_size}
        card["versions"] = versions()  # what wrote this file
        self.card = card
        (path / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
        (path / CARD_MD_FILE).write_text(render_model_card(card))
        return path


def _canonical_skops(data: bytes) -> bytes:
    """A skops file with its object ids numbered in order of appearance and fixed zip dates.

    skops names its array files and marks shared objects by ``id()``, which changes
    from run to run; numbering them consistently keeps every reference and makes the
    file reproducible. A layout other than ``<id>.<ext>`` files is kept as written.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    members = [i.filename for i in src.infolist() if i.filename != "schema.json"]
    if not all(re.fullmatch(r"\d+\.\w+", name) for name in members):
        return data
    schema = src.read("schema.json").decode("utf-8")
    names = "|".join(re.escape(name) for name in members) or "(?!)"
    order: dict[str, str] = {}
    for m in re.finditer(rf'"__id__": (\d+)|"({names})"', schema):
        # from 1: skops takes an __id__ of 0 for "no id" and would not share that object
        order.setdefault(m.group(1) or m.group(2).split(".")[0], str(len(order) + 1))

    def renamed(name: str) -> str:
        stem, ext = name.split(".", 1)
        return f"{order.get(stem, stem)}.{ext}"

    schema = re.sub(r'("__id__": )(\d+)', lambda m: m.group(1) + order[m.group(2)], schema)
    schema = re.sub(rf'"({names})"', lambda m: f'"{renamed(m.group(1))}"', schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            name, body = info.filename, src.read(info.filename)
            if name == "schema.json":
                body = schema.encode("utf-8")
            else:
                name = renamed(name)
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return out.getvalue()


def _original_end(text: str, last: int) -> int:
    """End offset just past original character ``last`` and the marks or invisibles the normaliser dropped after it."""
    end = last + 1
    while end < len(text) and is_dropped(text[end]):
        end += 1
    return end


def _only_space_between(text: str, end: int, start: int) -> bool:
    return start >= end and not text[end:start].strip()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions() -> dict:
    from importlib.metadata import version

    from . import __version__

    return {"python": sys.version.split()[0], "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "skops": version("skops"), "moderation": __version__}


def default_model_path() -> Path:
    """The directory of the shipped default model: package data when installed, else ``models/`` of the checkout."""
    try:
        return Path(str(resources.files("moderation.shipped") / DEFAULT_MODEL))
    except ModuleNotFoundError:  # running from a source checkout that is not installed
        return Path(__file__).resolve().parent.parent / "models" / DEFAULT_MODEL


def _model_file(directory: Path, card: dict, card_path: Path) -> Path:
    """The model file the card names: ``model.skops``, or a legacy ``model.joblib``."""
    try:
        name = card["file"]["name"]
        card["file"]["sha256"]
    except (KeyError, TypeError) as e:
        raise ModerationError(f"unreadable model card {card_path}: missing {e}") from None
    if name not in (MODEL_FILE, LEGACY_MODEL_FILE):
        raise ModerationError(f"unreadable model card {card_path}: unknown model file {name!r}")
    return directory / name


def _read_verified(path: str | Path | None) -> tuple[Path, dict, Path, bytes]:
    """The directory, card, model file and its bytes, after checking the bytes' sha256 against the card."""
    directory = default_model_path() if path is None else Path(path)
    card_path = directory / CARD_FILE
    if not directory.is_dir():
        raise ModerationError(f"model directory not found: {directory}")
    if not card_path.is_file():
        raise ModerationError(f"not a model directory (needs {MODEL_FILE} and {CARD_FILE}): {directory}")
    try:
        card = json.loads(card_path.read_text())
    except ValueError as e:
        raise ModerationError(f"unreadable model card {card_path}: {e}") from None
    if not isinstance(card, dict):
        raise ModerationError(f"unreadable model card {card_path}: not a JSON object")
    model_path = _model_file(directory, card, card_path)
    if not model_path.is_file():
        raise ModerationError(f"not a model directory (needs {model_path.name} and {CARD_FILE}): {directory}")
    data = model_path.read_bytes()
    actual, expected = hashlib.sha256(data).hexdigest(), card["file"]["sha256"]
    if actual != expected:
        raise ModerationError(f"{model_path} does not match its model card (sha256 {actual[:12]}…, "
                              f"card says {str(expected)[:12]}…): refusing to load a tampered or truncated model")
    return directory, card, model_path, data


def verify_model(path: str | Path | None = None) -> dict:
    """Check a model directory without loading the model; its card if the model file matches it.

    Raises ModerationError when the directory, the card or the model file is
    missing or unreadable, or when the model file's sha256 differs from the
    card's (a tampered or truncated file).
    """
    return _read_verified(path)[1]


def load_model(path: str | Path | None = None) -> Model:
    """Load a model directory (the shipped default model when ``path`` is None).

    The model file's sha256 must match the card's, and a skops file may hold only
    the types skops trusts by default (scikit-learn's estimators, numpy arrays,
    builtins) and ``TRUSTED_TYPES``: anything else is refused before an object is
    built. A legacy ``model.joblib`` (a pickle, which
    runs code when loaded) is loaded only when its sha256 matches, with a warning.
    """
    directory, card, model_path, data = _read_verified(path)
    written_with = card.get("versions", {}).get("scikit-learn")
    if written_with and written_with != sklearn.__version__:
        warnings.warn(f"model {directory} was written with scikit-learn {written_with}, "
                      f"this is scikit-learn {sklearn.__version__}: scores may differ",
                      UserWarning, stacklevel=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="sklearn")
        if model_path.name == LEGACY_MODEL_FILE:
            warnings.warn(f"{model_path} is a pickle (moderation 0.1.0): load it only from a source you trust, and "
                          "save it again to write the safe skops format", UserWarning, stacklevel=2)
            payload = joblib.load(io.BytesIO(data))
        else:
            payload = _load_skops(model_path, data)
    return Model(pipeline=payload["pipeline"], threshold=float(payload["threshold"]), card=card,
                 categories=payload.get("categories", {}))


def _load_skops(model_path: Path, data: bytes) -> dict:
    import skops.io as sio
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # skops checks every type against the allow-list before it builds any object
        return sio.loads(data, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException:
        untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
        raise ModerationError(f"{model_path} holds types this version of moderation does not trust: "
                              f"{', '.join(untrusted)}; refusing to load it") from None
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as e:
        raise ModerationError(f"{model_path} is not a readable skops model file: {e}") from None
