"""The sandbox: one Starlette app (one process, in-memory state) hosting every emulator under /<name>.

`python manage.py sandbox --port 8010` serves it. Each emulator module exposes `mount(ctx) -> Mount`; modules
missing on disk are skipped. `/_admin/*` sets faults, resets state and reports health.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from contacts_sync.connectors import registry
from contacts_sync.sandbox.faults import FaultInjector

log = logging.getLogger(__name__)

# One emulator per app of the registry, in the package of the same name (contacts_sync/sandbox/<app>/).
EMULATORS: dict[str, str] = {key: f"contacts_sync.sandbox.{key}" for key in registry.APPS}

DEFAULT_PORT = 8010
DEFAULT_GHL_LOCATION = "sandbox-location"
DEFAULT_GHL_TOKEN = "pit-sandbox-token"
# Outgoing webhooks must not hang the emulator when the receiver is slow or down.
WEBHOOK_TIMEOUT_SECONDS = 5.0


@dataclass
class SandboxOptions:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    ghl_location: str = DEFAULT_GHL_LOCATION
    ghl_token: str = DEFAULT_GHL_TOKEN
    webhook_url: str = ""
    seed: int = 0  # contacts generated per location at start (and after a reset)
    ghl_rate_limit: int | None = None  # None = GHL's 100 / 10 s
    record_path: str = ""  # JSON lines of every exchange (for the contract tests); empty = off
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


class SandboxContext:
    """What every emulator gets: options, the shared FaultInjector, an HTTP client for outgoing webhooks."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.faults = FaultInjector()
        self.http = httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS)  # binds to the server's loop lazily
        self.mounting = ""  # the emulator whose mount() is running (names one-argument on_reset calls)
        self._resets: dict[str, Callable[[], Any]] = {}
        self._status: dict[str, Callable[[], dict[str, Any]]] = {}

    def on_reset(self, app: str | Callable[[], Any], callback: Callable[[], Any] | None = None) -> None:
        """Register how an emulator returns to its start state on POST /_admin/reset.

        `ctx.on_reset(callback)` inside `mount()` names the emulator being mounted; `ctx.on_reset(app, callback)`
        names it explicitly.
        """
        if callback is None:
            assert callable(app)
            self._resets[self.mounting] = app
            return
        assert isinstance(app, str)
        self._resets[app] = callback

    def on_status(self, app: str, callback: Callable[[], dict[str, Any]]) -> None:
        self._status[app] = callback

    async def reset(self, app: str | None = None) -> list[str]:
        done = []
        for name, callback in self._resets.items():
            if app is None or app == name:
                result = callback()
                if inspect.isawaitable(result):
                    await result
                done.append(name)
        self.faults.clear(app)
        return done


def load_emulators(ctx: SandboxContext) -> tuple[list[Mount], list[str]]:
    mounts: list[Mount] = []
    names: list[str] = []
    for name, dotted in EMULATORS.items():
        try:
            if importlib.util.find_spec(dotted) is None:
                continue
        except ModuleNotFoundError:
            continue
        module = importlib.import_module(dotted)
        if not hasattr(module, "mount"):
            continue
        ctx.mounting = name
        mount = module.mount(ctx)
        ctx.mounting = ""
        mounts.append(mount)
        names.append(name)
    return mounts, names


def create_app(options: SandboxOptions | None = None) -> Starlette:
    options = options or SandboxOptions()
    ctx = SandboxContext(options)
    mounts, names = load_emulators(ctx)

    async def health(request: Request) -> JSONResponse:
        status = {name: cb() for name, cb in ctx._status.items()}
        return JSONResponse({"ok": True, "emulators": names, "status": status, "faults": ctx.faults.injected})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "GET":
            return JSONResponse({"faults": ctx.faults.as_list(), "injected": ctx.faults.injected})
        if request.method == "DELETE":
            ctx.faults.clear(request.query_params.get("app"), request.query_params.get("account"))
            return JSONResponse({"faults": ctx.faults.as_list()})
        try:
            body = await request.json()
            app = body.pop("app")
            account = body.pop("account", "*") or "*"
            if not isinstance(body, dict):
                raise ValueError("body must be an object")
            settings = ctx.faults.set(app, account, **body)
        except (ValueError, KeyError, TypeError) as e:
            return JSONResponse({"error": f"bad fault settings: {e}"}, status_code=400)
        return JSONResponse({"app": app, "account": account, **asdict(settings)})

    async def reset(request: Request) -> JSONResponse:
        done = await ctx.reset(request.query_params.get("app"))
        return JSONResponse({"reset": done})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await ctx.http.aclose()

    routes = [
        Route("/_admin/health", health),
        Route("/_admin/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_admin/reset", reset, methods=["POST"]),
        *mounts,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.ctx = ctx
    return app
