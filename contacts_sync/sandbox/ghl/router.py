"""A router faster than Starlette's for the GHL emulator's ~60 routes."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route


class FastRouter:
    """Dispatch by (method, exact path) in one dict lookup, else the few templates of that method in order.

    Starlette's Router tries every route for every request; with ~40 GHL routes that was a quarter of the
    emulator's time per request (see bench/ghl_budget.py: the emulator must never be the bottleneck).
    """

    def __init__(self, routes: list[Route]) -> None:
        self.exact: dict[tuple[str, str], Route] = {}
        self.templated: dict[str, list[Route]] = {}
        self.fallback = routes[-1]  # the JSON 404 catch-all
        for route in routes[:-1]:
            for method in route.methods or ():
                if "{" in route.path:
                    self.templated.setdefault(method, []).append(route)
                else:
                    self.exact.setdefault((method, route.path), route)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"][len(scope.get("root_path", "")) :] if scope.get("root_path") else scope["path"]
        if not path.startswith("/"):
            path = "/" + path
        method = scope["method"]
        route = self.exact.get((method, path))
        params: dict[str, Any] = {}
        if route is None:
            for candidate in self.templated.get(method, ()):
                match = candidate.path_regex.match(path)
                if match:
                    route, params = candidate, match.groupdict()
                    break
        if route is None:
            route = self.fallback
            params = {"path": path.lstrip("/")}
        scope["path_params"] = params
        scope["endpoint"] = route.endpoint
        await route.app(scope, receive, send)
