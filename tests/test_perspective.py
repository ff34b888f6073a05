"""The Perspective API as a library (moderation.perspective): requests, answers, Google's errors, the attribute
mapping, spans, batches, the batching scorer, feedback stored as decisions (on SQLite, and on PostgreSQL with
MODERATION_TEST_POSTGRES), and the discovery document. No server here: tests/test_perspective_server.py runs one.
"""

from __future__ import annotations

import json
import threading
import time
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import moderation
from moderation.perspective import (ATTRIBUTES, MAX_BATCH, MAX_COMMENT_BYTES, BatchScorer, Perspective,
                                    PerspectiveError, attribute_table, decode, discovery_document, parse_feedback,
                                    severe_toxicity, utf16_offsets)

ALL = list(ATTRIBUTES)
ABUSE = "You are a pathetic moron and a disgrace."
CIVIL = "The council should publish the budget before the vote."
EMOJI = "\U0001F600\U0001F600 you idiot, honestly \U0001F44D"


@pytest.fixture(scope="module")
def category_model(default_model) -> moderation.Model:
    """A model with all four categories: the shipped one (the sample model has none)."""
    return default_model


@pytest.fixture(scope="module")
def api(category_model) -> Perspective:
    return Perspective(category_model)


def body(text=ABUSE, attributes=("TOXICITY",), **extra) -> dict:
    return {"comment": {"text": text}, "requestedAttributes": {a: {} for a in attributes}, **extra}


def expected(model, texts) -> pd.DataFrame:
    table = model.score_table(texts, categories=True, reasons=0)
    out = pd.DataFrame({"TOXICITY": table["score"], "IDENTITY_ATTACK": table["identity_attack"],
                        "INSULT": table["insult"], "PROFANITY": table["obscene"], "THREAT": table["threat"]})
    out["SEVERE_TOXICITY"] = table["score"] * np.maximum(table["identity_attack"], table["threat"])
    return out.round(6)


def error_of(call) -> PerspectiveError:
    with pytest.raises(PerspectiveError) as info:
        call()
    return info.value


# -- the attribute mapping -----------------------------------------------------------------------
def test_every_attribute_comes_from_the_model(api, category_model):
    texts = [ABUSE, CIVIL, "shut up you stupid idiot", EMOJI]
    want = expected(category_model, texts)
    for i, text in enumerate(texts):
        answer = api.analyze(body(text, ALL))
        got = {k: v["summaryScore"] for k, v in answer["attributeScores"].items()}
        assert got == {a: {"value": float(want[a][i]), "type": "PROBABILITY"} for a in ALL}


def test_severe_toxicity_is_removable_and_hate_or_threat():
    score = np.array([0.9, 0.9, 0.2, 1.0])
    cats = {"identity_attack": np.array([0.1, 0.8, 0.9, 0.0]), "threat": np.array([0.5, 0.1, 0.0, 0.0]),
            "insult": np.array([1.0, 1.0, 1.0, 1.0]), "obscene": np.array([1.0, 1.0, 1.0, 1.0])}
    np.testing.assert_allclose(severe_toxicity(score, cats), [0.45, 0.72, 0.18, 0.0])
    assert severe_toxicity(0.5, {"threat": 0.4}) == pytest.approx(0.2)
    assert severe_toxicity(0.5, {"insult": 0.9, "obscene": 0.9}) is None


def test_a_model_without_categories_serves_toxicity_only(small_model):
    api = Perspective(small_model)
    assert api.available == ["TOXICITY"]
    answer = api.analyze(body(ABUSE))
    assert answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == round(
        float(small_model.score([ABUSE])[0]), 6)
    e = error_of(lambda: api.analyze(body(ABUSE, ["TOXICITY", "INSULT"])))
    assert (e.code, e.error_type, e.message) == (400, "INVALID_REQUEST", "Unknown requested attribute: INSULT "
                                                 "(this model has no insult category)")
    e = error_of(lambda: api.analyze(body(ABUSE, ["SEVERE_TOXICITY@1"])))
    assert e.message == "Unknown requested attribute: SEVERE_TOXICITY@1 (this model has no identity_attack or threat " \
                        "category)"


def test_version_suffixes_are_accepted_and_keys_echoed_exactly(api, category_model):
    answer = api.analyze(body(ABUSE, ["TOXICITY@6", "insult@2", "THREAT"]))
    assert list(answer["attributeScores"]) == ["TOXICITY@6", "insult@2", "THREAT"]
    want = expected(category_model, [ABUSE])
    assert answer["attributeScores"]["insult@2"]["summaryScore"]["value"] == float(want["INSULT"][0])


@pytest.mark.parametrize("key", ["FLIRTATION", "SEXUALLY_EXPLICIT", "TOXICITY@x", "TOXICITY@", "@1", "", "TOX ICITY"])
def test_an_attribute_we_do_not_have_is_perspectives_error(api, key):
    e = error_of(lambda: api.analyze(body(ABUSE, ["TOXICITY", key])))
    assert e.body() == {"error": {"code": 400, "message": f"Unknown requested attribute: {key}",
                                  "status": "INVALID_ARGUMENT", "details": [{
                                      "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                                      "errorType": "INVALID_REQUEST"}]}}


# -- the answer -------------------------------------------------------------------------------------
def test_answer_shape_without_span_annotations(api, category_model):
    answer = api.analyze(body(ABUSE, ["TOXICITY"], clientToken="tok-1", languages=["en"]))
    value = float(expected(category_model, [ABUSE])["TOXICITY"][0])
    assert answer == {
        "attributeScores": {"TOXICITY": {
            "spanScores": [{"begin": 0, "end": len(ABUSE), "score": {"value": value, "type": "PROBABILITY"}}],
            "summaryScore": {"value": value, "type": "PROBABILITY"}}},
        "languages": ["en"], "clientToken": "tok-1",
        "model": {"name": category_model.card.name, "version": category_model.card.version_tag}}


def test_span_annotations_are_the_explained_phrases_each_scored(api, category_model):
    text = "Nobody asked you, you pathetic moron, go away"
    spans = category_model.explain(text)
    assert spans, "the sample model should find a phrase to highlight here"
    want = expected(category_model, [s.fragment for s in spans])
    answer = api.analyze(body(text, ["TOXICITY", "INSULT"], spanAnnotations=True))
    for attribute in ("TOXICITY", "INSULT"):
        assert answer["attributeScores"][attribute]["spanScores"] == [
            {"begin": s.start, "end": s.end, "score": {"value": float(want[attribute][i]), "type": "PROBABILITY"}}
            for i, s in enumerate(spans)]


def test_span_offsets_are_utf16_code_units(api, category_model):
    assert utf16_offsets("plain") is None and utf16_offsets("caf\u00e9") is None
    assert utf16_offsets("a\U0001F600b") == [0, 1, 3, 4]
    whole = api.analyze(body(EMOJI))["attributeScores"]["TOXICITY"]["spanScores"]
    assert [(s["begin"], s["end"]) for s in whole] == [(0, len(EMOJI.encode("utf-16-le")) // 2)] == [(0, 27)]
    spans = category_model.explain(EMOJI)
    got = api.analyze(body(EMOJI, spanAnnotations=True))["attributeScores"]["TOXICITY"]["spanScores"]
    units = EMOJI.encode("utf-16-le")
    for s, g in zip(spans, got, strict=True):
        assert units[2 * g["begin"]:2 * g["end"]].decode("utf-16-le") == s.fragment


def test_score_threshold_leaves_out_what_is_below_it(api, category_model):
    want = expected(category_model, [ABUSE]).iloc[0]
    low, high = float(want["TOXICITY"]) - 0.001, float(want["TOXICITY"]) + 0.001
    answer = api.analyze({"comment": {"text": ABUSE}, "requestedAttributes": {
        "TOXICITY": {"scoreThreshold": low}, "TOXICITY@1": {"scoreThreshold": high},
        "INSULT": {"scoreType": "PROBABILITY", "scoreThreshold": "0"}}})
    assert set(answer["attributeScores"]) == {"TOXICITY", "INSULT"}
    assert answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == float(want["TOXICITY"])
    text = "Nobody asked you, you pathetic moron, go away"
    spans = api.analyze(body(text, spanAnnotations=True))["attributeScores"]["TOXICITY"]["spanScores"]
    cut = sorted(s["score"]["value"] for s in spans)[-1]
    kept = api.analyze({"comment": {"text": text}, "spanAnnotations": True,
                        "requestedAttributes": {"TOXICITY": {"scoreThreshold": cut}}})["attributeScores"]
    assert kept["TOXICITY"]["spanScores"] == [s for s in spans if s["score"]["value"] >= cut]


def test_languages(api):
    assert api.analyze(body())["languages"] == ["en"]
    assert api.analyze(body())["detectedLanguages"] == ["en"]
    for given in (["en"], ["en-US"], ["EN"], ["en_GB", "en"]):
        answer = api.analyze(body(languages=given))
        assert answer["languages"] == given and "detectedLanguages" not in answer
    e = error_of(lambda: api.analyze(body(ABUSE, ["INSULT@2", "TOXICITY"], languages=["en", "fr"])))
    assert e.body() == {"error": {
        "code": 400, "message": "Attribute INSULT@2 does not support request languages: en, fr",
        "status": "INVALID_ARGUMENT", "details": [{
            "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
            "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
            "languageNotSupportedByAttributeError": {"requestedLanguages": ["en", "fr"], "attribute": "INSULT@2"}}]}}


BAD_REQUESTS = [
    ({}, "COMMENT_EMPTY", "Comment must be non-empty."),
    ({"comment": {}}, "COMMENT_EMPTY", "Comment must be non-empty."),
    ({"comment": {"text": ""}}, "COMMENT_EMPTY", "Comment must be non-empty."),
    ({"comment": {"text": None}}, "COMMENT_EMPTY", "Comment must be non-empty."),
    ({"comment": "text"}, "INVALID_REQUEST",
     "Invalid value at 'comment' (type.googleapis.com/google.commentanalyzer.v1alpha1.TextEntry)"),
    ({"comment": {"text": 5}}, "INVALID_REQUEST", "Invalid value at 'comment.text' (TYPE_STRING)"),
    ({"comment": {"text": ["a"]}}, "INVALID_REQUEST", "Invalid value at 'comment.text' (TYPE_STRING)"),
    ({"comment": {"text": "x" * (MAX_COMMENT_BYTES + 1)}}, "COMMENT_TOO_LONG", "Comment text too long."),
    ({"comment": {"text": "\u00e9" * (MAX_COMMENT_BYTES // 2 + 1)}}, "COMMENT_TOO_LONG", "Comment text too long."),
    ({"comment": {"text": "x"}}, "NO_REQUESTED_ATTRIBUTES", "Missing requested_attributes"),
    ({"comment": {"text": "x"}, "requestedAttributes": {}}, "NO_REQUESTED_ATTRIBUTES",
     "Missing requested_attributes"),
    ({"comment": {"text": "x"}, "requestedAttributes": ["TOXICITY"]}, "INVALID_REQUEST",
     "Invalid value at 'requested_attributes' (type.googleapis.com/google.commentanalyzer.v1alpha1"
     ".AttributeParameters)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": 1}}, "INVALID_REQUEST",
     "Invalid value at 'requested_attributes[TOXICITY]' (type.googleapis.com/google.commentanalyzer.v1alpha1"
     ".AttributeParameters)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {"scoreType": "STD_DEV_SCORE"}}},
     "INVALID_REQUEST", "Requested score type STD_DEV_SCORE is not supported by attribute TOXICITY"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": "high"}}},
     "INVALID_REQUEST", "Invalid value at 'requested_attributes[TOXICITY].score_threshold' (TYPE_FLOAT)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": True}}},
     "INVALID_REQUEST", "Invalid value at 'requested_attributes[TOXICITY].score_threshold' (TYPE_FLOAT)"),
    ({"comment": {"text": "x", "type": "HTML"}, "requestedAttributes": {"TOXICITY": {}}}, "INVALID_REQUEST",
     "Currently, only 'PLAIN_TEXT' comments are supported"),
    ({"comment": {"text": "x", "type": "RTF"}, "requestedAttributes": {"TOXICITY": {}}}, "INVALID_REQUEST",
     "Unknown text type"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}},
      "context": {"entries": [{"text": "a"}], "articleAndParentComment": {"article": {"text": "b"}}}},
     "INVALID_REQUEST", "Context can have either entries or article_and_parent_comment, but both fields were "
                        "populated."),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "context": {"entries": "a"}},
     "INVALID_REQUEST", "Invalid value at 'context.entries' (type.googleapis.com/google.commentanalyzer.v1alpha1"
                        ".TextEntry)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "languages": "en"}, "INVALID_REQUEST",
     "Invalid value at 'languages' (TYPE_STRING)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "doNotStore": "true"}, "INVALID_REQUEST",
     "Invalid value at 'do_not_store' (TYPE_BOOL)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "spanAnnotations": 1},
     "INVALID_REQUEST", "Invalid value at 'span_annotations' (TYPE_BOOL)"),
    ({"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "clientToken": 7}, "INVALID_REQUEST",
     "Invalid value at 'client_token' (TYPE_STRING)"),
]


@pytest.mark.parametrize("request_body,error_type,message", BAD_REQUESTS)
def test_bad_requests_get_perspectives_errors(api, request_body, error_type, message):
    e = error_of(lambda: api.analyze(request_body))
    assert (e.code, e.status, e.error_type, e.message) == (400, "INVALID_ARGUMENT", error_type, message)


def test_the_longest_comment_is_accepted_and_unknown_fields_ignored(api):
    text = "\u00e9" * (MAX_COMMENT_BYTES // 2)  # exactly 20,480 bytes of UTF-8
    answer = api.analyze(body(text, sessionId="s", communityId="c", surprise={"x": [1]}))
    assert answer["attributeScores"]["TOXICITY"]["spanScores"][0]["end"] == MAX_COMMENT_BYTES // 2


def test_decode():
    assert decode(b'{"comment": {"text": "a\\ud800b\\udfff"}, "\\udc00": 1}') == {
        "comment": {"text": "a\ufffdb\ufffd"}, "\ufffd": 1}
    assert decode('{"t": "caf\u00e9"}'.encode("utf-16")) == {"t": "caf\u00e9"}
    for raw in (b"", b"{", b"[1]", b'"x"', b"null", b"\xff\xfe\xfa", b"[" * 100_000 + b"]" * 100_000,
                b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", b"1e999999"):
        e = error_of(lambda: decode(raw))
        assert (e.code, e.error_type) == (400, "INVALID_REQUEST")
        assert e.message.startswith("Invalid JSON payload received")


def test_nul_and_surrogates_are_scored_not_refused(api):
    for text in ("you idiot \x00 moron", "\x00", "idi\ufffdot"):
        value = api.analyze(body(text))["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
        assert 0 <= value <= 1


# -- batches ------------------------------------------------------------------------------------------
def test_batch_answers_in_order_each_item_on_its_own(api, category_model):
    texts = [ABUSE, CIVIL, EMOJI]
    answer = api.analyze_batch({"requestedAttributes": {"TOXICITY": {}, "THREAT": {}}, "languages": ["en"],
                                "requests": [{"comment": {"text": texts[0]}, "clientToken": "a"},
                                             {"comment": {"text": ""}},
                                             {"comment": {"text": texts[1]}, "requestedAttributes": {"INSULT": {}}},
                                             "not a request",
                                             {"comment": {"text": texts[2]}, "languages": ["de"]},
                                             {"comment": {"text": texts[2]}, "spanAnnotations": True}]})
    r = answer["responses"]
    assert len(r) == 6 and answer["model"] == api.model_info
    assert r[0] == api.analyze(body(texts[0], ["TOXICITY", "THREAT"], languages=["en"], clientToken="a"))
    assert r[1]["error"]["details"][0]["errorType"] == "COMMENT_EMPTY"
    assert r[2] == api.analyze(body(texts[1], ["INSULT"], languages=["en"]))
    assert r[3]["error"]["message"] == ("Invalid value at 'requests[3]' "
                                        "(type.googleapis.com/google.commentanalyzer.v1alpha1.AnalyzeCommentRequest)")
    assert r[4]["error"]["details"][0]["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert r[5] == api.analyze(body(texts[2], ["TOXICITY", "THREAT"], languages=["en"], spanAnnotations=True))


@pytest.mark.parametrize("batch,message", [
    ({}, "requests must be a list of analyze requests"),
    ({"requests": {"comment": {}}}, "requests must be a list of analyze requests"),
    ({"requests": []}, "requests must not be empty"),
    ({"requests": [{"comment": {"text": "x"}}] * (MAX_BATCH + 1)}, f"at most {MAX_BATCH} requests per batch, "
                                                                  f"got {MAX_BATCH + 1}"),
])
def test_a_bad_batch_is_refused_whole(api, batch, message):
    e = error_of(lambda: api.analyze_batch(batch))
    assert (e.code, e.error_type, e.message) == (400, "INVALID_REQUEST", message)


def test_a_full_batch_is_scored(api, category_model):
    texts = [f"comment number {i}: you are {'an idiot' if i % 3 == 0 else 'right'}" for i in range(MAX_BATCH)]
    answer = api.analyze_batch({"requestedAttributes": {"TOXICITY": {}},
                                "requests": [{"comment": {"text": t}} for t in texts]})
    got = [r["attributeScores"]["TOXICITY"]["summaryScore"]["value"] for r in answer["responses"]]
    assert got == expected(category_model, texts)["TOXICITY"].tolist()


# -- the batching scorer ------------------------------------------------------------------------------
class CountingModel:
    """The real model, counting its score_columns calls (to see that concurrent callers share them)."""

    def __init__(self, model, fail: bool = False):
        self.model, self.fail, self.calls = model, fail, []
        self.category_names = model.category_names
        self.gate = threading.Event()

    def score_columns(self, texts, **options):
        self.gate.wait(5)
        self.calls.append(len(texts))
        if self.fail:
            raise RuntimeError("model failed")
        return self.model.score_columns(texts, **options)


def _concurrently(fn, n: int) -> list:
    results: list = [None] * n

    def run(i):
        try:
            results[i] = fn(i)
        except Exception as e:  # noqa: BLE001 (the test compares what each caller got)
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    return threads, results


def test_concurrent_callers_share_model_calls_and_get_their_own_rows(category_model):
    counting = CountingModel(category_model)
    scorer = BatchScorer(counting)
    texts = [[f"text {i} you idiot" * (i % 3 + 1), f"another {i}"] for i in range(16)]
    threads, results = _concurrently(lambda i: scorer(texts[i]), 16)
    deadline = time.monotonic() + 10
    while len(scorer._pending) < 15:  # the first caller holds the gate; the others queue up behind it
        assert time.monotonic() < deadline, results
        threading.Event().wait(0.01)
    counting.gate.set()
    for t in threads:
        t.join(10)
    assert [r for r in results] == [attribute_table(category_model, t) for t in texts]
    assert sum(counting.calls) == 32 and len(counting.calls) == 2  # the first caller alone, then the 15 together


def test_a_failing_model_call_fails_every_caller_and_nobody_hangs(category_model):
    counting = CountingModel(category_model, fail=True)
    scorer = BatchScorer(counting)
    threads, results = _concurrently(lambda i: scorer([f"t{i}"]), 8)
    counting.gate.set()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert all(isinstance(r, RuntimeError) and str(r) == "model failed" for r in results)


# -- feedback (comments:suggestscore) -----------------------------------------------------------------
@pytest.mark.parametrize("scores,action,reason_code", [
    ({"TOXICITY": {"summaryScore": {"value": 0}}}, "keep", None),
    ({"TOXICITY": {"summaryScore": {}}}, "keep", None),
    ({"TOXICITY@2": {"summaryScore": {"value": 1}}}, "remove", None),
    ({"TOXICITY": {"summaryScore": {"value": 1}}, "THREAT": {"summaryScore": {"value": 0.9}},
      "INSULT": {"summaryScore": {"value": 0.6}}}, "remove", "threat"),
    ({"APPROVED": {"summaryScore": {"value": 1}}}, "keep", None),
    ({"DELETED": {"summaryScore": {"value": 1}}}, "remove", None),
    ({"REJECTED": {"summaryScore": {"value": 1}}}, "remove", None),
    ({"INSULT": {"summaryScore": {"value": 1}}}, "remove", "harassment"),
    ({"IDENTITY_ATTACK": {"spanScores": [{"begin": 0, "end": 3, "score": {"value": 0.8}}]}}, "remove",
     "illegal_hate_speech"),
    ({"INSULT": {"summaryScore": {"value": 0}}}, None, None),
    ({"FLIRTATION": {"summaryScore": {"value": 1}}}, None, None),
])
def test_feedback_reads_the_moderators_decision(scores, action, reason_code):
    feedback = parse_feedback({"comment": {"text": "x"}, "attributeScores": scores, "languages": ["EN"]})
    assert (feedback.action, feedback.reason_code, feedback.languages) == (action, reason_code, ["EN"])


@pytest.mark.parametrize("scores,message", [
    (None, "attribute_scores must not be empty"),
    ({}, "attribute_scores must not be empty"),
    ({"TOXICITY": {}}, "attribute_scores[TOXICITY] must have a summaryScore or spanScores"),
    ({"TOXICITY": 1}, "attribute_scores[TOXICITY] must have a summaryScore or spanScores"),
    ({"TOXICITY": {"summaryScore": {"value": 2}}},
     "Invalid value at 'attribute_scores[TOXICITY].summary_score.value' (TYPE_FLOAT between 0 and 1)"),
    ({"TOXICITY": {"summaryScore": {"value": "1"}}},
     "Invalid value at 'attribute_scores[TOXICITY].summary_score.value' (TYPE_FLOAT between 0 and 1)"),
    ({"TOXICITY": {"spanScores": [{"begin": 0}]}},
     "Invalid value at 'attribute_scores[TOXICITY].span_scores' (type.googleapis.com/"
     "google.commentanalyzer.v1alpha1.SpanScore)"),
])
def test_bad_feedback_is_refused(scores, message):
    e = error_of(lambda: parse_feedback({"comment": {"text": "x"}, "attributeScores": scores}))
    assert (e.code, e.error_type, e.message) == (400, "INVALID_REQUEST", message)


CORAL_ID = "e53cbeba-796b-4930-b16e-1f1a8ad20766"
STORY = "https://news.example.com/2026/11/the-budget?utm=x"


def coral_feedback(text: str, value: int, comment_id: str = CORAL_ID) -> dict:
    """What Coral Talk sends when a moderator approves (0) or rejects (1) a comment."""
    context = json.dumps({"url": f"{STORY}&commentID={comment_id}", "reply_to_id_Coral_comment_id": "3f2a",
                          "Coral_comment_id": comment_id})
    return {"comment": {"text": text}, "context": {"entries": [{"text": context}]},
            "attributeScores": {"TOXICITY": {"summaryScore": {"value": value}}}, "languages": ["en"],
            "communityId": "Coral:https://comments.example.org/", "clientToken": f"comment:{comment_id}"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, tmp_path):
    from conftest import fresh_postgres_url, require_modules

    require_modules("sqlalchemy")
    from moderation.queue.store import open_store

    s = open_store(f"sqlite:///{tmp_path / 'queue.db'}" if request.param == "sqlite" else fresh_postgres_url())
    s.add_moderator("coral", "coral-password")
    s.add_moderator("alice", "alice-password")
    yield s
    s.close()


def test_coral_feedback_becomes_decisions_that_export_and_train(store, category_model):
    from moderation.queue import decisions_table

    api = Perspective(category_model, store)
    coral = store.moderator("coral")
    text = "Honestly you are a moron, nobody wants your opinion"
    assert api.suggest(coral_feedback(text, 0), coral) == {"clientToken": f"comment:{CORAL_ID}",
                                                           "requestedLanguages": ["en"], "model": api.model_info}
    api.suggest(coral_feedback("The budget is a sensible compromise.", 0, "c2"), coral)
    api.suggest(coral_feedback(text, 1), coral)  # the moderator changed their mind: the latest word wins
    out = store.export_decisions()
    assert out[["id", "text", "label", "action", "moderator", "source"]].to_dict("records") == [
        {"id": "comment:c2", "text": "The budget is a sensible compromise.", "label": 0, "action": "keep",
         "moderator": "coral", "source": "perspective:Coral:https://comments.example.org/"},
        {"id": f"comment:{CORAL_ID}", "text": text, "label": 1, "action": "remove", "moderator": "coral",
         "source": "perspective:Coral:https://comments.example.org/"}]
    stored = store.comment(f"comment:{CORAL_ID}")
    want = expected(category_model, [text]).iloc[0]
    assert (stored["status"], stored["score"], stored["article_id"]) == ("removed", float(want["TOXICITY"]), STORY)
    assert stored["categories"] == {"insult": float(want["INSULT"]), "identity_attack": float(want["IDENTITY_ATTACK"]),
                                    "obscene": float(want["PROFANITY"]), "threat": float(want["THREAT"])}
    assert [(d["action"], d["moderator"]) for d in store.history(comment_id=f"comment:{CORAL_ID}")] == [
        ("remove", "coral"), ("keep", "coral")]
    name, table = decisions_table(store.url)  # what train --from-queue trains on
    assert (name, table["text"].tolist(), table["label"].tolist()) == (
        f"queue {store.url}", ["The budget is a sensible compromise.", text], [0, 1])


def test_feedback_on_a_reused_token_with_another_text_is_another_comment(store, category_model):
    api = Perspective(category_model, store)
    coral = store.moderator("coral")
    api.suggest(coral_feedback("first text", 1, "same"), coral)
    api.suggest(coral_feedback("second text", 0, "same"), coral)
    out = store.export_decisions().set_index("text")
    assert out.loc["first text", "id"] == "comment:same" and out.loc["first text", "label"] == 1
    assert out.loc["second text", "id"].startswith("comment:same@") and len(out.loc["second text", "id"]) == 25
    assert out.loc["second text", "label"] == 0


def test_feedback_without_a_token_or_decision(store, category_model):
    api = Perspective(category_model, store)
    coral = store.moderator("coral")
    plain = {"comment": {"text": "you idiot \x00"}, "attributeScores": {"INSULT": {"summaryScore": {"value": 1}}}}
    assert api.suggest(plain, coral) == {"model": api.model_info}
    api.suggest(plain, coral)  # the same text again: the same comment, a second decision
    api.suggest({"comment": {"text": "nothing to learn"}, "attributeScores": {"FLIRTATION": {"summaryScore": {}}}},
                coral)
    out = store.export_decisions()
    assert len(out) == 1 and out["id"][0].startswith("perspective:") and out["text"][0] == "you idiot \ufffd"
    assert (out["reason_code"][0], out["source"][0]) == ("harassment", "perspective:coral")
    assert len(store.history()) == 2


def test_analyzed_comments_are_kept_for_review_only_when_allowed(store, category_model):
    coral = store.moderator("coral")
    flagged = next(t for t in (ABUSE, "you stupid idiot moron", "shut up you pathetic idiot")
                   if category_model.score([t])[0] >= category_model.threshold)
    unflagged = CIVIL
    assert category_model.score([unflagged])[0] < category_model.threshold
    api = Perspective(category_model, store)
    api.analyze(body(flagged, doNotStore=True, clientToken="private"), coral)
    api.analyze(body(flagged, clientToken="t1", communityId="site-a"), coral)
    api.analyze(body(unflagged, clientToken="t2"), coral)
    api.analyze(body(flagged), coral)
    Perspective(category_model, store, keep_comments=False).analyze(body(flagged, clientToken="t3"), coral)
    api.analyze_batch({"requestedAttributes": {"TOXICITY": {}}, "doNotStore": False,
                       "requests": [{"comment": {"text": flagged}, "clientToken": "b1"},
                                    {"comment": {"text": flagged}, "clientToken": "b2", "doNotStore": True}]}, coral)
    pending = store.list_queue(limit=50)
    by_id = {c["id"]: c for c in pending}
    assert set(by_id) - {c for c in by_id if c.startswith("perspective:")} == {"t1", "b1"}
    assert len(pending) == 3  # t1, b1, and the one without a token (a random id)
    assert (by_id["t1"]["text"], by_id["t1"]["source"], by_id["t1"]["status"]) == (flagged, "perspective:site-a",
                                                                                   "pending")
    assert by_id["t1"]["spans"] == [{"start": s.start, "end": s.end, "fragment": s.fragment, "weight": s.weight}
                                    for s in category_model.explain(flagged)]
    assert by_id["b1"]["source"] == "perspective:coral"


# -- the discovery document ------------------------------------------------------------------------------
def test_discovery_document_points_at_this_server():
    google = json.loads((resources.files("moderation") / "commentanalyzer.v1alpha1.json").read_text())
    doc = discovery_document("http://127.0.0.1:8123")
    assert doc["rootUrl"] == doc["baseUrl"] == doc["mtlsRootUrl"] == "http://127.0.0.1:8123/"
    assert doc["servicePath"] == "" and doc["name"] == "commentanalyzer" and doc["version"] == "v1alpha1"
    methods = doc["resources"]["comments"]["methods"]
    assert methods["analyze"] == google["resources"]["comments"]["methods"]["analyze"]
    assert methods["suggestscore"] == google["resources"]["comments"]["methods"]["suggestscore"]
    assert methods["batchAnalyze"]["path"] == "v1alpha1/comments:batchAnalyze"
    assert {k: v for k, v in doc["schemas"].items() if not k.startswith("Batch")} == google["schemas"]
    assert discovery_document("https://mod.example.org/")["rootUrl"] == "https://mod.example.org/"
