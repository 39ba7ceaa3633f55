"""What protects the studio from other web pages and from leaking the server's details.

* :class:`RequestGuard` (ASGI middleware) answers only requests whose ``Host`` header names
  this server (the bound address, the localhost names and any ``--allow-host``), so a page on
  another site that re-points its DNS name at 127.0.0.1 (DNS rebinding) is refused; it refuses
  state-changing requests (POST, PUT, PATCH, DELETE) from another origin (``Origin`` or
  ``Sec-Fetch-Site``), as Jupyter does; and it refuses an access token in the URL, where
  proxies, browser history and access logs would keep it.
* The token travels in ``Authorization: Bearer ...`` or in the session cookie that
  ``POST /api/session`` sets from it (an HMAC of the token, HttpOnly, SameSite=Strict), which
  is what lets the page's ``<img>`` and ``EventSource`` requests through.
* :func:`public_message` takes server paths out of messages meant for clients.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
"""Host names every studio answers to."""

WILDCARD = ("0.0.0.0", "::", "")
"""Bind addresses meaning "every interface" (clients then use names the server cannot know)."""

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
COOKIE = "brushwork_session"


def allowed_hosts(bind: str, extra: tuple[str, ...] = ()) -> frozenset[str] | None:
    """Host names (lower case, no port) to answer for a server bound to ``bind``; None = any.

    Bound to one address: that address, the localhost names and ``extra``. Bound to every
    interface: only ``extra`` (plus the localhost names) when given, else any name (such a
    server needs an access token, which then is the guard). ``"*"`` in ``extra``: any name.
    """
    if "*" in extra or (bind in WILDCARD and not extra):
        return None
    names = {n.strip().lower().strip("[]") for n in (*LOCAL_NAMES, *extra) if n.strip()}
    if bind not in WILDCARD:
        names.add(bind.lower().strip("[]"))
    return frozenset(names)


def host_name(netloc: str) -> str:
    """``"Example.org:8000"`` -> ``"example.org"``; ``"[::1]:8000"`` -> ``"::1"``."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1 : netloc.find("]")] if "]" in netloc else netloc
    return netloc.rsplit(":", 1)[0] if netloc.count(":") == 1 else netloc


def _same_origin(origin: str, host: str, scheme: str) -> bool:
    """Whether the ``Origin`` header names the page's own server (scheme, host and port)."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False  # "null" (sandboxed frames, file: pages) and anything odd
    default = {"http": "80", "https": "443"}

    def norm(netloc: str, sch: str) -> str:
        netloc = netloc.lower()
        return netloc if re.search(r":\d+$", netloc) else f"{netloc}:{default.get(sch, '')}"

    return norm(parts.netloc, parts.scheme) == norm(host, scheme)


def _refuse(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class RequestGuard:
    """ASGI middleware: Host allow-list, same-origin rule for state changes, no token in URLs.

    ``hosts``: from :func:`allowed_hosts` (None: any Host). Answers 400 (unknown Host, token
    in the URL) or 403 (cross-origin state change) before the app sees the request.
    """

    def __init__(self, app, hosts: frozenset[str] | None) -> None:
        self.app, self.hosts = app, hosts

    def check(self, scope) -> JSONResponse | None:
        """The refusal for this request, or None to let it through."""
        headers = Headers(scope=scope)
        host = headers.get("host", "")
        if self.hosts is not None and host_name(host) not in self.hosts:
            return _refuse(400, "this server does not answer to that Host name (DNS-rebinding protection); "
                                "open it by its address, or start it with --allow-host NAME")
        query = scope.get("query_string", b"").decode("latin-1")
        if any(k.lower() in ("token", "access_token") for k, _ in parse_qsl(query, keep_blank_values=True)):
            return _refuse(400, "send the access token in the Authorization header (Bearer), never in the URL; "
                                "the page takes it as /#token=... or asks for it")
        if scope.get("method", "GET") not in SAFE_METHODS:
            origin = headers.get("origin")
            fetch_site = headers.get("sec-fetch-site", "")
            if origin is not None and not _same_origin(origin, host, scope.get("scheme", "http")):
                return _refuse(403, "cross-origin request refused: state-changing calls must come from the studio's own page")
            if origin is None and fetch_site in ("cross-site", "same-site"):
                return _refuse(403, "cross-site request refused: state-changing calls must come from the studio's own page")
        return None

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            refusal = self.check(scope)
            if refusal is not None:
                return await refusal(scope, receive, send)
        return await self.app(scope, receive, send)


def session_value(token: str) -> str:
    """The session cookie's value for ``token``: an HMAC, so the cookie is not the token itself."""
    return hmac.new(token.encode(), b"brushwork studio session", hashlib.sha256).hexdigest()


def token_ok(token: str, authorization: str, cookie: str | None) -> bool:
    """Whether a request carries ``token``: ``Authorization: Bearer <token>`` or the session cookie."""
    given = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else ""
    if given and secrets.compare_digest(given.encode(), token.encode()):
        return True
    return bool(cookie) and secrets.compare_digest(cookie.encode(), session_value(token).encode())


_ABSOLUTE = re.compile(r"(?<![\w.~>:/-])/(?:[^\s/:'\"(),]+/)+([^\s/:'\"(),]*)")


def public_message(message: str, *roots: str) -> str:
    """``message`` without server paths: each of ``roots`` (the data directory as given and
    resolved) becomes ``<data>``, and any other absolute path shrinks to its last component."""
    for root in sorted({r.rstrip("/") for r in roots if r and r not in ("/", ".")}, key=len, reverse=True):
        message = message.replace(root, "<data>")
    return _ABSOLUTE.sub(lambda m: m.group(1) or "/", message)


class RedactTokens(logging.Filter):
    """A logging filter for uvicorn's access log: ``token=...`` in a logged URL becomes ``token=[redacted]``."""

    _TOKEN = re.compile(r"((?:access_)?token=)[^&\s\"]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a for a in record.args)
        record.msg = self._TOKEN.sub(r"\1[redacted]", str(record.msg))
        return True
