"""Several uvicorn workers on one port, each accepting on a listening socket of its own (``SO_REUSEPORT``).

uvicorn's own workers share one listening socket, and an awake worker accepts
every connection waiting on it: keep-alive connections opened together (a
comment platform's HTTP agent, a load test's clients) then often all land on one
worker, which serves them alone while the others idle (20 connections opened at
once: all 20 on one of two workers in 3 trials of 5). With a socket each, the
kernel spreads new connections over the workers by their addresses (on Linux:
BSD's and macOS's ``SO_REUSEPORT`` does not, so there uvicorn's workers serve).

The parent refuses a port another server listens on, holds the port with a
socket of its own that never listens, starts the workers, starts a worker again when one dies after it started, and
stops them all on SIGINT or SIGTERM, or when one fails to start.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import sys
import time

from ...errors import ModerationError, RunError

__all__ = ["serve_workers", "serve_on", "listening_socket", "STARTUP_FAILURE"]

STARTUP_FAILURE = 3  # a worker's exit status when its server did not start (uvicorn's)
logger = logging.getLogger("uvicorn.error")


def listening_socket(host: str, port: int, share: bool = True) -> socket.socket:
    """A TCP socket bound to ``host:port``, not yet listening, with ``SO_REUSEPORT`` when ``share``;
    ``ModerationError`` when the address cannot be had (in use, not an address of this machine)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ModerationError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.set_inheritable(True)
    return sock


def serve_on(config, sock: socket.socket) -> bool:
    """uvicorn's server of ``config`` (a ``uvicorn.Config``) on ``sock`` until it is told to stop; False when it
    failed to start (uvicorn has logged why)."""
    import uvicorn

    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # told to stop, maybe while starting (uvicorn raises a SIGINT again once it stopped)
        return True
    except SystemExit:  # uvicorn's way out when the app cannot be loaded
        pass
    return server.started


def _worker(host: str, port: int, config: dict) -> None:
    """One worker process: its own listening socket, then uvicorn's server on it until it is told to stop."""
    import uvicorn

    try:
        sock = listening_socket(host, port)
    except ModerationError as e:
        logger.error(str(e))
        sys.exit(STARTUP_FAILURE)
    sys.exit(0 if serve_on(uvicorn.Config(**config), sock) else STARTUP_FAILURE)


def serve_workers(host: str, port: int, workers: int, config: dict, poll: float = 0.5) -> None:
    """Serve with ``workers`` processes, each running ``uvicorn.Config(**config)`` (an import string for the app,
    picklable options) on its own socket, until SIGINT or SIGTERM.

    Raises ``ModerationError`` when the port cannot be had and ``RunError`` when a worker fails to start.
    Elsewhere than on Linux, uvicorn's own workers serve, sharing one socket: BSD's and macOS's
    ``SO_REUSEPORT`` gives every connection to one socket, and Windows has none.
    """
    if not sys.platform.startswith("linux"):
        import uvicorn

        uvicorn.run(host=host, port=port, workers=workers, **config)
        return
    # a port another server listens on is refused, even one that shares it: its workers would get a share of ours
    listening_socket(host, port, share=False).close()
    holder = listening_socket(host, port)
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter each: no threads or locks carried over
    stop: list[int] = []  # the signals received: a handler that took a lock could wait for itself forever
    failed: list[int] = []

    def start() -> multiprocessing.process.BaseProcess:
        process = spawn.Process(target=_worker, args=(host, port, config), daemon=False)
        process.start()
        return process

    previous = {sig: signal.signal(sig, lambda sig, _: stop.append(sig)) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = []
    try:
        processes = [start() for _ in range(workers)]
        while True:
            time.sleep(poll)
            if stop:  # the workers got the signal too, maybe: none is started again
                break
            for i, process in enumerate(processes):
                if process.exitcode is None:
                    continue
                if process.exitcode == STARTUP_FAILURE:
                    failed.append(process.pid)
                    break
                logger.warning(f"Worker process [{process.pid}] died (exit status {process.exitcode}): starting "
                               "another")
                processes[i] = start()
            if failed:
                break
    finally:
        for process in processes:
            if process.exitcode is None:
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        for process in processes:
            process.join(30)
            if process.exitcode is None:
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        holder.close()
    if failed:
        raise RunError(f"worker process {failed[0]} failed to start (its error is logged above)")
