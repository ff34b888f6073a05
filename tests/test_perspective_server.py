"""The Perspective API served by a real uvicorn on 127.0.0.1, called by real clients: Google's Python client
(google-api-python-client) built from our discovery document, Coral Talk's exact requests, and hostile ones
(huge, chunked, malformed, NUL, lone surrogates). ``moderation serve --workers 2`` and ``--api-only`` run as
processes in the slow tests at the end.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from conftest import free_port, require_modules, serve_process, stop_process

require_modules("fastapi", "httpx", "uvicorn", "googleapiclient")

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from googleapiclient import discovery  # noqa: E402
from googleapiclient.errors import HttpError  # noqa: E402

from moderation.perspective import ATTRIBUTES, attribute_table  # noqa: E402
from moderation.queue.store import open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402
from moderation.queue.web.limits import MAX_BATCH_BODY, MAX_BODY  # noqa: E402
from moderation.queue.web.server import log_config, mask_query  # noqa: E402

TEXT = "Honestly, you are a pathetic moron and everyone can see it."
PRIVATE = "Zebra-quartz private remark 7731 about the allotment committee"  # must never be stored or logged


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


class Served:
    """A uvicorn server in a thread on a socket bound to 127.0.0.1:0, with its access and error logs kept."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_config=log_config(), lifespan="off")
        self.log = Lines()
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).addHandler(self.log)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started and time.time() < deadline:
            time.sleep(0.02)
        assert self.server.started

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).removeHandler(self.log)


@pytest.fixture(scope="module")
def served(tmp_path_factory, default_model):
    db = tmp_path_factory.mktemp("perspective") / "queue.db"
    store = open_store(f"sqlite:///{db}")
    store.add_moderator("coral", "coral-password")
    store.add_moderator("alice", "alice-password")
    key = store.new_token("coral")
    s = Served(create_app(store, model=default_model, secret="perspective-test"))
    s.key, s.store, s.db, s.model = key, store, db, default_model
    yield s
    s.stop()
    store.close()


def client(served, key=None):
    return discovery.build("commentanalyzer", "v1alpha1", developerKey=served.key if key is None else key,
                           discoveryServiceUrl=f"{served.base}/$discovery/rest?version=v1alpha1",
                           static_discovery=False, cache_discovery=False)


def want(model, text: str) -> dict[str, float]:
    return {a: round(v, 6) for a, v in attribute_table(model, [text])[0].items()}


def post(served, path: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, json.loads(data)


# -- Google's Python client ---------------------------------------------------------------------------
def test_python_client_scores_every_attribute(served):
    c = client(served)
    expected = want(served.model, TEXT)
    for attribute in ATTRIBUTES:
        answer = c.comments().analyze(body={"comment": {"text": TEXT}, "languages": ["en"],
                                            "requestedAttributes": {attribute: {}}}).execute()
        assert answer["attributeScores"][attribute]["summaryScore"] == {"value": expected[attribute],
                                                                        "type": "PROBABILITY"}
        assert answer["model"] == {"name": "default", "version": served.model.card.version_tag}
    both = c.comments().analyze(body={"comment": {"text": TEXT}, "clientToken": "t-9",
                                      "requestedAttributes": {a: {} for a in ATTRIBUTES}}).execute()
    assert {a: v["summaryScore"]["value"] for a, v in both["attributeScores"].items()} == expected
    assert (both["languages"], both["detectedLanguages"], both["clientToken"]) == (["en"], ["en"], "t-9")


def test_python_client_span_annotations(served):
    spans = served.model.explain(TEXT)
    assert spans
    answer = client(served).comments().analyze(body={"comment": {"text": TEXT}, "spanAnnotations": True,
                                                     "requestedAttributes": {"TOXICITY": {}}}).execute()
    assert answer["attributeScores"]["TOXICITY"]["spanScores"] == [
        {"begin": s.start, "end": s.end, "score": {"value": want(served.model, s.fragment)["TOXICITY"],
                                                    "type": "PROBABILITY"}} for s in spans]


@pytest.mark.parametrize("body,status,reason,detail", [
    ({"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["de"]}, 400,
     "Attribute TOXICITY does not support request languages: de",
     {"errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
      "languageNotSupportedByAttributeError": {"requestedLanguages": ["de"], "attribute": "TOXICITY"}}),
    ({"comment": {"text": ""}, "requestedAttributes": {"TOXICITY": {}}}, 400, "Comment must be non-empty.",
     {"errorType": "COMMENT_EMPTY"}),
    ({"comment": {"text": TEXT}, "requestedAttributes": {"FLIRTATION": {}}}, 400,
     "Unknown requested attribute: FLIRTATION", {"errorType": "INVALID_REQUEST"}),
])
def test_python_client_raises_what_perspective_raised(served, body, status, reason, detail):
    with pytest.raises(HttpError) as info:
        client(served).comments().analyze(body=body).execute()
    e = info.value
    assert (e.resp.status, e.reason) == (status, reason)
    assert e.error_details == [{"@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error", **detail}]


def test_python_client_with_a_bad_key(served):
    with pytest.raises(HttpError) as info:
        client(served, key="mq_not-a-real-key").comments().analyze(
            body={"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}}).execute()
    e = info.value
    assert (e.resp.status, e.reason) == (400, "API key not valid. Please pass a valid API key.")
    assert e.error_details[0]["reason"] == "API_KEY_INVALID"


def test_python_client_suggestscore_and_batch(served):
    c = client(served)
    answer = c.comments().suggestscore(body={
        "comment": {"text": "I guess it comes down to a simple choice, you absolute cretin."},
        "attributeScores": {"TOXICITY": {"summaryScore": {"value": 1}}}, "communityId": "/forum/movies",
        "clientToken": "comment-53922"}).execute()
    assert answer["clientToken"] == "comment-53922"
    row = served.store.export_decisions().set_index("id").loc["comment-53922"]
    assert (row["label"], row["moderator"], row["source"]) == (1, "coral", "perspective:/forum/movies")
    texts = [TEXT, "A fair summary of the planning meeting."]
    batch = c.comments().batchAnalyze(body={"requestedAttributes": {"INSULT": {}}, "requests": [
        {"comment": {"text": t}} for t in texts] + [{"comment": {}}]}).execute()
    assert [r["attributeScores"]["INSULT"]["summaryScore"]["value"] for r in batch["responses"][:2]] == [
        want(served.model, t)["INSULT"] for t in texts]
    assert batch["responses"][2]["error"]["details"][0]["errorType"] == "COMMENT_EMPTY"


def test_missing_key_and_bearer_tokens(served):
    body = json.dumps({"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}}).encode()
    status, answer = post(served, "/v1alpha1/comments:analyze", body)
    assert (status, answer) == (403, {"error": {"code": 403, "message": "The request is missing a valid API key.",
                                                "status": "PERMISSION_DENIED"}})
    status, answer = post(served, "/v1alpha1/comments:analyze", body, {"Authorization": f"Bearer {served.key}"})
    assert status == 200 and answer["attributeScores"]["TOXICITY"]["summaryScore"]["value"] == want(
        served.model, TEXT)["TOXICITY"]
    r = httpx.post(f"{served.base}/v1alpha1/comments:analyze", content=body, headers={"X-Goog-Api-Key": served.key})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=UTF-8"
    assert (r.headers["cache-control"], r.headers["x-frame-options"]) == ("no-store", "DENY")  # answers are private
    status, answer = post(served, "/v1alpha1/comments:analyze", body, {"Authorization": "Bearer mq_nope"})
    assert (status, answer["error"]["status"]) == (401, "UNAUTHENTICATED")


def test_keys_never_reach_the_access_log(served):
    assert mask_query("/p?alt=json&key=abc&KEY=d&k%65y=e&keyx=f&access_token=g") == \
        "/p?alt=json&key=***&KEY=***&k%65y=***&keyx=f&access_token=***"
    client(served).comments().analyze(body={"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}}
                                      ).execute()
    time.sleep(0.2)
    log = "\n".join(served.log.lines)
    assert "/%24discovery/rest?version=v1alpha1&key=***" in log
    assert "/v1alpha1/comments%3Aanalyze?key=***&alt=json" in log
    assert served.key not in log and served.key[3:] not in log


# -- Coral Talk ---------------------------------------------------------------------------------------------
def coral_url(endpoint: str, operation: str, key: str) -> str:
    """Coral's perspective.ts: new URL(endpoint); pathname = path.join(pathname, "/" + op); key set (encoded)."""
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint)
    path = re.sub("/+", "/", f"{parts.path}/{operation}")
    return f"{path}?key={quote(key, safe='')}"


def coral_analyze(served, path: str, text: str) -> float:
    body = json.dumps({"comment": {"text": text}, "doNotStore": True, "requestedAttributes": {"TOXICITY": {}},
                       "languages": ["en"]}, separators=(",", ":")).encode()
    status, data = post(served, path, body, {"User-Agent": "Coral Perspective/9.0.0"})
    assert status == 200, data
    return data["attributeScores"]["TOXICITY"]["summaryScore"]["value"]  # what Coral reads


def test_coral_talks_analyze_request(served):
    expected = want(served.model, TEXT)["TOXICITY"]
    for endpoint in ("http://127.0.0.1/v1alpha1", "http://127.0.0.1/v1alpha1/", "http://127.0.0.1"):
        assert coral_analyze(served, coral_url(endpoint, "comments:analyze", served.key), TEXT) == expected
    # older Coral: `${endpoint}/comments:analyze?key=${key}`, so a trailing slash doubles it
    assert coral_analyze(served, f"/v1alpha1//comments:analyze?key={served.key}", TEXT) == expected
    assert (coral_analyze(served, coral_url("http://h/v1alpha1", "comments:analyze", served.key), TEXT) > 0.8) == (
        expected > 0.8)


def test_do_not_store_keeps_nothing_not_even_in_logs(served):
    before = served.store.list_queue(limit=1000)
    score = coral_analyze(served, coral_url("http://h/v1alpha1", "comments:analyze", served.key), PRIVATE)
    assert 0 <= score <= 1
    time.sleep(0.2)
    assert served.store.list_queue(limit=1000) == before
    files = [p for p in served.db.parent.iterdir() if p.name.startswith(served.db.name)]
    assert files and not any(PRIVATE.encode() in p.read_bytes() for p in files)
    assert not any("Zebra-quartz" in line for line in served.log.lines)


def test_coral_talks_feedback(served):
    comment_id = "e53cbeba-796b-4930-b16e-1f1a8ad20766"
    context = json.dumps({"url": f"https://news.example.com/story?commentID={comment_id}",
                          "reply_to_id_Coral_comment_id": "3f2a", "Coral_comment_id": comment_id},
                         separators=(",", ":"))
    for value, action in ((0, "keep"), (1, "remove")):
        body = json.dumps({"comment": {"text": "Oi, you utter clown"}, "context": {"entries": [{"text": context}]},
                           "attributeScores": {"TOXICITY": {"summaryScore": {"value": value}}},
                           "languages": ["en"], "communityId": "Coral:http://localhost:8080/",
                           "clientToken": f"comment:{comment_id}"}, separators=(",", ":")).encode()
        status, data = post(served, coral_url("http://h/v1alpha1", "comments:suggestscore", served.key), body)
        assert status == 200 and data["clientToken"] == f"comment:{comment_id}"
        row = served.store.export_decisions().set_index("id").loc[f"comment:{comment_id}"]
        assert (row["action"], row["source"]) == (action, "perspective:Coral:http://localhost:8080/")
    stored = served.store.comment(f"comment:{comment_id}")
    assert stored["article_id"] == "https://news.example.com/story"
    # older Coral: APPROVED/DELETED as the attribute, upper-case language, pretty-printed body
    old = json.dumps({"comment": {"text": "A measured reply."}, "attributeScores": {
        "APPROVED": {"summaryScore": {"value": 1}}}, "languages": ["EN"], "communityId": "Coral:http://old/",
        "clientToken": "comment:old-1"}, indent=2).encode()
    status, data = post(served, f"/v1alpha1/comments:suggestscore?key={served.key}", old)
    assert (status, data["clientToken"]) == (200, "comment:old-1")
    assert served.store.export_decisions().set_index("id").loc["comment:old-1", "label"] == 0


# -- hostile input ---------------------------------------------------------------------------------------------
def raw_exchange(served, head: bytes, chunks, read_timeout: float = 20) -> tuple[int, bytes, int]:
    """Send ``head`` then ``chunks`` until the server answers; (status, body, bytes of body sent)."""
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=read_timeout)
    sock.sendall(head)
    sent = 0
    sock.setblocking(False)
    received = b""
    try:
        for chunk in chunks:
            try:
                received += sock.recv(65536)
            except BlockingIOError:
                pass
            if received:
                break
            try:
                sock.setblocking(True)
                sock.sendall(chunk)
                sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            finally:
                sock.setblocking(False)
        sock.setblocking(True)
        sock.settimeout(read_timeout)
        while b"\r\n\r\n" not in received or len(received) < _expected_length(received):
            data = sock.recv(65536)
            if not data:
                break
            received += data
    finally:
        sock.close()
    header, _, content = received.partition(b"\r\n\r\n")
    return int(header.split()[1]), content, sent


def _expected_length(received: bytes) -> int:
    header, _, _ = received.partition(b"\r\n\r\n")
    m = re.search(rb"content-length: (\d+)", header, re.I)
    return len(header) + 4 + int(m.group(1)) if m else 1 << 30


def test_a_huge_declared_body_is_refused_unread(served):
    for path, limit in ((f"/v1alpha1/comments:analyze?key={served.key}", MAX_BODY),
                        (f"/v1alpha1/comments:batchAnalyze?key={served.key}", MAX_BATCH_BODY)):
        head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {10 * limit}\r\n\r\n").encode()
        chunks = [b'{"comment": {"text": "' + b"a" * 65536] + [b"a" * 65536] * 2000
        status, content, sent = raw_exchange(served, head, chunks)
        error = json.loads(content)["error"]
        assert sent < sum(map(len, chunks))  # answered before the client was done sending
        if "batch" in path:
            assert (status, error["code"], error["status"]) == (413, 413, "INVALID_ARGUMENT")
            assert error["message"] == f"Request body larger than {limit} bytes: send fewer comments per batch."
        else:
            assert (status, error["details"][0]["errorType"]) == (400, "COMMENT_TOO_LONG")


def test_a_huge_chunked_body_is_refused_as_it_arrives(served):
    head = (f"POST /v1alpha1/comments:analyze?key={served.key} HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    piece = b"a" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    status, content, sent = raw_exchange(served, head, [chunk] * 400)  # 26 MB offered
    assert status == 400 and json.loads(content)["error"]["details"][0]["errorType"] == "COMMENT_TOO_LONG"
    assert sent < 400 * len(chunk)  # answered before it was all sent


def test_the_size_limit_covers_the_queue_api_too(served):
    r = httpx.post(f"{served.base}/api/score", content=b"x" * (MAX_BODY + 1),
                   headers={"Authorization": f"Bearer {served.key}"})
    assert (r.status_code, r.json()) == (413, {"error": f"request body larger than {MAX_BODY} bytes"})
    assert (r.headers["cache-control"], r.headers["x-content-type-options"]) == ("no-store", "nosniff")
    r = httpx.post(f"{served.base}/decide", content=b"x" * (MAX_BODY + 1))
    assert r.status_code == 413


HOSTILE = [
    b"", b"{", b"[]", b"null", b'"text"', b"1e999999", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000,
    b'{"comment": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b'{"comment": {"text": 5}, "requestedAttributes": {"TOXICITY": {}}}',
    b'{"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": [1]}}}',
    b'{"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "languages": [1, {"a": 2}]}',
    b'{"comment": {"text": "x"}, "requestedAttributes": {"\\ud800": {}}}',
    b'{"requests": "x"}', b'{"requests": [' + b'{"comment": {}},' * 1500 + b'{}]}',
]
GOOD = [
    '{"comment": {"text": "you idiot \\u0000 moron"}, "requestedAttributes": {"TOXICITY": {}}}',
    '{"comment": {"text": "you idiot \\ud800 moron \\udfff"}, "requestedAttributes": {"TOXICITY": {}}, '
    '"clientToken": "\\udbff\\u0000", "spanAnnotations": true, "doNotStore": false}',
    '{"comment": {"text": "you idiot \\u0000 you moron"}, "requestedAttributes": {"TOXICITY": {}}, '
    '"clientToken": "nul\\u0000id", "communityId": "\\u0000", "doNotStore": false}',
    '{"comment": {"text": "\\u202eidiot\\u202c \\ud83d\\ude00"}, "requestedAttributes": {"INSULT": {}}, '
    '"spanAnnotations": true}',
    # a context entry that is not the JSON Coral sends, or names no usable URL, is ignored
    '{"comment": {"text": "x"}, "requestedAttributes": {"TOXICITY": {}}, "context": {"entries": [{"text": '
    '"{\\"url\\": 5}"}, {"text": "{\\"url\\": \\"http://[::1\\"}"}, {"text": "{nope"}]}, "doNotStore": false}',
]


def test_hostile_bodies_are_4xx_never_5xx(served):
    for path in ("/v1alpha1/comments:analyze", "/v1alpha1/comments:suggestscore", "/v1alpha1/comments:batchAnalyze"):
        for raw in HOSTILE:
            status, data = post(served, f"{path}?key={served.key}", raw)
            assert status == 400 and data["error"]["status"] == "INVALID_ARGUMENT", (path, raw[:60], data)
    for raw in GOOD:
        status, data = post(served, f"/v1alpha1/comments:analyze?key={served.key}", raw.encode())
        assert status == 200, (raw, data)
        text = json.loads(raw)["comment"]["text"]
        spans = next(iter(data["attributeScores"].values()))["spanScores"]
        assert all(0 <= s["begin"] <= s["end"] <= len(text.encode("utf-16-le", "surrogatepass")) // 2 for s in spans)
    kept = [c for c in served.store.list_queue(limit=1000) if c["text"] == "you idiot \ufffd you moron"]
    assert len(kept) == 1 and kept[0]["id"].startswith("perspective:") and kept[0]["source"] == "perspective:\ufffd"


def test_wrong_methods_paths_and_versions_answer_in_googles_shape(served):
    r = httpx.get(f"{served.base}/v1alpha1/comments:analyze?key={served.key}")
    assert (r.status_code, r.json()["error"]["code"]) == (405, 405)
    r = httpx.post(f"{served.base}/v1alpha1/comments:summarize?key={served.key}", json={})
    assert (r.status_code, r.json()["error"]["status"]) == (404, "NOT_FOUND")
    r = httpx.get(f"{served.base}/%24discovery/rest?version=v1")
    assert r.status_code == 400 and r.json()["error"]["status"] == "INVALID_ARGUMENT"  # never 404 (see the router)
    r = httpx.get(f"{served.base}/%24discovery/rest?version=v1alpha1&prettyPrint=false")
    assert r.status_code == 200 and r.json()["rootUrl"] == f"{served.base}/" and b"\n" not in r.content


# -- moderation serve: --workers, --api-only ----------------------------------------------------------------
def _serve(tmp_path: Path, model_dir: Path, *args: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = serve_process(tmp_path, model_dir, port, *args)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("moderation serve did not start: " + proc.stderr.read().decode()[-2000:])


@pytest.fixture
def queue_db(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    store.add_moderator("coral", "coral-password")
    key = store.new_token("coral")
    store.close()
    return key


@pytest.mark.slow
def test_two_workers_share_sessions_and_mask_keys(tmp_path, small_model_dir, queue_db):
    proc, base = _serve(tmp_path, small_model_dir, "--workers", "2")
    try:
        with httpx.Client(base_url=base) as c:
            token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"username": "coral", "password": "coral-password", "csrf": token})
            assert r.status_code == 303
            cookies = dict(c.cookies)
        pages = []
        for _ in range(20):  # a new connection each time, so either worker may answer: the secret is shared
            with httpx.Client(base_url=base, cookies=cookies) as fresh:
                pages.append(fresh.get("/").status_code)
        assert pages == [200] * 20
        body = {"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}}
        for _ in range(20):
            with httpx.Client(base_url=base) as fresh:
                r = fresh.post(f"/v1alpha1/comments:analyze?key={queue_db}", json=body)
                assert r.status_code == 200
        assert r.json()["model"]["version"] == json.loads((small_model_dir / "card.json").read_text())[
            "file"]["sha256"][:12]
    finally:
        log = stop_process(proc)
    assert "with 2 workers" in log and log.count("Started server process") == 2
    assert "comments%3Aanalyze?key=***" in log and queue_db not in log


@pytest.mark.slow
def test_api_only_serves_scoring_and_nothing_else(tmp_path, small_model_dir, queue_db):
    proc, base = _serve(tmp_path, small_model_dir, "--api-only")
    try:
        body = {"comment": {"text": TEXT}, "requestedAttributes": {"TOXICITY": {}}, "doNotStore": False}
        assert httpx.post(f"{base}/v1alpha1/comments:analyze?key={queue_db}", json=body).status_code == 200
        assert httpx.get(f"{base}/$discovery/rest?version=v1alpha1").status_code == 200
        r = httpx.post(f"{base}/api/score", json={"text": TEXT}, headers={"Authorization": f"Bearer {queue_db}"})
        assert r.status_code == 200 and 0 <= r.json()["score"] <= 1
        for path in ("/", "/login", "/api/queue", "/static/queue.js", "/history"):
            assert httpx.get(f"{base}{path}").status_code == 404, path
    finally:
        stop_process(proc)
    store = open_store(f"sqlite:///{tmp_path / 'q.db'}")
    assert store.list_queue() == []  # API-only: analyzed comments are never kept for review
    store.close()
