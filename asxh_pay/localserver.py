"""Serve an in-process ``httpx`` handler over real HTTP on localhost.

Why: sandboxes are written as ``handler(httpx.Request) -> httpx.Response`` so tests can plug
them into ``httpx.MockTransport`` with no sockets. ``asxh-pay sandbox serve`` and the example
webhook receiver need the *same* handler reachable over real HTTP (a browser, curl, another
process). This wraps it in the stdlib ``ThreadingHTTPServer``: no new dependency, no framework.

Safety rails: it binds to loopback only unless ``allow_non_loopback=True`` (a sandbox that
accepts fake payouts must not be reachable from the network by accident), request bodies are
capped (413 beyond ``max_body_bytes``), and each connection has a socket timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import socket
import threading
from collections.abc import Awaitable, Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

from asxh_pay.errors import ConfigurationError
from asxh_pay.masking import get_logger

__all__ = ["DEFAULT_MAX_BODY_BYTES", "Handler", "LocalServer", "serve"]

logger = get_logger(__name__)

Handler = Callable[[httpx.Request], httpx.Response | Awaitable[httpx.Response]]

DEFAULT_MAX_BODY_BYTES = 1 << 20
#: An oversize body is read and discarded up to this many bytes so the client, which is
#: still sending, sees the 413 instead of a connection reset; beyond it we just close.
_DRAIN_LIMIT = 16 << 20
#: How often the serving loop checks for stop(): the upper bound on how long stop() waits.
_POLL_S = 0.05
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "trailer",
        "content-length",
        # httpx hands us decoded content, so a Content-Encoding header would lie.
        "content-encoding",
    }
)


def _resolve(host: str, port: int) -> tuple[socket.AddressFamily, list[str]]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigurationError(f"cannot resolve bind address {host!r}: {exc.strerror}") from None
    if not infos:
        raise ConfigurationError(f"cannot resolve bind address {host!r}")
    return infos[0][0], [str(info[4][0]) for info in infos]


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the stdlib default of 5 resets bursts of callbacks
    block_on_close = False
    # Many clients (worker processes with connection pools) connect at once: the
    # stdlib's backlog of 5 drops SYNs and costs each extra one a 1 s retransmit.
    request_queue_size = 128
    owner: LocalServer


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds per socket operation: a stalled client cannot hold a thread forever
    server_version = "asxh-pay-localserver"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle plus the
    # client's delayed ACK stall every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        # Route the stdlib's stderr access log through logging (paths only, no bodies/headers).
        logger.debug("%s %s", self.address_string(), format % args)

    def _handle(self) -> None:
        owner = self.server.owner
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send_plain(411, b"Content-Length required (chunked bodies are not supported)\n")
            return
        raw_length = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(raw_length)
            if length < 0:
                raise ValueError
        except ValueError:
            self._send_plain(400, b"bad Content-Length\n")
            return
        if length > owner.max_body_bytes:
            if length <= _DRAIN_LIMIT:
                self._drain(length)
            self._send_plain(413, b"request body too large\n")
            return
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            self.close_connection = True
            return
        if not self.path.startswith("/"):
            self._send_plain(400, b"only origin-form request targets are accepted\n")
            return
        try:
            request = httpx.Request(
                self.command, owner.url + self.path, headers=list(self.headers.items()), content=body
            )
        except (httpx.InvalidURL, ValueError, TypeError):
            self._send_plain(400, b"malformed request\n")
            return
        try:
            response = owner.call_handler(request)
        except Exception as exc:
            # The handler's exception text may contain request data: log the type only.
            logger.error("local server handler raised %s", type(exc).__name__)
            logger.debug("handler traceback", exc_info=True)
            self._send_plain(500, b"internal error\n")
            return
        self._send_response(response)

    def _drain(self, length: int) -> None:
        remaining = length
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            remaining -= len(chunk)

    def _send_plain(self, status: int, text: bytes) -> None:
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(text)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(text)

    def _send_response(self, response: httpx.Response) -> None:
        content = response.content
        self.send_response(response.status_code, response.reason_phrase or None)
        for name, value in response.headers.multi_items():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle


class LocalServer:
    """A bound (not yet serving) HTTP server around ``handler``; see :func:`serve`.

    Use as a context manager (starts a background thread, stops on exit), or call
    :meth:`start`/:meth:`stop`, or :meth:`serve_forever` to block the current thread.
    """

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allow_non_loopback: bool = False,
    ) -> None:
        if max_body_bytes < 0:
            raise ConfigurationError("max_body_bytes must not be negative")
        # "" means every interface to the socket layer; resolve it as the wildcard it is.
        family, addresses = _resolve(host or "0.0.0.0", port)
        if not allow_non_loopback and not all(_is_loopback(a) for a in addresses):
            raise ConfigurationError(
                f"refusing to bind {host!r}: not a loopback address (pass allow_non_loopback=True "
                "to expose this server to the network)"
            )
        self.handler = handler
        self.max_body_bytes = max_body_bytes
        server_cls = type("_BoundServer", (_Server,), {"address_family": family})
        self._server: _Server = server_cls((host, port), _RequestHandler)
        self._server.owner = self
        bound_host, bound_port = self._server.server_address[:2]
        host_text = str(bound_host)
        if ":" in host_text:
            host_text = f"[{host_text}]"
        self.url = f"http://{host_text}:{bound_port}"
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._foreground = False

    # -- handler invocation ------------------------------------------------------------

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        """One private loop on its own thread, started on first use: async handlers then share
        a loop (so they may keep loop-bound state) without touching any caller's loop."""
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(target=loop.run_forever, name="localserver-loop", daemon=True)
                thread.start()
                self._loop, self._loop_thread = loop, thread
            return self._loop

    def _run_async(self, awaitable: Awaitable[Any]) -> Any:
        async def _await() -> Any:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(_await(), self._event_loop()).result()

    def call_handler(self, request: httpx.Request) -> httpx.Response:
        """Call the handler; await its result on the private loop if it is awaitable."""
        result = self.handler(request)
        if inspect.isawaitable(result):
            result = self._run_async(result)
        if not isinstance(result, httpx.Response):
            raise TypeError(f"handler returned {type(result).__name__}, not httpx.Response")
        if isinstance(result.stream, httpx.AsyncByteStream) and not isinstance(
            result.stream, httpx.SyncByteStream
        ):
            self._run_async(result.aread())
        else:
            result.read()
        return result

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LocalServer:
        """Serve on a daemon thread and return at once (idempotent)."""
        if self._closed:
            raise ConfigurationError("local server was stopped; create a new one")
        if self._foreground:
            raise ConfigurationError("local server is already serving on another thread")
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                args=(_POLL_S,),
                name=f"localserver {self.url}",
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on the current thread until :meth:`stop` is called from another thread or
        the process is interrupted; then release the socket."""
        if self._closed or self._thread is not None:
            raise ConfigurationError("local server is already serving or was stopped")
        self._foreground = True
        try:
            self._server.serve_forever(_POLL_S)
        finally:
            self._foreground = False
            self._close()

    def stop(self) -> None:
        """Stop serving, release the socket and the private event loop (idempotent)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        elif self._foreground:
            self._server.shutdown()  # serve_forever() returns and closes the socket itself
            return
        self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.server_close()
        with self._lock:
            loop, thread = self._loop, self._loop_thread
            self._loop = self._loop_thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._closed else ("serving" if self._thread else "bound")
        return f"LocalServer(url={self.url!r}, {state})"


def serve(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    allow_non_loopback: bool = False,
) -> LocalServer:
    """Bind ``handler`` to ``host:port`` (port 0 = ephemeral; see ``.url``) and return the
    not-yet-started :class:`LocalServer`. Non-loopback hosts raise ``ConfigurationError``
    unless ``allow_non_loopback=True``."""
    return LocalServer(
        handler, host, port, max_body_bytes=max_body_bytes, allow_non_loopback=allow_non_loopback
    )
