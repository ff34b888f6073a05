"""``moderation serve --workers N``: a listening socket per worker (``web.workers``), so that connections opened
together are spread over the workers; a dead worker replaced; a taken port refused in one line."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

from conftest import free_port, require_modules, serve_process, stop_process

require_modules("fastapi", "httpx", "uvicorn")

import httpx  # noqa: E402

from moderation.errors import ModerationError, RunError  # noqa: E402
from moderation.queue.web.workers import listening_socket, serve_workers  # noqa: E402

HOST = "127.0.0.1"


def _until(check, what: str, seconds: float = 120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            result = check()
        except (httpx.TransportError, OSError):
            result = None
        if result:
            return result
        time.sleep(0.3)
    pytest.fail(f"gave up waiting: {what}")


def _workers(parent: int) -> list[int]:
    """The worker processes of a ``moderation serve`` (its children that serve, not multiprocessing's tracker)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent and b"spawn_main" in cmdline:
                children.append(int(entry.name))
    return sorted(children)


def _two_workers(parent: int, gone: int | None = None) -> list[int] | None:
    """``_workers`` once there are two, ``gone`` not among them."""
    workers = _workers(parent)
    return workers if len(workers) == 2 and gone not in workers else None


def _sockets(port: int, state: str) -> list[str]:
    """The inodes of the IPv4 TCP sockets on local ``port`` in ``state`` (Linux /proc: 01 established, 0A listening)."""
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    return [r[9] for r in rows if int(r[1].split(":")[1], 16) == port and r[3] == state]


def _connection_holders(port: int, pids: list[int]) -> dict[int, int]:
    """How many established connections to ``port`` each of ``pids`` holds."""
    inodes = _sockets(port, "01")
    held = {}
    for pid in pids:
        targets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        held[pid] = sum(f"socket:[{inode}]" in targets for inode in inodes)
    return held


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
def test_connections_opened_together_are_spread_over_the_workers_and_a_dead_worker_is_replaced(tmp_path,
                                                                                               small_model_dir):
    port = free_port()
    proc = serve_process(tmp_path, small_model_dir, port, "--api-only", "--workers", "2")
    try:
        _until(lambda: httpx.get(f"http://{HOST}:{port}/healthz", timeout=2).status_code == 200, "the server")
        workers = _until(lambda: _two_workers(proc.pid), "two workers")
        _until(lambda: len(_sockets(port, "0A")) == 2, "both workers listening")  # the parent's never listens
        connections = [socket.create_connection((HOST, port)) for _ in range(20)]
        try:
            for c in connections:  # each answered, so each has been accepted by a worker
                c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                assert c.recv(100).startswith(b"HTTP/1.1 200")
            held = _connection_holders(port, workers)
        finally:
            for c in connections:
                c.close()
        # with one socket for both, the worker awake first took all 20 in 3 trials of 5; shared out by the
        # kernel, one worker gets none with probability 2 / 2**20
        assert sum(held.values()) == 20 and min(held.values()) >= 1, held

        os.kill(workers[0], signal.SIGKILL)
        replaced = _until(lambda: _two_workers(proc.pid, gone=workers[0]), "a new worker")
        assert workers[1] in replaced
        _until(lambda: len(_sockets(port, "0A")) == 2, "the new worker listening")  # the parent's never listens
    finally:
        log = stop_process(proc)
    assert proc.returncode == 0, log
    assert f"Worker process [{workers[0]}] died (exit status -9): starting another" in log
    assert log.count("Started server process") == 3 and log.count("Finished server process") == 2
    assert _workers(proc.pid) == []


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_port_another_server_listens_on_is_refused_in_one_line(workers, tmp_path, small_model_dir):
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # not even a server that shares its port
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = serve_process(tmp_path, small_model_dir, port, "--api-only", "--workers", workers)
        stdout, stderr = out.communicate(timeout=60)
    assert out.returncode == 2
    assert stderr.decode().splitlines()[-1] == f"Error: cannot listen on {HOST}:{port}: Address already in use"


def test_listening_socket_names_the_address_it_cannot_have():
    with pytest.raises(ModerationError, match=r"^cannot listen on 192\.0\.2\.1:8000: "):
        listening_socket("192.0.2.1", 8000)  # TEST-NET-1: an address of no machine here


def test_workers_that_cannot_load_the_app_stop_the_server(capfd):
    """A worker that fails to start would fail again: no restarts, the server stops with a RunError."""
    port = free_port()
    with pytest.raises(RunError, match=r"^worker process \d+ failed to start \(its error is logged above\)$"):
        serve_workers(HOST, port, 2, {"app": "moderation.no_such_module:app"}, poll=0.1)
    assert 'Error loading ASGI app. Could not import module "moderation.no_such_module"' in capfd.readouterr().err
    with socket.socket() as again:  # the port is free again
        again.bind((HOST, port))


def test_elsewhere_than_linux_uvicorns_workers_serve(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(uvicorn, "run", lambda **kwargs: calls.append(kwargs))
    serve_workers(HOST, 8000, 2, {"app": "moderation.queue.web.server:app_from_environment", "factory": True})
    assert calls == [{"host": HOST, "port": 8000, "workers": 2, "app": "moderation.queue.web.server:app_from_environment",
                      "factory": True}]
