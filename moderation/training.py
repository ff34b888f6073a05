"""Training: fit the Pipeline under a recipe, hold out data to measure it, pick the operating threshold,
fill the card; and leave-one-corpus-out validation of a recipe."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from .card import Calibration, CategoryInfo, HeldOutEvaluation, Source, ThresholdRule, new_card
from .categories import CATEGORIES
from .errors import ModerationError, ParameterError
from .io import ReadOptions
from .labels import MIN_PER_CLASS, check_classes, parse_labels, read_labelled_set
from .linear import LinearHead
from .metrics import DEFAULT_TARGET_PRECISION, calibration_curve_table, choose_threshold, metrics, threshold_table
from .model import Model, build_pipeline
from .persist import check_save_target
from .normalize import as_texts
from .sentences import FEATURES
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


def term_frequencies(texts: list[str], recipe: Recipe) -> list:
    """Per feature block of the recipe's Pipeline, the term frequencies of ``texts`` (computed once, weighed per
    fit: ``HashedTfidf.term_frequencies``)."""
    pipeline = build_pipeline(**recipe.pipeline_options())
    normalized = pipeline.named_steps["normalize"].transform(texts)
    return [vec.term_frequencies(normalized) for _, vec in pipeline.named_steps["features"].transformer_list]


def check_jobs(jobs: int) -> None:
    """Refuse a number of training jobs below 1, before any work is done."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"{{jobs}} must be at least 1, got {jobs!r}", "jobs")


def _rows_of(tf: list, rows: np.ndarray) -> list:
    return [T[rows] for T in tf]


# In a process forked by ``fit``: the features and weights to fit on, set by the pool's initializer (with fork
# they are not pickled: the processes share their pages).
_fitting: tuple | None = None


def _init_fitting(data: tuple) -> None:
    global _fitting
    _fitting = data


def _fit_one(job, data: tuple | None = None):
    """Fit one of ``fit``'s classifiers on its rows of the features (``data``, else those the process was forked
    with); the fitted classifier."""
    X, weights = data if data is not None else _fitting
    clf, known, labels = job
    if known is None:
        clf.fit(X, labels, sample_weight=weights)
    else:
        clf.fit(X[known], labels, sample_weight=None if weights is None else weights[known])
    return clf


def fit(texts: list[str], y: np.ndarray, weights: np.ndarray | None, cats: pd.DataFrame | None,
        recipe: Recipe = SITE_RECIPE, tf: list | None = None, jobs: int = 1) -> Model:
    """Fit the recipe's Pipeline on all of ``texts``, and a classifier per category known on enough rows.

    ``tf``, the texts' ``term_frequencies`` when already computed, saves hashing them
    again; the fitted Pipeline is the same either way. ``jobs`` classifiers are fitted
    at a time (the same model, sooner, for more memory).
    """
    from .identities import identity_words, neutralize_identity_terms

    pipeline = build_pipeline(**recipe.pipeline_options())
    tf = term_frequencies(texts, recipe) if tf is None else tf
    blocks = []
    for (_, vec), T in zip(pipeline.named_steps["features"].transformer_list, tf):
        blocks.append(vec.fit_from_tf(T).weigh(T))
    X = sp.hstack(blocks, format="csr")
    main = pipeline.named_steps["classifier"]
    fits = [(main, None, y)]  # each classifier, the rows it learns from (None: all) and their labels
    categories = {}
    if cats is not None:
        for name in cats.columns:
            known = cats[name].notna().to_numpy()
            truth = cats[name].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if np.bincount(truth, minlength=2).min() < MIN_PER_CLASS:
                continue
            categories[name] = clone(main)
            fits.append((categories[name], known, truth))

    if jobs > 1 and len(fits) > 1 and "fork" in mp.get_all_start_methods():
        # processes, not threads: liblinear draws from the C library's one random state, which threads would share
        # (and so not give the same model twice); forked, they share the features instead of copying them
        with mp.get_context("fork").Pool(min(jobs, len(fits)), initializer=_init_fitting,
                                         initargs=((X, weights),)) as pool:
            fitted = pool.map(_fit_one, fits, chunksize=1)
        for (clf, _, _), done in zip(fits, fitted):
            # What fitting learned (``coef_``, ``classes_``...), the objects that a fit here shares between the
            # classifiers kept shared: their parameters (clones of one) and ``n_features_in_`` (``X.shape[1]``).
            # The model file marks shared objects, so it stays the same bytes.
            clf.__dict__.update({k: v for k, v in vars(done).items() if k.endswith("_") and not k.startswith("_")})
            clf.n_features_in_ = X.shape[1]
    else:
        for job in fits:
            _fit_one(job, (X, weights))
    if recipe.neutralize_identities:
        neutralize_identity_terms(pipeline, identity_words())
    LinearHead(main, categories).round_weights()
    return Model(pipeline=pipeline, categories=categories)


def _rows(frame: pd.DataFrame | None, rows: np.ndarray) -> pd.DataFrame | None:
    return None if frame is None else frame.iloc[rows].reset_index(drop=True)


# Joined comments built for calibration: for each k, this many abusive texts with k civil ones on each side, and
# as many comments of 2k + 1 civil texts, all drawn from the calibration rows.
JOINED_PER_K = 1000
JOINED_K = (1, 2, 3)
JOINED_SOURCE = "joined comments"


def joined_comments(texts: list[str], y: np.ndarray, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Comments made by joining calibration texts: an abusive one among civil ones (remove) and civil ones only
    (keep), so the combination learns that one abusive part makes a comment abusive and many civil ones do not."""
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    out, labels = [], []
    if len(negatives) < 2 * max(JOINED_K) + 1:
        return out, np.zeros(0, dtype=int)
    for k in JOINED_K:
        for _ in range(min(JOINED_PER_K, len(positives))):
            around = rng.choice(negatives, size=2 * k, replace=False)
            parts = [texts[i] for i in around[:k]] + [texts[rng.choice(positives)]] + [texts[i] for i in around[k:]]
            out.append(" ".join(p.strip() for p in parts))
            labels.append(1)
        for _ in range(min(JOINED_PER_K, len(negatives))):
            out.append(" ".join(texts[i].strip() for i in rng.choice(negatives, size=2 * k + 1, replace=False)))
            labels.append(0)
    return out, np.asarray(labels, dtype=int)


def fit_calibrator(model: Model, texts: list[str], y: np.ndarray, sources: list[str], recipe: Recipe,
                   random_state: int = 0):
    """The logistic regression turning a text's logits (``sentences.FEATURES``) into P(remove) at the recipe's
    prevalence, fitted on rows the model was not trained on (and, for a model that reads sentences, comments
    joined from them), every source weighing the same."""
    from sklearn.linear_model import LogisticRegression

    from .recipe import prevalence_weights

    model.sentences = recipe.sentences
    model.calibrator = None
    texts, y, sources = list(texts), np.asarray(y, dtype=int), list(sources)
    if recipe.sentences:
        extra, extra_y = joined_comments(texts, y, np.random.default_rng(random_state))
        texts, y, sources = texts + extra, np.concatenate([y, extra_y]), sources + [JOINED_SOURCE] * len(extra)
    features, present = model.combination_inputs(texts)
    # fitted with both classes of every source weighing the same, then moved to the stated share of abuse
    # by adding its log-odds to the intercept (Bayes' rule), so the prevalence shifts every score alike
    row_sources = np.asarray(sources, dtype=object)[present]
    weights = prevalence_weights(y[present], row_sources, 0.5)
    weights[row_sources == JOINED_SOURCE] *= recipe.joined_weight
    calibrator = LogisticRegression(C=1.0, max_iter=1000)
    calibrator.fit(features[present], y[present], sample_weight=weights)
    calibrator.intercept_ = calibrator.intercept_ + np.log(recipe.prevalence / (1.0 - recipe.prevalence))
    return calibrator


def _split(y: np.ndarray, sources: list[str], test_size: float, random_state: int):
    """A split stratified by source and label (by label alone where a stratum is too small)."""
    strata = np.asarray([f"{s}\0{label}" for s, label in zip(sources, y)], dtype=object)
    counts = pd.Series(strata).value_counts()
    if counts.min() < 2:
        strata = y
    return train_test_split(np.arange(len(y)), test_size=test_size, stratify=strata, random_state=random_state)


# below this many rows, or this many of either class, the held-out figures rest on a few dozen comments
MIN_TRUSTED_ROWS = 500
MIN_TRUSTED_PER_CLASS = 100
# the columns that mark a file as the review queue's export (``moderation queue export``)
QUEUE_EXPORT_COLUMNS = frozenset({"action", "moderator", "decided_at"})
QUEUE_ONLY_WARNING = ("every training row is a review-queue decision, and only comments a model flagged reach the "
                      "queue: its 'keep' rows are borderline comments, not ordinary ones, so the model is not "
                      "taught what an ordinary comment looks like; add ordinary comments labelled keep")


def data_warnings(y: np.ndarray) -> list[str]:
    """What makes training data too small or too one-sided for the model's held-out figures to mean much."""
    remove, total = int(y.sum()), len(y)
    if total < MIN_TRUSTED_ROWS or min(remove, total - remove) < MIN_TRUSTED_PER_CLASS:
        return [f"trained on {total} rows ({remove} remove, {total - remove} keep): too few for the held-out "
                f"figures to mean much; label at least {MIN_TRUSTED_ROWS} rows with {MIN_TRUSTED_PER_CLASS} of "
                "each class"]
    return []


def train(texts, labels, *, sample_weight=None, row_sources: Sequence[str] | None = None, eval_texts=None,
          eval_labels=None, target_precision: float | None = DEFAULT_TARGET_PRECISION,
          target_recall: float | None = None, test_size: float = 0.2, random_state: int = 0, refit: bool = True,
          sources: list[Source] | None = None, name: str | None = None, categories: pd.DataFrame | None = None,
          recipe: Recipe = SITE_RECIPE, warnings: Sequence[str] = (), jobs: int = 1) -> Model:
    """Train a Model on ``texts`` and 0/1 ``labels``.

    A stratified ``test_size`` split is held out from training. Half of it
    calibrates the scores to the recipe's prevalence (``fit_calibrator``; rows
    weighted per source, ``row_sources`` naming each row's source); on the other
    half, or on ``eval_texts``/``eval_labels`` when given, the metrics are measured
    and the threshold chosen at that prevalence to meet ``target_precision``
    (default 0.90) or, if given, ``target_recall``. With ``refit`` (the default)
    the model is then refit on all rows, keeping the calibration and threshold.
    ``categories``, a frame with one 0/1/NA column per category (``insult``,
    ``identity_attack``, ...), adds a classifier per category on the same
    features, trained on the rows where that category is known. ``warnings``
    about the data, with those of ``data_warnings``, are issued as UserWarnings
    and kept in the card (scoring with the model repeats them). ``jobs``
    classifiers are fitted at a time (forked processes): the same model, sooner,
    for about 1 GB more per extra job on the default corpora.
    """
    import warnings as _warnings

    from .recipe import prevalence_weights

    texts = as_texts(texts)
    y = parse_labels(labels) if not np.issubdtype(np.asarray(labels).dtype, np.integer) else np.asarray(labels, dtype=int)
    if len(texts) != len(y):
        raise ModerationError(f"{len(texts)} texts but {len(y)} labels")
    if set(np.unique(y)) - {0, 1}:
        raise ModerationError(f"labels must be 0 or 1, got {sorted(set(np.unique(y)) - {0, 1})[:5]}")
    check_classes(y, "the training data")
    warnings = [*warnings, *data_warnings(y)]
    for warning in warnings:
        _warnings.warn(warning, UserWarning, stacklevel=2)
    if target_recall is not None:
        target_precision = None
    check_targets(target_precision, target_recall)
    check_jobs(jobs)
    row_sources = ["data"] * len(texts) if row_sources is None else [str(s) for s in row_sources]
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    cats = None if categories is None else categories.reset_index(drop=True)
    fit_idx, held_idx = _split(y, row_sources, test_size, random_state)
    if eval_texts is not None:
        ev_texts, ev_y = as_texts(eval_texts), np.asarray(eval_labels, dtype=int)
        check_classes(ev_y, "the evaluation data")
        ev_sources = ["evaluation file"] * len(ev_texts)
        calib_idx, method = held_idx, f"evaluation file (a stratified {test_size:.0%} hold-out calibrates)"
    else:
        calib_rel, ev_rel = _split(y[held_idx], [row_sources[i] for i in held_idx], 0.5, random_state)
        calib_idx, ev_idx = held_idx[calib_rel], held_idx[ev_rel]
        ev_texts, ev_y, ev_sources = [texts[i] for i in ev_idx], y[ev_idx], [row_sources[i] for i in ev_idx]
        method = f"stratified {test_size:.0%} hold-out (half to calibrate, half to measure)"

    tf = term_frequencies(texts, recipe)  # hashed once for the split's fit and the refit
    model = fit([texts[i] for i in fit_idx], y[fit_idx], None if weights is None else weights[fit_idx],
                _rows(cats, fit_idx), recipe, tf=_rows_of(tf, fit_idx), jobs=jobs)
    calibrator = fit_calibrator(model, [texts[i] for i in calib_idx], y[calib_idx],
                                [row_sources[i] for i in calib_idx], recipe, random_state)
    model.calibrator = calibrator
    ev_table = model.score(ev_texts, categories=bool(model.category_names))
    ev_scores = ev_table["score"].to_numpy() if model.category_names else ev_table
    ev_weights = prevalence_weights(ev_y, ev_sources, recipe.prevalence)
    threshold, met = choose_threshold(ev_y, ev_scores, target_precision=target_precision,
                                      target_recall=target_recall, sample_weight=ev_weights)
    category_auc = {}
    if cats is not None and eval_texts is None and model.category_names:
        for category in model.category_names:
            known = cats[category].iloc[ev_idx].notna().to_numpy()
            truth = cats[category].iloc[ev_idx].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if len(set(truth.tolist())) == 2:
                category_auc[category] = round(float(roc_auc_score(truth, ev_table[category].to_numpy()[known])), 4)
    if refit:
        model = fit(texts, y, weights, cats, recipe, tf=tf, jobs=jobs)
        model.calibrator, model.sentences = calibrator, recipe.sentences
        method += ", then refit on all rows"

    from .persist import versions

    at_prevalence = metrics(ev_y, ev_scores, threshold, ev_weights)
    at_prevalence["flagged_per_10000"] = round(10_000 * at_prevalence["flag_rate"])
    calibration = Calibration(
        prevalence=recipe.prevalence, sentences=recipe.sentences,
        method=(f"logistic regression over {', '.join(FEATURES)} fitted on held-out rows"
                + (" and comments joined from them" if recipe.sentences else "")
                + f", both classes of every source weighing the same, then shifted to {recipe.prevalence:.0%} "
                "'remove' by adding its log-odds to the intercept"),
        held_out=_rounded(at_prevalence),
        threshold_table=_records(threshold_table(ev_y, ev_scores, sample_weight=ev_weights)),
        reliability=_records(calibration_curve_table(ev_y, ev_scores, sample_weight=ev_weights)))
    model.card = new_card(
        name=name, rows=len(texts), positive_rate=round(float(y.mean()), 4), sources=list(sources or []),
        rule=ThresholdRule(target_precision=target_precision, target_recall=target_recall, met=met),
        evaluation=HeldOutEvaluation(method=method, held_out=_rounded(metrics(ev_y, ev_scores, threshold)),
                                     threshold_table=_records(threshold_table(ev_y, ev_scores)),
                                     reliability=_records(calibration_curve_table(ev_y, ev_scores))),
        categories=CategoryInfo(names=model.category_names, held_out_roc_auc=category_auc),
        calibration=calibration, pipeline=_describe_pipeline(model), versions=versions(), threshold=threshold)
    model.card.recipe = recipe.describe()
    model.card.warnings = list(warnings)
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
                 row_sources=rows["source"].tolist(), sources=sources, categories=_category_frame(rows),
                 recipe=recipe, **options)


def _is_queue_export(path, read: ReadOptions | None) -> bool:
    from .io import read_columns

    columns = read_columns(path, read)
    return columns is not None and QUEUE_EXPORT_COLUMNS <= set(columns.names)


def train_sources(paths: Sequence[str | Path] = (), *, corpus: str | Path | None = None, text_col: str = "text",
                  label_col: str = "label", positive: str | None = None,
                  target_precision: float | None = DEFAULT_TARGET_PRECISION, target_recall: float | None = None,
                  eval_file: str | Path | None = None, cross_corpus: bool = False,
                  tables: Sequence[tuple[str, pd.DataFrame]] = (), from_queue: str | None = None,
                  recipe: Recipe | None = None, prevalence: float | None = None,
                  open_licences_only: bool = False, read: ReadOptions | None = None,
                  out: str | Path | None = None, force: bool = False, jobs: int = 1) -> Model:
    """Train on labelled table files, ``tables``, the decisions in the review queue ``from_queue`` and/or
    the public corpora in ``corpus``.

    The recipe defaults to ``CORPUS_RECIPE`` with ``corpus`` and ``SITE_RECIPE``
    without; ``prevalence`` and ``open_licences_only`` override its settings of that
    name. With ``cross_corpus`` (which needs ``corpus``) the card also gets the
    leave-one-corpus-out table. ``read`` says how to read the files (delimiter,
    encoding). With ``out``, the model is saved there; a directory that already
    holds a model is refused unless ``force``. ``jobs`` classifiers are fitted at
    a time (``train``). Everything is validated before training starts.
    """
    check_targets(target_precision, target_recall)
    check_jobs(jobs)
    if out is not None:
        check_save_target(out, force)
    if not paths and corpus is None and not tables and from_queue is None:
        raise ParameterError("give {paths} to train on, {corpus} or {from_queue}", "paths", "corpus", "from_queue")
    if cross_corpus and corpus is None:
        raise ParameterError("{cross_corpus} needs {corpus}", "cross_corpus", "corpus")
    if from_queue is not None:
        from .queue import decisions_table

        tables = [decisions_table(from_queue), *tables]
    if prevalence is not None and not 0.0 < prevalence < 1.0:
        raise ParameterError(f"{{prevalence}} must be between 0 and 1 (exclusive), got {prevalence}", "prevalence")
    if open_licences_only and corpus is None:
        raise ParameterError("{open_licences_only} needs {corpus}", "open_licences_only", "corpus")
    recipe = recipe or (CORPUS_RECIPE if corpus is not None else SITE_RECIPE)
    if prevalence is not None:
        recipe = recipe.with_options(prevalence=prevalence)
    if open_licences_only:
        recipe = recipe.with_options(name=f"{recipe.name}, open licences only", open_licences_only=True)
    pool, sources = training_pool(paths, corpus=corpus, text_col=text_col, label_col=label_col,
                                  positive=positive, augment=recipe.augment, tables=tables,
                                  corpora=recipe.corpus_names() if corpus is not None else None, read=read)
    own_tables = len(tables) - (from_queue is not None)  # those given besides the queue's decisions
    queue_only = (corpus is None and own_tables == 0 and (from_queue is not None or bool(paths))
                  and all(_is_queue_export(p, read) for p in paths))
    ev_texts = ev_y = None
    if eval_file is not None:
        evaluation = read_labelled_set(eval_file, text_col, label_col, positive, read=read)
        ev_texts, ev_y = evaluation.texts, evaluation.labels
    model = train_pool(pool, sources, recipe, eval_texts=ev_texts, eval_labels=ev_y,
                       target_precision=target_precision, target_recall=target_recall,
                       name=(("open-licences" if recipe.open_licences_only else "default")
                             if corpus is not None and not paths else None),
                       warnings=[QUEUE_ONLY_WARNING] if queue_only else [], jobs=jobs)
    if cross_corpus:
        from .corpora import CORPORA

        model.card.cross_corpus = leave_one_corpus_out(pool, recipe, held_out=list(CORPORA), jobs=jobs)
    if out is not None:
        model.save(out)
    return model


def leave_one_corpus_out(pool: pd.DataFrame, recipe: Recipe = CORPUS_RECIPE, held_out: Sequence[str] | None = None,
                         baseline: Callable[[list[str]], np.ndarray] | None = None, jobs: int = 1) -> list[dict]:
    """Train on every source but one and test on the one left out, for each of ``held_out``.

    ``pool`` is a training pool (``training_pool``); sources not in ``held_out``
    (e.g. the augmentation set) are always trained on. ``baseline``, if given, is a
    function texts → scores (e.g. alt-profanity-check) measured on the same rows.
    The pool's term frequencies are computed once; each fold learns its own idf
    and classifiers from its training rows only. A recipe that reads sentences
    holds a fifth of each fold's training rows out to fit its combination.
    """
    texts = pool["text"].tolist()
    tf = term_frequencies(texts, recipe)
    # the rows trained on, as the recipe prepares them; each remembers its row in the pool (and in tf)
    prepared = trainable(pool.assign(_row=np.arange(len(pool))), recipe)
    rows = []
    for held in held_out if held_out is not None else sorted(pool["source"].unique()):
        candidates = prepared[prepared["source"] != held].reset_index(drop=True)
        fit_part, calib_part = np.arange(len(candidates)), np.zeros(0, dtype=np.int64)
        if recipe.sentences:  # the combination of sentence and whole-text scores is fitted on held-out rows
            fit_part, calib_part = _split(candidates["label"].to_numpy(dtype=int), candidates["source"].tolist(),
                                          0.2, 0)
        fit_rows = candidates.iloc[fit_part].reset_index(drop=True)
        train_idx = fit_rows["_row"].to_numpy()
        model = fit([texts[i] for i in train_idx], fit_rows["label"].to_numpy(dtype=int),
                    sample_weights(fit_rows, recipe), _category_frame(fit_rows), recipe, tf=_rows_of(tf, train_idx),
                    jobs=jobs)
        if recipe.sentences:
            calib_rows = candidates.iloc[calib_part]
            model.calibrator = fit_calibrator(model, calib_rows["text"].tolist(),
                                              calib_rows["label"].to_numpy(dtype=int),
                                              calib_rows["source"].tolist(), recipe)
        test_idx = np.flatnonzero((pool["source"] == held).to_numpy())
        test = pool.iloc[test_idx]
        table = model.score([texts[i] for i in test_idx], categories=bool(model.category_names))
        scores = table["score"].to_numpy() if model.category_names else table
        y = test["label"].to_numpy(dtype=int)
        row = {"held_out": held, "rows": int(len(test)), "positive_rate": round(float(y.mean()), 3),
               "roc_auc": round(float(roc_auc_score(y, scores)), 4)}
        if baseline is not None:
            row["baseline_roc_auc"] = round(float(roc_auc_score(y, baseline(test["text"].tolist()))), 4)
        for c in model.category_names:
            known = test[c].notna().to_numpy()
            truth = test[c].to_numpy(dtype=float, na_value=np.nan)[known].astype(int)
            if len(set(truth.tolist())) == 2:
                row[f"{c}_roc_auc"] = round(float(roc_auc_score(truth, table[c].to_numpy()[known])), 4)
        rows.append(row)
    return rows
