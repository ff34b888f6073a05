"""Training: fit the Pipeline under a recipe, hold out data to measure it, pick the operating threshold,
fill the card; and leave-one-corpus-out validation of a recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from .card import CategoryInfo, HeldOutEvaluation, Source, ThresholdRule, new_card
from .categories import CATEGORIES
from .errors import ModerationError, ParameterError
from .io import ReadOptions
from .labels import MIN_PER_CLASS, check_classes, parse_labels, read_labelled_set
from .linear import LinearHead
from .metrics import DEFAULT_TARGET_PRECISION, calibration_curve_table, choose_threshold, metrics, threshold_table
from .model import Model, build_pipeline
from .persist import check_save_target
from .normalize import as_texts
from .recipe import CORPUS_RECIPE, SITE_RECIPE, Recipe, sample_weights, trainable, training_pool

__all__ = ["train", "fit", "train_pool", "train_sources", "leave_one_corpus_out", "check_targets"]


def check_targets(target_precision: float | None, target_recall: float | None) -> None:
    """Refuse both targets at once, or one outside (0, 1), before any work is done."""
    if target_precision is not None and target_recall is not None:
        raise ParameterError("give {target_precision} or {target_recall}, not both",
                             "target_precision", "target_recall")
    for name, value in (("target_precision", target_precision), ("target_recall", target_recall)):
        if value is not None and not 0.0 < value < 1.0:
            raise ParameterError(f"{{{name}}} must be between 0 and 1 (exclusive), got {value}", name)


def fit(texts: list[str], y: np.ndarray, weights: np.ndarray | None, cats: pd.DataFrame | None,
        recipe: Recipe = SITE_RECIPE) -> Model:
    """Fit the recipe's Pipeline on all of ``texts``, and a classifier per category known on enough rows."""
    from .identities import identity_words, neutralize_identity_terms

    pipeline = build_pipeline(**recipe.pipeline_options())
    pipeline.fit(texts, y, **({} if weights is None else {"classifier__sample_weight": weights}))
    if recipe.neutralize_identities:
        neutralize_identity_terms(pipeline, identity_words())
    categories = {}
    if cats is not None:
        X = Model(pipeline=pipeline).features_matrix(texts)
        main = pipeline.named_steps["classifier"]
        for name in cats.columns:
            known = cats[name].notna().to_numpy()
            truth = cats[name].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if np.bincount(truth, minlength=2).min() < MIN_PER_CLASS:
                continue
            clf = clone(main)
            clf.fit(X[known], truth, sample_weight=None if weights is None else weights[known])
            categories[name] = clf
    return Model(pipeline=pipeline, categories=categories)


def _rows(frame: pd.DataFrame | None, rows: np.ndarray) -> pd.DataFrame | None:
    return None if frame is None else frame.iloc[rows].reset_index(drop=True)


def train(texts, labels, *, sample_weight=None, eval_texts=None, eval_labels=None,
          target_precision: float | None = DEFAULT_TARGET_PRECISION, target_recall: float | None = None,
          test_size: float = 0.2, random_state: int = 0, refit: bool = True,
          sources: list[Source] | None = None, name: str | None = None, categories: pd.DataFrame | None = None,
          recipe: Recipe = SITE_RECIPE) -> Model:
    """Train a Model on ``texts`` and 0/1 ``labels``.

    Metrics and the threshold come from ``eval_texts``/``eval_labels`` when given,
    else from a stratified ``test_size`` split held out from training; with
    ``refit`` (the default) the model is then refit on all rows with that
    threshold. The threshold meets ``target_precision`` (default 0.90) or, if
    given, ``target_recall``. ``categories``, a frame with one 0/1/NA column per
    category (``insult``, ``identity_attack``, ...), adds a classifier per category on
    the same features, trained on the rows where that category is known.
    """
    texts = as_texts(texts)
    y = parse_labels(labels) if not np.issubdtype(np.asarray(labels).dtype, np.integer) else np.asarray(labels, dtype=int)
    if len(texts) != len(y):
        raise ModerationError(f"{len(texts)} texts but {len(y)} labels")
    if set(np.unique(y)) - {0, 1}:
        raise ModerationError(f"labels must be 0 or 1, got {sorted(set(np.unique(y)) - {0, 1})[:5]}")
    check_classes(y, "the training data")
    if target_recall is not None:
        target_precision = None
    check_targets(target_precision, target_recall)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    idx = np.arange(len(texts))
    cats = None if categories is None else categories.reset_index(drop=True)
    if eval_texts is not None:
        ev_texts = as_texts(eval_texts)
        ev_y = np.asarray(eval_labels, dtype=int)
        check_classes(ev_y, "the evaluation data")
        fit_idx, held_idx, method = idx, None, "evaluation file"
    else:
        fit_idx, held_idx = train_test_split(idx, test_size=test_size, stratify=y, random_state=random_state)
        ev_texts = [texts[i] for i in held_idx]
        ev_y = y[held_idx]
        method = f"stratified {test_size:.0%} hold-out"

    model = fit([texts[i] for i in fit_idx], y[fit_idx], None if weights is None else weights[fit_idx],
                _rows(cats, fit_idx), recipe)
    ev_scores = model.score(ev_texts)
    threshold, met = choose_threshold(ev_y, ev_scores, target_precision=target_precision,
                                      target_recall=target_recall)
    held_out = metrics(ev_y, ev_scores, threshold)
    category_auc = {}
    if cats is not None and held_idx is not None and model.categories:
        held_cats = model.score(ev_texts, categories=True)
        for category in model.categories:
            known = cats[category].iloc[held_idx].notna().to_numpy()
            truth = cats[category].iloc[held_idx].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if len(set(truth.tolist())) == 2:
                category_auc[category] = round(float(roc_auc_score(truth, held_cats[category].to_numpy()[known])),
                                               4)
    if refit and eval_texts is None:
        model = fit(texts, y, weights, cats, recipe)
        method += ", then refit on all rows"

    from .persist import versions

    pipeline_description = _describe_pipeline(model)
    model.card = new_card(
        name=name, rows=len(texts), positive_rate=round(float(y.mean()), 4), sources=list(sources or []),
        rule=ThresholdRule(target_precision=target_precision, target_recall=target_recall, met=met),
        evaluation=HeldOutEvaluation(method=method, held_out=_rounded(held_out),
                                     threshold_table=_records(threshold_table(ev_y, ev_scores)),
                                     reliability=_records(calibration_curve_table(ev_y, ev_scores))),
        categories=CategoryInfo(names=list(model.categories), held_out_roc_auc=category_auc),
        pipeline=pipeline_description, versions=versions(), threshold=threshold)
    model.threshold = threshold
    return model


def _rounded(d: dict) -> dict:
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in d.items()}


def _records(table: pd.DataFrame) -> list[dict]:
    return [_rounded(r) for r in table.to_dict(orient="records")]


def _describe_pipeline(model: Model) -> dict:
    """The settings that define the Pipeline, for the model card."""
    union = model.pipeline.named_steps["features"]
    out = {}
    for name, vec in union.transformer_list:
        out[name] = {"analyzer": vec.analyzer, "ngram_range": list(vec.ngram_range), "min_df": vec.min_df,
                     "hashed_features": vec.n_features}
    out["classifier"] = LinearHead.of(model.pipeline).describe()
    return out


def _category_frame(pool: pd.DataFrame) -> pd.DataFrame | None:
    cats = [c for c in CATEGORIES if c in pool.columns]
    return pool[cats].reset_index(drop=True) if cats else None


def train_pool(pool: pd.DataFrame, sources: list[Source] | None = None, recipe: Recipe = SITE_RECIPE,
               **options) -> Model:
    """``train`` on the trainable rows of a pool from ``training_pool``, weighted by source."""
    rows = trainable(pool, recipe)
    return train(rows["text"].tolist(), rows["label"].to_numpy(dtype=int), sample_weight=sample_weights(rows, recipe),
                 sources=sources, categories=_category_frame(rows), recipe=recipe, **options)


def train_sources(paths: Sequence[str | Path] = (), *, corpus: str | Path | None = None, text_col: str = "text",
                  label_col: str = "label", positive: str | None = None,
                  target_precision: float | None = DEFAULT_TARGET_PRECISION, target_recall: float | None = None,
                  eval_file: str | Path | None = None, cross_corpus: bool = False,
                  tables: Sequence[tuple[str, pd.DataFrame]] = (), from_queue: str | None = None,
                  recipe: Recipe | None = None, read: ReadOptions | None = None, out: str | Path | None = None,
                  force: bool = False) -> Model:
    """Train on labelled table files, ``tables``, the decisions in the review queue ``from_queue`` and/or
    the public corpora in ``corpus``.

    The recipe defaults to ``CORPUS_RECIPE`` with ``corpus`` and ``SITE_RECIPE``
    without. With ``cross_corpus`` (which needs ``corpus``) the card also gets the
    leave-one-corpus-out table. ``read`` says how to read the files (delimiter,
    encoding). With ``out``, the model is saved there; a directory that already
    holds a model is refused unless ``force``. Everything is validated before
    training starts.
    """
    check_targets(target_precision, target_recall)
    if out is not None:
        check_save_target(out, force)
    if not paths and corpus is None and not tables and from_queue is None:
        raise ParameterError("give {paths} to train on, {corpus} or {from_queue}", "paths", "corpus", "from_queue")
    if cross_corpus and corpus is None:
        raise ParameterError("{cross_corpus} needs {corpus}", "cross_corpus", "corpus")
    if from_queue is not None:
        from .queue import decisions_table

        tables = [decisions_table(from_queue), *tables]
    recipe = recipe or (CORPUS_RECIPE if corpus is not None else SITE_RECIPE)
    pool, sources = training_pool(paths, corpus=corpus, text_col=text_col, label_col=label_col,
                                  positive=positive, augment=recipe.augment, tables=tables, read=read)
    ev_texts = ev_y = None
    if eval_file is not None:
        evaluation = read_labelled_set(eval_file, text_col, label_col, positive, read=read)
        ev_texts, ev_y = evaluation.texts, evaluation.labels
    model = train_pool(pool, sources, recipe, eval_texts=ev_texts, eval_labels=ev_y,
                       target_precision=target_precision, target_recall=target_recall,
                       name="default" if corpus is not None and not paths else None)
    if corpus is not None:
        model.card.recipe = recipe.describe()
    if cross_corpus:
        from .corpora import CORPORA

        model.card.cross_corpus = leave_one_corpus_out(pool, recipe, held_out=list(CORPORA))
    if out is not None:
        model.save(out)
    return model


def leave_one_corpus_out(pool: pd.DataFrame, recipe: Recipe = CORPUS_RECIPE, held_out: Sequence[str] | None = None,
                         baseline: Callable[[list[str]], np.ndarray] | None = None) -> list[dict]:
    """Train on every source but one and test on the one left out, for each of ``held_out``.

    ``pool`` is a training pool (``training_pool``); sources not in ``held_out``
    (e.g. the augmentation set) are always trained on. ``baseline``, if given, is a
    function texts → scores (e.g. alt-profanity-check) measured on the same rows.
    """
    rows = []
    for held in held_out if held_out is not None else sorted(pool["source"].unique()):
        test = pool[pool["source"] == held]
        fit_rows = trainable(pool[pool["source"] != held], recipe)
        model = fit(fit_rows["text"].tolist(), fit_rows["label"].to_numpy(dtype=int),
                    sample_weights(fit_rows, recipe), _category_frame(fit_rows), recipe)
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
