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

import gc
import itertools
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

from .errors import ModerationError, ParameterError, RunError, literal
from .io import (DEFAULT_READ, STDIO, ReadOptions, Reject, TableWriter, iter_records, os_reason, printable,
                 read_columns, require_file, resolve_columns, same_file, table_format)
from .model import MAX_TEXT_CHARS, Model
from .normalize import as_texts

__all__ = ["score_dump", "score_file", "score_frame", "Summary", "CHUNK_ROWS", "ENGINES", "default_rejects_path",
           "checkpoint_path", "check_score_options", "NOTE_CUT", "NOTE_NO_TEXT"]

CHUNK_ROWS = 5_000
ENGINES = ("local", "dask")
NOTE_CUT = f"scored on the first {MAX_TEXT_CHARS:,} characters"
NOTE_NO_TEXT = "no text field"
REJECT_COLUMNS = ["line", "reason", "raw"]
TAIL_BYTES = 1 << 16  # the end of a part file whose hash the checkpoint keeps



@dataclass
class Summary:
    """What a scoring run did: rows scored and rejected, flagged, empty texts, time taken."""

    rows: int = 0
    rejected: int = 0
    flagged: int = 0
    empty: int = 0
    replaced: int = 0  # rows with bytes that did not decode, replaced with U+FFFD
    seconds: float = 0.0
    threshold: float = 0.0
    rejects_path: str | None = None
    resumed_at: int = 0
    replaced_note: str = DEFAULT_READ.replaced_note
    empty_input: bool = False  # the input has no header and no record at all
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
        if self.replaced:
            text += f"; {self.replaced_note} in {self.replaced} row{'' if self.replaced == 1 else 's'}"
        if self.empty_input:
            text += "; the file is empty"
        if self.resumed_at:
            text += f"; resumed after {self.resumed_at} rows"
        if self.rejected:
            text += f"; rejects in {self.rejects_path}"
        return text

    def add(self, result: "Result") -> None:
        self.rows += result.scored
        self.rejected += len(result.rejects)
        self.flagged += result.flagged
        self.empty += result.empty
        self.replaced += result.replaced


def score_frame(model: Model, texts, ids, threshold: float, categories: bool = False,
                notes=None) -> pd.DataFrame:
    """The output rows for one chunk: id, score, flag, [category scores], reasons, note."""
    scored = model.score_table(texts, categories=categories)
    score = scored["score"].to_numpy()
    columns = {"id": ids, "score": np.round(score, 6), "flag": score >= threshold}
    columns.update((c, np.round(scored[c].to_numpy(), 6)) for c in scored.columns if c not in ("score", "reasons"))
    columns["reasons"] = scored["reasons"].to_numpy()
    columns["note"] = notes if notes is not None else ""
    return pd.DataFrame(columns)  # at once: inserting columns one by one costs more than a short chunk's scoring


def default_rejects_path(out_path: str | Path) -> str:
    """``OUT.rejects.csv`` beside the output (``rejects.csv`` when writing to standard output)."""
    return "rejects.csv" if str(out_path) == STDIO else f"{out_path}.rejects.csv"


def checkpoint_path(out_path: str | Path) -> Path:
    return Path(f"{out_path}.checkpoint.json")


@dataclass
class Work:
    """One chunk ready to score: texts, ids, kept columns, notes, and what was read with it."""

    texts: list[str]
    ids: np.ndarray
    kept: pd.DataFrame
    notes: list[str]
    rejects: list[Reject]
    replaced: int = 0
    fraction: float | None = None


@dataclass
class Result:
    """One scored chunk: the output rows and what the summary counts."""

    out: pd.DataFrame
    rejects: list[Reject]
    scored: int
    flagged: int
    empty: int
    replaced: int
    fraction: float | None


def _default_id(names: list[str]) -> str | None:
    """The ``id`` column, also as ``ID`` or ``Id`` when only one column is so named."""
    if "id" in names:
        return "id"
    folded = [n for n in names if n.casefold() == "id"]
    return folded[0] if len(folded) == 1 else None


def resolve_score_columns(columns, text_col: str, id_col: str | None, keep: list[str]) -> dict[str, str]:
    """The input's names for the text, id and kept columns (``io.resolve_columns``), ``id`` → the default id."""
    found = resolve_columns(columns, {"text_col": text_col, "id_col": id_col, "keep": keep})
    if not id_col:
        default = _default_id(columns.names)
        if default is not None:
            found["id"] = columns.key(default)
    return found


def prepare_chunks(chunks, source, text_col: str, id_col: str | None, keep: list[str], line_id_prefix: str = "",
                   read: ReadOptions = DEFAULT_READ, names: dict[str, str] | None = None):
    """A ``Work`` per ``io.Chunk`` read from ``source``.

    Column names are resolved once (``resolve_score_columns``) from the first
    chunk's columns, unless ``names`` gives them. Ids default to the ``id`` column,
    else the input line numbers (as strings after ``line_id_prefix`` when one is
    given). A JSONL record without the text field is scored as empty, noted.
    Shared by the local and the Dask engine, so both produce the same rows.
    """
    for chunk in chunks:
        frame = chunk.frame
        if chunk.columns is None and len(frame) == 0 and not chunk.rejects:
            return
        if names is None and chunk.columns is not None:
            names = resolve_score_columns(chunk.columns, text_col, id_col, keep)
        found = names or {}
        kept = pd.DataFrame({c: frame[found[c]].to_numpy() if found.get(c) in frame.columns else None
                             for c in keep}, index=range(len(frame)), columns=keep)
        if len(frame) == 0:
            yield Work([], np.array([], dtype=object), kept, [], chunk.rejects, 0, chunk.fraction)
            continue
        id_name = found.get(id_col) if id_col else found.get("id")
        if id_name is not None and id_name in frame.columns:
            ids = frame[id_name].to_numpy()
        elif line_id_prefix:
            ids = np.asarray([f"{line_id_prefix}{n}" for n in chunk.lines], dtype=object)
        else:
            ids = np.asarray(chunk.lines)
        text_name = found.get(text_col, text_col)
        present = frame[text_name] if text_name in frame.columns else pd.Series([None] * len(frame))
        texts = as_texts(present)
        absent = ([text_name not in f for f in chunk.fields] if chunk.fields is not None
                  else [text_name not in frame.columns] * len(frame))
        notes = [""] * len(texts)
        for i in _noted(texts, chunk.replaced, absent):
            notes[i] = "; ".join(n for n, on in ((read.replaced_note, chunk.replaced[i]), (NOTE_NO_TEXT, absent[i]),
                                                 (NOTE_CUT, len(texts[i]) > MAX_TEXT_CHARS)) if on)
        yield Work(texts, ids, kept, notes, chunk.rejects, sum(chunk.replaced), chunk.fraction)


def _noted(texts: list[str], replaced: list[bool], absent: list[bool]) -> list[int]:
    """The rows that get a note: bytes replaced, no text field, or a text cut."""
    if not any(replaced) and not any(absent) and max(map(len, texts), default=0) <= MAX_TEXT_CHARS:
        return []
    return [i for i, (t, bad, missing) in enumerate(zip(texts, replaced, absent))
            if bad or missing or len(t) > MAX_TEXT_CHARS]


# The model of a worker process, set once by the pool's initializer so it is not
# sent again with every chunk (with fork it is not pickled at all).
_worker_model: Model | None = None


def _init_worker(model: Model) -> None:
    global _worker_model
    _worker_model = model


def _run(model: Model, task) -> Result:
    """Score one chunk (a ``Work`` with the threshold, categories and whether to keep only flagged rows)."""
    work, threshold, categories, flagged_only = task
    out = score_frame(model, work.texts, work.ids, threshold, categories, work.notes)
    for c in work.kept.columns:
        if c not in out.columns:
            out[c] = work.kept[c].to_numpy()
    flagged = int(out["flag"].sum())
    scored = len(out)
    if flagged_only:
        out = out[out["flag"].to_numpy()].reset_index(drop=True)
    return Result(out, work.rejects, scored, flagged, sum(1 for t in work.texts if not t.strip()), work.replaced,
                  work.fraction)


def _work(task):
    return _run(_worker_model, task)


def _ordered_map(model: Model, tasks, jobs: int):
    """Score tasks on ``jobs`` processes, yielding results in task order.

    This process is one of them: while the oldest task sent to the ``jobs - 1``
    workers is not done, it scores the next task itself, so it is never idle
    and takes a smaller share when reading and writing keep it busy. A run
    takes one process fewer (and its memory) than it has jobs.
    """
    tasks = iter(tasks)
    first = list(itertools.islice(tasks, 2))
    tasks = itertools.chain(first, tasks)
    parallel = jobs > 1 and len(first) == 2  # one chunk: starting workers would take longer than it does
    fork = parallel and "fork" in mp.get_all_start_methods()
    if fork:
        model.warm_up()  # built once here, the forked workers share it instead of each building its own copy
    # The objects made so far (the model, the libraries) are left out of garbage collection while scoring:
    # the collector traversed them again and again (about 9% of the time), and forked workers keep sharing
    # their pages instead of the collector writing to them.
    gc.freeze()
    try:
        if not parallel:
            for task in tasks:
                yield _run(model, task)
        else:
            yield from _scored_here_and_there(model, tasks, jobs, mp.get_context("fork" if fork else "spawn"))
    finally:
        gc.unfreeze()


def _scored_here_and_there(model: Model, tasks, jobs: int, ctx):
    in_flight = 2 * (jobs - 1)  # tasks the workers have not finished: enough that none waits for the next
    most = 4 * jobs  # results held before the oldest must be waited for
    with ctx.Pool(jobs - 1, initializer=_init_worker, initargs=(model,)) as pool:
        pending: deque = deque()  # (scored here, result or AsyncResult), in task order
        remaining = iter(tasks)
        exhausted = False

        def take():
            nonlocal exhausted
            task = next(remaining, None)
            exhausted = task is None
            return task

        def unfinished() -> int:
            # counted by what the workers have finished, not by what was handed on: a finished result waits for
            # the older ones to be written, and counting it kept the workers idle (and this process scoring as
            # many tasks as they did, on top of reading and writing)
            return sum(1 for here, value in pending if not here and not value.ready())

        while True:
            while not exhausted and len(pending) < most and unfinished() < in_flight:
                task = take()
                if task is not None:
                    pending.append((False, pool.apply_async(_work, (task,))))
            if not pending:
                return
            here, value = pending[0]
            if here or value.ready():
                pending.popleft()
                yield value if here else value.get()
                continue
            task = take() if len(pending) < most else None
            if task is not None:
                pending.append((True, _run(model, task)))
            else:
                pending.popleft()
                yield value.get()


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
    try:
        tmp.write_text(json.dumps(data))
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise RunError(f"cannot write {path}: {os_reason(e)}") from None


def _resumable(input_path, out_path) -> bool:
    """Whether a run can be resumed: an input file and an output file of a format that can resume, not gzipped."""
    return str(input_path) != STDIO and TableWriter.can_resume(out_path)


def _discard(path: Path) -> None:
    """Remove ``path`` if it is there (on a read-only file system even a missing file cannot be unlinked)."""
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        if path.exists():
            raise


def _tail_hash(path: Path, size: int) -> str:
    """The sha256 of the ``TAIL_BYTES`` of ``path`` before offset ``size``."""
    import hashlib

    with open(path, "rb") as f:
        f.seek(max(0, size - TAIL_BYTES))
        return hashlib.sha256(f.read(size - max(0, size - TAIL_BYTES))).hexdigest()


def check_score_options(input_path, out_path, *, threshold: float | None = None, jobs: int | None = None,
                        chunk_rows: int = CHUNK_ROWS, resume: bool = False, rejects_path=None,
                        read: ReadOptions | None = None) -> None:
    """Refuse options that cannot work, before the model is loaded or anything is read."""
    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ParameterError(f"{{threshold}} must be between 0 and 1, got {threshold}", "threshold")
    if jobs is not None and jobs < 1:
        raise ParameterError("{jobs} must be at least 1", "jobs")
    if chunk_rows < 1:
        raise ParameterError("{chunk_rows} must be at least 1", "chunk_rows")
    if str(input_path) != STDIO and not (read and read.format):
        table_format(input_path)
    if str(input_path) != STDIO:
        require_file(input_path)
    table_format(out_path)
    rejects = str(rejects_path or default_rejects_path(out_path))
    table_format(rejects)
    if same_file(input_path, out_path):
        raise ParameterError(f"{{out_path}} {literal(out_path)} is the input file: scoring would replace it",
                             "out_path")
    if same_file(input_path, rejects):
        raise ParameterError(f"{{rejects_path}} {literal(rejects)} is the input file: scoring would replace it",
                             "rejects_path")
    if str(out_path) != STDIO and same_file(out_path, rejects):
        raise ParameterError(f"{{rejects_path}} {literal(rejects)} is also {{out_path}}: give them different files",
                             "rejects_path", "out_path")
    if resume and not _resumable(input_path, out_path):
        raise ParameterError("{resume} needs an input file and a CSV, TSV or JSONL output file (not gzipped)",
                             "resume")


def score_dump(model, input_path: str | Path, out_path: str | Path = "-", *, engine: str = "local",
               scheduler: str | None = None, workers: int | None = None, jobs: int | None = None,
               resume: bool = False, rejects_path: str | Path | None = None, queue: bool = False,
               db: str | None = None, text_col: str = "text", keep: list[str] | None = None,
               categories: bool = False, progress: Callable[[int, float | None], None] | None = None,
               echo: Callable[[str], None] | None = None, trust_pickle: bool = False, context=None,
               **options) -> Summary:
    """Score a comment dump on this machine (``engine="local"``) or on a Dask cluster (``"dask"``).

    ``model`` is a ``Model``, or a model directory (None: the shipped default),
    loaded only after every option has been checked (``trust_pickle`` as for
    ``load_model``). With ``queue``, the flagged rows are then loaded into the
    review queue ``db`` (the output keeps the text for that, the category scores
    when the model has them, and the columns of ``context``, a
    ``queue.context.ContextColumns``); ``Summary.queued`` says what that did.
    Other options go to ``score_file`` or, for Dask, ``distributed.score_partitions``.
    """
    if engine not in ENGINES:
        raise ParameterError(f"{{engine}} must be local or dask, not {printable(engine)}", "engine")
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

        return score_partitions(_model(model, trust_pickle), input_path, out_path, text_col=text_col, keep=keep,
                                categories=categories, scheduler=scheduler, workers=workers, progress=progress,
                                echo=echo, **options)
    if scheduler or workers is not None:
        raise ParameterError("{scheduler} and {workers} need {engine} dask", "scheduler", "workers", "engine")
    if queue and str(out_path) == STDIO:
        raise ParameterError("{queue} needs {out_path} FILE (the scored table is loaded from it)", "queue", "out_path")
    check_score_options(input_path, out_path, threshold=options.get("threshold"), jobs=jobs,
                        chunk_rows=options.get("chunk_rows", CHUNK_ROWS), resume=resume, rejects_path=rejects_path,
                        read=options.get("read"))
    m = _model(model, trust_pickle)
    if queue:
        from .queue.context import ContextColumns

        context = context or ContextColumns()
        found = _columns(input_path, options.get("read"))
        keep = list(dict.fromkeys([text_col] + keep + context.present(found)))
        categories = categories or bool(m.category_names)
    summary = score_file(m, input_path, out_path, text_col=text_col, keep=keep, categories=categories, jobs=jobs,
                         rejects_path=rejects_path, resume=resume, progress=progress, **options)
    if queue:
        from .queue import load_scored

        summary.queued = load_scored(out_path, db=db, model=m, text_col=text_col, context=context)
    return summary


def _columns(input_path, read: ReadOptions | None) -> list[str]:
    """The input's column names (none known for standard input, which cannot be read twice, or a file whose start
    cannot be read: scoring reports that)."""
    if str(input_path) == STDIO:
        return []
    try:
        columns = read_columns(input_path, read)
    except (OSError, ModerationError):
        return []
    return list(columns.names) if columns is not None else []


def _model(model, trust_pickle: bool = False):
    """The model to score with, loaded when given as a directory; the warnings its card records about its
    training data are repeated, since they bear on every score it gives."""
    if model is None or isinstance(model, (str, Path)):
        from .persist import load_model

        model = load_model(model, trust_pickle=trust_pickle)
    if model.card is not None:
        import warnings

        for warning in model.card.warnings:
            warnings.warn(f"the model was trained with a warning: {warning}", UserWarning, stacklevel=3)
    return model


def _read_checkpoint(checkpoint: Path) -> dict:
    """A checkpoint's state, or a one-line error when it is unreadable."""
    try:
        state = json.loads(checkpoint.read_text())
        for key, kind in (("chunks", int), ("rows", int), ("rejected", int), ("flagged", int), ("empty", int),
                          ("out_bytes", int), ("rejects_bytes", int), ("out_tail", str), ("rejects_tail", str)):
            if not isinstance(state[key], kind) or isinstance(state[key], bool):
                raise ValueError(f"{key} is {state[key]!r}")
        return state
    except (OSError, ValueError, KeyError, TypeError) as e:
        why = f"missing {e}" if isinstance(e, KeyError) else printable(str(e).splitlines()[0] if str(e) else e)
        raise ParameterError(f"cannot resume: the checkpoint {literal(checkpoint)} is unreadable "
                             f"({literal(why)}); delete it and start again without {{resume}}", "resume") from None


def _check_part(part: Path, size: int, tail: str, checkpoint: Path) -> None:
    """Refuse to resume when a part file is missing, shorter than the checkpoint says, or ends differently."""
    where = literal(str(part))
    if not part.is_file():
        raise ParameterError(f"cannot resume: the part file {where} is missing; start again without {{resume}}",
                             "resume")
    actual = part.stat().st_size
    if actual < size:
        raise ParameterError(f"cannot resume: the part file {where} has {actual} bytes, the checkpoint "
                             f"{literal(str(checkpoint))} says {size}; start again without {{resume}}", "resume")
    if _tail_hash(part, size) != tail:
        raise ParameterError(f"cannot resume: the part file {where} does not end as the checkpoint "
                             f"{literal(str(checkpoint))} says; start again without {{resume}}", "resume")


def score_file(model: Model, input_path: str | Path, out_path: str | Path = "-", *, text_col: str = "text",
               id_col: str | None = None, threshold: float | None = None, chunk_rows: int = CHUNK_ROWS,
               keep: list[str] | None = None, categories: bool = False, jobs: int | None = None,
               rejects_path: str | Path | None = None, resume: bool = False, flagged_only: bool = False,
               read: ReadOptions | None = None,
               progress: Callable[[int, float | None], None] | None = None) -> Summary:
    """Score every row of ``input_path``; write id, score, flag, reasons, note to ``out_path``.

    Rows come out in input order, whatever ``jobs`` (default: every core). The id is
    ``id_col`` (default: an ``id`` column if the input has one), else the input line
    number. ``keep`` names input columns to carry into the output (e.g. ``text``);
    ``categories`` adds a score per category; ``flagged_only`` writes only the
    flagged rows (all are still scored and counted). ``read`` says how to read the
    input (format, delimiter, encoding). Unreadable records go to ``rejects_path``
    (default ``OUT.rejects.csv``, written only when there are any). ``resume``
    continues a killed run from its checkpoint, after checking that the part files
    are as the checkpoint left them. ``progress`` is called after each chunk with
    the rows done and the fraction of the input read (None when unknown).
    """
    read = read or DEFAULT_READ
    check_score_options(input_path, out_path, threshold=threshold, jobs=jobs, chunk_rows=chunk_rows, resume=resume,
                        rejects_path=rejects_path, read=read)
    threshold_option = threshold
    threshold = model.threshold if threshold is None else float(threshold)
    if categories and not model.category_names:
        raise ModerationError("this model has no categories (train it on data with category labels)")
    jobs = default_jobs() if jobs is None else jobs
    keep = list(keep or [])
    rejects_path = str(rejects_path or default_rejects_path(out_path))
    resumable = _resumable(input_path, out_path)
    checkpoint = checkpoint_path(out_path)
    identity = {**(_input_identity(input_path) if resumable else {}),
                "model_sha256": model.card.sha256,
                "options": {"text_col": text_col, "id_col": id_col, "threshold": threshold_option,
                            "chunk_rows": chunk_rows, "keep": keep, "categories": categories, "rejects": rejects_path,
                            "flagged_only": flagged_only, "format": read.format, "sep": read.sep,
                            "encoding": read.encoding}}
    summary = Summary(threshold=threshold, rejects_path=rejects_path, replaced_note=read.replaced_note)
    state = None
    if resume and checkpoint.exists():
        state = _read_checkpoint(checkpoint)
        changed = [k for k in identity if state.get(k) != identity[k]]
        if changed:
            raise ParameterError(f"cannot resume: the {', '.join(changed)} changed since the checkpoint "
                                 f"{literal(str(checkpoint))}; start again without {{resume}}", "resume")
        _check_part(TableWriter.part_path(out_path), state["out_bytes"], state["out_tail"], checkpoint)
        _check_part(TableWriter.part_path(rejects_path), state["rejects_bytes"], state["rejects_tail"], checkpoint)
        for k in ("rows", "rejected", "flagged", "empty"):
            setattr(summary, k, state[k])
        summary.replaced = state.get("replaced", 0)
        summary.resumed_at = state["rows"]
    skip = state["chunks"] if state else 0
    start = time.perf_counter()
    seen = {"anything": False}

    def watched(chunks):
        for chunk in chunks:
            seen["anything"] = seen["anything"] or chunk.columns is not None or bool(chunk.rejects)
            yield chunk

    def tasks():
        chunks = watched(iter_records(input_path, chunk_rows=chunk_rows, options=read))
        for i, work in enumerate(prepare_chunks(chunks, input_path, text_col, id_col, keep, read=read)):
            if i < skip:
                continue
            yield work, threshold, categories, flagged_only

    try:
        with TableWriter(out_path, resumable=resumable,
                         resume_at=state["out_bytes"] if state else None) as writer, \
                TableWriter(rejects_path, resumable=resumable,
                            resume_at=state["rejects_bytes"] if state else None) as reject_writer:
            chunks = skip
            for result in _ordered_map(model, tasks(), jobs):
                writer.write(result.out)
                if result.rejects:
                    reject_writer.write(pd.DataFrame([(r.line, r.reason, r.raw) for r in result.rejects],
                                                     columns=REJECT_COLUMNS))
                chunks += 1
                summary.add(result)
                if resumable:
                    out_bytes, rejects_bytes = writer.sync(), reject_writer.sync()
                    _write_json_atomically(checkpoint, {
                        **identity, "chunks": chunks, "rows": summary.rows, "rejected": summary.rejected,
                        "flagged": summary.flagged, "empty": summary.empty, "replaced": summary.replaced,
                        "out_bytes": out_bytes, "rejects_bytes": rejects_bytes,
                        "out_tail": _tail_hash(TableWriter.part_path(out_path), out_bytes),
                        "rejects_tail": _tail_hash(TableWriter.part_path(rejects_path), rejects_bytes)})
                if progress:
                    progress(summary.rows, result.fraction)
            if chunks == 0:  # an empty input still gets a header (or a Parquet schema)
                empty_out = score_frame(model, [], np.array([], dtype=object), threshold, categories)
                for c in keep:
                    empty_out[c] = pd.Series(dtype=object)
                writer.write(empty_out)
    except Exception:  # an error is not an interruption: nothing is left to resume
        _discard(checkpoint)
        raise
    if summary.rejected == 0:
        _discard(Path(rejects_path))
    _discard(checkpoint)
    summary.empty_input = not seen["anything"] and not skip
    summary.seconds = time.perf_counter() - start
    return summary
