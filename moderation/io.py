"""Reading and writing tables of comments: one registry of formats (CSV, TSV, JSONL, Parquet, gzipped or not).

``FORMATS`` maps each format's name to a ``Format``, which declares how to read
its records with rejects (``records``), the whole table (``read_all``), how to
write it (``writer``), and whether a killed write can be resumed. Everything that
reads or writes a table goes through it: training and evaluation read whole tables
(``read_table``), scoring reads chunks of records, accounting for the ones that
cannot be read (``iter_records``), the Dask engine reads byte ranges of a file
with the same readers, and ``TableWriter`` writes every output.

How an input is read (``ReadOptions``): the format follows the file name's
extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``/``.json``, ``.parquet``/``.pq``,
each optionally ``.gz`` except Parquet), or ``ReadOptions.format``; standard input
(``-``) is sniffed (gzip, Parquet, JSON lines, else CSV). Text is decoded as
``ReadOptions.encoding`` (UTF-8 by default, a byte-order mark skipped); bytes that
do not decode are replaced with U+FFFD and the row marked. A CSV file's delimiter
is its format's own (``,`` or tab) when the header line contains it, else whichever
of ``,`` ``;`` tab ``|`` the header line holds most, or ``ReadOptions.sep``.

Output is written to a temporary file beside the target and renamed into place
when complete, so a killed run never leaves a truncated file that looks finished.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import errno
import gzip
import io
import itertools
import json
import os
import re
import shlex
import sys
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pandas as pd

from .errors import ModerationError, ParameterError, RunError, literal, printable

__all__ = ["table_format", "read_table", "read_whole", "iter_table", "iter_records", "read_columns", "require_columns",
           "resolve_columns", "TableWriter", "Chunk", "Reject", "Columns", "ReadOptions", "Format", "FORMATS",
           "printable", "require_file", "same_file", "CountingReader", "STDIO"]

STDIO = "-"
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
JSONL_SAMPLE = 1_000  # readable records of a JSONL file whose fields are its columns
MAX_REJECT_RAW = 100_000  # characters of a rejected record kept in the rejects file
_SNIFF_BYTES = 1 << 16
_SURROGATES = re.compile("[\udc80-\udcff]")
_STREAM_ERRORS = (EOFError, OSError, zlib.error)



# -- options ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadOptions:
    """How to read an input: its ``format`` when the name does not say (standard input), the CSV
    delimiter ``sep`` (default: detected from the header line), the text ``encoding``."""

    format: str | None = None
    sep: str | None = None
    encoding: str = "utf-8"

    def __post_init__(self):
        if self.format is not None and self.format not in FORMATS:
            raise ParameterError(f"{{format}} must be one of {', '.join(FORMATS)}, not {printable(self.format)}",
                                 "format")
        if self.sep is not None and (len(self.sep) != 1 or self.sep in '"\r\n'):
            raise ParameterError(f"{{sep}} must be one character other than a quote or a newline, not "
                                 f"{printable(repr(self.sep))}", "sep")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ParameterError(f"{{encoding}} {printable(self.encoding)} is not an encoding Python knows "
                                 "(e.g. utf-8, cp1252, latin-1, utf-16)", "encoding") from None

    @property
    def utf8(self) -> bool:
        return codecs.lookup(self.encoding).name in ("utf-8", "utf-8-sig")

    @property
    def text_encoding(self) -> str:
        """The codec to decode with: UTF-8 skips a byte-order mark."""
        return "utf-8-sig" if self.utf8 else self.encoding

    @property
    def replaced_note(self) -> str:
        """The note of a row whose bytes did not decode."""
        return "invalid UTF-8 replaced" if self.utf8 else f"bytes invalid in {self.encoding} replaced"


def parse_sep(value: str | None) -> str | None:
    """A delimiter as typed on a command line: ``,`` ``;`` ``|``, or ``tab`` / ``\\t`` for a tab."""
    if value is None:
        return None
    return {"tab": "\t", "\\t": "\t", "TAB": "\t"}.get(value, value)


# -- what was read ------------------------------------------------------------------------------------

@dataclass
class Reject:
    """An input record that could not be read: where it was, why, and what it held."""

    line: int
    reason: str
    raw: str


@dataclass
class Columns:
    """The columns of an input (a CSV header, the fields of a JSONL file's first records, a Parquet schema).

    ``other_delimiter`` is a delimiter the header line seems to use instead of
    the one it was read with (named when a column is missing).
    """

    names: list[str]
    where: str
    other_delimiter: str | None = None

    def key(self, name: str) -> str:
        """The frame's name for column ``name`` (repeated header names are numbered as pandas does)."""
        return _unique(self.names)[self.names.index(name)]


@dataclass
class Chunk:
    """Up to ``chunk_rows`` readable rows, where they were in the input, and what was rejected before them.

    ``columns`` is None for an input without a header or a readable record;
    ``fields`` (JSONL) holds each row's own field names, as rows may lack some;
    ``fraction`` is how much of the input has been read (None when unknown).
    """

    frame: pd.DataFrame
    lines: list[int]
    replaced: list[bool]  # bytes in the row did not decode and were replaced with U+FFFD
    rejects: list[Reject] = field(default_factory=list)
    columns: Columns | None = None
    fields: list[set] | None = None
    fraction: float | None = None


def _fix_text(values: list[str]) -> tuple[list[str], bool]:
    """Replace undecodable bytes (kept as surrogate escapes) with U+FFFD."""
    if not any(_SURROGATES.search(v) for v in values):
        return values, False
    return [_SURROGATES.sub("\ufffd", v) for v in values], True


def _raw(lines: list[str]) -> str:
    """A rejected record's raw content for the rejects file: capped, undecodable bytes replaced."""
    return _SURROGATES.sub("\ufffd", "".join(lines)[:MAX_REJECT_RAW])


def _read_error(path, e: Exception) -> ModerationError:
    message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return ModerationError(f"cannot read {path}: {printable(message)}")


def _unique(names: list[str]) -> list[str]:
    """Column names made unique as pandas does (``a``, ``a.1``), so a frame can hold them."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            new = f"{name}.{seen[name]}"
            while new in seen:
                seen[name] += 1
                new = f"{name}.{seen[name]}"
            seen[new] = 0
            out.append(new)
        else:
            seen[name] = 0
            out.append(name)
    return out


# -- the formats ----------------------------------------------------------------------------------------

class Format:
    """One table format: its readers, its writer, and whether a killed write of it can be resumed."""

    name: str = ""
    suffixes: tuple[str, ...] = ()
    gzip = True  # may be gzipped (``NAME.gz``)
    resumable = True  # append-only text: a killed write can be cut back to a checkpoint and continued
    text = True  # read as a text stream (a Parquet file needs a seekable file instead)

    def records(self, stream, options: ReadOptions, chunk_rows: int, where) -> Iterator[Chunk]:
        """Every record of ``stream`` (binary) in chunks, unreadable ones as rejects."""
        raise NotImplementedError

    def columns(self, stream, options: ReadOptions, where) -> Columns | None:
        """The columns, without reading the whole input."""
        for chunk in self.records(stream, options, JSONL_SAMPLE, where):
            return chunk.columns
        return None

    def read_all(self, stream, options: ReadOptions, where) -> tuple[pd.DataFrame, Columns]:
        """The whole table and its columns; a record that cannot be read is refused on one line, never dropped."""
        frames, columns = [], None
        for chunk in self.records(stream, options, 200_000, where):
            if chunk.rejects:
                r = chunk.rejects[0]
                raise ModerationError(f"cannot read {where}: line {r.line}: {printable(r.reason)} "
                                      "(every record must be readable to train or evaluate on a file)")
            columns = chunk.columns or columns
            frames.append(chunk.frame)
        if columns is None:
            raise ModerationError(f"{where}: the file is empty")
        frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return frame, columns

    def writer(self, handle, header: bool):
        """A writer of data frames to the open text ``handle`` (``header``: write the column names first)."""
        return _TextWriter(self, handle, header)

    def write_frame(self, df: pd.DataFrame, handle, header: bool) -> None:
        raise NotImplementedError


class DelimitedFormat(Format):
    """CSV and TSV: a header line, then one record per line (quoted fields may hold newlines)."""

    def __init__(self, name: str, delimiter: str, suffixes: tuple[str, ...]):
        self.name, self.delimiter, self.suffixes = name, delimiter, suffixes

    def records(self, stream, options: ReadOptions, chunk_rows: int, where) -> Iterator[Chunk]:
        text = io.TextIOWrapper(stream, encoding=options.text_encoding, errors="surrogateescape", newline="")
        consumed: list[str] = []
        escaped = [False]  # whether a line of the current record holds undecodable bytes

        def lines():
            for line in text:
                consumed.append(line)
                if not line.isascii() and _SURROGATES.search(line):
                    escaped[0] = True
                yield line

        source = lines()
        csv.field_size_limit(1 << 30)
        try:
            first = next(source, None)
            skipped = 0
            while first is not None and not first.strip("\r\n"):  # blank lines before the header
                skipped += 1
                first = next(source, None)
        except _STREAM_ERRORS as e:
            raise _read_error(where, e) from None
        if first is None:
            yield Chunk(pd.DataFrame(), [], [])
            return
        header_line, _ = _fix_text([first])
        delimiter = options.sep or sniff_delimiter(header_line[0], self.delimiter)
        reader = csv.reader(itertools.chain([first], source), delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except csv.Error as e:
            raise ModerationError(f"cannot read {where}: malformed header: {printable(e)}") from None
        except _STREAM_ERRORS as e:
            raise _read_error(where, e) from None
        header, _ = _fix_text(header)
        columns = Columns(header, str(where), _other_delimiter(header_line[0], delimiter))
        names = _unique(header)
        width = len(header)
        base = skipped  # reader.line_num counts from the header line
        rows: list[list[str]] = []
        numbers: list[int] = []
        replaced: list[bool] = []
        rejects: list[Reject] = []
        while True:
            line = base + reader.line_num + 1
            consumed.clear()
            escaped[0] = False
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
                rejects.append(Reject(line, f"expected {width} fields, found {len(row)}", _raw(consumed)))
                continue
            # a record's fields come from its lines: only one with undecodable bytes can need fixing
            row, fixed = _fix_text(row) if escaped[0] else (row, False)
            rows.append(row)
            numbers.append(line)
            replaced.append(fixed)
            if len(rows) >= chunk_rows:
                yield Chunk(pd.DataFrame(rows, columns=names, dtype=object), numbers, replaced, rejects, columns)
                rows, numbers, replaced, rejects = [], [], [], []
        yield Chunk(pd.DataFrame(rows, columns=names, dtype=object), numbers, replaced, rejects, columns)

    def write_frame(self, df, handle, header: bool) -> None:
        df.to_csv(handle, index=False, header=header, sep=self.delimiter, quoting=csv.QUOTE_MINIMAL)


class JsonLinesFormat(Format):
    """JSON lines: one JSON object per line. A file's columns are the fields of its first
    ``JSONL_SAMPLE`` readable records; a record without one of them holds it as missing."""

    name, suffixes = "jsonl", (".jsonl", ".ndjson", ".json")

    @staticmethod
    def _items(text) -> Iterator[tuple[int, dict | None, Reject | None, bool]]:
        """(line, record, reject, replaced) per non-blank line; an early end of the input ends it with a reject."""
        line = 0
        while True:
            try:
                raw = next(text, None)
            except _STREAM_ERRORS as e:
                yield line + 1, None, Reject(line + 1, f"input ends early: {e}", ""), False
                return
            if raw is None:
                return
            line += 1
            if not raw.strip():
                continue
            fixed_raw, fixed = _fix_text([raw])
            try:
                record = json.loads(fixed_raw[0])
            except ValueError as e:
                yield line, None, Reject(line, f"malformed JSON: {e}", _raw([raw])), False
                continue
            if not isinstance(record, dict):
                yield line, None, Reject(line, f"not a JSON object: {type(record).__name__}", _raw([raw])), False
                continue
            yield line, record, None, fixed

    def records(self, stream, options: ReadOptions, chunk_rows: int, where) -> Iterator[Chunk]:
        text = io.TextIOWrapper(stream, encoding=options.text_encoding, errors="surrogateescape", newline=None)
        items = self._items(text)
        head, known, readable = [], {}, 0
        for item in items:
            head.append(item)
            if item[1] is not None:
                known.update(dict.fromkeys(item[1]))
                readable += 1
                if readable >= JSONL_SAMPLE:
                    break
        if not head:
            yield Chunk(pd.DataFrame(), [], [])
            return
        columns = Columns([str(k) for k in known], str(where)) if readable else None
        records, numbers, replaced, fields, rejects = [], [], [], [], []

        def chunk():
            frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
            if columns is not None:
                frame = frame.reindex(columns=list(known) + [c for c in frame.columns if c not in known])
            return Chunk(frame, numbers, replaced, rejects, columns, fields)

        for line, record, reject, fixed in itertools.chain(head, items):
            if reject is not None:
                rejects.append(reject)
                continue
            records.append(record)
            numbers.append(line)
            replaced.append(fixed)
            fields.append(set(record))
            if len(records) >= chunk_rows:
                yield chunk()
                records, numbers, replaced, fields, rejects = [], [], [], [], []
        yield chunk()

    def write_frame(self, df, handle, header: bool) -> None:
        if len(df):
            handle.write(df.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n") + "\n")


class ParquetFormat(Format):
    """Parquet: typed columns in row groups; read from a seekable file, never resumed or gzipped."""

    name, suffixes, gzip, resumable, text = "parquet", (".parquet", ".pq"), False, False, False

    def _file(self, source, where):
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(source)
        except Exception as e:  # pyarrow raises its own error types
            raise _read_error(where, e) from None

    def records(self, stream, options: ReadOptions, chunk_rows: int, where, row_groups=None,
                first_row: int = 0) -> Iterator[Chunk]:
        pf = self._file(stream, where)
        schema = pf.schema_arrow
        columns = Columns(list(schema.names), str(where))
        total = pf.metadata.num_rows or 1
        done = first_row
        yielded = False
        try:
            for batch in pf.iter_batches(batch_size=chunk_rows, row_groups=row_groups):
                frame = batch.to_pandas()
                yielded = True
                yield Chunk(frame, list(range(done + 1, done + len(frame) + 1)), [False] * len(frame), [],
                            columns, None, min(1.0, (done + len(frame)) / total))
                done += len(frame)
        except Exception as e:
            if type(e).__module__.startswith("pyarrow") or isinstance(e, OSError):
                raise _read_error(where, e) from None
            raise
        if not yielded:
            yield Chunk(schema.empty_table().to_pandas(), [], [], [], columns, None, 1.0)

    def columns(self, stream, options, where) -> Columns:
        return Columns(list(self._file(stream, where).schema_arrow.names), str(where))

    def read_all(self, stream, options, where) -> tuple[pd.DataFrame, Columns]:
        pf = self._file(stream, where)
        try:
            return pf.read().to_pandas(), Columns(list(pf.schema_arrow.names), str(where))
        except Exception as e:
            if type(e).__module__.startswith("pyarrow") or isinstance(e, OSError):
                raise _read_error(where, e) from None
            raise

    def writer(self, target, header: bool):
        return _ParquetWriter(target)


FORMATS: dict[str, Format] = {f.name: f for f in (
    DelimitedFormat("csv", ",", (".csv",)), DelimitedFormat("tsv", "\t", (".tsv",)), JsonLinesFormat(),
    ParquetFormat())}
_SUFFIXES = {suffix: f for f in FORMATS.values() for suffix in f.suffixes}
DEFAULT_READ = ReadOptions()


def _delimiter_counts(line: str) -> dict[str, int]:
    """How often each of ``,`` ``;`` tab ``|`` occurs in a header line, outside double quotes."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    return counts


def sniff_delimiter(line: str, default: str) -> str:
    """The delimiter of a CSV header line: ``default`` when the line holds it, else whichever of
    ``,`` ``;`` tab ``|`` it holds most, else ``default``."""
    counts = _delimiter_counts(line)
    if counts.get(default):
        return default
    best = max(counts, key=counts.get)
    return best if counts[best] else default


def _other_delimiter(line: str, used: str) -> str | None:
    """A delimiter the header line holds at least as often as the one it was read with, if any."""
    counts = _delimiter_counts(line)
    others = [d for d in DELIMITERS if d != used and counts[d] and counts[d] >= counts.get(used, 0)]
    return max(others, key=counts.get) if others else None


def _format_of_name(path: str | Path) -> tuple[Format, bool]:
    """The format a file's name says, and whether it is gzipped; a one-line error if it says none."""
    name = str(path).lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[:-3]
    fmt = _SUFFIXES.get(os.path.splitext(name)[1])
    if fmt is None or (gzipped and not fmt.gzip):
        known = ", ".join(sorted(_SUFFIXES))
        raise ModerationError(f"unknown table format for {path} (use one of {known}, optionally .gz except "
                              "Parquet)")
    return fmt, gzipped


def table_format(path: str | Path) -> str:
    """``csv``, ``tsv``, ``jsonl`` or ``parquet`` from the file name; ``-`` is CSV."""
    if str(path) == STDIO:
        return "csv"
    return _format_of_name(path)[0].name


def require_file(path: str | Path) -> Path:
    """``path`` as a Path, or a one-line error if it is missing or a directory."""
    p = Path(path)
    if not p.exists():
        raise ModerationError(f"no such file: {path}")
    if p.is_dir():
        raise ModerationError(f"{path} is a directory, not a table file")
    return p


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file (``-``, standard input or output, is never the same file)."""
    if STDIO in (str(a), str(b)):
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


# -- opening an input ---------------------------------------------------------------------------------------

class CountingReader(io.RawIOBase):
    """A raw binary stream over ``raw`` (anything with ``read(n)``) that gives back ``prefix`` first (what
    sniffing read, or a CSV header in front of a byte range) and counts the bytes it passes on."""

    def __init__(self, raw, prefix: bytes = b""):
        self._raw = raw
        self._prefix = prefix
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        if self._prefix:
            n = min(len(view), len(self._prefix))
            view[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            data = self._raw.read(len(view)) or b""
            n = len(data)
            view[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        if self._raw is not sys.stdin.buffer:
            self._raw.close()
        super().close()


def _read_head(stream) -> bytes:
    """Up to ``_SNIFF_BYTES`` from the start of ``stream`` (fewer only at its end)."""
    parts, size = [], 0
    while size < _SNIFF_BYTES:
        data = stream.read(_SNIFF_BYTES - size)
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def _sniff(head: bytes, options: ReadOptions) -> Format:
    """The format of standard input from its first bytes: Parquet, JSON lines, else CSV."""
    if head.startswith(b"PAR1"):
        return FORMATS["parquet"]
    text = head.decode(options.text_encoding, errors="replace").lstrip("\ufeff \t\r\n")
    return FORMATS["jsonl" if text.startswith("{") else "csv"]


@dataclass
class _Input:
    """An opened input: its format, a binary stream of its (decompressed) bytes, and its size for progress."""

    fmt: Format
    stream: object
    counter: CountingReader
    size: int | None

    def fraction(self) -> float | None:
        return min(1.0, self.counter.count / self.size) if self.size else None

    def close(self) -> None:
        self.stream.close()  # a GzipFile leaves the file it reads open
        self.counter.close()


def _open(path: str | Path, options: ReadOptions) -> _Input:
    """Open ``path`` (``-``: standard input) for reading in the format its name, ``options`` or its bytes say."""
    if str(path) == STDIO:
        counter = CountingReader(sys.stdin.buffer)
        head = _read_head(counter)
        stream = io.BufferedReader(CountingReader(counter, head), 1 << 16)
        if head.startswith(b"\x1f\x8b"):
            unpacked = gzip.GzipFile(fileobj=stream, mode="rb")
            head = _read_head(unpacked)
            stream = io.BufferedReader(CountingReader(unpacked, head), 1 << 16)
        fmt = FORMATS[options.format] if options.format else _sniff(head, options)
        if not fmt.text:  # Parquet needs a seekable file: standard input is read into memory
            stream = io.BytesIO(stream.read())
        return _Input(fmt, stream, counter, None)
    p = require_file(path)
    if options.format:
        fmt, gzipped = FORMATS[options.format], str(path).lower().endswith(".gz")
    else:
        fmt, gzipped = _format_of_name(path)
    try:
        raw = open(p, "rb")
    except OSError as e:
        raise ModerationError(f"cannot read {path}: {e.strerror}") from None
    counter = CountingReader(raw)
    if not fmt.text:
        return _Input(fmt, raw, counter, os.path.getsize(p))
    stream = io.BufferedReader(counter, 1 << 16)
    if gzipped:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    return _Input(fmt, stream, counter, os.path.getsize(p))


def iter_records(path: str | Path, chunk_rows: int = 10_000, options: ReadOptions | None = None
                 ) -> Iterator[Chunk]:
    """Every record of the table at ``path`` in chunks, with line numbers, accounting for bad records.

    A record that cannot be read (malformed CSV quoting, a row with the wrong
    number of fields, a broken JSON line, the end of a truncated gzip) does not
    stop the read: it is returned in ``Chunk.rejects`` with its line number, the
    reason and its raw content. Bytes that do not decode are replaced with U+FFFD
    and the row marked in ``Chunk.replaced``. Values are read as text (CSV) or as
    stored (JSONL, Parquet). An empty input gives one empty chunk without columns.
    """
    options = options or DEFAULT_READ
    with _opened(path, options) as source:
        if not source.fmt.text:
            yield from source.fmt.records(source.stream, options, chunk_rows, path)
            return
        for chunk in source.fmt.records(source.stream, options, chunk_rows, path):
            chunk.fraction = source.fraction()
            yield chunk


@contextmanager
def _opened(path: str | Path, options: ReadOptions):
    source = _open(path, options)
    try:
        yield source
    finally:
        source.close()


def read_columns(path: str | Path, options: ReadOptions | None = None) -> Columns | None:
    """The columns of the table at ``path`` (None for an empty file), reading only its start."""
    options = options or DEFAULT_READ
    with _opened(path, options) as source:
        return source.fmt.columns(source.stream, options, path)


def read_table(path: str | Path, options: ReadOptions | None = None) -> pd.DataFrame:
    """The whole table at ``path`` (for training and evaluation, which need all rows at once).

    Read with the same readers as ``iter_records``; a record that cannot be read,
    or an empty file, is refused on one line.
    """
    return read_whole(path, options)[0]


def read_whole(path: str | Path, options: ReadOptions | None = None) -> tuple[pd.DataFrame, Columns]:
    """``read_table`` and the table's ``Columns`` (to find columns by ``resolve_columns``)."""
    options = options or DEFAULT_READ
    with _opened(path, options) as source:
        return source.fmt.read_all(source.stream, options, path)


def iter_table(path: str | Path, chunksize: int = 10_000, columns: list[str] | None = None,
               options: ReadOptions | None = None) -> Iterator[pd.DataFrame]:
    """The table at ``path`` in chunks of up to ``chunksize`` rows (an empty table yields one empty frame, and no
    other frame is empty); a record that cannot be read is refused on one line."""
    yielded = False
    for chunk in iter_records(path, chunksize, options):
        if chunk.rejects:
            r = chunk.rejects[0]
            raise ModerationError(f"cannot read {path}: line {r.line}: {printable(r.reason)}")
        if len(chunk.frame) or not yielded:
            yielded = True
            yield chunk.frame if columns is None else chunk.frame[columns]


# -- columns ------------------------------------------------------------------------------------------

# Names a column of each kind often has, for suggesting one when the named column is missing.
_LIKELY = {
    "text_col": ("text", "comment", "comment_text", "comments", "body", "content", "message", "msg", "post",
                 "tweet", "sentence", "text_body"),
    "label_col": ("label", "labels", "class", "verdict", "decision", "action", "removed", "toxic", "is_toxic",
                  "abusive", "offensive", "hate", "target", "y"),
    "id_col": ("id", "comment_id", "commentid", "post_id", "message_id", "uuid", "key"),
}


def _suggestion(param: str, wanted: str, names: list[str]) -> str | None:
    """The column most likely meant by ``wanted``: a close spelling, else a usual name for such a column."""
    close = difflib.get_close_matches(wanted.casefold(), [n.casefold() for n in names], n=1, cutoff=0.75)
    if close:
        return next(n for n in names if n.casefold() == close[0])
    likely = [n for n in names if n.casefold().strip() in _LIKELY.get(param, ())]
    return likely[0] if len(likely) == 1 else None


def resolve_columns(columns: Columns, wanted: dict[str, str | list[str] | None]) -> dict[str, str]:
    """The input's names of the ``wanted`` columns (parameter → name, or a list of names for ``keep``).

    A name is found as written, else case-insensitively when exactly one column
    matches. A missing or ambiguous column is refused on one line with the columns
    there are, the likely one, and, for a CSV header that seems to use another
    delimiter, that delimiter.
    """
    found: dict[str, str] = {}
    for param, names in wanted.items():
        for name in [names] if isinstance(names, str) else list(names or []):
            found[name] = _resolve_one(columns, param, name)
    return found


def _resolve_one(columns: Columns, param: str, name: str) -> str:
    names = columns.names
    if names.count(name) == 1:
        return columns.key(name)
    if names.count(name) > 1:
        raise ModerationError(f"{columns.where}: the header names column {printable(name)} "
                              f"{names.count(name)} times")
    folded = [n for n in names if n.casefold() == name.casefold()]
    if len(folded) == 1:
        return columns.key(folded[0])
    have = ", ".join(printable(n) for n in names) or "none"
    message = f"{columns.where}: no column {printable(name)} (columns: {have})"
    if len(folded) > 1:
        raise ModerationError(f"{message}; {', '.join(map(printable, folded))} differ only in case")
    if columns.other_delimiter is not None:
        sep = columns.other_delimiter
        shown = "tab" if sep == "\t" else shlex.quote(sep)
        raise ParameterError(f"{literal(message)}; the header looks {DELIMITERS[sep]}-separated: try {{sep}} "
                             f"{shown}", "sep")
    suggestion = _suggestion(param, name, names) if param in _LIKELY else None
    if suggestion is not None:
        shown = literal(shlex.quote(printable(suggestion)))
        raise ParameterError(f"{literal(message)}; did you mean {{{param}}} {shown}?", param)
    raise ModerationError(message)


def require_columns(df: pd.DataFrame | Columns, columns: list[str], path: str | Path) -> None:
    """Raise a one-line error naming the missing columns and the ones that exist."""
    names = [str(c) for c in df.columns] if isinstance(df, pd.DataFrame) else df.names
    missing = [c for c in columns if c not in names]
    if missing:
        have = ", ".join(map(printable, names)) or "none"
        raise ModerationError(f"{path}: no column {', '.join(map(printable, missing))} (columns: {have})")


# -- writing ----------------------------------------------------------------------------------------

class _TextWriter:
    def __init__(self, fmt: Format, handle, header: bool):
        self.fmt, self.handle, self.header = fmt, handle, header

    def write(self, df: pd.DataFrame) -> None:
        self.fmt.write_frame(df, self.handle, self.header)
        self.header = False

    def close(self) -> None:
        pass


class _ParquetWriter:
    def __init__(self, target):
        self.target = target
        self._writer = None

    def write(self, df: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.target, table.schema)
        else:
            table = table.cast(self._writer.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def os_reason(e: OSError) -> str:
    """What went wrong, as the operating system says it (pyarrow puts the errno in its message only)."""
    number = e.errno
    if number is None:
        found = re.search(r"\[errno (\d+)\]", str(e))
        number = int(found.group(1)) if found else None
    return os.strerror(number) if number else (str(e).strip().splitlines() or [type(e).__name__])[0]


def _write_failed(path, e: OSError) -> RunError:
    return RunError(f"cannot write {path}: {os_reason(e)}")


class TableWriter:
    """Writes chunks of rows to a table file, atomically: a temporary file is renamed on ``close``.

    Use as a context manager; if the block raises, the temporary file is removed
    and the target left untouched. ``-`` writes CSV to standard output.

    A ``resumable`` writer (a format that can resume, not gzipped) writes to a fixed
    ``.NAME.part`` beside the target and keeps it when interrupted (Ctrl-C, or a
    killed process, but not an error); ``sync()`` makes what was written durable
    and returns its size, and ``resume_at`` reopens the part file cut back to such
    a size, to continue a killed run. A directory that cannot be written to is
    refused on entry (``ModerationError``); a write that fails once writing has
    begun (a full disk) raises ``RunError``.
    """

    def __init__(self, path: str | Path, *, resumable: bool = False, resume_at: int | None = None):
        self.path = str(path)
        self.fmt = FORMATS["csv"] if self.path == STDIO else _format_of_name(self.path)[0]
        self.format = self.fmt.name
        self.compress = self.path.lower().endswith(".gz")
        if resumable and not self.can_resume(self.path):
            raise ModerationError("resuming needs a CSV, TSV or JSONL output file that is not gzipped")
        self.resumable = resumable
        self.resume_at = resume_at
        self._tmp: str | None = None
        self._handle = None
        self._writer = None
        self.rows = 0

    @staticmethod
    def can_resume(path: str | Path) -> bool:
        """Whether a write to ``path`` can be resumed: a file (not ``-``) of a resumable format, not gzipped."""
        if str(path) == STDIO:
            return False
        fmt, gzipped = _format_of_name(path)
        return fmt.resumable and not gzipped

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
            if target.is_dir():
                raise ModerationError(f"{target} is a directory, not a file to write")
            try:
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
            except OSError as e:
                self._tmp = None
                raise ModerationError(f"cannot write to {target.parent or '.'}: {os_reason(e)}") from None
        return self

    def _open(self):
        if self._writer is None:
            if not self.fmt.text:
                self._writer = self.fmt.writer(self._tmp or sys.stdout.buffer, True)
                return self._writer
            if self._tmp is None:
                self._handle = sys.stdout
            elif self.compress:
                self._handle = gzip.open(self._tmp, "wt", encoding="utf-8", newline="")
            else:
                self._handle = open(self._tmp, "a" if self.resumable else "w", encoding="utf-8", newline="")
            self._writer = self.fmt.writer(self._handle, not self.resume_at)
        return self._writer

    def write(self, df: pd.DataFrame) -> None:
        """Append ``df``'s rows (the first chunk fixes the columns)."""
        try:
            self._open().write(df)
        except OSError as e:
            if e.errno == errno.EPIPE:
                raise
            raise _write_failed(self.path, e) from None
        self.rows += len(df)

    def sync(self) -> int:
        """Flush what was written to disk; the part file's size in bytes."""
        self._open()
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as e:
            raise _write_failed(self.path, e) from None
        return self._handle.tell()

    def __exit__(self, exc_type, exc, tb):
        failed = None
        try:
            if self._writer is not None:
                self._writer.close()
            if self._handle is not None and self._handle is not sys.stdout:
                self._handle.close()
            elif self._handle is sys.stdout:
                sys.stdout.flush()
        except OSError as e:
            if exc_type is None:
                if e.errno == errno.EPIPE:
                    raise
                failed = _write_failed(self.path, e)
                exc_type = RunError
        finally:
            if self._tmp is not None:
                if exc_type is None:
                    os.replace(self._tmp, self.path)
                elif not (self.resumable and issubclass(exc_type, KeyboardInterrupt)):
                    try:
                        os.unlink(self._tmp)
                    except FileNotFoundError:
                        pass
        if failed is not None:
            raise failed from None
        return False
