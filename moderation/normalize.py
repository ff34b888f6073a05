"""Text normalisation that undoes the usual evasions before features are extracted.

It runs inside the model's Pipeline (``TextNormalizer``), so training and scoring
share it. Steps, in order:

1. fold each character: Unicode compatibility decomposition (NFKD: fullwidth and
   styled letters become plain), combining marks and invisible characters
   (zero-width, soft hyphen, bidi controls) dropped, look-alike letters from other
   scripts (Cyrillic ``а``, Greek ``ο``) mapped to Latin, lower case;
2. URLs become ``url``; with ``markers``, the marks of where a text was collected are dropped instead:
   user mentions (``@name``, ``[USER]``), retweet marks (``RT``), URLs and their placeholders
   (``[URL]``, ``<URL>``), a hashtag's ``#``; HTML entities are unescaped;
3. letters spread out with spaces or punctuation (``f u c k``, ``s.h.i.t``) are joined;
4. words that mix letters with leetspeak or masking characters (``sh1t``, ``5h!t``,
   ``@ss``, ``f*ck``, ``s#it``) are decoded, masks resolved against a lexicon;
5. stretched letters (``fuuuuck``) are squeezed, white space collapsed;
   steps 3-5 again while they leave letters to join (``0 a 0oo`` gives ``0 a o``),
   so that normalising a normalised text changes nothing.

``normalize_with_offsets`` also returns, for every character of the result, the
index of the original character it came from, so that explanations can highlight
exactly the characters a moderator sees.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from typing import Iterable

import numpy as np

try:  # the compiled kernel (setup.py) folds, collapses and checks a block of texts in one pass
    from ._kernel import collapse_many as _collapse_many
    from ._kernel import pieces as _pieces
except ImportError:  # pragma: no cover - a source checkout without a build
    _collapse_many = _pieces = None

__all__ = ["as_texts", "normalize", "normalize_many", "normalize_many_plain", "normalize_with_offsets",
           "normalize_many_with_offsets", "plain_pieces", "is_dropped", "TextNormalizer", "TextNormalizerCore",
           "LEXICON", "OBSCENITIES"]

# Words that evasions are resolved against, most likely first (a masked
# ``f**k`` resolves to the first word of the same shape). Only obscenities,
# slurs and insults: the words people bother to disguise. ``OBSCENITIES`` are
# the obscene ones (what makes a text obscene, whoever it is aimed at).
OBSCENITIES: tuple[str, ...] = (
    "fuck", "fucking", "fucked", "fucker", "fuckers", "fucks", "motherfucker", "fuckin",
    "shit", "shits", "shitty", "bullshit", "shithead", "shithole",
    "bitch", "bitches", "bitchy", "cunt", "cunts", "asshole", "assholes", "ass", "arse",
    "arsehole", "dumbass", "jackass", "dick", "dicks", "dickhead", "cock", "cocks",
    "cocksucker", "pussy", "bastard", "bastards", "whore", "whores", "slut", "sluts",
    "twat", "wanker", "prick", "douche", "douchebag", "piss", "pissed", "crap", "damn",
    "tits", "cum",
)
LEXICON: tuple[str, ...] = OBSCENITIES + (
    "nigger", "niggers", "nigga", "niggas", "fag", "fags", "faggot",
    "faggots", "dyke", "tranny", "retard", "retards", "retarded", "spic", "chink",
    "kike", "wetback", "gook", "paki", "raghead", "towelhead", "coon", "beaner",
    "idiot", "idiots", "moron", "morons", "stupid", "dumb", "loser", "scum", "trash",
    "vermin", "kill", "die", "rape", "hoe", "hoes", "skank", "turd", "sucker", "suck", "sucks",
)
_LEXICON_SET = frozenset(LEXICON)
_LEXICON_BY_LEN: dict[int, tuple[str, ...]] = {}
for _word in LEXICON:
    _LEXICON_BY_LEN.setdefault(len(_word), ())
    _LEXICON_BY_LEN[len(_word)] += (_word,)
del _word

# Letters from other scripts that look like Latin ones (lower case: folding lowers first).
_HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "и": "u", "к": "k", "м": "m",
    "н": "h", "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s",
    "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g", "һ": "h",
    "ӏ": "l", "ь": "b", "п": "n", "г": "r",
    # Greek
    "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
    "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "c", "μ": "u",
    # Latin look-alikes outside ASCII that NFKD leaves alone
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ß": "ss", "æ": "ae", "œ": "oe",
    "ɑ": "a", "ʀ": "r", "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ɢ": "g",
    "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o",
    "ᴘ": "p", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
}
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cs", "Co", "Cn"})
# ASCII control characters (NUL included) become spaces; tab and newline too.
_ASCII_CONTROLS = {c: " " for c in range(32)} | {127: " "}
_CONTROL = re.compile("[\x00-\x1f\x7f]")

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "8": "b", "9": "g", "@": "a", "$": "s", "!": "i", "|": "i", "+": "t"})
_MASKS = frozenset("*#%_")
_LEET_OR_MASK = frozenset("01345789@$!|+") | _MASKS

_URL = re.compile(r"(?:https?://|www\.)\S+")
# Three or more single characters separated by one kind of separator: f u c k, s.h.i.t
_SPACED = re.compile(r"(?<![a-z0-9@$*#])(?:[a-z0-9@$!*]([ .\-_])(?:[a-z0-9@$!*]\1){1,}[a-z0-9@$!*])(?![a-z0-9])")
# A word made of letters, digits and the symbols above that has at least one digit or symbol:
# the only words that can carry leetspeak or masks (matching only these keeps the common case fast).
_WORD = re.compile(r"(?<![a-z0-9@$!*#%|+_])[a-z@$!*#%|+_]*[0-9@$!*#%|+_][a-z0-9@$!*#%|+_]*")
# Tokens that are ordinary numbers-with-units or names-with-numbers, not leetspeak.
_NOT_LEET = re.compile(r"^(?:\d+(?:st|nd|rd|th|s|k|m|b|x|am|pm|kg|km|cm|mm|gb|mb|px|yo|ish)|[a-z]+\d{2,}|#\w+)$")
# A character that _WORD needs: texts without one skip that pass (most comments).
_LEET_OR_MASK_CHAR = re.compile(r"[0-9@$!*#%|+_]")
# Where a text was collected (tweets, Gab, chat logs), not what it says: mentions (not a disguised
# "@ss"), placeholders of anonymised users and links, retweet marks, links, a hashtag's "#".
_MARKER = re.compile(r"(?<![\w@])@\w+|\[(?:user|url)\]|<(?:user|url)>|(?<!\w)rt(?=\s*@)|(?:https?://|www\.)\S+"
                     r"|(?<!\w)url(?!\w)|(?<!\w)#(?=\w)")
_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});")
_STRETCH = re.compile(r"([a-z])\1\1+")  # written so, re scans it twice as fast as ([a-z])\1{2,}
_SPACES = re.compile(r"\s+")
_NON_SPACE = re.compile(r"\S+")
_SPACE_RUNS = re.compile(r"\s{2,}|[^\S ]")  # several white-space characters, or one that is not a space


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    """Fold one non-ASCII character: NFKD, drop marks and invisibles, map look-alikes, lower."""
    out = []
    for part in unicodedata.normalize("NFKD", char).lower():
        if unicodedata.category(part) in _DROP_CATEGORIES:
            continue
        if part < "\x80":
            out.append(part.translate(_ASCII_CONTROLS))
            continue
        part = _HOMOGLYPHS.get(part, part)
        if unicodedata.category(part[0]) == "Zs":
            part = " "
        out.append(part)
    return "".join(out)


def is_dropped(char: str) -> bool:
    """Whether normalisation removes ``char`` entirely (a combining mark, zero-width or format character)."""
    return char >= "\x80" and _fold_char(char) == ""


def _fold(text: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    if text.isascii():
        folded = text.lower()
        if _CONTROL.search(folded):
            folded = folded.translate(_ASCII_CONTROLS)
        return folded, (list(range(len(text))) if offsets is not None else None)
    if offsets is None:
        return "".join(_fold_char(c) if c >= "\x80" else c.lower() for c in text).translate(_ASCII_CONTROLS), None
    chars: list[str] = []
    new: list[int] = []
    for i, c in enumerate(text):
        f = _fold_char(c) if c >= "\x80" else c.lower().translate(_ASCII_CONTROLS)
        chars.append(f)
        new.extend([i] * len(f))
    return "".join(chars), new


def _join_spaced(m: re.Match) -> tuple[str, list[int]]:
    run = m.group(0)
    kept = [i for i, c in enumerate(run) if i % 2 == 0]
    # "a m o r o n": the English one-letter words "a" and "i" stay words of their own
    # when what follows is a word we know and the whole run is not ("i d i o t" is)
    joined, offsets = _join_spaced_letters(run)
    if run[0] in "ai" and run[1] == " " and len(kept) > 3 and joined not in _LEXICON_SET:
        rest, rest_offsets = _join_spaced_letters(run[2:])
        if rest in _LEXICON_SET or rest.rstrip("s") in _LEXICON_SET:
            return run[:2] + rest, [0, 1] + [2 + r for r in rest_offsets]
    return joined, offsets


def _join_spaced_letters(run: str) -> tuple[str, list[int]]:
    kept = [i for i, c in enumerate(run) if i % 2 == 0]
    joined = "".join(run[i] for i in kept)
    if sum(c.isalpha() for c in joined) < 2:
        return run, list(range(len(run)))
    return joined, kept


def _resolve_masked(word: str) -> str | None:
    """The first lexicon word that ``word`` (letters plus mask characters) could stand for."""
    for candidate in _LEXICON_BY_LEN.get(len(word), ()):
        # a mask stands for any letter a-z, every other character for itself
        if all(("a" <= c <= "z") if w in _MASKS else c == w for c, w in zip(candidate, word)):
            return candidate
    return None


def _decode_word(m: re.Match) -> tuple[str, list[int]]:
    return _decode_token(m.group(0))


@lru_cache(maxsize=65536)
def _decoded(token: str) -> str:
    """``_decode_token(token)``'s text: the same tokens ("2nd", "f***") come back in text after text."""
    return _decode_token(token)[0]


def _decode_words(text: str) -> str:
    """``text`` with each ``_WORD`` token decoded (step 4 without offsets); ``text`` itself when none changes,
    as in most texts that have such tokens ("3rd", "$5", "covid19")."""
    if all(_decoded(token) == token for token in _WORD.findall(text)):
        return text
    return _WORD.sub(lambda m: _decoded(m.group(0)), text)


def _decode_token(token: str) -> tuple[str, list[int]]:
    """A ``_WORD`` token decoded (leetspeak undone, masks resolved against the lexicon), with the offset in
    ``token`` of each character of the result."""
    same = (token, list(range(len(token))))
    if not any(c in _LEET_OR_MASK for c in token) or not any(c.isalpha() for c in token):
        return same
    # Trailing "!" and leading/trailing "_" or "*" are punctuation, not disguise.
    core = token.rstrip("!").strip("_*")
    if not core or sum(c.isalpha() for c in core) < 1:
        return same
    start = token.index(core)
    decoded = core.translate(_LEET)
    if any(c in _MASKS for c in decoded):
        # squeezed first, as the whole text is later, so that normalising again changes nothing ("fuuuc%")
        resolved = _resolve_masked(_STRETCH.sub(r"\1", decoded))
        if resolved is None:
            return same
        decoded = resolved
    elif decoded not in _LEXICON_SET and not decoded.rstrip("s") in _LEXICON_SET:
        letters = sum(c.isalpha() for c in core)
        if _NOT_LEET.match(core) or letters < 2 or (core[0] == "@" and len(core) > 1):
            return same
    if decoded == core:
        return same
    # A resolution of the same length maps character for character.
    out = token[:start] + decoded + token[start + len(core):]
    offsets = list(range(len(out))) if len(decoded) == len(core) else _spread(len(token), len(out))
    return out, offsets


def _marker(m: re.Match) -> tuple[str, list[int]]:
    token = m.group(0)
    if token.startswith("@") and (token[1:] in _LEXICON_SET or token.translate(_LEET) in _LEXICON_SET):
        return token, list(range(len(token)))  # "@ss" is a disguise, not a mention
    return ("", []) if token == "#" else (" ", [0])


def _entity(m: re.Match) -> tuple[str, list[int]]:
    out = html.unescape(m.group(0))
    return out, _spread(len(m.group(0)), len(out))


def _squeeze(m: re.Match) -> tuple[str, list[int]]:
    return m.group(1), [0]


def _url(m: re.Match) -> tuple[str, list[int]]:
    return "url", [0, 0, 0]


def _spread(n_src: int, n_out: int) -> list[int]:
    return [i * n_src // n_out for i in range(n_out)] if n_src else [0] * n_out


def _sub(pattern: re.Pattern, repl, text: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    """``pattern.sub`` that also carries the offsets of each character through the change."""
    if offsets is None:
        return pattern.sub(lambda m: repl(m)[0], text), None
    out: list[str] = []
    new: list[int] = []
    pos = 0
    for m in pattern.finditer(text):
        s, e = m.span()
        out.append(text[pos:s])
        new.extend(offsets[pos:s])
        replacement, rel = repl(m)
        out.append(replacement)
        new.extend(offsets[s + r] if s + r < e else offsets[e - 1] for r in rel)
        pos = e
    out.append(text[pos:])
    new.extend(offsets[pos:])
    return "".join(out), new


def _collapse_spaces(text: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    if offsets is None:  # str.split and re's \s agree on what white space is
        return " ".join(text.split()), None
    text, offsets = _sub(_SPACES, lambda m: (" ", [0]), text, offsets)
    left = len(text) - len(text.lstrip())
    stripped = text.strip()
    return stripped, offsets[left:left + len(stripped)]


def _normalize(text: str, offsets: list[int] | None, markers: bool = False) -> tuple[str, list[int] | None]:
    text, offsets = _fold(text, offsets)
    if markers:
        if "&" in text:
            text, offsets = _sub(_ENTITY, _entity, text, offsets)
        text, offsets = _sub(_MARKER, _marker, text, offsets)
    elif "http" in text or "www." in text:
        text, offsets = _sub(_URL, _url, text, offsets)
    if offsets is None:
        text = " ".join(text.split())  # as _SPACE_RUNS, and the ends trimmed, which the patterns below ignore
    else:
        text, offsets = _sub(_SPACE_RUNS, lambda m: (" ", [0]), text, offsets)
    while True:
        before = text
        text, offsets = _sub(_SPACED, _join_spaced, text, offsets)
        if _LEET_OR_MASK_CHAR.search(text):
            if offsets is None:
                text = _decode_words(text)
            else:
                text, offsets = _sub(_WORD, _decode_word, text, offsets)
        text, offsets = _sub(_STRETCH, _squeeze, text, offsets)
        # decoding and squeezing can leave single characters that join their neighbours ("0 a 0oo" gives
        # "0 a o"): again, so that normalising a normalised text changes nothing
        if text == before or not _SPACED.search(text):
            return _collapse_spaces(text, offsets)


class _FoldTable(dict):
    """``str.translate`` table of ``_fold``: each character's fold, computed on first use."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = _fold_char(char) if code >= 0x80 else char.lower().translate(_ASCII_CONTROLS)
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _classes(**named: str) -> bytes:
    """A ``bytes.translate`` table giving each byte the bits of the named character classes it is in."""
    table = bytearray(256)
    for bit, chars in enumerate(named.values()):
        for c in chars:
            table[ord(c)] |= 1 << bit
    return bytes(table)


_LETTERS = "abcdefghijklmnopqrstuvwxyz"
# What ``normalize_many`` checks of a folded, collapsed text (as bytes; other code points read as 128).
_CLASS = _classes(
    letter=_LETTERS,  # 1
    other_leet="0123456789@$*#%|+_",  # 2: what _WORD needs in a token (with "!")
    spaced_char=_LETTERS + "0123456789@$!*",  # 4: _SPACED's characters
    spaced_sep=" .-_",  # 8: _SPACED's separators
    spaced_before=_LETTERS + "0123456789@$*#",  # 16: _SPACED's look-behind
    control="".join(chr(c) for c in range(32) if not chr(c).isspace()) + "\x7f",  # 32: split words when folded
)


def normalize_many(texts: list[str], markers: bool = False) -> list[str]:
    """``[normalize(t, markers) for t in texts]``, the same strings, faster for a block of texts.

    Most comments are plain: nothing for steps 2-5 to undo. A plain text's
    normalised form is its folded words joined by single spaces (ASCII texts are
    folded by lower-casing, others through ``_FOLD_TABLE``). A folded, collapsed
    text is plain when it has no control character (what folding would turn into
    a space), no ``http`` or ``www.``, nothing ``_SPACED`` could match (a
    character, a separator, a character, the same separator, a character, after
    none of its look-behind characters, and not a run of just three characters
    followed by a letter or digit, as in "it's a shame"), no letter three times in a row, and no
    ``_WORD`` token that decoding could change: a token with a leetspeak or mask
    character must have no letter, or be letters followed by ``!``
    (``_decode_word`` leaves both alone). A text that fails only the last two goes
    through those steps alone (unless they leave letters to join), every other text
    through ``normalize``. The checks
    are made by the compiled kernel while it folds and collapses the texts
    (``_kernel.collapse_many``), else with numpy over the block (``_collapse_numpy``).
    """
    return normalize_many_plain(texts, markers)[0]


def normalize_many_plain(texts: list[str], markers: bool = False) -> tuple[list[str], np.ndarray]:
    """``normalize_many``, and which texts are plain ASCII: their normalised form is their words lower-cased and
    joined by single spaces, and nothing in it is what a later step looks for.

    A piece of a plain text cut at white space is plain too (the checks look at
    neighbouring characters, and white space reads as the end of a text to them),
    so its normalised form is the matching piece of the text's: what
    ``plain_pieces`` takes instead of normalising the pieces again.
    """
    if markers:
        return [normalize(t, True) for t in texts], np.zeros(len(texts), dtype=bool)
    strings, collapsed, flags, plain = _folded(texts)
    # only the flagged texts need more than folding and collapsing
    for k in np.flatnonzero(np.frombuffer(flags, dtype=np.uint8)).tolist():
        found = flags[k]
        if found & _OTHER:
            collapsed[k] = normalize(texts[strings[k]])
        else:  # steps 1-3 give the collapsed text: the last two may change it
            text = collapsed[k]
            decoded = _decode_words(text) if found & _LEETSPEAK else text
            if decoded != text or found & _STRETCHED:
                # what they leave may hold letters to join ("0 a 0oo" gives "0 a o"): normalize() goes on from
                # there (the collapsed text itself holds none: the checks found no _SPACED match)
                text = " ".join(_STRETCH.sub(r"\1", decoded).split())
                if _SPACED.search(text):
                    text = normalize(texts[strings[k]])
            collapsed[k] = text
    return _by_text(strings, collapsed, len(texts)), plain


def _folded(texts: list) -> tuple[list[int], list[str], bytes, np.ndarray]:
    """The first pass of ``normalize_many_plain``: the positions of the texts that are str, their folded,
    collapsed forms and the checks' flags (``_kernel.collapse_many``), and which of all the texts are plain."""
    plain = np.zeros(len(texts), dtype=bool)
    strings = [i for i, t in enumerate(texts) if isinstance(t, str)]
    collapse = _collapse_many if _collapse_many is not None else _collapse_numpy
    collapsed, flags = collapse(texts if len(strings) == len(texts) else [texts[i] for i in strings], _FOLD_TABLE)
    clean = np.frombuffer(flags, dtype=np.uint8) == 0
    plain[strings] = clean & np.fromiter((texts[i].isascii() for i in strings), dtype=bool, count=len(strings))
    return strings, collapsed, flags, plain


def _by_text(strings: list[int], values: list[str], n: int) -> list[str]:
    """``values`` (one per str text, at positions ``strings``) as a list of all ``n`` texts', "" for the others."""
    if len(strings) == n:
        return values
    out = [""] * n
    for k, i in enumerate(strings):
        out[i] = values[k]
    return out


# What a folded, collapsed text may hold that the last steps or normalize() must see (bits of the checks' flags).
_LEETSPEAK, _STRETCHED, _OTHER = 1, 2, 4


def plain_pieces(texts: list[str], normalized: list[str], counts: np.ndarray, spans: np.ndarray) -> list[str]:
    """The normalised form of each piece ``text[s:e]`` of plain texts (``normalize_many_plain``) given with their
    normalised forms, all in one list: ``counts[i]`` pieces of text i, the next rows of ``spans`` (int64 (start,
    end) rows, each cut at white space). From the compiled kernel, the pieces of the normalised texts; else
    normalised again."""
    counts = np.ascontiguousarray(counts, dtype=np.int64)
    spans = np.ascontiguousarray(spans, dtype=np.int64).reshape(-1, 2)
    if _pieces is not None:
        return _pieces(texts, normalized, counts, spans)
    owner = np.repeat(np.arange(len(texts)), counts).tolist()
    return normalize_many([texts[i][s:e] for i, (s, e) in zip(owner, spans.tolist())])


def _collapse_numpy(texts: list[str], fold) -> tuple[list[str], bytes]:
    """``_kernel.collapse_many`` with numpy: the folded, collapsed texts and each one's flags, checked over the
    texts joined by line breaks (which no collapsed text holds, and which no check matches)."""
    collapsed = [" ".join((t.lower() if t.isascii() else t.translate(fold)).split()) for t in texts]
    joined = "\n".join(collapsed)
    if joined.isascii():
        b = np.frombuffer(joined.encode("ascii"), dtype=np.uint8)
    else:  # only ASCII characters are in the classes
        b = np.minimum(np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4"), 128).astype(np.uint8)
    cls = np.frombuffer(b.tobytes().translate(_CLASS), dtype=np.uint8)
    n = b.size
    other = (cls & 32).astype(bool)
    stretched = np.zeros(n, dtype=bool)
    leetspeak = np.zeros(n, dtype=bool)
    letter = (cls & 1).astype(bool)
    if n >= 3:  # a letter three times: _STRETCH
        stretched[:-2] = (b[:-2] == b[1:-1]) & (b[1:-1] == b[2:]) & letter[:-2]
    if n >= 5:  # where a _SPACED match starts
        # A character, a separator, a character, the same separator, a character, after none of the look-behind
        # characters, starts a match unless the run stops at three characters and a letter or digit follows (the
        # look-ahead): a longer run matches with a separator after its third character.
        spaced_char = (cls & 4).astype(bool)
        start = (spaced_char[:-4] & (cls[1:-3] & 8).astype(bool) & spaced_char[2:-2] & (b[3:-1] == b[1:-3])
                 & spaced_char[4:])
        start[1:] &= ~(cls[:-5] & 16).astype(bool)
        ascii_alnum = ((b >= 97) & (b <= 122)) | ((b >= 48) & (b <= 57))
        start[:-1] &= ~ascii_alnum[5:]
        other[:-4] |= start
    if n >= 4:  # http, www.
        other[:-3] |= (((b[:-3] == 104) & (b[1:-2] == 116) & (b[2:-1] == 116) & (b[3:] == 112))
                       | ((b[:-3] == 119) & (b[1:-2] == 119) & (b[2:-1] == 119) & (b[3:] == 46)))
    # A _WORD token (a run of token characters with a leetspeak or mask character) that decoding might change
    # has a letter and a leetspeak or mask character other than "!", or a letter after a "!". Between the two,
    # there is always one of these pairs of neighbours: a letter and such a character (either way round), or
    # "!" followed by a letter or by such a character.
    if n >= 2:
        leet = (cls & 2).astype(bool)
        bang = b[:-1] == 33
        leetspeak[:-1] = ((letter[:-1] & leet[1:]) | (leet[:-1] & letter[1:]) | (bang & letter[1:])
                          | (bang & leet[1:]))
    starts = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(c) + 1 for c in collapsed], out=starts[1:])
    flags = np.zeros(len(texts), dtype=np.uint8)
    for bit, where in ((_LEETSPEAK, leetspeak), (_STRETCHED, stretched), (_OTHER, other)):
        flags[np.searchsorted(starts, np.flatnonzero(where), side="right") - 1] |= bit
    return collapsed, flags.tobytes()


def as_texts(texts: Iterable) -> list[str]:
    """Texts as a list of str; a single str is one text, missing values (None, NaN) are empty."""
    if isinstance(texts, str):
        return [texts]
    out = []
    for t in texts:
        if isinstance(t, str):
            out.append(t)
        elif t is None or (isinstance(t, float) and t != t):
            out.append("")
        else:
            try:
                missing = bool(t != t)
            except (TypeError, ValueError):
                missing = False
            out.append("" if missing else str(t))
    return out


def normalize(text: str, markers: bool = False) -> str:
    """The normalised form of ``text`` that the features are computed from (``markers``: see the module)."""
    if not isinstance(text, str):
        return ""
    return _normalize(text, None, markers)[0]


def normalize_with_offsets(text: str, markers: bool = False) -> tuple[str, list[int]]:
    """The normalised text and, per character of it, the index of its source character in ``text``."""
    if not isinstance(text, str) or not text:
        return "", []
    normalized, offsets = _normalize(text, [], markers)
    return normalized, offsets


def normalize_many_with_offsets(texts: list[str], markers: bool = False) -> list[tuple[str, list[int]]]:
    """``[normalize_with_offsets(t, markers) for t in texts]``, the same, faster for a block of texts.

    A plain text (``normalize_many_plain``) is its words lower-cased and joined by
    single spaces, so each character of a word comes from its own position and each
    space from the first white space character after the word before it.
    """
    if markers:  # no text is plain then
        return [normalize_with_offsets(t, True) for t in texts]
    # only the first pass: the texts that are not plain are normalised once, with their offsets
    strings, collapsed, _, plain = _folded(texts)
    normalized = _by_text(strings, collapsed, len(texts))
    out = []
    for text, form, is_plain in zip(texts, normalized, plain.tolist()):
        if not is_plain:
            out.append(normalize_with_offsets(text))
            continue
        offsets: list[int] = []
        end = 0
        for m in _NON_SPACE.finditer(text):
            if offsets:
                offsets.append(end)
            end = m.end()
            offsets.extend(range(m.start(), end))
        out.append((form, offsets))
    return out


def __getattr__(name: str):
    # the estimator imports scikit-learn (about a second), which scoring a loaded model does without
    if name == "TextNormalizer":
        from .estimators import TextNormalizer

        return TextNormalizer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class TextNormalizerCore:
    """Pipeline step applying :func:`normalize` to every text (stateless).

    ``markers`` also drops the marks of where a text was collected (mentions,
    retweet marks, links, placeholders): see the module's docstring. All of
    ``TextNormalizer`` but scikit-learn's estimator protocol (``moderation.estimators``
    adds it), so that scoring a loaded model needs no scikit-learn.
    """

    def __init__(self, markers: bool = False):
        self.markers = markers

    def fit(self, X, y=None):
        return self

    @property
    def _markers(self) -> bool:
        return getattr(self, "markers", False)  # model files written before the option have no attribute

    def transform(self, X):
        return normalize_many(list(X), self._markers)

    def one(self, text: str) -> str:
        """One text, normalised as this step does."""
        return normalize(text, self._markers)

    def many(self, texts: list[str]) -> list[str]:
        """Texts normalised as this step does (``normalize_many``: the same as ``one`` on each, faster)."""
        return normalize_many(texts, self._markers)

    def many_plain(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """``many``, and which texts are plain (``normalize_many_plain``)."""
        return normalize_many_plain(texts, self._markers)

    def with_offsets(self, text: str) -> tuple[str, list[int]]:
        """One text, normalised as this step does, with the offsets of ``normalize_with_offsets``."""
        return normalize_with_offsets(text, self._markers)

    def many_with_offsets(self, texts: list[str]) -> list[tuple[str, list[int]]]:
        """``with_offsets`` of each text (``normalize_many_with_offsets``: the same, faster)."""
        return normalize_many_with_offsets(texts, self._markers)
