"""`python manage.py sandbox --port 8010`: serve every emulator (GHL at /ghl, Hubstaff at /hubstaff, ...)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve the local emulators of GHL and the connected apps (one process, in-memory state)."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: Any) -> None:
        from contacts_sync.sandbox.server import DEFAULT_GHL_LOCATION, DEFAULT_GHL_TOKEN, DEFAULT_PORT

        parser.add_argument("--port", type=int, default=DEFAULT_PORT)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--ghl-location",
            default=DEFAULT_GHL_LOCATION,
            help=f"GHL location id (default {DEFAULT_GHL_LOCATION})",
        )
        parser.add_argument(
            "--ghl-token",
            default=DEFAULT_GHL_TOKEN,
            help=f"private integration token with every contacts scope (default {DEFAULT_GHL_TOKEN})",
        )
        parser.add_argument("--webhook-url", default="", help="where the GHL emulator posts its signed webhooks")
        parser.add_argument("--seed", type=int, default=0, help="contacts to generate in the location at start")
        parser.add_argument(
            "--ghl-rate-limit", type=int, default=None, help="requests per 10 s per location (default 100)"
        )
        parser.add_argument(
            "--record",
            default="",
            help="append every emulated API exchange as JSON lines to this file (tests)",
        )
        parser.add_argument("--log-level", default="warning")

    def handle(self, *args: Any, **opts: Any) -> None:
        import uvicorn

        from contacts_sync.sandbox.server import SandboxOptions, create_app

        options = SandboxOptions(
            host=opts["host"],
            port=opts["port"],
            ghl_location=opts["ghl_location"],
            ghl_token=opts["ghl_token"],
            webhook_url=opts["webhook_url"],
            seed=opts["seed"],
            ghl_rate_limit=opts["ghl_rate_limit"],
            record_path=opts["record"],
        )
        app = create_app(options)
        _gc_for_emulators()
        self.stdout.write(f"sandbox listening on {options.base_url} (GHL at {options.base_url}/ghl)")
        self.stdout.flush()
        uvicorn.run(
            app,
            host=options.host,
            port=options.port,
            log_level=opts["log_level"],
            access_log=False,
            loop="uvloop",
            http="httptools",
            lifespan="on",
        )


# The emulators keep every record they are sent in memory, and nothing in them forms long-lived cycles: full
# collections only walked an ever larger heap (0.1-0.5 s pauses of every emulated app at once with 50,000 GHL
# contacts, bench.fleet). Young cycles are still collected; a full collection is left for every 1,000th one.
EMULATOR_GC_THRESHOLDS = (50_000, 10, 1_000)


def _gc_for_emulators() -> None:
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(*EMULATOR_GC_THRESHOLDS)
