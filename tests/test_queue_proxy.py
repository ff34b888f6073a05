"""Behind a TLS proxy: ``Forwarded: proto=https`` counts like ``X-Forwarded-Proto: https`` (Secure cookies, HSTS),
the client address comes from ``for=`` / ``X-Forwarded-For``, and only a trusted proxy is believed."""

from __future__ import annotations

import pytest

from conftest import require_modules  # noqa: E402

require_modules("sqlalchemy", "fastapi", "httpx")

from moderation.queue.store import open_store  # noqa: E402
from moderation.queue.web import create_app  # noqa: E402
from moderation.queue.web.proxy import parse_forwarded, trusted_proxies  # noqa: E402
from conftest import csrf_of, web_client  # noqa: E402

HTTPS = [{"Forwarded": "for=198.51.100.7;proto=https"}, {"Forwarded": 'for="[2001:db8::7]:4711";proto=https;by=x'},
         {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"},
         {"Forwarded": "for=1.2.3.4;proto=http, for=198.51.100.7;proto=https"}]


@pytest.fixture
def app(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'proxy.db'}")
    s.add_moderator("alice", "alice-password")
    yield create_app(s, secret="s")
    s.close()


def _login(app, headers, address="127.0.0.1"):
    c = web_client(app, address)
    c.headers.update(headers)
    page = c.get("/login")
    # the login cookie is Secure over https: httpx would not send it back to http://testserver, a browser would
    r = c.post("/login", data={"username": "alice", "password": "alice-password", "csrf": csrf_of(page.text)},
               headers={"cookie": f"mq_login={page.cookies['mq_login']}"})
    return page, r


@pytest.mark.parametrize("headers", HTTPS, ids=["forwarded", "forwarded-ipv6", "x-forwarded", "forwarded-chain"])
def test_https_behind_a_trusted_proxy_means_secure_cookies_and_hsts(app, headers):
    page, r = _login(app, headers)
    assert page.headers["strict-transport-security"] == "max-age=31536000"
    assert "; secure" in page.headers["set-cookie"].lower()
    assert r.headers["location"] == "/"
    cookie = [h for h in r.headers.get_list("set-cookie") if h.startswith("mq_session=")][0]
    assert "; secure" in cookie.lower()


def test_plain_http_or_an_untrusted_client_gets_neither(app):
    for headers, address in (({}, "127.0.0.1"), ({"Forwarded": "proto=https"}, "203.0.113.9"),
                             ({"X-Forwarded-Proto": "https"}, "203.0.113.9"), ({"Forwarded": "proto=gopher"},
                                                                                "127.0.0.1")):
        page, r = _login(app, headers, address)
        assert "strict-transport-security" not in page.headers
        assert "secure" not in page.headers["set-cookie"].lower()


def test_the_client_address_comes_from_the_trusted_proxy(app):
    store = app.state.store
    for i in range(5):
        c = web_client(app, "127.0.0.1")
        c.headers["Forwarded"] = f"for=198.51.100.{i};proto=https"
        c.post("/login", data={"username": "nobody", "password": "x", "csrf": csrf_of(c.get("/login").text)})
    for i in range(21):
        c = web_client(app, "127.0.0.1")
        c.headers["X-Forwarded-For"] = "203.0.113.50"
        c.post("/login", data={"username": f"name{i}", "password": "x", "csrf": csrf_of(c.get("/login").text)})
    assert store.login_wait("other", "203.0.113.50") > 0  # the address behind the proxy is throttled...
    assert store.login_wait("other", "127.0.0.1") == 0  # ...not the proxy's own


def test_parsing():
    assert parse_forwarded('for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]";Proto=HTTPS') == {
        "for": "[2001:db8:cafe::17]", "proto": "HTTPS"}
    assert trusted_proxies("10.0.0.1, 10.0.0.2") == frozenset({"10.0.0.1", "10.0.0.2"})
    assert trusted_proxies("") == frozenset({"127.0.0.1", "::1"})
