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
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import ModerationError

__all__ = ["table_format", "read_table", "iter_table", "require_columns", "TableWriter", "FORMATS"]

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


def _source(path: str | Path):
    if str(path) == STDIO:
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    p = Path(path)
    if not p.exists():
        raise ModerationError(f"no such file: {path}")
    if p.is_dir():
        raise ModerationError(f"{path} is a directory, not a table file")
    return p


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
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self.format = table_format(path)
        self.compress = self.path.lower().endswith(".gz")
        self._tmp: str | None = None
        self._handle = None
        self._parquet = None
        self._header_written = False
        self.rows = 0

    def __enter__(self):
        if self.path != STDIO:
            target = Path(self.path)
            if not target.parent.exists():
                raise ModerationError(f"output directory does not exist: {target.parent}")
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
                self._handle = open(self._tmp, "w", encoding="utf-8", newline="")
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
            if len(df):
                self._open_text().write(df.to_json(orient="records", lines=True, force_ascii=False)
                                        .rstrip("\n") + "\n")
            else:
                self._open_text()
        else:
            df.to_csv(self._open_text(), index=False, header=not self._header_written,
                      sep="\t" if self.format == "tsv" else ",", quoting=csv.QUOTE_MINIMAL)
            self._header_written = True
        self.rows += len(df)

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
                else:
                    try:
                        os.unlink(self._tmp)
                    except FileNotFoundError:
                        pass
        return False
