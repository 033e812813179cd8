"""The dashboard's front door: Host header, access token and request size, checked before any route.

:class:`Guard` is a plain ASGI middleware, so that it sees every request (API, pages, docs)
and can stop an oversized body while it streams in, before FastAPI reads it:

- **Host.** Only the names this server is reached by are answered: ``localhost``,
  ``127.0.0.1``, ``[::1]``, the bound host and any names given (``--allowed-host``). A page
  on another site that re-points its own name at 127.0.0.1 (DNS rebinding) sends its own
  name as Host and is refused (HTTP 400).
- **Token.** With a token, every request but ``/static/`` needs it: header
  ``Authorization: Bearer TOKEN``, or the cookie a browser gets by opening any page once
  with ``?token=TOKEN`` (``HttpOnly``, ``SameSite=Strict``; the URL is then redirected
  without the token). Missing or wrong: HTTP 401.
- **Size.** A body longer than the limit is refused with HTTP 413, whether it announces
  its length or streams in chunks.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import parse_qsl, urlencode

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Host names a local server always answers to.
LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "[::1]")
#: Bind addresses that mean "every interface" (not a name a client uses).
WILDCARD_HOSTS: tuple[str, ...] = ("0.0.0.0", "::", "[::]", "")
COOKIE = "blocsim_token"


def host_name(value: str) -> str:
    """The host part of a Host header or bind address, lower-case, IPv6 in brackets, no port."""
    value = value.strip().lower()
    if value.count(":") > 1 and not value.startswith("["):  # a bare IPv6 address (a bind address)
        return f"[{value}]"
    end = value.find("]") + 1 if value.startswith("[") else (value.find(":") if ":" in value else len(value))
    name, port = value[:end], value[end:]
    if port and not (port.startswith(":") and port[1:].isdigit()):
        return value  # "name:junk" is not a name of this server
    return name


def allowed_host_names(bound_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """Host names to answer: loopback names, the bound host (unless a wildcard) and ``extra``."""
    names = {*LOOPBACK_HOSTS, *(host_name(name) for name in extra)}
    if host_name(bound_host) not in {host_name(w) for w in WILDCARD_HOSTS}:
        names.add(host_name(bound_host))
    return frozenset(name for name in names if name)


class Guard:
    """ASGI middleware checking Host, token and body size (see the module docstring).

    Parameters
    ----------
    app
        The application behind the guard.
    allowed_hosts
        Host names (no port) to answer, from :func:`allowed_host_names`.
    token
        Access token, or ``None`` for none (loopback-only servers).
    max_body_bytes
        Largest request body accepted (bytes).
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: frozenset[str], token: str | None, max_body_bytes: int) -> None:
        self.app = app
        self.allowed_hosts = allowed_hosts
        self.token = token
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = host_name(headers.get("host", ""))
        if host not in self.allowed_hosts:
            shown = headers.get("host", "")[:100]
            await _reply(send, 400, f"Host header {shown!r} is not a name of this server; allowed: "
                                    f"{', '.join(sorted(self.allowed_hosts))} (start the server with "
                                    "--allowed-host NAME to add the name you use)")
            return
        if self.token is not None and not scope["path"].startswith("/static/"):
            if await self._token_refused(scope, headers, self.token, send):
                return
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await _reply(send, 413, self._too_large())
            return
        body = await self._read_body(receive)  # also catches a chunked body without Content-Length
        if body is None:
            await _reply(send, 413, self._too_large())
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return (f"request body larger than {self.max_body_bytes} bytes, this server's limit; send a smaller "
                "scenario (built-in scenarios are about 2 kB)")

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole request body, or ``None`` as soon as it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _token_refused(self, scope: Scope, headers: dict[str, str], token: str, send: Send) -> bool:
        """Reply 401 (or set the cookie and redirect) and return True unless the request carries ``token``."""
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        cookies = dict(part.strip().partition("=")[::2] for part in headers.get("cookie", "").split(";"))
        supplied = [credentials.strip() if scheme.lower() == "bearer" else "", cookies.get(COOKIE, "")]
        if any(hmac.compare_digest(value.encode(), token.encode()) for value in supplied if value):
            return False
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        offered = [value for key, value in query if key == "token"]
        if scope["method"] == "GET" and offered and hmac.compare_digest(offered[-1].encode(), token.encode()):
            rest = urlencode([(key, value) for key, value in query if key != "token"])
            location = scope["path"] + (f"?{rest}" if rest else "")
            await send({"type": "http.response.start", "status": 303, "headers": [
                (b"location", location.encode("latin-1")),
                (b"set-cookie", f"{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/".encode("latin-1")),
            ]})
            await send({"type": "http.response.body", "body": b""})
            return True
        await _reply(send, 401, "this server needs its access token: send 'Authorization: Bearer TOKEN', or open "
                                "any page once with ?token=TOKEN", [(b"www-authenticate", b"Bearer")])
        return True


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` that hands the app the already read ``body``, then waits on the client as usual."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or []),
    ]})
    await send({"type": "http.response.body", "body": body})
