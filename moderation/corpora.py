"""Loaders for the public labelled corpora used to train and validate the default model.

The corpora (see ``../shared/data/README.md``) are read in the formats their
authors published, never copied into this repository. Every loader returns
the same frame so corpora can be pooled, weighed and held out one at a time:

* ``text`` (str) and ``label`` (int, 1 = the comment should be removed);
* ``source``: the corpus name;
* ``insult``, ``identity_attack``, ``obscene``, ``threat``: nullable
  ``Float64``, 0.0/1.0 where the corpus says, NA where it does not know.

Some corpora add columns of their own: toxic_spans adds ``comment_id`` and
``spans`` (majority-vote character spans, the ground truth for highlighting),
toxigen and conan add ``target_group``, cadd adds ``context_title`` and
``context_body`` (the post a comment answers), hatemoji_build adds
``hatemoji_type`` and ``hatemoji_pair`` (keep a pair on one side of a split),
edos adds ``edos_category`` and ``edos_vector`` (its finer labels).

Public test splits are never read (independent evaluators judge models on
them): where a corpus publishes one, its loader reads the train and
dev/validation data only, and its Corpus record's ``label_rule`` says so. ``open_licence`` marks the corpora whose
licence allows any use; the others are for research only.

Common cleaning: rows whose text is empty after stripping are dropped, and
exact duplicate texts within a corpus are reduced to one row. When duplicates
disagree on the label the majority label wins and we keep the first row that
carries it (so its categories agree with its label); a tie drops the text.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .categories import CATEGORIES
from .errors import ModerationError

COLUMNS = ("text", "label", "source") + CATEGORIES


@dataclass(frozen=True)
class Corpus:
    """One public corpus: where it lives, its terms, and how to load it."""

    name: str
    title: str
    files: tuple[str, ...]
    licence: str
    open_licence: bool  # True only when the licence allows any use (CC0, CC BY, CC BY-SA, MIT)
    source_url: str
    label_rule: str
    load: Callable[[Path], pd.DataFrame]


# ---------------------------------------------------------------- helpers


def _paths(root: Path, files: tuple[str, ...]) -> list[Path]:
    """Absolute paths of ``files`` under ``root``; raise if any is missing."""
    root = Path(root)
    out = []
    for rel in files:
        path = root / rel
        if not path.is_file():
            raise ModerationError(f"corpus file not found: {path}")
        out.append(path)
    return out


def _read_csv(path: Path, text_cols: tuple[str, ...] | None, sep: str = ",") -> pd.DataFrame:
    """Read a CSV as UTF-8 (bad bytes replaced), text columns (None: all) as str, no NA guessing."""
    return pd.read_csv(
        path,
        sep=sep,
        dtype=str if text_cols is None else {c: str for c in text_cols},
        keep_default_na=False,
        encoding="utf-8",
        encoding_errors="replace",
    )


def _read_lines(path: Path) -> list[str]:
    """Lines of a UTF-8 text file, split on newline only (not on U+2028 etc)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def _finish(df: pd.DataFrame, name: str, categories: dict[str, object] | None = None) -> pd.DataFrame:
    """Add source and category columns, drop empty and duplicate texts, order columns."""
    df = df.copy()
    df["text"] = df["text"].astype(str)
    df["label"] = df["label"].astype("int64")
    df["source"] = name
    for cat in CATEGORIES:  # values are row-aligned arrays; a category not given is NA
        value = (categories or {}).get(cat)
        if value is None:
            df[cat] = pd.array([pd.NA] * len(df), dtype="Float64")
        else:
            df[cat] = pd.array(np.asarray(value, dtype=float), dtype="Float64")
    df = df[df["text"].str.strip() != ""]
    # Duplicates: majority label wins, ties are dropped; keep the first row with that label.
    mean = df.groupby("text", sort=False)["label"].transform("mean")
    majority = np.where(mean > 0.5, 1, np.where(mean < 0.5, 0, -1))
    df = df[df["label"].to_numpy() == majority]
    df = df.drop_duplicates("text", keep="first")
    extra = [c for c in df.columns if c not in COLUMNS]
    return df[list(COLUMNS) + extra].reset_index(drop=True)


# ---------------------------------------------------------------- toxic_spans

_SPAN_TYPES = (  # prefix of the lower-cased span type -> category (a few types are truncated in the file)
    ("insu", "insult"),
    ("identity", "identity_attack"),
    ("profan", "obscene"),
    ("obscen", "obscene"),
    ("threat", "threat"),
)


def _span_category(kind: str) -> str | None:
    kind = kind.strip().lower()
    for prefix, cat in _SPAN_TYPES:
        if kind.startswith(prefix):
            return cat
    return None  # "Other Toxicity" or blank


def _majority_spans(text_len: int, n_annotators: int, by_annotation: list[list[tuple[int, int]]]) -> list[tuple[int, int]]:
    """Merged [start, end) runs of characters marked by at least half of the annotators."""
    if not by_annotation or text_len == 0:
        return []
    counts = np.zeros(text_len, dtype=np.int32)
    for spans in by_annotation:
        mask = np.zeros(text_len, dtype=bool)
        for start, end in spans:
            mask[max(start, 0):min(end, text_len)] = True  # a few offsets run past the text: clip
        counts += mask
    keep = np.concatenate(([False], 2 * counts >= n_annotators, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(keep))
    return [(int(s), int(e)) for s, e in zip(edges[0::2], edges[1::2])]


def _load_toxic_spans(root: Path) -> pd.DataFrame:
    """Civil Comments with toxic spans: label, categories and spans by annotator majority."""
    comments_p, annotations_p, spans_p = _paths(root, CORPORA["toxic_spans"].files)
    comments = _read_csv(comments_p, ("comment_text",))
    ann = _read_csv(annotations_p, ("country",))
    spans = _read_csv(spans_p, ("type",))

    not_toxic = ann["not toxic"].astype(str).str.lower().eq("true")
    per_comment = ann.assign(nt=not_toxic).groupby("comment_id").agg(n=("annotation", "size"), nt=("nt", "sum"))
    df = comments.rename(columns={"comment_text": "text"}).merge(
        per_comment, left_on="comment_id", right_index=True, how="inner")
    df["label"] = (2 * df["nt"] < df["n"]).astype("int64")

    spans = spans.merge(ann[["annotation", "comment_id"]], on="annotation", how="inner")
    spans["category"] = spans["type"].map(_span_category)
    typed = spans.dropna(subset=["category"]).drop_duplicates(["annotation", "category"])
    votes = typed.groupby(["comment_id", "category"]).size().unstack(fill_value=0)
    votes = votes.reindex(index=df["comment_id"], columns=list(CATEGORIES), fill_value=0)
    cats = {cat: (2 * votes[cat].to_numpy() >= df["n"].to_numpy()).astype(float) for cat in CATEGORIES}

    grouped: dict[int, dict[int, list[tuple[int, int]]]] = {}
    for cid, annotation, start, end in spans[["comment_id", "annotation", "start", "end"]].itertuples(index=False):
        grouped.setdefault(cid, {}).setdefault(annotation, []).append((int(start), int(end)))
    df["spans"] = [
        _majority_spans(len(text), int(n), list(grouped.get(cid, {}).values()))
        for cid, text, n in zip(df["comment_id"], df["text"], df["n"])
    ]
    df["comment_id"] = df["comment_id"].astype("Int64")
    return _finish(df[["text", "label", "comment_id", "spans"]], "toxic_spans", cats)


# ---------------------------------------------------------------- davidson

_ENTITY = re.compile(r"&#?\w+;")


def _unescape_html(text: str) -> str:
    text = html.unescape(text)
    return html.unescape(text) if _ENTITY.search(text) else text  # a few are escaped twice


def _unescape_entities(text: str) -> str:
    """``_unescape_html`` for texts that hold an entity; others are returned as they are."""
    return _unescape_html(text) if "&" in text and _ENTITY.search(text) else text


def _load_davidson(root: Path) -> pd.DataFrame:
    """Davidson et al. tweets: hate (0) and offensive (1) are removed, neither (2) kept."""
    (path,) = _paths(root, CORPORA["davidson"].files)
    raw = _read_csv(path, ("tweet",))
    cls = pd.to_numeric(raw["class"], errors="coerce")
    raw = raw[cls.isin([0, 1, 2])]
    cls = cls[cls.isin([0, 1, 2])].astype(int)
    df = pd.DataFrame({"text": raw["tweet"].map(_unescape_html).str.strip(), "label": cls.isin([0, 1]).astype(int)})
    return _finish(df, "davidson", {"identity_attack": (cls == 0).astype(float).to_numpy()})


# ---------------------------------------------------------------- impermium

# One escape token: a run of \xNN (bytes, decoded together as UTF-8), \uNNNN, \UNNNNNNNN, or a one-char escape.
_PY_ESCAPE = re.compile(r"(?:\\x[0-9a-fA-F]{2})+|\\u[0-9a-fA-F]{4}|\\U[0-9a-fA-F]{8}|\\[nrt'\"\\]")
_SIMPLE = {"n": "\n", "r": "\r", "t": "\t", "'": "'", '"': '"', "\\": "\\"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _decode_bytes(data: bytes) -> str:
    """UTF-8 where the bytes are valid UTF-8, Latin-1 for each byte that is not."""
    decoded = data.decode("utf-8", errors="surrogateescape")
    return re.sub("[\udc80-\udcff]", lambda m: chr(ord(m.group()) - 0xDC00), decoded)


def _unescape_token(match: re.Match) -> str:
    token = match.group()
    if token[1] == "x":
        return _decode_bytes(bytes(int(token[i + 2:i + 4], 16) for i in range(0, len(token), 4)))
    if token[1] in "uU":
        return chr(int(token[2:], 16))
    return _SIMPLE[token[1]]


def decode_python_escapes(text: str, max_rounds: int = 4) -> str:
    """Undo Python repr-style escaping, repeated while escapes remain; never raises.

    Impermium comments mix one level (``\\xa0``, ``\\u2026``: escaped code
    points) and two levels (``\\\\xc2\\\\xa0``: escaped UTF-8 bytes escaped
    again). Each round decodes one level; runs of ``\\xNN`` are decoded as
    UTF-8 bytes with a Latin-1 fallback per byte, which is right for both.
    """
    try:
        for _ in range(max_rounds):
            decoded = _PY_ESCAPE.sub(_unescape_token, text)
            if decoded == text:
                break
            text = decoded
        if _SURROGATE.search(text):  # \ud83d\ude00-style pairs -> one code point
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text.replace("\ufeff", "")
    except Exception:  # pragma: no cover - defensive: keep the partly decoded text
        return text


def _load_impermium(root: Path) -> pd.DataFrame:
    """Kaggle 2012 insults: Comment is quoted and Python-escaped; label is Insult."""
    (path,) = _paths(root, CORPORA["impermium"].files)
    raw = _read_csv(path, ("Comment", "Date"))
    insult = pd.to_numeric(raw["Insult"], errors="coerce")
    raw, insult = raw[insult.isin([0, 1])], insult[insult.isin([0, 1])].astype(int)
    comment = raw["Comment"].str.replace(r'^"|"$', "", regex=True)
    text = comment.map(decode_python_escapes).str.strip()
    df = pd.DataFrame({"text": text, "label": insult})
    return _finish(df, "impermium", {"insult": insult.astype(float).to_numpy()})


# ---------------------------------------------------------------- toxigen

_TOXIGEN_GROUPS = (
    "asian", "bisexual", "black", "chinese", "immigrant", "jewish", "latino", "lgbtq",
    "mental_disability", "mexican", "middle_east", "muslim", "native_american",
    "physical_disability", "trans", "women",
)
_TOXIGEN_FILES = tuple(  # the repository has no neutral_trans file
    f"toxigen_prompts/{kind}_{group}_1k.txt"
    for kind in ("hate", "neutral")
    for group in _TOXIGEN_GROUPS
    if (kind, group) != ("neutral", "trans")
)


def _load_toxigen(root: Path) -> pd.DataFrame:
    """TOXIGEN prompt statements: hate_* files are removed, neutral_* kept.

    Statements are deduplicated within hate and within neutral (first file in
    sorted order gives ``target_group``); a statement found in both is dropped.
    """
    rows = []
    for path in sorted(_paths(root, CORPORA["toxigen"].files)):
        kind, _, rest = path.stem.partition("_")
        group = re.sub(r"_\d+k$", "", rest)
        for line in _read_lines(path):
            for part in line.split("\\n-"):
                statement = part.strip().lstrip("-").strip()
                if statement:
                    rows.append((statement, int(kind == "hate"), group))
    df = pd.DataFrame(rows, columns=["text", "label", "target_group"]).drop_duplicates(["text", "label"])
    df = df[~df["text"].duplicated(keep=False)]  # in both hate and neutral files
    return _finish(df, "toxigen", {"identity_attack": df["label"].astype(float).to_numpy()})


# ---------------------------------------------------------------- tweeteval (OLID, HatEval)


def _load_tweeteval(root: Path, name: str) -> pd.DataFrame:
    paths = _paths(root, CORPORA[name].files)
    texts: list[str] = []
    labels: list[str] = []
    for text_p, label_p in zip(paths[0::2], paths[1::2]):
        t, lab = _read_lines(text_p), _read_lines(label_p)
        if len(t) != len(lab):
            raise ModerationError(f"{text_p} has {len(t)} lines but {label_p} has {len(lab)}")
        texts += t
        labels += lab
    label = pd.to_numeric(pd.Series(labels).str.strip(), errors="coerce")
    df = pd.DataFrame({"text": pd.Series(texts, dtype=str).str.strip(), "label": label})
    df = df[df["label"].isin([0, 1])]
    df["label"] = df["label"].astype(int)
    cats = {"identity_attack": df["label"].astype(float).to_numpy()} if name == "hateval" else None
    return _finish(df, name, cats)


def _load_olid(root: Path) -> pd.DataFrame:
    """OLID (OffensEval 2019) via TweetEval, train + val: label 1 = offensive."""
    return _load_tweeteval(root, "olid")


def _load_hateval(root: Path) -> pd.DataFrame:
    """HatEval (SemEval 2019 task 5) via TweetEval, train + val: label 1 = hate."""
    return _load_tweeteval(root, "hateval")


# ---------------------------------------------------------------- stormfront


def _load_stormfront(root: Path) -> pd.DataFrame:
    """Stormfront sentences: hate removed, noHate kept, relation and idk/skip dropped."""
    (path,) = _paths(root, CORPORA["stormfront"].files)
    raw = _read_csv(path, ("text", "label", "file_id"))
    raw = raw[raw["label"].isin(["hate", "noHate"])]
    label = (raw["label"] == "hate").astype(int)
    df = pd.DataFrame({"text": raw["text"].str.strip(), "label": label})
    return _finish(df, "stormfront", {"identity_attack": label.astype(float).to_numpy()})


# ---------------------------------------------------------------- conan


def _load_conan(root: Path) -> pd.DataFrame:
    """CONAN family, English: hate statements are removed, counter-narratives kept.

    Rows come from Multitarget-CONAN (``HATE_SPEECH``, ``COUNTER_NARRATIVE``),
    CONAN's English rows (``cn_id`` starting ``EN``: ``hateSpeech``,
    ``counterSpeech``) and DIALOCONAN's turns (``type`` HS or CN), in that order.
    The counter-narratives name the group and often quote the claim they answer:
    they are the hard "keep" side. Every hate statement targets an identity
    group, so ``identity_attack`` is the label; the other categories are NA.
    ``target_group`` is the published target (CONAN's English rows are all
    Islamophobia: ``MUSLIMS``). A text that is hate in one place and
    counter-narrative in another goes by the majority (a tie drops it).
    """
    multi_p, conan_p, dialo_p = _paths(root, CORPORA["conan"].files)
    multi = _read_csv(multi_p, ("HATE_SPEECH", "COUNTER_NARRATIVE", "TARGET"))
    conan = _read_csv(conan_p, ("cn_id", "hateSpeech", "counterSpeech"))
    conan = conan[conan["cn_id"].str.startswith("EN")]
    dialo = _read_csv(dialo_p, ("text", "TARGET", "type"))
    dialo = dialo[dialo["type"].isin(["HS", "CN"])]
    parts = [
        (multi["HATE_SPEECH"], 1, multi["TARGET"]),
        (multi["COUNTER_NARRATIVE"], 0, multi["TARGET"]),
        (conan["hateSpeech"], 1, "MUSLIMS"),
        (conan["counterSpeech"], 0, "MUSLIMS"),
    ]
    frames = [pd.DataFrame({"text": text, "label": label, "target_group": target}) for text, label, target in parts]
    frames.append(pd.DataFrame({"text": dialo["text"], "label": (dialo["type"] == "HS").astype(int),
                                "target_group": dialo["TARGET"]}))
    df = pd.concat(frames, ignore_index=True)
    df["text"] = df["text"].str.strip()
    return _finish(df, "conan", {"identity_attack": df["label"].astype(float).to_numpy()})


# ---------------------------------------------------------------- ghc


def _load_ghc(root: Path) -> pd.DataFrame:
    """Gab Hate Corpus, train split: removed when any of ``hd``, ``cv``, ``vo`` is 1.

    GHC_test.tsv is never read. Categories for every row: ``hd`` (assault on
    human dignity, identity based by the corpus's definition) is
    ``identity_attack``, ``cv`` (call for violence) is ``threat``, ``vo``
    (vulgarity or offensive language aimed at a person) is ``insult``; a post
    with no label is 0 for all three. ``obscene`` is NA: ``vo`` mixes vulgarity
    with insult. HTML entities (rare) are decoded.
    """
    (path,) = _paths(root, CORPORA["ghc"].files)
    raw = _read_csv(path, ("text",), sep="\t")
    flags = {c: pd.to_numeric(raw[c], errors="coerce") for c in ("hd", "cv", "vo")}
    known = np.logical_and.reduce([f.isin([0, 1]).to_numpy() for f in flags.values()])
    raw = raw[known]
    flags = {c: f[known].astype(int).to_numpy() for c, f in flags.items()}
    label = (flags["hd"] | flags["cv"] | flags["vo"]).astype(int)
    df = pd.DataFrame({"text": raw["text"].map(_unescape_entities).str.strip().to_numpy(), "label": label})
    cats = {"identity_attack": flags["hd"], "threat": flags["cv"], "insult": flags["vo"]}
    return _finish(df, "ghc", cats)


# ---------------------------------------------------------------- convabuse

_CONVABUSE_FIELDS = (  # each annotator's columns, in the published order
    "is_abuse.1", "is_abuse.0", "is_abuse.-1", "is_abuse.-2", "is_abuse.-3",
    "ableist", "homophobic", "intellectual", "racist", "sexist", "sex_harassment", "transphobic",
    "target.generalised", "target.individual", "target.system", "explicit", "implicit",
)
_ABUSIVE = (2, 3, 4)  # is_abuse -1, -2, -3
_IDENTITY_TYPES = tuple(_CONVABUSE_FIELDS.index(t) for t in ("ableist", "homophobic", "racist", "sexist", "transphobic"))
_INTELLECTUAL = _CONVABUSE_FIELDS.index("intellectual")
_EMOJI_BYTES = re.compile(r"<span class='emoji-bytes' data-emoji-bytes='\[([0-9, ]*)\]'></span>")


def _annotator_blocks(path: Path, columns: list[str]) -> list[int]:
    """Where each annotator's 17 columns start, checked against the published order.

    Columns are taken by position: the published header names Annotator7's and
    Annotator8's ``transphobic`` column ``Annotator6_transphobic.1`` and ``.2``.
    """
    starts = [i for i, c in enumerate(columns) if re.fullmatch(r"Annotator\d+_is_abuse\.1", c)]
    for start in starts:
        names = columns[start:start + len(_CONVABUSE_FIELDS)]
        fields = [re.sub(r"^Annotator\d+_", "", n) for n in names]
        if len(fields) != len(_CONVABUSE_FIELDS) or not all(
                f == want or (want == "transphobic" and re.fullmatch(r"transphobic(\.\d+)?", f))
                for f, want in zip(fields, _CONVABUSE_FIELDS)):
            raise ModerationError(f"{path}: unexpected ConvAbuse annotator columns {names}")
    if not starts:
        raise ModerationError(f"{path}: no ConvAbuse annotator columns")
    return starts


def _annotator_votes(cells: list[str]) -> tuple[float, float, float] | None:
    """One annotator's share of abusive, identity-based and ``intellectual`` ratings; None if they did not rate.

    A cell holds one 0/1 per time the annotator rated the row (``1, 0`` for twice).
    """
    if cells[0].strip() == "":
        return None
    ratings = [[int(float(v)) for v in cell.split(",")] for cell in cells]
    n = len(ratings[0])

    def share(fields: tuple[int, ...]) -> float:
        return sum(any(ratings[f][k] for f in fields) for k in range(n)) / n

    return share(_ABUSIVE), share(_IDENTITY_TYPES), share((_INTELLECTUAL,))


def _decode_emoji_bytes(text: str) -> str:
    """Emoji the chat logs stored as ``<span class='emoji-bytes' data-emoji-bytes='[240, ...]'>`` become characters."""
    if "emoji-bytes" not in text:
        return text
    return _EMOJI_BYTES.sub(
        lambda m: bytes(int(b) for b in m.group(1).split(",") if b.strip()).decode("utf-8", "replace"), text)


def _load_convabuse(root: Path) -> pd.DataFrame:
    """ConvAbuse user turns, train + valid: removed when most of the row's annotators rated it abusive.

    The test file is never read. Each annotator who rated a row counts once: an
    annotator who rated it more than once votes with the share of their ratings
    that were -1, -2 or -3. The row is removed when those votes add up to more
    than half of its annotators. Categories, by the same majority: ``identity_attack``
    is 1 when the turn is removed and most annotators ticked ``sexist``, ``racist``,
    ``homophobic``, ``transphobic`` or ``ableist``, else 0; ``insult`` is 1 when it is
    removed and most ticked ``intellectual``, 0 when it is kept, NA otherwise (other
    abuse may or may not insult). ``sex_harassment`` maps to no category;
    ``obscene`` and ``threat`` are NA.
    """
    records = []
    for path in _paths(root, CORPORA["convabuse"].files):
        raw = _read_csv(path, None)
        columns = list(raw.columns)
        starts = _annotator_blocks(path, columns)
        cells = raw.to_numpy(dtype=object)
        user = columns.index("user")
        for row in cells:
            votes = [v for v in (_annotator_votes(list(row[s:s + len(_CONVABUSE_FIELDS)])) for s in starts) if v]
            if not votes:
                continue
            half = len(votes) / 2
            abusive, identity, intellectual = (sum(v[i] for v in votes) > half for i in range(3))
            records.append((_decode_emoji_bytes(row[user]).strip(), int(abusive), float(abusive and identity),
                            (1.0 if intellectual else np.nan) if abusive else 0.0))
    df = pd.DataFrame(records, columns=["text", "label", "identity_attack", "insult"])
    cats = {"identity_attack": df.pop("identity_attack").to_numpy(), "insult": df.pop("insult").to_numpy()}
    return _finish(df, "convabuse", cats)


# ---------------------------------------------------------------- cadd

# Punctuation U+2000-U+201F (dashes, curly quotes) whose first two UTF-8 bytes were lost to "?" upstream,
# leaving "?" and a C1 control character, which no text has on purpose.
_BROKEN_PUNCTUATION = re.compile("\\?([\x80-\x9f])")
_LATIN1_MOJIBAKE = re.compile("[\xc2-\xf4][\x80-\xbf]{1,3}")  # UTF-8 bytes read as Latin-1, e.g. "Ã©"
_MARKDOWN_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!&^~>|<])")


def _undo_mojibake(match: re.Match) -> str:
    try:
        return match.group().encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return match.group()


def _clean_reddit(text: str) -> str:
    """Repair broken punctuation and mojibake, decode HTML entities, drop Markdown escapes (``\\*``)."""
    text = _BROKEN_PUNCTUATION.sub(lambda m: chr(0x2000 + ord(m.group(1)) - 0x80), text)
    text = _LATIN1_MOJIBAKE.sub(_undo_mojibake, text)
    text = _unescape_entities(text)
    return _MARKDOWN_ESCAPE.sub(r"\1", text).strip()


def _load_cadd(root: Path) -> pd.DataFrame:
    """CADD Reddit comments, dev split: hate speech and derogatory removed, non-abusive kept.

    CADD_test.json is never read; the train split is not published with this
    copy. ``L1`` profanity (3) rows are dropped. The README says latin-1, but
    the JSON files are UTF-8 (read as latin-1 every non-ASCII character would
    become two): UTF-8 is used, latin-1 only if the bytes are not UTF-8. Some
    curly quotes reached the file as ``?`` plus their last byte and a few
    accented letters as mojibake: both are repaired, HTML entities decoded and
    Markdown escapes dropped, in the comment and in its context, kept as
    ``context_title`` and ``context_body`` (the post it answers: annotators saw it).
    Categories: ``identity_attack`` is 1 for hate speech whose ``L4`` names a
    demographic target (1-7), NA for hate speech whose target is unclear (8),
    0 for derogatory and non-abusive; ``insult`` is 1 for derogatory (targeted,
    not at a demographic group), 0 for non-abusive, NA for hate speech.
    ``obscene`` and ``threat`` are NA (``L6`` marks abusive words, not obscenity).
    """
    (path,) = _paths(root, CORPORA["cadd"].files)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    try:
        raw = pd.DataFrame(list(json.loads(text).values()))
    except (ValueError, AttributeError) as exc:
        raise ModerationError(f"{path}: not a CADD JSON object of comments ({exc})") from None
    kind = pd.to_numeric(raw["L1"], errors="coerce")
    raw, kind = raw[kind.isin([0, 1, 2])], kind[kind.isin([0, 1, 2])].astype(int).to_numpy()
    demographic = pd.to_numeric(raw["L4"], errors="coerce").between(1, 7).to_numpy()
    df = pd.DataFrame({
        "text": raw["comment"].astype(str).map(_clean_reddit).to_numpy(),
        "label": (kind > 0).astype(int),
        "context_title": raw["title"].astype(str).map(_clean_reddit).to_numpy(),
        "context_body": raw["body"].astype(str).map(_clean_reddit).to_numpy(),
    })
    cats = {
        "identity_attack": np.where(kind == 1, np.where(demographic, 1.0, np.nan), 0.0),
        "insult": np.select([kind == 2, kind == 0], [1.0, 0.0], np.nan),
    }
    return _finish(df, "cadd", cats)


# ---------------------------------------------------------------- hatemoji_build


def _load_hatemoji_build(root: Path) -> pd.DataFrame:
    """HatemojiBuild statements, train + validation: removed when ``label_gold`` is 1.

    test.csv is never read. Each statement has a label-flipping perturbation
    (``matched_id``), and the published split scatters pairs across train,
    validation and test: a statement whose partner is not in train + validation
    (so is in the test split) is dropped, wherever the same text occurs, and so
    is the partner this leaves alone. No test statement's near-twin is trained
    on, and every pair stays whole (``hatemoji_pair``, the smaller id, keeps
    pairs on one side of a split). ``hatemoji_type`` is the published
    type. Hate here is aimed at an identity, so ``identity_attack`` is the label;
    ``threat`` is 1 for ``threateninglanguage``, 0 for the other hateful types and
    NA for non-hateful rows (some wish harm on things or people outside any
    protected group); ``insult`` and ``obscene`` are NA.
    """
    frames = [_read_csv(path, ("text", "type", "entry_id", "matched_id")) for path in
              _paths(root, CORPORA["hatemoji_build"].files)]
    raw = pd.concat(frames, ignore_index=True)
    label = pd.to_numeric(raw["label_gold"], errors="coerce")
    raw, label = raw[label.isin([0, 1])], label[label.isin([0, 1])].astype(int)
    text = raw["text"].str.strip()
    orphan = ~raw["matched_id"].isin(set(raw["entry_id"]))
    keep = ~text.isin(set(text[orphan]))  # the same statement may also sit in a whole pair: drop it there too
    keep &= raw["matched_id"].isin(set(raw.loc[keep, "entry_id"]))  # and its partner, left alone
    raw, label, text = raw[keep], label[keep].to_numpy(), text[keep].to_numpy()
    kind = raw["type"].str.strip().to_numpy()
    ids = np.minimum(pd.to_numeric(raw["entry_id"]).to_numpy(), pd.to_numeric(raw["matched_id"]).to_numpy())
    df = pd.DataFrame({"text": text, "label": label, "hatemoji_type": kind,
                       "hatemoji_pair": pd.array(ids, dtype="Int64")})
    cats = {"identity_attack": label.astype(float),
            "threat": np.where(label == 1, (kind == "threateninglanguage").astype(float), np.nan)}
    return _finish(df, "hatemoji_build", cats)


# ---------------------------------------------------------------- edos


def _load_edos(root: Path) -> pd.DataFrame:
    """EDOS posts, train + dev: sexist threats and derogation removed, not sexist kept.

    Rows with ``split`` test are never used. ``3. animosity`` and ``4. prejudiced
    discussions`` are dropped: a comments policy often keeps them, and counting
    them as "remove" lowered cross-corpus accuracy. ``edos_category`` and
    ``edos_vector`` keep the published labels so a recipe can map them
    otherwise. Categories: sexism is an attack on women as a group or for being
    women, so ``identity_attack`` is 1 for every removed row (whether derogation
    is also an insult depends on the definition: ``insult`` is NA); ``threat`` is
    1 for ``1. threats, plans to harm and incitement`` and 0 for derogation.
    Both are NA for "not sexist" rows, which may still attack other groups or
    threaten. Texts are cleaned like CADD's (HTML entities such as ``&#x200B;``,
    Markdown escapes); the ``[USER]`` and ``[URL]`` markers are kept as published.
    """
    (path,) = _paths(root, CORPORA["edos"].files)
    raw = _read_csv(path, ("text", "label_sexist", "label_category", "label_vector", "split"))
    raw = raw[raw["split"].str.strip().isin(["train", "dev"])]
    number = raw["label_category"].str.extract(r"^\s*(\d)\.", expand=False)
    not_sexist = raw["label_sexist"].str.strip().eq("not sexist") & raw["label_category"].str.strip().eq("none")
    harmful = raw["label_sexist"].str.strip().eq("sexist") & number.isin(["1", "2"])
    raw, number, harmful = raw[not_sexist | harmful], number[not_sexist | harmful], harmful[not_sexist | harmful]
    label = harmful.astype(int).to_numpy()
    df = pd.DataFrame({"text": raw["text"].map(_clean_reddit).to_numpy(), "label": label,
                       "edos_category": raw["label_category"].to_numpy(), "edos_vector": raw["label_vector"].to_numpy()})
    cats = {"identity_attack": np.where(label == 1, 1.0, np.nan),
            "threat": np.where(label == 1, (number == "1").astype(float).to_numpy(), np.nan)}
    return _finish(df, "edos", cats)


# ---------------------------------------------------------------- registry

CORPORA: dict[str, Corpus] = {
    c.name: c
    for c in (
        Corpus(
            name="toxic_spans",
            title="Toxic Spans (Civil Comments with toxic character spans), Pavlopoulos et al., ACL 2022",
            files=("toxic_spans/comments.csv", "toxic_spans/annotations.csv", "toxic_spans/spans.csv"),
            licence="CC0 1.0",
            open_licence=True,
            source_url="github.com/ipavlopoulos/toxic_spans",
            label_rule="A comment is removed when fewer than half of its annotators ticked `not toxic`.",
            load=_load_toxic_spans,
        ),
        Corpus(
            name="davidson",
            title="Hate Speech and Offensive Language tweets, Davidson et al., ICWSM 2017",
            files=("davidson/labeled_data.csv",),
            licence="MIT",
            open_licence=True,
            source_url="github.com/t-davidson/hate-speech-and-offensive-language",
            label_rule="A tweet is removed when its majority class is hate speech (0) or offensive (1).",
            load=_load_davidson,
        ),
        Corpus(
            name="impermium",
            title="Impermium: Detecting Insults in Social Commentary (Kaggle 2012)",
            files=("impermium_insults/train.csv",),
            licence="Kaggle competition data; research use",
            open_licence=False,
            source_url="github.com/amueller/kaggle_insults",
            label_rule="A comment is removed when `Insult` is 1.",
            load=_load_impermium,
        ),
        Corpus(
            name="toxigen",
            title="TOXIGEN prompt statements about 16 identity groups (13 in the paper), Hartvigsen et al., ACL 2022",
            files=_TOXIGEN_FILES,
            licence="MIT (repository)",
            open_licence=True,
            source_url="github.com/microsoft/TOXIGEN",
            label_rule="A statement is removed when it comes from a `hate_*` file (and from no `neutral_*` file).",
            load=_load_toxigen,
        ),
        Corpus(
            name="olid",
            title="OLID (OffensEval 2019) tweets via TweetEval, train + val",
            files=(
                "tweeteval/offensive/train_text.txt", "tweeteval/offensive/train_labels.txt",
                "tweeteval/offensive/val_text.txt", "tweeteval/offensive/val_labels.txt",
            ),
            licence="CC BY 4.0 (OLID terms)",
            open_licence=True,
            source_url="github.com/cardiffnlp/tweeteval",
            label_rule="A tweet is removed when labelled 1 (offensive, which includes mild profanity).",
            load=_load_olid,
        ),
        Corpus(
            name="hateval",
            title="HatEval (SemEval 2019 task 5) tweets via TweetEval, train + val",
            files=(
                "tweeteval/hate/train_text.txt", "tweeteval/hate/train_labels.txt",
                "tweeteval/hate/val_text.txt", "tweeteval/hate/val_labels.txt",
            ),
            licence="HatEval terms; research use",
            open_licence=False,
            source_url="github.com/cardiffnlp/tweeteval",
            label_rule="A tweet is removed when labelled 1 (hate against immigrants or women).",
            load=_load_hateval,
        ),
        Corpus(
            name="stormfront",
            title="Hate speech dataset from a white supremacy forum, de Gibert et al., ALW2 2018",
            files=("stormfront/sentences.csv",),
            licence="CC BY-SA 3.0 ES",
            open_licence=True,
            source_url="github.com/Vicomtech/hate-speech-dataset",
            label_rule="A sentence is removed when labelled `hate`; `relation` and `idk/skip` are dropped.",
            load=_load_stormfront,
        ),
        Corpus(
            name="conan",
            title="CONAN, Multitarget-CONAN and DIALOCONAN (English): hate statements and counter-narratives "
                  "written by NGO operators and experts, Chung et al. ACL 2019, Fanton et al. ACL 2021, "
                  "Bonaldi et al. EMNLP 2022",
            files=("conan/Multitarget-CONAN.csv", "conan/CONAN.csv", "conan/DIALOCONAN.csv"),
            licence="Research use; its authors ask that it not be redistributed and that the publications be cited",
            open_licence=False,
            source_url="github.com/marcoguerini/CONAN",
            label_rule="A hate statement (Multitarget-CONAN `HATE_SPEECH`, CONAN `hateSpeech` of rows whose "
                       "`cn_id` starts with `EN`, DIALOCONAN turns of type `HS`) is removed; a counter-narrative "
                       "(`COUNTER_NARRATIVE`, `counterSpeech`, turns of type `CN`) is kept. No test split is published.",
            load=_load_conan,
        ),
        Corpus(
            name="ghc",
            title="Gab Hate Corpus, train split, Kennedy et al., Language Resources and Evaluation 2022",
            files=("ghc/GHC_train.tsv",),
            licence="Its authors' terms on OSF (osf.io/edua3); this copy comes from a public mirror without a "
                    "licence file: research use until the upstream terms are checked",
            open_licence=False,
            source_url="osf.io/edua3",
            label_rule="A post is removed when any of `hd` (assault on human dignity), `cv` (call for violence) or "
                       "`vo` (vulgarity/offensive language aimed at a person) is 1. GHC_train.tsv only: the test "
                       "split (GHC_test.tsv) is not used.",
            load=_load_ghc,
        ),
        Corpus(
            name="convabuse",
            title="ConvAbuse: what users typed to conversational agents, train + valid, Cercas Curry et al., EMNLP 2021",
            files=("convabuse/ConvAbuseEMNLPtrain.csv", "convabuse/ConvAbuseEMNLPvalid.csv"),
            licence="CC BY 4.0",
            open_licence=True,
            source_url="github.com/amandacurry/convabuse",
            label_rule="A user turn is removed when more than half of the annotators who rated it gave `is_abuse` "
                       "-1, -2 or -3 (an annotator who rated it twice counts once, by the share of their ratings); "
                       "ambiguous (0) counts as not abusive. Train + valid files: the test split "
                       "(ConvAbuseEMNLPtest.csv) is not used.",
            load=_load_convabuse,
        ),
        Corpus(
            name="cadd",
            title="CADD: Reddit comments with their post as context, dev split, Song et al., CoNLL 2021",
            files=("cadd/CADD_dev.json",),
            licence="CC BY-SA 4.0 (its README; the repository's LICENSE.md is the Unlicense), with its authors' "
                    "ethical guidelines: no attempt to contact, de-anonymise or link any user, and no sharing of "
                    "any portion of the data, example posts or excerpts",
            open_licence=True,
            source_url="github.com/nlpcl-lab/CADD_dataset",
            label_rule="A comment is removed when `L1` is 1 (hate speech) or 2 (derogatory) and kept when 0 "
                       "(non-abusive); profanity (3) rows are dropped. Dev split only (the train split is not "
                       "published with this copy): the test split (CADD_test.json) is not used.",
            load=_load_cadd,
        ),
        Corpus(
            name="hatemoji_build",
            title="HatemojiBuild: adversarial hateful and non-hateful statements, many with emoji, train + "
                  "validation, Kirk et al., NAACL 2022",
            files=("hatemoji_build/train.csv", "hatemoji_build/validation.csv"),
            licence="CC BY 4.0",
            open_licence=True,
            source_url="github.com/HannahKirk/Hatemoji",
            label_rule="A statement is removed when `label_gold` is 1. Train + validation: the test split "
                       "(test.csv) is not used, nor any statement whose label-flipping partner (`matched_id`) is in it.",
            load=_load_hatemoji_build,
        ),
        Corpus(
            name="edos",
            title="EDOS: Explainable Detection of Online Sexism, Reddit and Gab posts, train + dev, "
                  "Kirk et al., SemEval 2023",
            files=("edos/edos_labelled_aggregated.csv",),
            licence="CC0 1.0",
            open_licence=True,
            source_url="github.com/rewire-online/edos",
            label_rule="A post is removed when `label_category` is `1. threats, plans to harm and incitement` or "
                       "`2. derogation`, kept when `label_sexist` is `not sexist`; `3. animosity` and "
                       "`4. prejudiced discussions` are dropped. Rows with `split` train or dev: the test split "
                       "(`split` == test) is not used.",
            load=_load_edos,
        ),
    )
}


# ---------------------------------------------------------------- public API


def _corpus(name: str) -> Corpus:
    try:
        return CORPORA[name]
    except KeyError:
        raise ModerationError(f"unknown corpus {name!r}; known: {', '.join(CORPORA)}") from None


def load_corpora(root: str | Path, names: list[str] | tuple[str, ...] | None = None) -> pd.DataFrame:
    """Load and concatenate corpora (all when ``names`` is None), with a fresh index."""
    frames = [_corpus(name).load(Path(root)) for name in (names if names is not None else list(CORPORA))]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="Float64" if c in CATEGORIES else object) for c in COLUMNS})
    df = pd.concat(frames, ignore_index=True)
    df["label"] = df["label"].astype("int64")
    return df


def corpus_files_sha256(root: str | Path, name: str) -> str:
    """One sha256 over a corpus's files, to identify training data in model cards.

    Files are taken in sorted relative-path order; for each, the line
    ``<relative path>\\0<sha256 of its bytes>\\n`` is fed to the outer hash.
    """
    corpus = _corpus(name)
    rels = sorted(corpus.files)
    outer = hashlib.sha256()
    for rel, path in zip(rels, _paths(Path(root), tuple(rels))):
        inner = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                inner.update(chunk)
        outer.update(f"{rel}\0{inner.hexdigest()}\n".encode("utf-8"))
    return outer.hexdigest()


def describe(root: str | Path, names: list[str] | tuple[str, ...] | None = None,
             frame: pd.DataFrame | None = None) -> list[dict]:
    """Name, title, licence (and whether it is open), source, rows, positive rate and file hash of each corpus.

    ``frame``, the already loaded corpora, saves loading them again.
    """
    out = []
    for name in names if names is not None else list(CORPORA):
        corpus = _corpus(name)
        df = corpus.load(Path(root)) if frame is None else frame[frame["source"] == name]
        out.append({
            "name": corpus.name,
            "title": corpus.title,
            "licence": corpus.licence,
            "open_licence": corpus.open_licence,
            "source_url": corpus.source_url,
            "rows": int(len(df)),
            "positive_rate": round(float(df["label"].mean()), 4) if len(df) else 0.0,
            "sha256": corpus_files_sha256(root, name),
        })
    return out


def find_data_root(explicit: str | Path | None = None) -> Path | None:
    """Where the corpora are: ``explicit``, else $MODERATION_DATA, else ../shared/data
    from the working directory or its parent (a notebook runs in ``notebooks/``),
    else ../shared/data from the repository root.

    A location the user named (argument or environment variable) is returned
    only if it exists; it is never silently replaced by a default. None when
    nothing exists.
    """
    if explicit is not None and str(explicit) != "":
        path = Path(explicit).expanduser()
        return path if path.is_dir() else None
    env = os.environ.get("MODERATION_DATA")
    if env:
        path = Path(env).expanduser()
        return path if path.is_dir() else None
    repo_root = Path(__file__).resolve().parent.parent
    for candidate in (Path.cwd() / ".." / "shared" / "data", Path.cwd() / ".." / ".." / "shared" / "data",
                      repo_root / ".." / "shared" / "data"):
        if candidate.is_dir():
            return candidate.resolve()
    return None
