"""What every request to `engine serve` passes first (plain ASGI, so streamed audio is not slowed down):
bodies are small and sent whole, off loopback the token is required, and answers carry security headers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from engine.access import token_matches

MAX_BODY = 16 * 1024  # every request body the page sends is a few bytes
HEADERS = [(b"content-security-policy", b"default-src 'self'; media-src 'self' blob:; img-src 'self' data:; "
                                        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
           (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


def over_https(request: Request, trust_proxy: bool) -> bool:
    """Whether the player reached us over HTTPS: directly, or through a reverse proxy that says so in
    X-Forwarded-Proto (believed only when [serve] trust_proxy is set: anyone can send the header)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or (trust_proxy and forwarded == "https")


class Guard:
    def __init__(self, app: Any, token: str | None, trust_proxy: bool = False) -> None:
        self.app = app
        self.token = token
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._refused(Request(scope))
        if refused is not None:
            await refused(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)

    def _refused(self, request: Request) -> Response | None:
        size = request.headers.get("content-length", "0")
        if not size.isdigit() or int(size) > MAX_BODY or "chunked" in request.headers.get("transfer-encoding", ""):
            return JSONResponse({"detail": f"Request bodies here are at most {MAX_BODY} bytes, sent whole."}, 413)
        if not self.token:
            return None
        given = request.cookies.get("token") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if token_matches(given, self.token):
            return None
        if request.url.path.endswith("/") and token_matches(request.query_params.get("token"), self.token):
            answer = RedirectResponse("./", 303)  # relative: right behind any proxy prefix
            answer.set_cookie("token", self.token, httponly=True, samesite="strict",
                              secure=over_https(request, self.trust_proxy))
            return answer
        return JSONResponse({"detail": "This server needs its token: open the address it printed, with ?token=..."},
                            401)
