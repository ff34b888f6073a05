"""Batch scoring of comment dumps: every input row scored in order or accounted for as a reject.

``score_file`` reads the input in chunks (``io.iter_records``), scores them on one
or more processes, and writes each row to the output, or, when it cannot be read,
to the rejects file with its line number, the reason and its raw content, so
that ``read = scored + rejected`` always holds. Output goes to a part file beside
the target, renamed into place when complete; for CSV, TSV and JSONL outputs a
checkpoint beside it records progress after every chunk, so a killed run can be
continued with ``resume=True``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .errors import ModerationError, ParameterError
from .io import STDIO, Reject, TableWriter, iter_records, iter_table, require_columns, require_file, table_format
from .model import MAX_TEXT_CHARS, Model
from .normalize import as_texts

__all__ = ["score_dump", "score_file", "score_frame", "Summary", "CHUNK_ROWS", "ENGINES", "default_rejects_path",
           "checkpoint_path", "check_score_options"]

CHUNK_ROWS = 5_000
ENGINES = ("local", "dask")
NOTE_REPLACED = "invalid UTF-8 replaced"
NOTE_CUT = f"scored on the first {MAX_TEXT_CHARS:,} characters"
REJECT_COLUMNS = ["line", "reason", "raw"]


@dataclass
class Summary:
    """What a scoring run did: rows scored and rejected, flagged, empty texts, time taken."""

    rows: int = 0
    rejected: int = 0
    flagged: int = 0
    empty: int = 0
    seconds: float = 0.0
    threshold: float = 0.0
    rejects_path: str | None = None
    resumed_at: int = 0
    queued: object | None = None  # what loading the flagged rows into the review queue did (an AddResult)

    @property
    def read(self) -> int:
        return self.rows + self.rejected

    @property
    def flag_rate(self) -> float:
        return self.flagged / self.rows if self.rows else 0.0

    @property
    def rows_per_second(self) -> float:
        return (self.rows - self.resumed_at) / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        text = (f"read {self.read} = scored {self.rows} + rejected {self.rejected}; "
                f"{self.flagged} flagged ({100 * self.flag_rate:.1f}%) at threshold {self.threshold:.3f}; "
                f"{self.empty} empty; {self.seconds:.1f} s ({self.rows_per_second:,.0f} rows/s)")
        if self.resumed_at:
            text += f"; resumed after {self.resumed_at} rows"
        if self.rejected:
            text += f"; rejects in {self.rejects_path}"
        return text


def score_frame(model: Model, texts, ids, threshold: float, categories: bool = False,
                notes=None) -> pd.DataFrame:
    """The output rows for one chunk: id, score, flag, [category scores], reasons, note."""
    scored = model.score_table(texts, categories=categories)
    out = pd.DataFrame({"id": ids, "score": np.round(scored["score"].to_numpy(), 6),
                        "flag": scored["score"].to_numpy() >= threshold})
    for c in scored.columns:
        if c not in ("score", "reasons"):
            out[c] = np.round(scored[c].to_numpy(), 6)
    out["reasons"] = scored["reasons"].to_numpy()
    out["note"] = notes if notes is not None else ""
    return out


def default_rejects_path(out_path: str | Path) -> str:
    """``OUT.rejects.csv`` beside the output (``rejects.csv`` when writing to standard output)."""
    return "rejects.csv" if str(out_path) == STDIO else f"{out_path}.rejects.csv"


def checkpoint_path(out_path: str | Path) -> Path:
    return Path(f"{out_path}.checkpoint.json")


def prepare_chunks(chunks, source, text_col: str, id_col: str | None, keep: list[str], line_id_prefix: str = ""):
    """(texts, ids, kept columns, notes, rejects) per ``io.Chunk`` read from ``source``.

    Ids default to the ``id`` column, else the input line numbers (as strings after
    ``line_id_prefix`` when one is given). Shared by the local and the Dask engine,
    so both produce the same rows.
    """
    for chunk in chunks:
        frame = chunk.frame
        if frame.shape[1] == 0 and len(frame) == 0 and not chunk.rejects:
            return
        if frame.shape[1] or len(frame):
            require_columns(frame, [text_col] + ([id_col] if id_col else []) + keep, source)
        if len(frame) == 0:
            yield [], np.array([], dtype=object), frame.reindex(columns=keep), [], chunk.rejects
            continue
        if id_col:
            ids = frame[id_col].to_numpy()
        elif "id" in frame.columns:
            ids = frame["id"].to_numpy()
        elif line_id_prefix:
            ids = np.asarray([f"{line_id_prefix}{n}" for n in chunk.lines], dtype=object)
        else:
            ids = np.asarray(chunk.lines)
        texts = as_texts(frame[text_col])
        notes = ["; ".join(n for n, on in ((NOTE_REPLACED, bad), (NOTE_CUT, len(t) > MAX_TEXT_CHARS)) if on)
                 for t, bad in zip(texts, chunk.replaced)]
        yield texts, ids, frame[keep].reset_index(drop=True), notes, chunk.rejects


# The model of a worker process, set once by the pool's initializer so it is not
# sent again with every chunk (with fork it is not pickled at all).
_worker_model: Model | None = None


def _init_worker(model: Model) -> None:
    global _worker_model
    _worker_model = model


def _run(model: Model, task) -> tuple[pd.DataFrame, list[Reject], int]:
    """Score one chunk: its output rows, its rejects and how many of its texts were empty."""
    texts, ids, kept, notes, rejects, threshold, categories = task
    out = score_frame(model, texts, ids, threshold, categories, notes)
    for c in kept.columns:
        if c not in out.columns:
            out[c] = kept[c].to_numpy()
    return out, rejects, sum(1 for t in texts if not t.strip())


def _work(task):
    return _run(_worker_model, task)


def _ordered_map(model: Model, tasks, jobs: int):
    """Score tasks on ``jobs`` processes, yielding results in task order, at most 2×jobs in flight."""
    if jobs <= 1:
        for task in tasks:
            yield _run(model, task)
        return
    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(jobs, initializer=_init_worker, initargs=(model,)) as pool:
        pending: deque = deque()
        for task in tasks:
            pending.append(pool.apply_async(_work, (task,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def default_jobs() -> int:
    """Every core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _input_identity(input_path) -> dict:
    st = Path(input_path).stat()
    return {"input": str(Path(input_path).resolve()), "input_size": st.st_size, "input_mtime_ns": st.st_mtime_ns}


def _write_json_atomically(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _resumable(input_path, out_path) -> bool:
    """Whether a run can be resumed: an input file and a CSV, TSV or JSONL output file, not gzipped."""
    return (str(out_path) != STDIO and str(input_path) != STDIO and not str(out_path).lower().endswith(".gz")
            and table_format(out_path) != "parquet")


def check_score_options(input_path, out_path, *, threshold: float | None = None, jobs: int | None = None,
                        chunk_rows: int = CHUNK_ROWS, resume: bool = False) -> None:
    """Refuse options that cannot work, before the model is loaded or anything is read."""
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ParameterError(f"{{threshold}} must be between 0 and 1, got {threshold}", "threshold")
    if jobs is not None and jobs < 1:
        raise ParameterError("{jobs} must be at least 1", "jobs")
    if chunk_rows < 1:
        raise ParameterError("{chunk_rows} must be at least 1", "chunk_rows")
    table_format(input_path)
    if str(input_path) != STDIO:
        require_file(input_path)
    table_format(out_path)
    if resume and not _resumable(input_path, out_path):
        raise ParameterError("{resume} needs an input file and a CSV, TSV or JSONL output file (not gzipped)",
                             "resume")


def score_dump(model, input_path: str | Path, out_path: str | Path = "-", *, engine: str = "local",
               scheduler: str | None = None, workers: int | None = None, jobs: int | None = None,
               resume: bool = False, rejects_path: str | Path | None = None, queue: bool = False,
               db: str | None = None, text_col: str = "text", keep: list[str] | None = None,
               categories: bool = False, progress: Callable[[int], None] | None = None,
               echo: Callable[[str], None] | None = None, context=None, **options) -> Summary:
    """Score a comment dump on this machine (``engine="local"``) or on a Dask cluster (``"dask"``).

    ``model`` is a ``Model``, or a model directory (None: the shipped default),
    loaded only after every option has been checked. With ``queue``, the flagged
    rows are then loaded into the review queue ``db`` (the output keeps the text
    for that, the category scores when the model has them, and the columns of
    ``context``, a ``queue.context.ContextColumns``); ``Summary.queued`` says what that did. Other options go to ``score_file`` or, for Dask,
    ``distributed.score_partitions``.
    """
    if engine not in ENGINES:
        raise ParameterError(f"{{engine}} must be local or dask, not {engine}", "engine")
    threshold = options.get("threshold")
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ParameterError(f"{{threshold}} must be between 0 and 1, got {threshold}", "threshold")
    keep = list(keep or [])
    if engine == "dask":
        if str(out_path) == STDIO or resume or queue or jobs is not None or rejects_path:
            raise ParameterError("{engine} dask needs {out_path} DIR and takes no {resume}, {queue}, {jobs} "
                                 "or {rejects_path}", "engine", "out_path", "resume", "queue", "jobs", "rejects_path")
        if workers is not None and workers < 1:
            raise ParameterError("{workers} must be at least 1", "workers")
        if scheduler and workers:
            raise ParameterError("give {scheduler} ADDRESS or {workers} N, not both", "scheduler", "workers")
        from .distributed import score_partitions

        return score_partitions(_model(model), input_path, out_path, text_col=text_col, keep=keep,
                                categories=categories, scheduler=scheduler, workers=workers, progress=progress,
                                echo=echo, **options)
    if scheduler or workers is not None:
        raise ParameterError("{scheduler} and {workers} need {engine} dask", "scheduler", "workers", "engine")
    if queue and str(out_path) == STDIO:
        raise ParameterError("{queue} needs {out_path} FILE (the scored table is loaded from it)", "queue", "out_path")
    check_score_options(input_path, out_path, threshold=options.get("threshold"), jobs=jobs,
                        chunk_rows=options.get("chunk_rows", CHUNK_ROWS), resume=resume)
    m = _model(model)
    if queue:
        from .queue.context import ContextColumns

        context = context or ContextColumns()
        found = _columns(input_path)
        keep = list(dict.fromkeys([text_col] + keep + context.present(found)))
        categories = categories or bool(m.categories)
    summary = score_file(m, input_path, out_path, text_col=text_col, keep=keep, categories=categories, jobs=jobs,
                         rejects_path=rejects_path, resume=resume, progress=progress, **options)
    if queue:
        from .queue import load_scored

        summary.queued = load_scored(out_path, db=db, model=m, text_col=text_col, context=context)
    return summary


def _columns(input_path) -> list[str]:
    """The input's column names (none known for standard input, which cannot be read twice, or a file whose first
    rows cannot be read: scoring reports those)."""
    if str(input_path) == STDIO:
        return []
    first = iter_table(input_path, chunksize=1)
    try:
        return [str(c) for c in next(first).columns]
    except (ValueError, OSError, StopIteration, ModerationError):
        return []
    finally:
        first.close()


def _model(model):
    if model is None or isinstance(model, (str, Path)):
        from .persist import load_model

        return load_model(model)
    return model


def score_file(model: Model, input_path: str | Path, out_path: str | Path = "-", *, text_col: str = "text",
               id_col: str | None = None, threshold: float | None = None, chunk_rows: int = CHUNK_ROWS,
               keep: list[str] | None = None, categories: bool = False, jobs: int | None = None,
               rejects_path: str | Path | None = None, resume: bool = False,
               progress: Callable[[int], None] | None = None) -> Summary:
    """Score every row of ``input_path``; write id, score, flag, reasons, note to ``out_path``.

    Rows come out in input order, whatever ``jobs`` (default: every core). The id is
    ``id_col`` (default: an ``id`` column if the input has one), else the input line
    number. ``keep`` names input columns to carry into the output (e.g. ``text``);
    ``categories`` adds a score per category. Unreadable records go to
    ``rejects_path`` (default ``OUT.rejects.csv``, written only when there are any).
    ``resume`` continues a killed run from its checkpoint. ``progress`` is called
    with the number of rows done after each chunk.
    """
    check_score_options(input_path, out_path, threshold=threshold, jobs=jobs, chunk_rows=chunk_rows, resume=resume)
    threshold_option = threshold
    threshold = model.threshold if threshold is None else float(threshold)
    if categories and not model.categories:
        raise ModerationError("this model has no categories (train it on data with category labels)")
    jobs = default_jobs() if jobs is None else jobs
    keep = list(keep or [])
    rejects_path = str(rejects_path or default_rejects_path(out_path))
    resumable = _resumable(input_path, out_path)
    checkpoint = checkpoint_path(out_path)
    identity = {**(_input_identity(input_path) if resumable else {}),
                "model_sha256": model.card.sha256,
                "options": {"text_col": text_col, "id_col": id_col, "threshold": threshold_option, "chunk_rows": chunk_rows,
                            "keep": keep, "categories": categories, "rejects": rejects_path}}
    summary = Summary(threshold=threshold, rejects_path=rejects_path)
    state = None
    if resume and checkpoint.exists():
        state = json.loads(checkpoint.read_text())
        changed = [k for k in identity if state.get(k) != identity[k]]
        if changed:
            raise ModerationError(f"cannot resume: the {', '.join(changed)} changed since the checkpoint "
                                  f"{checkpoint}; start again without --resume")
        for k in ("rows", "rejected", "flagged", "empty"):
            setattr(summary, k, state[k])
        summary.resumed_at = state["rows"]
    skip = state["chunks"] if state else 0
    start = time.perf_counter()

    def tasks():
        chunks = iter_records(input_path, chunk_rows=chunk_rows)
        for i, (texts, ids, kept, notes, rejects) in enumerate(prepare_chunks(chunks, input_path, text_col, id_col,
                                                                               keep)):
            if i < skip:
                continue
            yield texts, ids, kept, notes, rejects, threshold, categories

    try:
        with TableWriter(out_path, resumable=resumable,
                         resume_at=state["out_bytes"] if state else None) as writer, \
                TableWriter(rejects_path, resumable=resumable,
                            resume_at=state["rejects_bytes"] if state else None) as reject_writer:
            chunks = skip
            for out, rejects, empty in _ordered_map(model, tasks(), jobs):
                writer.write(out)
                if rejects:
                    reject_writer.write(pd.DataFrame([(r.line, r.reason, r.raw) for r in rejects],
                                                     columns=REJECT_COLUMNS))
                chunks += 1
                summary.rows += len(out)
                summary.rejected += len(rejects)
                summary.flagged += int(out["flag"].sum())
                summary.empty += empty
                if resumable:
                    _write_json_atomically(checkpoint, {**identity, "chunks": chunks, "rows": summary.rows,
                                                        "rejected": summary.rejected, "flagged": summary.flagged,
                                                        "empty": summary.empty, "out_bytes": writer.sync(),
                                                        "rejects_bytes": reject_writer.sync()})
                if progress:
                    progress(summary.rows)
            if chunks == 0:  # an empty input still gets a header (or a Parquet schema)
                empty_out = score_frame(model, [], np.array([], dtype=object), threshold, categories)
                for c in keep:
                    empty_out[c] = pd.Series(dtype=object)
                writer.write(empty_out)
    except Exception:  # an error is not an interruption: nothing is left to resume
        checkpoint.unlink(missing_ok=True)
        raise
    if summary.rejected == 0:
        Path(rejects_path).unlink(missing_ok=True)
    checkpoint.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - start
    return summary
