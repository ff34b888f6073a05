"""The Perspective API (Google's ``commentanalyzer`` v1alpha1) answered by our model: a drop-in replacement.

Library code, no web framework: ``Perspective`` takes a request body already
decoded to a dict (``decode``) and returns the response dict, or raises
``PerspectiveError`` carrying Google's HTTP code, status and ``errorType``
(``PerspectiveError.body()`` is Google's JSON error). ``moderation.queue.web.perspective``
is the HTTP layer over it.

The attributes (``ATTRIBUTES``) come from the model's remove score and categories:
``TOXICITY`` is the remove score, ``IDENTITY_ATTACK``, ``INSULT``, ``PROFANITY``
and ``THREAT`` are the ``identity_attack``, ``insult``, ``obscene`` and ``threat``
categories, and ``SEVERE_TOXICITY`` is derived (``severe_toxicity``). Span scores
are the phrases ``Model.explain`` finds, each scored on its own; offsets are in
UTF-16 code units, as Google's were. Only English is served.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import threading
import uuid
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from .categories import CATEGORY_REASON_CODE

__all__ = ["Perspective", "PerspectiveError", "BatchScorer", "AnalyzeRequest", "Feedback", "ATTRIBUTES",
           "MAX_COMMENT_BYTES", "MAX_BATCH", "decode", "parse_analyze", "parse_feedback", "severe_toxicity",
           "discovery_document", "utf16_offsets"]

MAX_COMMENT_BYTES = 20_480  # Perspective's limit: 20 KB of UTF-8
MAX_BATCH = 1000  # comments per comments:batchAnalyze request
LANGUAGE = "en"
ERROR_TYPE = "type.googleapis.com/google.commentanalyzer.v1alpha1.Error"
# Perspective attribute -> the model's column: "score" (the remove score), a category, or "severe" (derived)
ATTRIBUTES: dict[str, str] = {"TOXICITY": "score", "SEVERE_TOXICITY": "severe", "IDENTITY_ATTACK": "identity_attack",
                              "INSULT": "insult", "PROFANITY": "obscene", "THREAT": "threat"}
# A remove decision sent with these attributes high gets the moderators' reason code for it.
# The reason code a client's high attribute score stands for: through the model category behind the attribute.
REASON_FOR_ATTRIBUTE = {attribute: CATEGORY_REASON_CODE[category] for attribute, category in
                        (("IDENTITY_ATTACK", "identity_attack"), ("INSULT", "insult"), ("PROFANITY", "obscene"),
                         ("THREAT", "threat"))}
_SURROGATE = re.compile("[\ud800-\udfff]")
_ATTRIBUTE_KEY = re.compile(r"^([A-Za-z_]+)(?:@(\d+))?$")


class PerspectiveError(Exception):
    """A request Perspective would refuse: HTTP ``code``, Google's ``status``, and details (``errorType``)."""

    def __init__(self, message: str, *, code: int = 400, status: str = "INVALID_ARGUMENT",
                 error_type: str | None = "INVALID_REQUEST", extra: dict | None = None,
                 details: list[dict] | None = None):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status
        if details is None:
            details = [] if error_type is None else [{"@type": ERROR_TYPE, "errorType": error_type, **(extra or {})}]
        self.details = details

    @property
    def error_type(self) -> str | None:
        return next((d.get("errorType") for d in self.details if "errorType" in d), None)

    def body(self) -> dict:
        """Google's JSON error: ``{"error": {"code", "message", "status", "details"}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}

    @classmethod
    def missing_key(cls) -> "PerspectiveError":
        return cls("The request is missing a valid API key.", code=403, status="PERMISSION_DENIED", error_type=None)

    @classmethod
    def invalid_key(cls) -> "PerspectiveError":
        return cls("API key not valid. Please pass a valid API key.", details=[{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
            "domain": "googleapis.com", "metadata": {"service": "commentanalyzer.googleapis.com"}}])

    @classmethod
    def invalid_bearer(cls) -> "PerspectiveError":
        return cls("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
                   "or other valid authentication credential.", code=401, status="UNAUTHENTICATED", error_type=None)

    @classmethod
    def too_long(cls, body_limit: int | None = None) -> "PerspectiveError":
        """Perspective's error for a comment over ``MAX_COMMENT_BYTES``, or for a body over ``body_limit``."""
        detail = "" if body_limit is None else f": the request body is larger than {body_limit} bytes"
        return cls(f"Comment text too long{detail}.", error_type="COMMENT_TOO_LONG")


def _invalid(field_path: str, kind: str) -> PerspectiveError:
    return PerspectiveError(f"Invalid value at '{field_path}' ({kind})")


# -- decoding ---------------------------------------------------------------------------------
def _clean(value):
    """Lone surrogates (JSON may escape them) become U+FFFD, one for one, in every string and key."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def decode(raw: bytes) -> dict:
    """A request body as a dict, or ``INVALID_REQUEST`` when it is not a JSON object."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
        raise PerspectiveError("Invalid JSON payload received.") from None
    if not isinstance(body, dict):
        raise PerspectiveError("Invalid JSON payload received: expected an object.")
    try:
        return _clean(body)
    except RecursionError:
        raise PerspectiveError("Invalid JSON payload received: nested too deeply.") from None


# -- requests ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Requested:
    """One requested attribute: the key as sent (``TOXICITY@6``), the attribute, its ``scoreThreshold``."""

    key: str
    attribute: str
    threshold: float | None = None


@dataclass
class AnalyzeRequest:
    """A valid ``comments:analyze`` request."""

    text: str
    attributes: list[Requested]
    languages: list[str] | None = None
    span_annotations: bool = False
    do_not_store: bool = False
    client_token: str | None = None
    community_id: str | None = None
    article_url: str | None = None


def _optional(body: dict, name: str, kind: type, label: str, wire: str):
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
        raise _invalid(wire, label)
    return value


def _comment_text(body: dict) -> str:
    comment = body.get("comment")
    if comment is None:
        raise PerspectiveError("Comment must be non-empty.", error_type="COMMENT_EMPTY")
    if not isinstance(comment, dict):
        raise _invalid("comment", "type.googleapis.com/google.commentanalyzer.v1alpha1.TextEntry")
    text = comment.get("text")
    if text is None or text == "":
        raise PerspectiveError("Comment must be non-empty.", error_type="COMMENT_EMPTY")
    if not isinstance(text, str):
        raise _invalid("comment.text", "TYPE_STRING")
    if len(text) * 4 > MAX_COMMENT_BYTES and len(text.encode("utf-8", "surrogatepass")) > MAX_COMMENT_BYTES:
        raise PerspectiveError.too_long()
    kind = comment.get("type")
    if kind == "HTML":
        raise PerspectiveError("Currently, only 'PLAIN_TEXT' comments are supported")
    if kind not in (None, "PLAIN_TEXT", "TEXT_TYPE_UNSPECIFIED"):
        raise PerspectiveError("Unknown text type")
    return text


def _article_url(body: dict) -> str | None:
    """The story URL a client put in ``context`` (Coral Talk sends ``{"url": ...}`` as an entry's text)."""
    context = body.get("context")
    if context is None:
        return None
    if not isinstance(context, dict):
        raise _invalid("context", "type.googleapis.com/google.commentanalyzer.v1alpha1.Context")
    entries, both = context.get("entries"), context.get("articleAndParentComment")
    if entries and both:
        raise PerspectiveError("Context can have either entries or article_and_parent_comment, "
                               "but both fields were populated.")
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _invalid("context.entries", "type.googleapis.com/google.commentanalyzer.v1alpha1.TextEntry")
    for entry in entries:
        text = entry.get("text")
        if isinstance(text, str) and text.startswith("{"):
            try:
                url = json.loads(text).get("url")
            except (ValueError, AttributeError, RecursionError):
                continue
            if isinstance(url, str) and url:
                return _without_comment_id(url)
    return None


def _without_comment_id(url: str) -> str:
    """The story URL without Coral's ``commentID`` query parameter."""
    try:
        parts = urlsplit(url)
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "commentID"])
        return urlunsplit(parts._replace(query=query))[:200]
    except ValueError:
        return url[:200]


def _languages(body: dict) -> list[str] | None:
    languages = body.get("languages")
    if languages is None or languages == []:
        return None
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise _invalid("languages", "TYPE_STRING")
    return languages


def _is_english(code: str) -> bool:
    return re.split(r"[-_]", code.strip().lower(), maxsplit=1)[0] == LANGUAGE


def _threshold(value, key: str) -> float | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        threshold = float(value)
    except (TypeError, ValueError):
        raise _invalid(f"requested_attributes[{key}].score_threshold", "TYPE_FLOAT") from None
    if math.isnan(threshold):
        raise _invalid(f"requested_attributes[{key}].score_threshold", "TYPE_FLOAT")
    return threshold


def parse_analyze(body: dict, available: Sequence[str]) -> AnalyzeRequest:
    """Validate a ``comments:analyze`` body, in the order Perspective reports problems.

    ``available`` are the attributes the model can score. Unknown fields are ignored.
    """
    text = _comment_text(body)
    requested = body.get("requestedAttributes")
    if requested is not None and not isinstance(requested, dict):
        raise _invalid("requested_attributes",
                       "type.googleapis.com/google.commentanalyzer.v1alpha1.AttributeParameters")
    if not requested:
        raise PerspectiveError("Missing requested_attributes", error_type="NO_REQUESTED_ATTRIBUTES")
    attributes = []
    for key, params in requested.items():
        match = _ATTRIBUTE_KEY.match(key)
        name = match.group(1).upper() if match else key
        if name not in ATTRIBUTES:
            raise PerspectiveError(f"Unknown requested attribute: {key}")
        if name not in available:
            needs = "identity_attack or threat" if name == "SEVERE_TOXICITY" else ATTRIBUTES[name]
            raise PerspectiveError(f"Unknown requested attribute: {key} (this model has no {needs} category)")
        if params is not None and not isinstance(params, dict):
            raise _invalid(f"requested_attributes[{key}]", "type.googleapis.com/"
                           "google.commentanalyzer.v1alpha1.AttributeParameters")
        params = params or {}
        if params.get("scoreType") not in (None, "SCORE_TYPE_UNSPECIFIED", "PROBABILITY"):
            raise PerspectiveError(f"Requested score type {params.get('scoreType')} is not supported by "
                                   f"attribute {key}")
        attributes.append(Requested(key, name, _threshold(params.get("scoreThreshold"), key)))
    article_url = _article_url(body)
    languages = _languages(body)
    if languages and not all(_is_english(code) for code in languages):
        first = attributes[0].key
        raise PerspectiveError(f"Attribute {first} does not support request languages: {', '.join(languages)}",
                               error_type="LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                               extra={"languageNotSupportedByAttributeError": {
                                   "requestedLanguages": languages, "attribute": first}})
    do_not_store = _optional(body, "doNotStore", bool, "TYPE_BOOL", "do_not_store")
    return AnalyzeRequest(
        text=text, attributes=attributes, languages=languages,
        span_annotations=bool(_optional(body, "spanAnnotations", bool, "TYPE_BOOL", "span_annotations")),
        do_not_store=bool(do_not_store),
        client_token=_optional(body, "clientToken", str, "TYPE_STRING", "client_token"),
        community_id=_optional(body, "communityId", str, "TYPE_STRING", "community_id"),
        article_url=article_url)


@dataclass
class Feedback:
    """A ``comments:suggestscore`` request: the comment and what the client's moderators decided.

    ``action`` is ``remove``, ``keep``, or None when the scores sent say neither
    (e.g. only ``INSULT: 0``, or attributes we do not have).
    """

    text: str
    action: str | None
    reason_code: str | None = None
    client_token: str | None = None
    community_id: str | None = None
    article_url: str | None = None
    languages: list[str] | None = None


def _suggested_value(key: str, scores) -> float:
    if not isinstance(scores, dict) or not scores:
        raise PerspectiveError(f"attribute_scores[{key}] must have a summaryScore or spanScores")
    summary, spans = scores.get("summaryScore"), scores.get("spanScores")
    values = []
    if summary is not None:
        if not isinstance(summary, dict):
            raise _invalid(f"attribute_scores[{key}].summary_score", "type.googleapis.com/"
                           "google.commentanalyzer.v1alpha1.Score")
        values.append(summary.get("value", 0))
    if spans is not None:
        if not isinstance(spans, list) or not all(isinstance(s, dict) and isinstance(s.get("score"), dict)
                                                  for s in spans):
            raise _invalid(f"attribute_scores[{key}].span_scores", "type.googleapis.com/"
                           "google.commentanalyzer.v1alpha1.SpanScore")
        values += [s["score"].get("value", 0) for s in spans]
    if not values:
        raise PerspectiveError(f"attribute_scores[{key}] must have a summaryScore or spanScores")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1:
            raise _invalid(f"attribute_scores[{key}].summary_score.value", "TYPE_FLOAT between 0 and 1")
        out.append(float(v))
    return max(out)


def parse_feedback(body: dict) -> Feedback:
    """Validate a ``comments:suggestscore`` body and read the moderators' decision from its scores.

    ``TOXICITY`` (any version) ≥ 0.5 is a removal and < 0.5 a keep; Coral Talk's
    older ``APPROVED`` / ``DELETED`` (or ``REJECTED``) keys are a keep / a removal;
    otherwise any of our other attributes ≥ 0.5 is a removal, with the reason code of its category.
    """
    text = _comment_text(body)
    scores = body.get("attributeScores")
    if not isinstance(scores, dict) or not scores:
        raise PerspectiveError("attribute_scores must not be empty")
    values: dict[str, float] = {}
    for key, value in scores.items():
        match = _ATTRIBUTE_KEY.match(key)
        values[match.group(1).upper() if match else key] = _suggested_value(key, value)
    action, reason_code = None, None
    if "TOXICITY" in values:
        action = "remove" if values["TOXICITY"] >= 0.5 else "keep"
    elif values.get("DELETED", 0) >= 0.5 or values.get("REJECTED", 0) >= 0.5:
        action = "remove"
    elif values.get("APPROVED", 0) >= 0.5:
        action = "keep"
    elif any(values.get(a, 0) >= 0.5 for a in ATTRIBUTES):
        action = "remove"
    if action == "remove":
        high = [(v, a) for a, v in values.items() if a in REASON_FOR_ATTRIBUTE and v >= 0.5]
        reason_code = REASON_FOR_ATTRIBUTE[max(high)[1]] if high else None
    return Feedback(text=text, action=action, reason_code=reason_code,
                    client_token=_optional(body, "clientToken", str, "TYPE_STRING", "client_token"),
                    community_id=_optional(body, "communityId", str, "TYPE_STRING", "community_id"),
                    article_url=_article_url(body), languages=_languages(body))


# -- scoring ------------------------------------------------------------------------------------
def severe_toxicity(score, categories: dict):
    """SEVERE_TOXICITY from the remove score and the categories (arrays or floats), or None without them.

    Perspective's SEVERE_TOXICITY is toxicity that is very hateful or aggressive and
    "much less sensitive to milder forms" such as profanity or a plain insult.
    Here: the remove score times the stronger of the identity-attack and threat
    scores (removable AND (hate OR threat), AND as a product, OR as the maximum).
    """
    terms = [categories[c] for c in ("identity_attack", "threat") if c in categories]
    if not terms:
        return None
    return np.multiply(score, np.maximum(*terms) if len(terms) == 2 else terms[0])


def available_attributes(model) -> list[str]:
    """The Perspective attributes ``model`` can score."""
    cats = set(model.category_names)
    has_severe = severe_toxicity(0.0, dict.fromkeys(cats, 0.0)) is not None
    return [a for a, col in ATTRIBUTES.items() if col == "score" or col in cats or (col == "severe" and has_severe)]


def attribute_table(model, texts: list[str]) -> list[dict[str, float]]:
    """Per text, every attribute ``model`` can score (one ``score_columns`` call)."""
    if not texts:
        return []
    columns = model.score_columns(texts, categories=bool(model.category_names), reasons=0)
    cats = {c: columns[c] for c in model.category_names}
    severe = severe_toxicity(columns["score"], cats)
    if severe is not None:
        columns = {**columns, "severe": severe}
    names = [(a, col) for a, col in ATTRIBUTES.items() if col in columns]
    return [{a: float(columns[col][i]) for a, col in names} for i in range(len(texts))]


class BatchScorer:
    """Scores texts for many threads at once: concurrent callers share one ``score_table`` call.

    A model call has a fixed cost (a few milliseconds) that dwarfs the cost per
    text, so the first caller scores everything pending while later ones wait, and
    hands over to one of them when done. Nothing waits on purpose: a caller alone
    is scored at once.
    """

    def __init__(self, model, max_texts: int = 2048):
        self.model = model
        self.max_texts = max_texts
        self._cond = threading.Condition()
        self._pending: list[dict] = []
        self._busy = False

    def __call__(self, texts: list[str]) -> list[dict[str, float]]:
        item: dict[str, Any] = {"texts": texts}
        with self._cond:
            self._pending.append(item)
            while "result" not in item:
                if not self._busy:
                    self._busy = True
                    batch, size = [], 0
                    while self._pending and (not batch or size + len(self._pending[0]["texts"]) <= self.max_texts):
                        size += len(self._pending[0]["texts"])
                        batch.append(self._pending.pop(0))
                    break
                self._cond.wait()
            else:
                return _result(item)
        try:
            flat = [t for b in batch for t in b["texts"]]
            rows = attribute_table(self.model, flat)
            pos = 0
            for b in batch:
                b["result"] = rows[pos:pos + len(b["texts"])]
                pos += len(b["texts"])
        except BaseException as e:  # every waiter gets the error, not a hang
            for b in batch:
                b.setdefault("result", e)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
        return _result(item)


def _result(item: dict):
    if isinstance(item["result"], BaseException):
        raise item["result"]
    return item["result"]


def utf16_offsets(text: str) -> list[int] | None:
    """Per character index, its offset in UTF-16 code units; None when they are equal (no astral characters)."""
    if text.isascii() or not any(ord(c) > 0xFFFF for c in text):
        return None
    offsets, pos = [], 0
    for c in text:
        offsets.append(pos)
        pos += 2 if ord(c) > 0xFFFF else 1
    offsets.append(pos)
    return offsets


def _score(value: float) -> dict:
    return {"value": round(float(value), 6), "type": "PROBABILITY"}


# -- the service ---------------------------------------------------------------------------------
class Perspective:
    """The Perspective endpoints over a model and (optionally) the review queue's store.

    ``keep_comments``: an analyzed comment sent with ``doNotStore: false`` that
    scores at or above the model's threshold is added to the review queue.
    """

    def __init__(self, model, store=None, *, keep_comments: bool = True):
        self.model, self.store, self.keep_comments = model, store, keep_comments
        self.scorer = BatchScorer(model)
        self.available = available_attributes(model)

    @property
    def model_info(self) -> dict:
        """The ``model`` field of every answer: which model scored it."""
        return {"name": self.model.card.name, "version": self.model.card.version_tag}

    # -- keys --------------------------------------------------------------------------------
    def authenticate(self, key: str | None, bearer: str | None = None) -> dict:
        """The moderator whose API token is ``key`` (``?key=``) or ``bearer``; Google's errors otherwise."""
        if key is None and bearer is not None:
            user = self.store.moderator_for_token(bearer) if bearer else None
            if user is None:
                raise PerspectiveError.invalid_bearer()
            return user
        if not key:
            raise PerspectiveError.missing_key()
        user = self.store.moderator_for_token(key)
        if user is None:
            raise PerspectiveError.invalid_key()
        return user

    # -- analyze -----------------------------------------------------------------------------
    def analyze(self, body: dict, moderator: dict | None = None) -> dict:
        """Answer a ``comments:analyze`` body (see ``parse_analyze``)."""
        request = parse_analyze(body, self.available)
        return self._answer([request], moderator)[0]

    def analyze_batch(self, body: dict, moderator: dict | None = None) -> dict:
        """Answer ``comments:batchAnalyze``: ``{"requests": [...]}`` of up to ``MAX_BATCH`` analyze bodies.

        Other top-level fields are defaults for every item (an item's own fields
        win). Answers come in order; an item that fails gets its own ``error``.
        """
        items = body.get("requests")
        if not isinstance(items, list):
            raise PerspectiveError("requests must be a list of analyze requests")
        if not items:
            raise PerspectiveError("requests must not be empty")
        if len(items) > MAX_BATCH:
            raise PerspectiveError(f"at most {MAX_BATCH} requests per batch, got {len(items)}")
        defaults = {k: v for k, v in body.items() if k != "requests"}
        parsed: list[AnalyzeRequest | PerspectiveError] = []
        for i, item in enumerate(items):
            try:
                if not isinstance(item, dict):
                    raise _invalid(f"requests[{i}]", "type.googleapis.com/"
                                   "google.commentanalyzer.v1alpha1.AnalyzeCommentRequest")
                parsed.append(parse_analyze({**defaults, **item}, self.available))
            except PerspectiveError as e:
                parsed.append(e)
        good = [p for p in parsed if isinstance(p, AnalyzeRequest)]
        answers = iter(self._answer(good, moderator))
        return {"responses": [p.body() if isinstance(p, PerspectiveError) else next(answers) for p in parsed],
                "model": self.model_info}

    def _answer(self, requests: list[AnalyzeRequest], moderator: dict | None) -> list[dict]:
        asked = [i for i, r in enumerate(requests) if r.span_annotations]
        spans = dict(zip(asked, self.model.explain_many([requests[i].text for i in asked])))
        fragments = [s.fragment for i in sorted(spans) for s in spans[i]]
        rows = self.scorer([r.text for r in requests] + fragments)
        fragment_rows = iter(rows[len(requests):])
        answers = []
        for i, (request, scores) in enumerate(zip(requests, rows)):
            found = [(s, next(fragment_rows)) for s in spans.get(i, [])]
            answers.append(self._response(request, scores, found))
            if not request.do_not_store and self.keep_comments and self.store is not None:
                self._keep(request, scores, moderator)
        return answers

    def _response(self, request: AnalyzeRequest, scores: dict, spans: list) -> dict:
        offsets = utf16_offsets(request.text)
        at = (lambda i: offsets[i]) if offsets else (lambda i: i)
        out: dict[str, dict] = {}
        for req in request.attributes:
            value = round(scores[req.attribute], 6)
            if request.span_annotations:
                span_scores = [{"begin": at(s.start), "end": at(s.end), "score": _score(row[req.attribute])}
                               for s, row in spans]
            else:  # one span over the whole comment, as Perspective answered without spanAnnotations
                span_scores = [{"begin": 0, "end": at(len(request.text)), "score": _score(value)}]
            entry: dict[str, Any] = {}
            if req.threshold is not None:
                span_scores = [s for s in span_scores if s["score"]["value"] >= req.threshold]
            if span_scores or request.span_annotations:
                entry["spanScores"] = span_scores
            if req.threshold is None or value >= req.threshold:
                entry["summaryScore"] = _score(value)
            if req.threshold is not None and "summaryScore" not in entry and not span_scores:
                continue
            out[req.key] = entry
        answer: dict[str, Any] = {"attributeScores": out, "languages": request.languages or [LANGUAGE]}
        if not request.languages:
            answer["detectedLanguages"] = [LANGUAGE]
        if request.client_token is not None:
            answer["clientToken"] = request.client_token
        answer["model"] = self.model_info
        return answer

    def _source(self, community_id: str | None, moderator: dict | None) -> str:
        client = community_id or (moderator or {}).get("name") or "client"
        return ("perspective:" + client)[:300]

    def _keep(self, request: AnalyzeRequest, scores: dict, moderator: dict | None) -> None:
        if scores["TOXICITY"] < self.model.threshold:
            return
        cid = self._comment_id(request.client_token, request.community_id, request.text, random=True)
        self.store.add_comment(**self._comment_fields(cid, request.text, scores, request.community_id,
                                                      request.article_url, moderator))

    def _comment_fields(self, cid: str, text: str, scores: dict, community_id, article_url, moderator) -> dict:
        cats = {c: round(scores[a], 6) for a, c in ATTRIBUTES.items() if c in self.model.category_names and a in scores}
        return {"comment_id": cid, "text": text, "source": self._source(community_id, moderator),
                "score": round(scores["TOXICITY"], 6), "threshold": float(self.model.threshold),
                "categories": cats or None, "article_id": article_url,
                "spans": [s._asdict() for s in self.model.explain(text)],
                "model_version": self.model.card.version_tag}

    @staticmethod
    def _comment_id(client_token: str | None, community_id: str | None, text: str, random: bool = False) -> str:
        """``clientToken`` as the queue's comment id; without a usable one (none, over 200 characters, a NUL),
        a digest of community, token and text, or a random id."""
        if client_token and len(client_token) <= 200 and "\x00" not in client_token:
            return client_token
        if random and not client_token:
            return "perspective:" + uuid.uuid4().hex
        digest = hashlib.sha256(f"{community_id}\n{client_token}\n{text}".encode("utf-8", "replace")).hexdigest()
        return "perspective:" + digest[:32]

    # -- suggestscore ------------------------------------------------------------------------
    def suggest(self, body: dict, moderator: dict) -> dict:
        """Store a ``comments:suggestscore`` as ``moderator``'s decision on the comment; answer with the token.

        The comment is added to the queue (id ``clientToken``, source
        ``perspective:<communityId>``) if it is not there, scored by the model;
        the decision is appended to the log whatever the comment's status, so the
        latest word from the client's moderators wins in the export.
        """
        feedback = parse_feedback(body)
        if feedback.action is not None and self.store is not None:
            scores = self.scorer([feedback.text])[0]
            cid = self._comment_id(feedback.client_token, feedback.community_id, feedback.text)
            fields = self._comment_fields(cid, feedback.text, scores, feedback.community_id, feedback.article_url,
                                          moderator)
            self.store.record_feedback(fields, moderator["id"], feedback.action, feedback.reason_code)
        answer: dict[str, Any] = {}
        if feedback.client_token is not None:
            answer["clientToken"] = feedback.client_token
        if feedback.languages:
            answer["requestedLanguages"] = feedback.languages
        answer["model"] = self.model_info
        return answer


# -- discovery -----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _google_document() -> str:
    return (resources.files("moderation") / "commentanalyzer.v1alpha1.json").read_text(encoding="utf-8")


_BATCH_METHOD = {
    "description": "Analyzes up to 1000 comments in one request (moderation's extension). Other top-level "
                   "fields are defaults for every request; answers come in order, a failed item with its error.",
    "flatPath": "v1alpha1/comments:batchAnalyze", "path": "v1alpha1/comments:batchAnalyze",
    "httpMethod": "POST", "id": "commentanalyzer.comments.batchAnalyze", "parameterOrder": [], "parameters": {},
    "request": {"$ref": "BatchAnalyzeCommentsRequest"}, "response": {"$ref": "BatchAnalyzeCommentsResponse"},
}
_BATCH_SCHEMAS = {
    "BatchAnalyzeCommentsRequest": {
        "id": "BatchAnalyzeCommentsRequest", "type": "object",
        "properties": {"requests": {"type": "array", "items": {"$ref": "AnalyzeCommentRequest"},
                                    "description": "Up to 1000 analyze requests."}}},
    "BatchAnalyzeCommentsResponse": {
        "id": "BatchAnalyzeCommentsResponse", "type": "object",
        "properties": {"responses": {"type": "array", "items": {"type": "object"},
                                     "description": "An AnalyzeCommentResponse or {\"error\": ...} per request, "
                                                    "in order."}}},
}


def discovery_document(root_url: str) -> dict:
    """Google's discovery document for commentanalyzer v1alpha1, pointing at ``root_url`` (this server)."""
    doc = json.loads(_google_document())
    root = root_url.rstrip("/") + "/"
    doc["rootUrl"] = doc["baseUrl"] = doc["mtlsRootUrl"] = root
    doc["resources"]["comments"]["methods"]["batchAnalyze"] = copy.deepcopy(_BATCH_METHOD)
    doc["schemas"].update(copy.deepcopy(_BATCH_SCHEMAS))
    return doc
