"""Reading and writing tables of comments: CSV, TSV, JSONL and Parquet, optionally gzipped.

The format follows the file name's extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``,
``.parquet``, each optionally ``.gz`` except Parquet); ``-`` is CSV on standard
input or output. Scoring reads in chunks (``iter_table``) so a dump larger than
memory works; output is written to a temporary file beside the target and renamed
into place when complete (``TableWriter``), so a killed run never leaves a
truncated file that looks finished.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import ModerationError

__all__ = ["table_format", "read_table", "iter_table", "iter_records", "require_columns", "TableWriter",
           "Chunk", "Reject", "FORMATS"]

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
           ".parquet": "parquet", ".pq": "parquet"}
STDIO = "-"


def table_format(path: str | Path) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet`` from the file name; ``-`` is CSV."""
    name = str(path).lower()
    if name == STDIO:
        return "csv"
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = os.path.splitext(name)[1]
    if suffix not in FORMATS:
        known = ", ".join(sorted(set(FORMATS)))
        raise ModerationError(f"unknown table format for {path} (use one of {known}, optionally .gz)")
    return FORMATS[suffix]


def _csv_options(fmt: str) -> dict:
    # Every column as text, and "NA"/"null" kept as the comment someone wrote.
    return {"sep": "\t" if fmt == "tsv" else ",", "dtype": str, "keep_default_na": False,
            "encoding": "utf-8", "encoding_errors": "replace"}


def require_file(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line error if it is missing or a directory."""
    p = Path(path)
    if not p.exists():
        raise ModerationError(f"no such file: {path}")
    if p.is_dir():
        raise ModerationError(f"{path} is a directory, not a table file")
    return p


def _source(path: str | Path):
    if str(path) == STDIO:
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return require_file(path)


def _read_error(path, e: Exception) -> ModerationError:
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return ModerationError(f"cannot read {path}: {message}")


def iter_table(path: str | Path, chunksize: int = 10_000, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
    """The table at ``path`` in chunks of up to ``chunksize`` rows (an empty table yields one empty frame)."""
    fmt = table_format(path)
    source = _source(path)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            pf = pq.ParquetFile(source)
            yielded = False
            for batch in pf.iter_batches(batch_size=chunksize, columns=columns):
                yielded = True
                yield batch.to_pandas()
            if not yielded:
                yield pf.schema_arrow.empty_table().to_pandas()
            return
        if fmt == "jsonl":
            reader = pd.read_json(source, lines=True, chunksize=chunksize, dtype=False,
                                  compression="infer" if source is not None and not hasattr(source, "read") else None,
                                  encoding_errors="replace")
        else:
            reader = pd.read_csv(source, chunksize=chunksize, **_csv_options(fmt))
        with reader:
            yielded = False
            for chunk in reader:
                yielded = True
                yield chunk if columns is None else chunk[columns]
            if not yielded:
                yield pd.DataFrame()
    except ModerationError:
        raise
    except pd.errors.EmptyDataError:
        yield pd.DataFrame()
    except (ValueError, OSError, EOFError, pd.errors.ParserError, UnicodeDecodeError, KeyError) as e:
        raise _read_error(path, e) from None
    except Exception as e:  # pyarrow raises its own error types
        if type(e).__module__.startswith("pyarrow"):
            raise _read_error(path, e) from None
        raise


def read_table(path: str | Path) -> pd.DataFrame:
    """The whole table at ``path`` (for training and evaluation, which need all rows at once)."""
    chunks = list(iter_table(path, chunksize=200_000))
    return chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)


def require_columns(df: pd.DataFrame, columns: list[str], path: str | Path) -> None:
    """Raise a one-line error naming the missing columns and the ones that exist."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        have = ", ".join(map(str, df.columns)) or "none"
        raise ModerationError(f"{path}: no column {', '.join(missing)} (columns: {have})")


class TableWriter:
    """Writes chunks of rows to a table file, atomically: a temporary file is renamed on ``close``.

    Use as a context manager; if the block raises, the temporary file is removed
    and the target left untouched. ``-`` writes CSV to standard output.

    A ``resumable`` writer (CSV, TSV or JSONL, not gzipped) writes to a fixed
    ``.NAME.part`` beside the target and keeps it when interrupted (Ctrl-C, or a
    killed process, but not an error); ``sync()`` makes
    what was written durable and returns its size, and ``resume_at`` reopens the
    part file cut back to such a size, to continue a killed run.
    """

    def __init__(self, path: str | Path, *, resumable: bool = False, resume_at: int | None = None):
        self.path = str(path)
        self.format = table_format(path)
        self.compress = self.path.lower().endswith(".gz")
        if resumable and (self.path == STDIO or self.compress or self.format == "parquet"):
            raise ModerationError("resuming needs a CSV, TSV or JSONL output file that is not gzipped")
        self.resumable = resumable
        self.resume_at = resume_at
        self._tmp: str | None = None
        self._handle = None
        self._parquet = None
        self._header_written = bool(resume_at)
        self.rows = 0

    @staticmethod
    def part_path(path: str | Path) -> Path:
        """Where a resumable writer keeps the output until it is complete."""
        target = Path(path)
        return target.parent / f".{target.name}.part"

    def __enter__(self):
        if self.path != STDIO:
            target = Path(self.path)
            if not target.parent.exists():
                raise ModerationError(f"output directory does not exist: {target.parent}")
            if self.resumable:
                self._tmp = str(self.part_path(target))
                if self.resume_at is None:
                    open(self._tmp, "wb").close()
                else:
                    with open(self._tmp, "r+b") as f:
                        f.truncate(self.resume_at)
            else:
                fd, self._tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
                os.close(fd)
        return self

    def _open_text(self):
        if self._handle is None:
            if self._tmp is None:
                self._handle = sys.stdout
            elif self.compress:
                import gzip

                self._handle = gzip.open(self._tmp, "wt", encoding="utf-8", newline="")
            else:
                self._handle = open(self._tmp, "a" if self.resumable else "w", encoding="utf-8", newline="")
        return self._handle

    def write(self, df: pd.DataFrame) -> None:
        """Append ``df``'s rows (the first chunk fixes the columns)."""
        if self.format == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(df, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._tmp or sys.stdout.buffer, table.schema)
            else:
                table = table.cast(self._parquet.schema)
            self._parquet.write_table(table)
        elif self.format == "jsonl":
            handle = self._open_text()
            if len(df):
                handle.write(df.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n") + "\n")
        else:
            df.to_csv(self._open_text(), index=False, header=not self._header_written,
                      sep="\t" if self.format == "tsv" else ",", quoting=csv.QUOTE_MINIMAL)
            self._header_written = True
        self.rows += len(df)

    def sync(self) -> int:
        """Flush what was written to disk; the part file's size in bytes."""
        handle = self._open_text()
        handle.flush()
        os.fsync(handle.fileno())
        return handle.tell()

    def __exit__(self, exc_type, exc, tb):
        try:
            if self._parquet is not None:
                self._parquet.close()
            if self._handle is not None and self._handle is not sys.stdout:
                self._handle.close()
            elif self._handle is sys.stdout:
                sys.stdout.flush()
        finally:
            if self._tmp is not None:
                if exc_type is None:
                    os.replace(self._tmp, self.path)
                elif not (self.resumable and issubclass(exc_type, KeyboardInterrupt)):
                    try:
                        os.unlink(self._tmp)
                    except FileNotFoundError:
                        pass
        return False


# -- reading every row, accounting for the ones that cannot be read -----------------------------

MAX_REJECT_RAW = 100_000  # characters of a rejected record kept in the rejects file
_SURROGATES = re.compile("[\udc80-\udcff]")


@dataclass
class Reject:
    """An input record that could not be read: where it was, why, and what it held."""

    line: int
    reason: str
    raw: str


@dataclass
class Chunk:
    """Up to ``chunk_rows`` readable rows, where they were in the input, and what was rejected before them."""

    frame: pd.DataFrame
    lines: list[int]
    replaced: list[bool]  # invalid UTF-8 in the row was replaced with U+FFFD
    rejects: list[Reject] = field(default_factory=list)


def _binary_source(path: str | Path):
    if str(path) == STDIO:
        return sys.stdin.buffer
    p = _source(path)
    if str(p).lower().endswith(".gz"):
        import gzip

        return gzip.open(p, "rb")
    return open(p, "rb")


def _fix_utf8(values: list[str]) -> tuple[list[str], bool]:
    """Replace undecodable bytes (kept as surrogate escapes) with U+FFFD."""
    if not any(_SURROGATES.search(v) for v in values):
        return values, False
    return [_SURROGATES.sub("\ufffd", v) for v in values], True


_STREAM_ERRORS = (EOFError, OSError, zlib.error)


def _raw(lines: list[str]) -> str:
    """A rejected record's raw content for the rejects file: capped, undecodable bytes replaced."""
    return _SURROGATES.sub("\ufffd", "".join(lines)[:MAX_REJECT_RAW])


def _csv_chunks(stream, delimiter: str, chunk_rows: int, path) -> Iterator[Chunk]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline="")
    consumed: list[str] = []

    def lines():
        for line in text:
            consumed.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    csv.field_size_limit(1 << 30)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise ModerationError(f"cannot read {path}: malformed header: {e}") from None
    except _STREAM_ERRORS as e:
        raise _read_error(path, e) from None
    if header is None:
        yield Chunk(pd.DataFrame(), [], [])
        return
    header, _ = _fix_utf8(header)
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    replaced: list[bool] = []
    rejects: list[Reject] = []
    while True:
        line = reader.line_num + 1
        consumed.clear()
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            rejects.append(Reject(line, f"malformed CSV: {e}", _raw(consumed)))
            continue
        except _STREAM_ERRORS as e:
            rejects.append(Reject(line, f"input ends early: {e}", _raw(consumed)))
            break
        if not row:
            continue  # a blank line holds no record
        if len(row) != width:
            rejects.append(Reject(line, f"expected {width} fields, found {len(row)}",
                                  _raw(consumed)))
            continue
        row, fixed = _fix_utf8(row)
        rows.append(row)
        numbers.append(line)
        replaced.append(fixed)
        if len(rows) >= chunk_rows:
            yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), numbers, replaced, rejects)
            rows, numbers, replaced, rejects = [], [], [], []
    yield Chunk(pd.DataFrame(rows, columns=header, dtype=object), numbers, replaced, rejects)


def _jsonl_chunks(stream, chunk_rows: int) -> Iterator[Chunk]:
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="surrogateescape", newline=None)
    records: list[dict] = []
    numbers: list[int] = []
    replaced: list[bool] = []
    rejects: list[Reject] = []
    line = 0
    while True:
        try:
            raw = next(text, None)
        except _STREAM_ERRORS as e:
            rejects.append(Reject(line + 1, f"input ends early: {e}", ""))
            break
        if raw is None:
            break
        line += 1
        if not raw.strip():
            continue
        fixed_raw, fixed = _fix_utf8([raw])
        try:
            record = json.loads(fixed_raw[0])
        except ValueError as e:
            rejects.append(Reject(line, f"malformed JSON: {e}", _raw([raw])))
            continue
        if not isinstance(record, dict):
            rejects.append(Reject(line, f"not a JSON object: {type(record).__name__}", _raw([raw])))
            continue
        records.append(record)
        numbers.append(line)
        replaced.append(fixed)
        if len(records) >= chunk_rows:
            yield Chunk(pd.DataFrame.from_records(records), numbers, replaced, rejects)
            records, numbers, replaced, rejects = [], [], [], []
    yield Chunk(pd.DataFrame.from_records(records) if records else pd.DataFrame(), numbers, replaced, rejects)


def iter_records(path: str | Path, chunk_rows: int = 10_000) -> Iterator[Chunk]:
    """Every record of the table at ``path`` in chunks, with line numbers, accounting for bad records.

    Unlike ``iter_table``, a record that cannot be read (malformed CSV quoting, a
    row with the wrong number of fields, a broken JSON line, the end of a truncated
    gzip) does not stop the read: it is returned in ``Chunk.rejects`` with its line
    number, the reason and its raw content. Invalid UTF-8 is replaced with U+FFFD
    and the row marked in ``Chunk.replaced``. Values are read as text (CSV) or as
    stored (JSONL, Parquet).
    """
    fmt = table_format(path)
    if fmt == "parquet":
        done = 0
        for frame in iter_table(path, chunksize=chunk_rows):
            yield Chunk(frame, list(range(done + 1, done + len(frame) + 1)), [False] * len(frame))
            done += len(frame)
        return
    stream = _binary_source(path)
    try:
        if fmt == "jsonl":
            yield from _jsonl_chunks(stream, chunk_rows)
        else:
            yield from _csv_chunks(stream, "\t" if fmt == "tsv" else ",", chunk_rows, path)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
