"""Training: fit the Pipeline, hold out data to measure it, pick the operating threshold, fill the card."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from .errors import ModerationError
from .evaluate import calibration_curve_table, choose_threshold, metrics, read_labelled_set, threshold_table
from .io import read_table, require_columns
from .model import Model, as_texts, build_pipeline, sha256_file, versions

__all__ = ["train", "parse_labels", "read_labelled", "source_weights", "MIN_PER_CLASS"]

MIN_PER_CLASS = 5
# How the default model is trained from the public corpora, chosen by leave-one-corpus-out
# validation and the identity probes:
# - stronger regularisation than for one site's own data generalises better across
#   sources that define "abusive" differently;
# - HatEval's negatives are "not hate against immigrants or women", many of them
#   obscene insults that our policy removes: those using a word of the normaliser's
#   lexicon are not trained on as "keep";
# - the identity-balanced augmentation counts three times a corpus, to unlearn the
#   corpora's association of identity words with abuse.
# - identity words themselves are not evidence of abuse: their positive weights are
#   removed after fitting (``neutralize_identity_terms``).
CORPUS_PIPELINE = {"C": 0.5, "neutral_terms": "identity"}
UNRELIABLE_NEGATIVES = ("hateval",)
SOURCE_EMPHASIS = {"identity_augmentation": 3.0}
_TRUE = {"1", "1.0", "true", "t", "yes", "y"}
_FALSE = {"0", "0.0", "false", "f", "no", "n"}


def parse_labels(values, positive: str | None = None, where: str = "labels") -> np.ndarray:
    """Labels as 0/1 ints: 0/1, true/false, yes/no, or ``positive`` naming the "remove" value.

    Anything else is refused with the offending values and the (1-based) row numbers
    where they first occur.
    """
    raw = pd.Series(list(values), dtype=object)
    text = raw.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v).strip())
    if positive is not None:
        return (text == str(positive).strip()).to_numpy(dtype=int)
    lowered = text.str.lower()
    bad = ~lowered.isin(_TRUE | _FALSE)
    if bad.any():
        offending = {}
        for row, value in zip(np.flatnonzero(bad.to_numpy()), text[bad]):
            offending.setdefault(value, []).append(row + 1)
        shown = "; ".join(f"{v!r} (rows {', '.join(map(str, rows[:3]))}{', …' if len(rows) > 3 else ''})"
                          for v, rows in list(offending.items())[:5])
        more = f" and {len(offending) - 5} more values" if len(offending) > 5 else ""
        raise ModerationError(f"{where} are not binary: {shown}{more}; use 0/1, true/false, "
                              f"or --positive VALUE to name the 'remove' label")
    return lowered.isin(_TRUE).to_numpy(dtype=int)


def _check_classes(y: np.ndarray, where: str) -> None:
    counts = np.bincount(y, minlength=2)
    if counts.min() == 0:
        only = "remove (1)" if counts[1] else "keep (0)"
        raise ModerationError(f"{where} has a single class: every row is {only}; training needs both")
    if counts.min() < MIN_PER_CLASS:
        raise ModerationError(f"{where} has too few rows of one class ({counts[0]} keep, {counts[1]} remove); "
                              f"training needs at least {MIN_PER_CLASS} of each")


def read_labelled(path: str | Path, text_col: str = "text", label_col: str = "label",
                  positive: str | None = None) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 labels from a labelled table file (``evaluate.read_labelled_set`` without categories)."""
    labelled = read_labelled_set(path, text_col, label_col, positive)
    return labelled.texts, labelled.labels


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


def train(texts, labels, *, sample_weight=None, eval_texts=None, eval_labels=None,
          target_precision: float | None = 0.9, target_recall: float | None = None,
          test_size: float = 0.2, random_state: int = 0, refit: bool = True,
          sources: list[dict] | None = None, name: str | None = None, categories: pd.DataFrame | None = None,
          **pipeline_options) -> Model:
    """Train a Model on ``texts`` and 0/1 ``labels``.

    Metrics and the threshold come from ``eval_texts``/``eval_labels`` when given,
    else from a stratified ``test_size`` split held out from training; with
    ``refit`` (the default) the model is then refit on all rows with that
    threshold. The threshold meets ``target_precision`` (default 0.90) or, if
    given, ``target_recall``. ``categories``, a frame with one 0/1/NA column per
    category (``insult``, ``identity_attack``, ...), adds a classifier per category on
    the same features, trained on the rows where that category is known.
    ``pipeline_options`` go to ``build_pipeline``.
    """
    texts = as_texts(texts)
    y = parse_labels(labels) if not np.issubdtype(np.asarray(labels).dtype, np.integer) else np.asarray(labels, dtype=int)
    if len(texts) != len(y):
        raise ModerationError(f"{len(texts)} texts but {len(y)} labels")
    if set(np.unique(y)) - {0, 1}:
        raise ModerationError(f"labels must be 0 or 1, got {sorted(set(np.unique(y)) - {0, 1})[:5]}")
    _check_classes(y, "the training data")
    if target_recall is not None:
        target_precision = None
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    idx = np.arange(len(texts))
    if eval_texts is not None:
        ev_texts = as_texts(eval_texts)
        ev_y = np.asarray(eval_labels, dtype=int)
        _check_classes(ev_y, "the evaluation data")
        fit_idx, method = idx, "evaluation file"
    else:
        fit_idx, held_idx = train_test_split(idx, test_size=test_size, stratify=y, random_state=random_state)
        ev_texts = [texts[i] for i in held_idx]
        ev_y = y[held_idx]
        method = f"stratified {test_size:.0%} hold-out"

    cats = None if categories is None else categories.reset_index(drop=True)
    model = _fit(texts, y, weights, cats, fit_idx, pipeline_options)
    ev_scores = model.score(ev_texts)
    threshold, met = choose_threshold(ev_y, ev_scores, target_precision=target_precision,
                                      target_recall=target_recall)
    held_out = metrics(ev_y, ev_scores, threshold)
    table = threshold_table(ev_y, ev_scores)
    category_auc = {}
    if cats is not None and eval_texts is None:
        held_cats = model.score([texts[i] for i in held_idx], categories=True) if model.categories else None
        for category in model.categories:
            known = cats[category].iloc[held_idx].notna().to_numpy()
            truth = cats[category].iloc[held_idx].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if len(set(truth.tolist())) == 2:
                category_auc[category] = round(float(roc_auc_score(truth, held_cats[category].to_numpy()[known])),
                                               4)
    if refit and eval_texts is None:
        model = _fit(texts, y, weights, cats, idx, pipeline_options)
        method += ", then refit on all rows"
    pipeline = model.pipeline

    card = {
        "name": name or "moderation model",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "training_data": {
            "rows": len(texts),
            "positive_rate": round(float(y.mean()), 4),
            "sources": sources or [],
        },
        "threshold_rule": {"target_precision": target_precision, "target_recall": target_recall, "met": met},
        "evaluation": {"method": method, "held_out": _rounded(held_out),
                       "threshold_table": threshold_table_records(table),
                       "reliability": threshold_table_records(calibration_curve_table(ev_y, ev_scores))},
        "categories": {"names": list(model.categories), "held_out_roc_auc": category_auc},
        "pipeline": {**describe_pipeline(pipeline), "options": dict(pipeline_options)},
        "versions": versions(),
    }
    return Model(pipeline=pipeline, threshold=threshold, card=card, categories=model.categories)


def identity_words() -> list[str]:
    """Identity words (and their plurals) whose mere mention must not count as abuse."""
    from .augment import IDENTITY_TERMS

    words = {w.lower() for term in IDENTITY_TERMS for w in term.replace("-", " ").split()} - {"ill"}
    words |= {"jew", "jews", "gays", "lesbians", "muslims", "christians", "immigrants", "refugees", "migrants",
              "blacks", "whites", "asians", "arabs", "hindus", "sikhs", "atheists", "women", "woman", "men", "man",
              "girls", "boys", "russians", "ukrainians", "mexicans", "americans", "africans", "kazakhs"}
    return sorted(words)


_IDENTITY_NEIGHBOURS_AFTER = ("people", "person", "man", "men", "woman", "women", "community", "family",
                              "families", "friends", "friend", "neighbours", "neighbour", "couple", "kids",
                              "children", "and", "or", "rights", "culture", "voters", "citizens")
_IDENTITY_NEIGHBOURS_BEFORE = ("am", "are", "is", "as", "being", "my", "our", "the", "many", "most", "all",
                               "some", "fellow", "other", "im", "i'm", "be", "of", "for", "and")


def neutralize_identity_terms(model: Model, words: Sequence[str]) -> int:
    """Remove the positive weight of identity words from the main classifier; how many weights changed.

    The word itself (a word unigram), the word next to the words it most often
    stands with ("gay people", "are muslims") and the character n-grams of three
    or more characters inside it ("gay", " gay", "musl", ...) keep a negative
    weight if they had one but lose a positive one, so "I am a gay man" is scored
    as "I am a man" would be, while what is said about a group still counts.
    """
    union = model.pipeline.named_steps["features"]
    clf = model.pipeline.named_steps["classifier"]
    phrases = list(words) + [f"{w} {n}" for w in words for n in _IDENTITY_NEIGHBOURS_AFTER]
    phrases += [f"{n} {w}" for w in words for n in _IDENTITY_NEIGHBOURS_BEFORE]
    columns = []
    offset = 0
    for name, vectorizer in union.transformer_list:
        if name == "chars":
            occ = vectorizer.occurrences(list(words))
            keep = occ.end - occ.start >= 3
        else:
            occ = vectorizer.occurrences(phrases)
            keep = np.ones(len(occ.col), dtype=bool)
        columns.append(offset + occ.col[keep])
        offset += vectorizer.n_features
    columns = np.unique(np.concatenate(columns))
    coef = clf.coef_
    changed = int((coef[0, columns] > 0).sum())
    coef[0, columns] = np.minimum(coef[0, columns], 0.0)
    return changed


def _fit(texts: list[str], y: np.ndarray, weights, cats: pd.DataFrame | None, rows: np.ndarray,
         pipeline_options: dict) -> Model:
    """Fit the Pipeline (and a classifier per known category) on ``rows``."""
    options = dict(pipeline_options)
    neutral = options.pop("neutral_terms", None)
    pipeline = build_pipeline(**options)
    subset = [texts[i] for i in rows]
    w = None if weights is None else weights[rows]
    pipeline.fit(subset, y[rows], **({} if w is None else {"classifier__sample_weight": w}))
    model = Model(pipeline=pipeline)
    if neutral == "identity":
        neutralize_identity_terms(model, identity_words())
    if cats is None:
        return model
    X = model.features_matrix(subset)
    main = pipeline.named_steps["classifier"]
    for name in cats.columns:
        known = cats[name].iloc[rows].notna().to_numpy()
        truth = cats[name].iloc[rows].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
        counts = np.bincount(truth, minlength=2)
        if counts.min() < MIN_PER_CLASS:
            continue
        clf = clone(main)
        clf.fit(X[known], truth, sample_weight=None if w is None else w[known])
        model.categories[name] = clf
    return model


def _rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def threshold_table_records(table: pd.DataFrame) -> list[dict]:
    return [_rounded(r) for r in table.to_dict(orient="records")]


def describe_pipeline(pipeline) -> dict:
    """The settings that define the Pipeline, for the model card."""
    union = pipeline.named_steps["features"]
    clf = pipeline.named_steps["classifier"]
    out = {}
    for name, vec in union.transformer_list:
        out[name] = {"analyzer": vec.analyzer, "ngram_range": list(vec.ngram_range), "min_df": vec.min_df,
                     "hashed_features": vec.n_features}
    out["classifier"] = {"type": type(clf).__name__, "C": clf.C, "class_weight": clf.class_weight}
    return out


def describe_file(path: str | Path, labels: np.ndarray) -> dict:
    """A training source for the card: name, rows, positive rate and the file's sha256."""
    p = Path(path)
    return {"name": p.name, "rows": int(len(labels)), "positive_rate": round(float(np.mean(labels)), 4),
            "sha256": sha256_file(p) if p.is_file() else None}


def corpus_training_set(root: str | Path, names: Sequence[str] | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """The pooled public corpora under ``root`` and a card entry for each."""
    from . import corpora

    frame = corpora.load_corpora(root, names)
    return frame, corpora.describe(root, names, frame=frame)


def training_pool(paths: Sequence[str | Path] = (), *, corpus: str | Path | None = None, text_col: str = "text",
                  label_col: str = "label", positive: str | None = None, augment: bool | None = None,
                  tables: Sequence[tuple[str, pd.DataFrame]] = ()) -> tuple[pd.DataFrame, list[dict]]:
    """All training rows (text, label, source, category columns) and a card entry per source.

    Sources are the labelled table files, ``tables`` (name, frame with ``text`` and
    0/1 ``label``, e.g. the review queue's decisions), the public corpora in
    ``corpus``, and (``augment``, default on with ``corpus``) the identity-balanced
    augmentation set. Columns named like the categories are used as category labels.
    """
    from .corpora import CATEGORIES

    frames: list[pd.DataFrame] = []
    sources: list[dict] = []
    named = [(str(path), read_table(path), text_col, label_col, positive) for path in paths]
    named += [(name, df, "text", "label", None) for name, df in tables]
    for i, (name, df, tcol, lcol, pos) in enumerate(named):
        require_columns(df, [tcol, lcol], name)
        y = parse_labels(df[lcol], pos, where=f"{name}: column {lcol!r}")
        part = pd.DataFrame({"text": as_texts(df[tcol]), "label": y, "source": name})
        for c in CATEGORIES:
            if c in df.columns:
                part[c] = pd.to_numeric(df[c], errors="coerce").astype("Float64").to_numpy()
        frames.append(part)
        sources.append(describe_file(name, y) if i < len(paths) else
                       {"name": name, "rows": int(len(y)), "positive_rate": round(float(np.mean(y)), 4)})
    if corpus is not None:
        frame, described = corpus_training_set(corpus)
        frames.append(frame)
        sources += described
    if augment if augment is not None else corpus is not None:
        from .augment import AUGMENTATIONS

        for extra in (make() for make in AUGMENTATIONS):
            frames.append(extra)
            sources.append({"name": extra["source"].iloc[0], "rows": int(len(extra)),
                            "positive_rate": round(float(extra["label"].mean()), 4),
                            "licence": "MIT (written for this project)",
                            "source_url": "moderation/augment.py", "sha256": None})
    if not frames or sum(len(f) for f in frames) == 0:
        raise ModerationError("no rows to train on")
    pool = pd.concat(frames, ignore_index=True)
    for c in CATEGORIES:
        if c in pool.columns:
            pool[c] = pool[c].astype("Float64")
    return pool, sources


def trainable(pool: pd.DataFrame) -> pd.DataFrame:
    """The rows of a pool that are trained on.

    All but the negatives of ``UNRELIABLE_NEGATIVES`` that use a word of the
    normaliser's lexicon (obscenities, slurs, insults): those are "not hate" for
    their corpus but abusive under a comments policy. Their other negatives stay,
    so the model does not learn that the corpus's style (tweets) means abuse.
    """
    from .normalize import LEXICON, normalize

    lexicon = re.compile(r"\b(?:" + "|".join(map(re.escape, LEXICON)) + r")\b")
    suspect = pool["source"].isin(UNRELIABLE_NEGATIVES) & (pool["label"] == 0)
    suspect &= pool["text"].map(lambda t: bool(lexicon.search(normalize(t))))
    return pool[~suspect].reset_index(drop=True)


def train_pool(pool: pd.DataFrame, sources: list[dict] | None = None, **options) -> Model:
    """``train`` on the trainable rows of a pool from ``training_pool``, weighted by source."""
    from .corpora import CATEGORIES

    fit = trainable(pool)
    cats = [c for c in CATEGORIES if c in fit.columns]
    weights = (source_weights(fit["source"].tolist(), SOURCE_EMPHASIS, fit["label"].tolist())
               if fit["source"].nunique() > 1 else None)
    return train(fit["text"].tolist(), fit["label"].to_numpy(dtype=int), sample_weight=weights,
                 sources=sources, categories=fit[cats] if cats else None, **options)


def train_from_files(paths: Sequence[str | Path], *, corpus: str | Path | None = None, text_col: str = "text",
                     label_col: str = "label", positive: str | None = None,
                     target_precision: float | None = 0.9, target_recall: float | None = None,
                     eval_file: str | Path | None = None, cross_corpus: bool = False,
                     augment: bool | None = None, tables: Sequence[tuple[str, pd.DataFrame]] = (),
                     **options) -> Model:
    """Train on labelled table files and/or the public corpora in ``corpus`` (see ``training_pool``).

    With ``cross_corpus`` the card also gets the leave-one-corpus-out table.
    """
    pool, sources = training_pool(paths, corpus=corpus, text_col=text_col, label_col=label_col,
                                  positive=positive, augment=augment, tables=tables)
    if corpus is not None:
        options = {**CORPUS_PIPELINE, **options}
    ev_texts = ev_y = None
    if eval_file is not None:
        ev_texts, ev_y = read_labelled(eval_file, text_col, label_col, positive)
    model = train_pool(pool, sources, eval_texts=ev_texts, eval_labels=ev_y, target_precision=target_precision,
                       target_recall=target_recall,
                       name="default" if corpus is not None and not paths else None, **options)
    if corpus is not None:
        model.card["recipe"] = {
            "pipeline": CORPUS_PIPELINE,
            "weights": "each class of each source the same total weight, times the emphasis",
            "source_emphasis": SOURCE_EMPHASIS,
            "negatives_not_trained_on": list(UNRELIABLE_NEGATIVES),
            "identity_words_neutralised": len(identity_words()),
        }
    if cross_corpus:
        if corpus is None:
            raise ModerationError("--cross-corpus needs --corpus")
        from .corpora import CORPORA

        model.card["cross_corpus"] = leave_one_corpus_out(pool, held_out=list(CORPORA), **options)
    return model


def leave_one_corpus_out(pool: pd.DataFrame, held_out: Sequence[str] | None = None, baseline=None,
                         **options) -> list[dict]:
    """Train on every source but one and test on the one left out, for each of ``held_out``.

    ``pool`` is a training pool (``training_pool``); sources not in ``held_out``
    (e.g. the augmentation set) are always trained on. ``baseline``, if given, is a
    function texts → scores (e.g. alt-profanity-check) measured on the same rows.
    """
    from .corpora import CATEGORIES

    rows = []
    for held in held_out if held_out is not None else sorted(pool["source"].unique()):
        test = pool[pool["source"] == held]
        fit = trainable(pool[pool["source"] != held])
        cats = [c for c in CATEGORIES if c in pool.columns]
        model = _fit(fit["text"].tolist(), fit["label"].to_numpy(dtype=int),
                     source_weights(fit["source"].tolist(), SOURCE_EMPHASIS, fit["label"].tolist()),
                     fit[cats].reset_index(drop=True) if cats else None, np.arange(len(fit)), options)
        table = model.score(test["text"].tolist(), categories=bool(model.categories))
        scores = table["score"].to_numpy() if model.categories else table
        y = test["label"].to_numpy(dtype=int)
        row = {"held_out": held, "rows": int(len(test)), "positive_rate": round(float(y.mean()), 3),
               "roc_auc": round(float(roc_auc_score(y, scores)), 4)}
        if baseline is not None:
            row["baseline_roc_auc"] = round(float(roc_auc_score(y, baseline(test["text"].tolist()))), 4)
        for c in model.categories:
            known = test[c].notna().to_numpy()
            truth = test[c].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if len(set(truth.tolist())) == 2:
                row[f"{c}_roc_auc"] = round(float(roc_auc_score(truth, table[c].to_numpy()[known])), 4)
        rows.append(row)
    return rows
