"""The enclave's review page (A5): a local web page where output checkers see each job's
outputs with the automatic checks' findings, the researcher's notes, and approve, reject
and release (``sluis enclave review``).

Flask with its templates and inline CSS (no outside assets: the enclave has no network),
served by werkzeug on 127.0.0.1 only. Routes and security in :mod:`.app`, how outputs are
shown in :mod:`.tables`.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from sluis.enclave.review.app import create_app
from sluis.errors import UsageError

#: the only address the page listens on
HOST = "127.0.0.1"


def server(enclave: Path, port: int = 0) -> BaseWSGIServer:
    """A server for the review page of ``enclave`` on 127.0.0.1 (``port`` 0: a free one,
    see ``server.port``); call ``serve_forever`` and ``shutdown``."""
    # bind first: werkzeug exits the process on a port in use instead of raising
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(64)
    except OSError as err:
        sock.close()
        raise UsageError(
            f"cannot listen on {HOST}:{port}: {err.strerror}",
            rule="review-port",
            hint="leave --port out to take a free one",
        ) from None
    with sock:  # the server works on a duplicate of the socket
        return make_server(
            HOST, sock.getsockname()[1], create_app(enclave), threaded=True, fd=sock.fileno()
        )


def serve(enclave: Path, port: int = 0, *, ready: Callable[[str], None] = print) -> None:
    """Serve the review page until interrupted; ``ready`` gets its URL."""
    httpd = server(enclave, port)
    ready(f"http://{HOST}:{httpd.port}/")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


__all__ = ["HOST", "create_app", "serve", "server"]
