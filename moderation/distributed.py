"""The Dask engine: score a dump partitioned over a Dask cluster, one Parquet part per input partition.

``score_partitions`` takes a directory or glob of Parquet, CSV, TSV or JSONL files
(optionally gzipped, except Parquet), or one file. Each file is a partition; an
uncompressed text file larger than ``blocksize`` bytes is split into blocks at
record boundaries (a newline outside double quotes), and a Parquet file larger
than ``blocksize`` into groups of row groups. Every partition is scored on a
worker with exactly the code of the local engine (``moderation.batch``), so the
rows, ids, scores, flags, reasons and notes are identical to what
``moderation score FILE`` writes for the same file, and written to
``OUT_DIR/part.N.parquet`` (N counts partitions in input order). Rows that cannot
be read go to ``OUT_DIR/rejects.csv`` (file, line, reason, raw); ``_partitions.json``
lists where each part came from.

Ids: the ``--id-col`` column, else an ``id`` column if there is one, else the
row's line number in its input file (its row number for Parquet), counted as the
local engine counts them, also for a file split into blocks. With several input
files, line numbers repeat, so such ids name the file too: ``dir/a.csv:17``
(the path relative to the files' common directory).

Splitting assumes the CSV quotes as the standard says: a double quote inside an
unquoted field (``a,b"c``) is read literally by the local engine but makes the
split point finder think a quoted field started. Such a file is still scored
completely, but the rows around a block boundary may be read differently from
the local engine (e.g. rejected). Use a larger ``blocksize`` (or ``--engine
local``) for such files.

The model is scattered to every worker once (``Client.scatter(broadcast=True)``)
and each task receives a reference to it, not a copy. Dask itself is an optional
extra: ``pip install "moderation[dask]"``.
"""

from __future__ import annotations

import dataclasses
import glob as globmod
import io
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .batch import CHUNK_ROWS, REJECT_COLUMNS, Summary, _run, resolve_score_columns, score_frame
from .errors import ModerationError, ParameterError
from .io import DEFAULT_READ, FORMATS, CountingReader, ReadOptions, Reject, TableWriter, read_columns, table_format

__all__ = ["score_partitions", "list_partitions", "Partition", "DEFAULT_BLOCKSIZE"]

DEFAULT_BLOCKSIZE = 64 * 2 ** 20
_HEADER_LIMIT = 1 << 20  # a CSV header longer than this is not split (the file is one partition)


@dataclass(frozen=True)
class Partition:
    """One unit of work: a file, or a byte range of one (text) or a range of row groups (Parquet).

    ``line_offset`` is added to the line numbers the local reader gives the rows of
    the range read on its own (for CSV: with the file's header in front of it).
    """

    path: str
    fmt: str
    start: int = 0
    stop: int | None = None  # exclusive byte offset (text) or row group (Parquet); None: to the end
    header: bytes = b""  # CSV/TSV: the header record, put in front of a range not starting at 0
    line_offset: int = 0
    id_prefix: str = ""  # put before line-number ids ("dir/a.csv:") when the input has several files

    def describe(self) -> dict:
        return {"path": self.path, "format": self.fmt, "start": self.start, "stop": self.stop,
                "line_offset": self.line_offset, "id_prefix": self.id_prefix}


# -- listing and splitting the input ------------------------------------------------------------

def _natural_key(path: str):
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", path)]


def _input_files(input) -> list[str]:
    text = str(input)
    if any(c in text for c in "*?["):
        files = [f for f in globmod.glob(text) if os.path.isfile(f)]
        if not files:
            raise ModerationError(f"no files match {text}")
    elif os.path.isdir(text):
        files = []
        for f in os.listdir(text):
            full = os.path.join(text, f)
            if f.startswith((".", "_")) or not os.path.isfile(full):
                continue
            try:
                table_format(f)
            except ModerationError:
                continue
            files.append(full)
        if not files:
            raise ModerationError(f"no CSV, TSV, JSONL or Parquet files in directory {text}")
    elif os.path.isfile(text):
        files = [text]
    else:
        raise ModerationError(f"no such file or directory: {text}")
    for f in files:
        table_format(f)  # a one-line error for an unknown format
    return sorted(files, key=_natural_key)


def _line_ends(data: bytes) -> int:
    """Line terminators in ``data`` as Python's universal newlines count them (``\\n``, ``\\r\\n``, ``\\r``)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def _boundaries(block: np.ndarray, quoted: bool, parity: int) -> tuple[np.ndarray, int]:
    """Offsets just after each newline of ``block`` that ends a record; the quote parity after it."""
    newlines = np.flatnonzero(block == 10)
    if not quoted:
        return newlines + 1, parity
    quotes = np.flatnonzero(block == 34)
    before = np.searchsorted(quotes, newlines) + parity  # quotes since the start of the file
    return newlines[before % 2 == 0] + 1, (parity + quotes.size) % 2


def _split_text(path: str, fmt: str, blocksize: int) -> list[Partition]:
    """Byte ranges of about ``blocksize`` ending at record boundaries, with their line offsets."""
    size = os.path.getsize(path)
    quoted = fmt in ("csv", "tsv")
    with open(path, "rb") as f:
        header, header_end = b"", 0
        if quoted:
            head = f.read(min(size, _HEADER_LIMIT))
            cuts, _ = _boundaries(np.frombuffer(head, dtype=np.uint8), True, 0)
            if not cuts.size:
                return [Partition(path, fmt)]
            header_end = int(cuts[0])
            header = head[:header_end]
        ranges = []  # (start, stop, line terminators before start)
        start, lines_before = header_end, _line_ends(header)
        pos, parity, counted = header_end, 0, header_end  # counted: bytes whose line ends are in lines_before
        f.seek(pos)
        pending = b""  # bytes read since ``counted`` (lines not yet added)
        while pos < size:
            data = f.read(blocksize)
            if not data:
                break
            cuts, parity_after = _boundaries(np.frombuffer(data, dtype=np.uint8), quoted, parity)
            pending += data
            pos += len(data)
            parity = parity_after
            cut = int(cuts[-1]) + pos - len(data) if cuts.size else None
            if cut is not None and cut > start and cut < size:
                piece = pending[:cut - counted]
                ranges.append((start, cut, lines_before))
                lines_before += _line_ends(piece)
                pending = pending[cut - counted:]
                counted = start = cut
        ranges.append((start, size, lines_before))
    if len(ranges) == 1 and ranges[0][0] == header_end:
        return [Partition(path, fmt)]
    parts = []
    for i, (a, b, before) in enumerate(ranges):
        if i == 0:  # the first range starts with the header: read it as the whole file's start
            parts.append(Partition(path, fmt, 0, b, b"", 0))
        elif quoted:  # read as header + range: its first line is local line h + 1, global line before + 1
            parts.append(Partition(path, fmt, a, b, header, before - _line_ends(header)))
        else:
            parts.append(Partition(path, fmt, a, b, b"", before))
    return parts


def _split_parquet(path: str, blocksize: int) -> list[Partition]:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(path).metadata
    except Exception as e:
        raise ModerationError(f"cannot read {path}: {str(e).strip().splitlines()[0] if str(e).strip() else e}") from None
    groups, size, start, rows_before, rows = [], 0, 0, 0, 0
    for g in range(meta.num_row_groups):
        rg = meta.row_group(g)
        size += rg.total_byte_size
        rows += rg.num_rows
        if size >= blocksize and g + 1 < meta.num_row_groups:
            groups.append(Partition(path, "parquet", start, g + 1, b"", rows_before))
            start, size, rows_before = g + 1, 0, rows_before + rows
            rows = 0
    if not groups:
        return [Partition(path, "parquet")]
    groups.append(Partition(path, "parquet", start, meta.num_row_groups, b"", rows_before))
    return groups


def _splittable(read: ReadOptions) -> bool:
    """Whether a text file can be split at its bytes: newlines and quotes are single ASCII bytes."""
    return "\n\"".encode(read.encoding, errors="replace") == b"\n\""


def list_partitions(input, blocksize: int = DEFAULT_BLOCKSIZE, read: ReadOptions | None = None
                    ) -> list[Partition]:
    """The partitions of ``input`` (a directory, a glob or a file), in input order."""
    if blocksize < 1:
        raise ModerationError("the block size must be at least 1 byte")
    read = read or DEFAULT_READ
    parts = []
    files = _input_files(input)
    base = os.path.commonpath([os.path.abspath(f) for f in files]) if len(files) > 1 else None
    for path in files:
        fmt = table_format(path)
        if fmt == "parquet":
            pieces = _split_parquet(path, blocksize)
        elif path.lower().endswith(".gz") or os.path.getsize(path) <= blocksize or not _splittable(read):
            pieces = [Partition(path, fmt)]
        else:
            pieces = _split_text(path, fmt, blocksize)
        if base is not None:  # line numbers repeat across files: say which file
            prefix = os.path.relpath(os.path.abspath(path), base) + ":"
            pieces = [dataclasses.replace(p, id_prefix=prefix) for p in pieces]
        parts.extend(pieces)
    return parts


# -- reading one partition (on a worker) ------------------------------------------------------------

class _ByteRange:
    """Bytes ``[start, stop)`` of a file, read with ``read(n)``."""

    def __init__(self, path: str, start: int, stop: int):
        self._f = open(path, "rb")
        self._f.seek(start)
        self._left = stop - start

    def read(self, n: int) -> bytes:
        data = self._f.read(max(0, min(n, self._left)))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._f.close()


def _partition_chunks(part: Partition, chunk_rows: int, read: ReadOptions):
    """The local reader's chunks of one partition, with line numbers as in the whole file."""
    from . import io as mio

    if part.stop is None:
        yield from mio.iter_records(part.path, chunk_rows=chunk_rows, options=read)
        return
    fmt = FORMATS[part.fmt]
    if not fmt.text:
        with open(part.path, "rb") as f:
            yield from fmt.records(f, read, chunk_rows, part.path, row_groups=list(range(part.start, part.stop)),
                                   first_row=part.line_offset)
        return
    stream = io.BufferedReader(CountingReader(_ByteRange(part.path, part.start, part.stop), part.header), 1 << 20)
    try:
        off = part.line_offset
        for c in fmt.records(stream, read, chunk_rows, part.path):
            if off:
                c.lines = [n + off for n in c.lines]
                c.rejects = [Reject(r.line + off, r.reason, r.raw) for r in c.rejects]
            yield c
    finally:
        stream.close()


def _tasks(part: Partition, text_col, id_col, keep, threshold, categories, chunk_rows, read, names, flagged_only):
    """What ``batch._run`` scores, per chunk of the partition (as the local engine prepares it)."""
    from .batch import prepare_chunks

    for work in prepare_chunks(_partition_chunks(part, chunk_rows, read), part.path, text_col, id_col, keep,
                               line_id_prefix=part.id_prefix, read=read, names=names):
        yield work, threshold, categories, flagged_only


def _score_partition(model, part: Partition, out_path: str, text_col, id_col, keep, threshold, categories,
                     chunk_rows, read=DEFAULT_READ, names=None, flagged_only=False) -> dict:
    """Score one partition into ``out_path`` (Parquet); what it did, and its rejects."""
    import pandas as pd

    rows = flagged = empty = replaced = 0
    rejects: list[Reject] = []
    started = time.perf_counter()
    try:
        with TableWriter(out_path) as writer:
            wrote = False
            for task in _tasks(part, text_col, id_col, keep, threshold, categories, chunk_rows, read, names,
                               flagged_only):
                result = _run(model, task)
                rejects.extend(result.rejects)
                if len(result.out) or not wrote:
                    writer.write(result.out)
                    wrote = True
                rows += result.scored
                flagged += result.flagged
                empty += result.empty
                replaced += result.replaced
            if not wrote:
                out = score_frame(model, [], np.array([], dtype=object), threshold, categories)
                for c in keep:
                    out[c] = pd.Series(dtype=object)
                writer.write(out)
    except ModerationError as e:
        return {"error": str(e)}
    return {"rows": rows, "flagged": flagged, "empty": empty, "replaced": replaced,
            "seconds": time.perf_counter() - started, "rejects": [(part.path, r.line, r.reason, r.raw) for r in rejects]}


# -- the driver ------------------------------------------------------------------------------------

def _import_dask():
    from .extras import require

    require("dask", "dask", "the Dask engine")
    distributed = require("distributed", "dask", "the Dask engine")
    return distributed.Client, distributed.LocalCluster, distributed.as_completed


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ParameterError(f"{{out_path}} must be a directory for the Dask engine, not a file: {out_dir}", "out_path")
    if not out_dir.parent.exists():
        raise ModerationError(f"output directory does not exist: {out_dir.parent}")
    out_dir.mkdir(exist_ok=True)
    ours = re.compile(r"(part\.\d+\.parquet|rejects\.csv|_partitions\.json)")
    others = [p.name for p in out_dir.iterdir() if not ours.fullmatch(p.name)]
    if others:
        raise ModerationError(f"{out_dir} holds other files ({', '.join(sorted(others)[:3])}); "
                              "give an empty or new directory")
    for p in out_dir.iterdir():  # a previous run's output
        p.unlink()


def score_partitions(model, input, out_dir, *, text_col: str = "text", id_col: str | None = None,
                     threshold: float | None = None, keep: list[str] | None = None, categories: bool = False,
                     scheduler: str | None = None, workers: int | None = None,
                     blocksize: int = DEFAULT_BLOCKSIZE, chunk_rows: int = CHUNK_ROWS,
                     flagged_only: bool = False, read: ReadOptions | None = None,
                     progress: Callable[[int, float | None], None] | None = None,
                     echo: Callable[[str], None] | None = None) -> Summary:
    """Score every partition of ``input`` on a Dask cluster into ``out_dir/part.N.parquet``.

    ``scheduler`` is the address of a running cluster (``tcp://host:8786``);
    otherwise a ``LocalCluster`` of ``workers`` processes (default: every core) is
    started on loopback and stopped at the end. Each file's columns are checked
    before any partition is scored. Returns the run's ``Summary`` (its
    ``rejects_path`` is ``out_dir/rejects.csv``, written only when needed);
    ``echo`` receives a line about the cluster and the partitions; ``progress``
    the rows done and the fraction of partitions done.
    """
    from .batch import default_jobs

    if threshold is not None and not 0.0 <= float(threshold) <= 1.0:
        raise ParameterError(f"{{threshold}} must be between 0 and 1, got {threshold}", "threshold")
    threshold = model.threshold if threshold is None else float(threshold)
    if categories and not model.category_names:
        raise ModerationError("this model has no categories (train it on data with category labels)")
    if scheduler and workers:
        raise ParameterError("give {scheduler} ADDRESS or {workers} N, not both", "scheduler", "workers")
    if workers is not None and workers < 1:
        raise ParameterError("{workers} must be at least 1", "workers")
    if chunk_rows < 1:
        raise ParameterError("{chunk_rows} must be at least 1", "chunk_rows")
    keep = list(keep or [])
    read = read or DEFAULT_READ
    Client, LocalCluster, as_completed = _import_dask()
    parts = list_partitions(input, blocksize, read)
    names = {}  # per file: the resolved column names, so that every partition of a file reads the same ones
    for path in dict.fromkeys(p.path for p in parts):
        columns = read_columns(path, read)
        names[path] = resolve_score_columns(columns, text_col, id_col, keep) if columns is not None else None
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir)
    rejects_path = out_dir / "rejects.csv"
    summary = Summary(threshold=threshold, rejects_path=str(rejects_path), replaced_note=read.replaced_note)
    start = time.perf_counter()

    cluster = None
    try:
        if scheduler:
            try:
                client = Client(scheduler)
            except (OSError, TimeoutError) as e:
                raise ModerationError(f"cannot connect to the Dask scheduler at {scheduler}: "
                                      f"{str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"
                                      ) from None
        else:
            import logging

            cluster = LocalCluster(n_workers=workers or default_jobs(), threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1", silence_logs=logging.ERROR)
            client = Client(cluster)
        with client:
            n_workers = len(client.scheduler_info().get("workers", {}))
            if echo:
                echo(f"{len(parts)} partitions on {n_workers} Dask workers ({client.scheduler.address})")
            shipped = client.scatter(model, broadcast=True)  # once per worker, not per partition
            futures = [client.submit(_score_partition, shipped, part, str(out_dir / f"part.{i}.parquet"),
                                     text_col, id_col, keep, threshold, categories, chunk_rows, read,
                                     names[part.path], flagged_only,
                                     key=f"moderation-score-{i}-{os.getpid()}-{time.time_ns()}", pure=False)
                       for i, part in enumerate(parts)]
            results: list[dict | None] = [None] * len(parts)
            index = {f.key: i for i, f in enumerate(futures)}
            for future in as_completed(futures):
                result = future.result()
                if "error" in result:
                    client.cancel(futures)
                    raise ModerationError(result["error"])
                results[index[future.key]] = result
                summary.rows += result["rows"]
                summary.flagged += result["flagged"]
                summary.empty += result["empty"]
                summary.replaced += result["replaced"]
                summary.rejected += len(result["rejects"])
                if progress:
                    progress(summary.rows, sum(r is not None for r in results) / len(parts))
    except Exception:
        for p in out_dir.glob("part.*.parquet"):
            p.unlink(missing_ok=True)
        raise
    finally:
        if cluster is not None:
            cluster.close()
    if summary.rejected:
        import pandas as pd

        with TableWriter(rejects_path) as writer:
            for result in results:
                if result["rejects"]:
                    writer.write(pd.DataFrame(result["rejects"], columns=["file"] + REJECT_COLUMNS))
    (out_dir / "_partitions.json").write_text(json.dumps(
        [{"part": f"part.{i}.parquet", **p.describe(), "rows": r["rows"]} for i, (p, r) in
         enumerate(zip(parts, results))], indent=1) + "\n")
    summary.seconds = time.perf_counter() - start
    return summary
