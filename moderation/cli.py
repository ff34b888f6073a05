"""The ``moderation`` command line: parse options, call one library function, print.

User errors (``ModerationError``) are printed on one line to stderr with exit
status 2; library errors about a parameter are printed with its flag. The
library is imported inside each command, so ``moderation --help`` loads neither
scikit-learn nor pandas.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import List, Optional

import typer

from .cliutil import (ArticleCol, ArticleTitleCol, ArticleUrlCol, AuthorCol, CreatedCol, Db, Encoding, Group,
                      InputFormat, LabelCol, ModelDir, ParentCol, Positive, Sep, TextCol, TrustPickle, read_options,
                      user_errors)

app = typer.Typer(cls=Group, add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Flag abusive comments: train a classifier, score comment dumps, evaluate.")


@app.callback(invoke_without_command=True)
def _root(ctx: typer.Context,
          version: bool = typer.Option(False, "--version", is_eager=True, help="Print the version and exit.")):
    if version:
        from . import __version__

        typer.echo(f"moderation {__version__}")
        raise typer.Exit()
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit()


def _warn_on_one_line(message, category, filename, lineno, file=None, line=None):
    from .errors import printable

    typer.echo(f"Warning: {printable(str(message))}", err=True)


def _load(model_dir: Optional[Path], trust_pickle: bool = False):
    from .persist import load_model

    warnings.showwarning = _warn_on_one_line
    return load_model(model_dir, trust_pickle=trust_pickle)


def _echo_table(df) -> None:
    typer.echo(df.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


@app.command()
@user_errors
def train(
    data: List[Path] = typer.Argument(None, help="Labelled tables (CSV, TSV, JSONL, Parquet; optionally .gz)."),
    out: Path = typer.Option(..., "--out", metavar="DIR", help="Directory to write the model to."),
    force: bool = typer.Option(False, "--force", help="Replace the model already in --out."),
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    positive: Positive = None,
    target_precision: Optional[float] = typer.Option(None, metavar="P",
                                                     help="Pick the threshold for this precision, at the calibrated share of abuse [default: 0.60]."),
    target_recall: Optional[float] = typer.Option(None, metavar="R", help="Pick the threshold for this recall instead."),
    eval_file: Optional[Path] = typer.Option(None, metavar="FILE",
                                             help="Measure on this labelled table instead of a held-out split."),
    corpus: Optional[Path] = typer.Option(None, metavar="DIR",
                                          help="Also train on the public corpora in this directory (e.g. ../shared/data)."),
    cross_corpus: bool = typer.Option(False, "--cross-corpus", help="With --corpus: add the leave-one-corpus-out table to the card."),
    from_queue: Optional[str] = typer.Option(None, metavar="URL",
                                             help="Also train on the moderators' decisions in this queue database URL."),
    prevalence: Optional[float] = typer.Option(None, metavar="SHARE",
                                               help="Calibrate scores to this share of abusive comments [default: 0.10]."),
    open_licences_only: bool = typer.Option(False, "--open-licences-only", help="With --corpus: only the corpora whose licences allow any use (CC0, CC BY, CC BY-SA, MIT)."),
    jobs: int = typer.Option(1, metavar="N", help="Classifiers to fit at a time: sooner, for about 1 GB more "
                                                 "memory per extra job on the default corpora."),
    sep: Sep = None,
    encoding: Encoding = "utf-8",
):
    """Train a model on labelled comments and save it to --out."""
    from .metrics import DEFAULT_TARGET_PRECISION
    from .training import train_sources

    warnings.showwarning = _warn_on_one_line
    model = train_sources(
        data or [], corpus=corpus, from_queue=from_queue, text_col=text_col, label_col=label_col, positive=positive,
        target_precision=DEFAULT_TARGET_PRECISION if target_precision is None and target_recall is None
        else target_precision,
        target_recall=target_recall, eval_file=eval_file, cross_corpus=cross_corpus, prevalence=prevalence,
        open_licences_only=open_licences_only, read=read_options(sep=sep, encoding=encoding), out=out, force=force,
        jobs=jobs)
    card = model.card
    m = card.evaluation.held_out
    typer.echo(f"Saved model to {out} ({card.training_rows} rows; {card.evaluation.method})")
    typer.echo(f"held-out: ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}  "
               f"threshold {model.threshold:.3f}: precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
               f"F1 {m['f1']:.3f}  flag rate {m['flag_rate']:.3f}")
    if not card.threshold_rule.met:
        typer.echo("Warning: the target was not met on held-out data; the threshold with the best F1 is used",
                   err=True)


def _progress_display(input: str):
    """A progress display for a terminal: rows, and for a file the percentage read and the time left."""
    from rich.console import Console
    from rich.progress import (BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    console = Console(stderr=True)  # standard output may be the scored table
    if input == "-":
        return Progress(SpinnerColumn(), TextColumn("scoring: {task.fields[rows]:,} rows"), TimeElapsedColumn(),
                        transient=True, console=console)
    return Progress(TextColumn("scoring"), BarColumn(), TaskProgressColumn(), TextColumn("{task.fields[rows]:,} rows"),
                    TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), transient=True, console=console)


@app.command()
@user_errors
def score(
    input: str = typer.Argument(..., help="Comments to score (CSV, TSV, JSONL, Parquet; optionally .gz); - for stdin."),
    model: ModelDir = None,
    out: str = typer.Option("-", metavar="FILE", show_default=False,
                            help="Output file; the format follows its extension (CSV, TSV, JSONL, Parquet; "
                                 "optionally .gz) [default: CSV on standard output]."),
    text_col: TextCol = "text",
    id_col: Optional[str] = typer.Option(None, metavar="NAME", help="Column holding the comment id [default: id if present, else the line number]."),
    threshold: Optional[float] = typer.Option(None, metavar="X", help="Flag at this score instead of the model's threshold."),
    flagged_only: bool = typer.Option(False, "--flagged-only", help="Write only the flagged rows (every row is still scored and counted)."),
    chunk_rows: int = typer.Option(5000, metavar="N", help="Rows per chunk (memory use grows with it)."),
    jobs: Optional[int] = typer.Option(None, metavar="N", help="Processes to score with [default: every core]."),
    keep: Optional[str] = typer.Option(None, metavar="COLUMNS", help="Input columns to carry into the output, comma-separated (e.g. text,article_id)."),
    categories: bool = typer.Option(False, "--categories", help="Add a score per category (insult, identity_attack, obscene, threat)."),
    rejects: Optional[str] = typer.Option(None, metavar="FILE", help="Where unreadable rows go, with line, reason and raw content [default: OUT.rejects.csv]."),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 if any row was rejected."),
    resume: bool = typer.Option(False, "--resume", help="Continue a killed run from its last completed chunk."),
    input_format: InputFormat = None,
    sep: Sep = None,
    encoding: Encoding = "utf-8",
    trust_pickle: TrustPickle = False,
    queue: bool = typer.Option(False, "--queue", help="Also load the flagged rows into the review queue (needs --out FILE)."),
    db: Db = None,
    article_col: ArticleCol = None,
    article_title_col: ArticleTitleCol = None,
    article_url_col: ArticleUrlCol = None,
    author_col: AuthorCol = None,
    parent_col: ParentCol = None,
    created_col: CreatedCol = None,
    engine: str = typer.Option("local", metavar="ENGINE", help="local (this machine) or dask (a Dask cluster; INPUT a directory, glob or file, --out a directory of Parquet parts)."),
    scheduler: Optional[str] = typer.Option(None, metavar="ADDRESS", help="With --engine dask: address of a running scheduler, e.g. tcp://host:8786."),
    workers: Optional[int] = typer.Option(None, metavar="N", help="With --engine dask: start a local cluster of N worker processes [default: every core]."),
):
    """Score every comment: id, score, flag and reasons, in input order."""
    from .batch import score_dump

    warnings.showwarning = _warn_on_one_line
    options = dict(engine=engine, scheduler=scheduler, workers=workers, jobs=jobs, resume=resume, rejects_path=rejects,
                   queue=queue, db=db, text_col=text_col, id_col=id_col, threshold=threshold, chunk_rows=chunk_rows,
                   keep=[c.strip() for c in keep.split(",") if c.strip()] if keep else [], categories=categories,
                   flagged_only=flagged_only, read=read_options(input_format, sep, encoding),
                   trust_pickle=trust_pickle, echo=lambda line: typer.echo(line, err=True))
    if queue:
        from .queue.context import ContextColumns

        options["context"] = ContextColumns.given(
            article_id=article_col, article_title=article_title_col, article_url=article_url_col, author=author_col,
            parent_id=parent_col, created_at=created_col)
    if sys.stderr.isatty():
        with _progress_display(input) as bar:
            task = bar.add_task("score", total=None if input == "-" else 1.0, rows=0)
            summary = score_dump(model, input, out, progress=lambda rows, fraction: bar.update(
                task, completed=fraction, rows=rows), **options)
    else:
        summary = score_dump(model, input, out, **options)
    typer.echo(summary.line(), err=True)
    if summary.replaced and encoding.lower().replace("_", "-") in ("utf-8", "utf8"):
        typer.echo("Hint: if the input is not UTF-8, give its encoding, e.g. --encoding cp1252", err=True)
    if summary.queued is not None:
        typer.echo(summary.queued.line(), err=True)
    if strict and summary.rejected:
        raise typer.Exit(1)


@app.command()
@user_errors
def evaluate(
    data: List[Path] = typer.Argument(..., help="Labelled tables to evaluate on."),
    model: ModelDir = None,
    text_col: TextCol = "text",
    label_col: LabelCol = "label",
    positive: Positive = None,
    report: Optional[Path] = typer.Option(None, metavar="FILE", help="Also write an HTML report (plots, tables, worst errors) here."),
    compare: Optional[Path] = typer.Option(None, metavar="DIR", help="Evaluate this second model directory beside --model, with the difference."),
    worst: int = typer.Option(10, min=0, metavar="N", help="Worst false positives and false negatives to show in the report."),
    sep: Sep = None,
    encoding: Encoding = "utf-8",
    trust_pickle: TrustPickle = False,
):
    """Metrics at the model's threshold and a threshold table, per DATA file (and per model with --compare)."""
    from .evaluate import DIFFERENCES, difference, evaluate_files, model_names
    from .persist import default_model_path

    read = read_options(sep=sep, encoding=encoding)
    paths = [model or default_model_path()] + ([compare] if compare is not None else [])
    models = list(zip(model_names(paths), [_load(model, trust_pickle)] +
                      ([_load(compare, trust_pickle)] if compare is not None else [])))
    evaluations = evaluate_files(models, data, text_col=text_col, label_col=label_col, positive=positive,
                                 worst=worst if report else 0, read=read)
    for i, e in enumerate(evaluations):
        _echo_evaluation(e, e.data, e.model if compare is not None else None)
        if compare is not None and i % 2 == 1:
            d = difference(evaluations[i - 1], e)
            typer.echo(f"difference ({e.model} − {evaluations[i - 1].model}): "
                       + "  ".join(f"{label} {d[key]:+.3f}" for key, label in DIFFERENCES))
    if report is not None:
        from .report import write_report

        write_report(report, evaluations, compare=compare is not None)
        typer.echo(f"report written to {report}", err=True)


def _echo_evaluation(e, path, model_name: Optional[str]) -> None:
    m = e.metrics
    suffix = f" [{model_name}]" if model_name else ""
    typer.echo(f"== {path} ({m['rows']} rows, {m['positives']} remove){suffix}")
    typer.echo(f"ROC-AUC {m['roc_auc']:.3f}  PR-AUC {m['pr_auc']:.3f}  Brier {m['brier']:.3f}")
    typer.echo(f"at threshold {m['threshold']:.3f}: precision {m['precision']:.3f}  "
               f"recall {m['recall']:.3f}  F1 {m['f1']:.3f}  flag rate {m['flag_rate']:.3f}")
    _echo_table(e.thresholds)


model_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                        help="Inspect model directories.")
app.add_typer(model_app, name="model")


@model_app.command("verify")
@user_errors
def model_verify(directory: Optional[Path] = typer.Argument(None, help="Model directory [default: the shipped default model].")):
    """Check that a model's file matches the sha256 in its card (without loading it)."""
    from .persist import default_model_path, is_pickle, verify_model

    card = verify_model(directory)
    typer.echo(f"OK {directory or default_model_path()}: sha256 {card.sha256}, "
               f"written with scikit-learn {card.versions.get('scikit-learn', '?')}, threshold {card.threshold:.4f}")
    if is_pickle(card):
        typer.echo(f"Warning: {card.file.name} is a pickle (moderation 0.1.0), which runs code when loaded: it loads "
                   "only with --trust-pickle; save it again to convert it to the safe skops format", err=True)


def main() -> None:
    app()


# -- review queue (moderation.queue) --
from .queue.cli import queue_app, users_app, serve  # noqa: E402
app.add_typer(queue_app, name="queue")
app.add_typer(users_app, name="users")
app.command()(serve)
