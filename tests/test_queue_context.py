"""Each comment's context (article, author, parent, posted time): loaded from the dump's columns by
``queue add`` and ``score --queue`` (renamed with ``--article-col`` etc.), kept in the store, shown on the card."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy", "fastapi", "httpx")

import warnings  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from moderation.cli import app as cli  # noqa: E402
from moderation.errors import ModerationError  # noqa: E402
from moderation.queue.context import ContextColumns  # noqa: E402
from moderation.queue.store import open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402

runner = CliRunner()


def dump() -> pd.DataFrame:
    """A scored thread: a civil parent (not flagged), two flagged replies, one comment without context."""
    return pd.DataFrame({
        "id": ["4510", "4511", "4512", "4513"],
        "text": ["The council should publish the budget.", "you absolute idiot", "go back to school, moron",
                 "plain"],
        "score": [0.05, 0.93, 0.91, 0.9], "flag": [False, True, True, True],
        "article_id": ["a-17", "a-17", "a-17", None],
        "article_title": ["Budget vote delayed", "Budget vote delayed", "Budget vote delayed", None],
        "article_url": ["https://news.example/budget"] * 3 + [None],
        "author": ["reader_1", "angry_2", "angry_2", None],
        "parent_id": [None, "4510", "4511", None],
        "created_at": ["2026-11-30T08:00:00Z", "2026-11-30T08:05:00+01:00", "2026-11-30 09:10:00", None],
    })


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path / 'ctx.db'}"


def test_context_is_kept_in_the_store(db):
    s = open_store(db)
    assert s.add_scored(dump()).line() == "3 added, 0 already in the queue, 1 not flagged"
    c = s.comment("4512")
    assert {k: c[k] for k in ("article_id", "article_title", "article_url", "author", "parent_id", "parent_text",
                              "created_at")} == {
        "article_id": "a-17", "article_title": "Budget vote delayed", "article_url": "https://news.example/budget",
        "author": "angry_2", "parent_id": "4511", "parent_text": "you absolute idiot",
        "created_at": "2026-11-30T09:10:00+00:00"}
    assert s.comment("4511")["parent_text"] == "The council should publish the budget."  # an unflagged parent
    assert s.comment("4511")["created_at"] == "2026-11-30T07:05:00+00:00"  # to UTC
    assert {k: s.comment("4513")[k] for k in ("article_id", "author", "parent_id", "created_at")} == dict.fromkeys(
        ("article_id", "author", "parent_id", "created_at"))


def test_other_column_names_and_unix_times(db):
    frame = dump().rename(columns={"article_id": "story", "author": "user", "parent_id": "reply_to",
                                   "article_title": "headline"}).drop(columns=["created_at"])
    frame["posted"] = [1796025600, 1796025900, 1796026200, None]
    s = open_store(db)
    s.add_scored(frame, context=ContextColumns.given(article_id="story", author="user", parent_id="reply_to",
                                                     article_title="headline", created_at="posted"))
    c = s.comment("4512")
    assert (c["article_id"], c["article_title"], c["author"], c["parent_text"], c["created_at"]) == (
        "a-17", "Budget vote delayed", "angry_2", "you absolute idiot", "2026-11-30T08:10:00+00:00")
    with pytest.raises(ModerationError, match="the scored table has no column writer for the author"):
        s.add_scored(frame, context=ContextColumns.given(author="writer"))


def test_a_date_that_is_not_one_is_a_one_line_error(db):
    frame = dump()
    frame.loc[2, "created_at"] = "last tuesday"
    with pytest.raises(ModerationError) as e:
        open_store(db).add_scored(frame)
    assert str(e.value) == "comment 4512: created_at 'last tuesday' is not a date and time"


def test_a_parent_later_in_the_file_is_found(db, tmp_path):
    """Parents are looked up by id anywhere in the file, also past the chunk of their reply."""
    frame = dump().iloc[[2, 3, 1, 0]]  # the replies first, the parent last
    path = tmp_path / "scored.csv"
    frame.to_csv(path, index=False)
    s = open_store(db)
    s.add_scored(path, chunk_rows=1)
    assert [s.comment(i)["parent_text"] for i in ("4511", "4512")] == [
        "The council should publish the budget.", "you absolute idiot"]


def test_queue_add_maps_columns_and_refuses_missing_ones(db, tmp_path):
    path = tmp_path / "scored.csv"
    dump().rename(columns={"author": "user", "article_url": "link"}).to_csv(path, index=False)
    r = runner.invoke(cli, ["queue", "add", str(path), "--db", db, "--author-col", "user",
                            "--article-url-col", "link", "--model", str(tmp_path / "none")])
    assert r.exit_code == 2 and r.stderr.startswith("Error: model directory not found")
    r = runner.invoke(cli, ["queue", "add", str(path), "--db", db, "--author-col", "writer"], env={})
    assert r.exit_code == 2
    assert r.stderr == ("Error: the scored table has no column writer for the author (columns: id, text, score, flag, "
                        "article_id, article_title, link, user, parent_id, created_at)\n")
    s = open_store(db)
    s.add_scored(path, context=ContextColumns.given(author="user", article_url="link"))
    assert (s.comment("4512")["author"], s.comment("4512")["article_url"]) == ("angry_2", "https://news.example/budget")


def test_score_queue_carries_the_context_columns(db, tmp_path, small_model_dir):
    path = tmp_path / "dump.csv"
    comments = dump().drop(columns=["score", "flag"]).rename(columns={"author": "user"})
    comments["text"] = ["The council should publish the budget.", "you are a stupid idiot moron",
                        "shut up you idiot moron", "you stupid idiot"]
    comments.to_csv(path, index=False)
    out = tmp_path / "scored.csv"
    r = runner.invoke(cli, ["score", str(path), "--model", str(small_model_dir), "--out", str(out), "--queue",
                            "--db", db, "--author-col", "user"])
    assert r.exit_code == 0, r.output
    assert list(pd.read_csv(out).columns)[-7:] == ["text", "article_id", "article_title", "article_url", "user",
                                                   "parent_id", "created_at"]
    s = open_store(db)
    c = s.comment("4512")
    assert c is not None and (c["author"], c["article_title"], c["parent_text"]) == (
        "angry_2", "Budget vote delayed", "you are a stupid idiot moron")


def _login(app, name, password):
    c = TestClient(app, follow_redirects=False)
    token = re.search(r'name="csrf" value="([^"]+)"', c.get("/login").text).group(1)
    assert c.post("/login", data={"username": name, "password": password, "csrf": token}).status_code == 303
    return c


def test_the_card_shows_the_context_and_the_comment_page_the_file_and_model(db):
    s = open_store(db)
    s.add_moderator("alice", "alice-password")
    s.add_scored(dump(), source="dump-2026-11-30.csv")
    c = _login(create_app(s, secret="s"), "alice", "alice-password")
    html = c.get("/").text
    card = html[html.index('data-id="4512"'):]
    card = card[:card.index("</article>")]
    assert '<a class="article" href="/articles/a-17">Budget vote delayed</a>' in card
    assert ('<a class="article-url" href="https://news.example/budget" rel="noopener noreferrer nofollow" '
            'title="the article on the site">↗</a>') in card
    assert '<span class="by">by <a class="author" href="/authors/angry_2">angry_2</a></span>' in card
    assert '<time datetime="2026-11-30T09:10:00+00:00">30 Nov 2026, 09:10 UTC</time>' in card
    assert ('<details class="parent"><summary>In reply to comment 4511</summary><p class="parent-text">you absolute idiot</p>'
            '</details>') in card
    assert "dump-2026-11-30.csv" not in html.split('<div id="items">')[1] and "unknown" not in card
    page = c.get("/comments/4512").text
    assert '<dd class="src">dump-2026-11-30.csv</dd>' in page and '<dd class="ver">unknown</dd>' in page
    bare = html[html.index('data-id="4513"'):]
    assert '<p class="context">' not in bare[:bare.index("</article>")]
