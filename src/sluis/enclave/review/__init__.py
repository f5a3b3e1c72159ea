"""The enclave's review page (A5): a local web page where output checkers see each job's
outputs with the automatic checks' findings, the researcher's notes, and approve, reject
and release (``sluis enclave review``).

Flask with its templates and inline CSS (no outside assets: the enclave has no network),
served by werkzeug on 127.0.0.1 only. Routes and security in :mod:`.app`, how outputs are
shown in :mod:`.tables`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, make_server

from sluis.enclave.review.app import create_app

#: the only address the page listens on
HOST = "127.0.0.1"


def server(enclave: Path, port: int = 0) -> BaseWSGIServer:
    """A server for the review page of ``enclave`` on 127.0.0.1 (``port`` 0: a free one,
    see ``server.server_port``); call ``serve_forever`` and ``shutdown``."""
    return make_server(HOST, port, create_app(enclave), threaded=True)


def serve(enclave: Path, port: int = 0, *, ready: Callable[[str], None] = print) -> None:
    """Serve the review page until interrupted; ``ready`` gets its URL."""
    httpd = server(enclave, port)
    ready(f"http://{HOST}:{httpd.server_port}/")
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


__all__ = ["HOST", "create_app", "serve", "server"]
