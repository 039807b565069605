"""`OPTIONS` and 405 answers that name every method of a path.

Starlette's router answers a request no route fully matches with the first route that
matches its path, whatever the method: `OPTIONS /evaluations/monitors/{id}` got 405 with
`Allow: GET`, though PATCH and DELETE are served there too. `AllowRoute`, the router's last
route, answers instead:

- `OPTIONS` (not a CORS preflight, which CORSMiddleware answers before the router) → 204
  with `Allow`;
- any other method no route serves → 405 `{"detail": "Method Not Allowed"}` with `Allow`.

`Allow` lists every method some route serves at that URL, plus OPTIONS: the methods that do
not answer 405 there. A path no route matches falls through, to 404 as before.

Being last, it costs nothing to a request a route serves: the router stops at the first
full match. It runs only for what would be a 404 or a 405.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

# The order methods are listed in: reads, writes, then OPTIONS.
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOW_KEY = "sightline.allow"  # where matches() hands the header to handle(), in the scope


def install(app: FastAPI) -> None:
    """Call once every route is added: the routes are read here."""
    app.router.routes.append(AllowRoute(app.routes))


class AllowRoute(BaseRoute):
    def __init__(self, routes: Iterable[BaseRoute]) -> None:
        # One route per path regex stands for all of its methods: a path served by several
        # routes (GET, PATCH, DELETE of one monitor) is matched once.
        by_regex: dict[str, tuple[Route, set[str]]] = {}
        for route in routes:
            if isinstance(route, Route) and route.methods:
                _, methods = by_regex.setdefault(route.path_regex.pattern, (route, set()))
                methods.update(route.methods)
        self._paths = [(route, frozenset(methods)) for route, methods in by_regex.values()]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        allowed = {
            method
            for route, methods in self._paths
            if route.matches(scope)[0] is not Match.NONE
            for method in methods
        }
        if not allowed:
            return Match.NONE, {}
        allowed.add("OPTIONS")
        return Match.FULL, {ALLOW_KEY: ", ".join(_ordered(allowed))}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {"Allow": scope[ALLOW_KEY]}
        if scope["method"] != "OPTIONS":
            raise HTTPException(status_code=405, headers=headers)
        await Response(status_code=204, headers=headers)(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: object) -> URLPath:
        raise NoMatchFound(name, path_params)


def _ordered(methods: set[str]) -> list[str]:
    known = [m for m in METHOD_ORDER if m in methods]
    return known + sorted(methods - set(METHOD_ORDER))
