"""The custom app's receiver of our outgoing webhooks (GHL changes pushed as Standard Webhooks), at /custom/hooks.

`POST /custom/hooks/receive` checks the signature (webhook-id/-timestamp/-signature under the configured whsec_
secret, 5-minute tolerance) and records every delivery, valid or not. What it answers is set by
`POST /custom/hooks/config {"secret", "fail": [500, 500], "always": 410, "retry_after": "2"}`: the statuses in
`fail` are answered first, one per delivery; `always` answers every delivery with that status. A delivery with a
bad signature is answered 401. `GET /custom/hooks/received` lists what arrived, oldest first.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from contacts_sync.apiclient import signatures


class Receiver:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.secret = ""
        self.fail: list[int] = []
        self.always: int | None = None
        self.retry_after = ""
        self.received: list[dict[str, Any]] = []

    def _answer(self, valid: bool) -> int:
        if not valid:
            return 401
        if self.always:
            return self.always
        if self.fail:
            return self.fail.pop(0)
        return 200

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        valid = signatures.standard_verify(secret=self.secret, headers=dict(request.headers), body=body)
        status = self._answer(valid)
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = None
        self.received.append(
            {
                "webhook_id": request.headers.get("webhook-id", ""),
                "webhook_timestamp": request.headers.get("webhook-timestamp", ""),
                "signature_valid": valid,
                "json": data,
                "answered": status,
                "at": time.time(),
            }
        )
        headers = {"Retry-After": self.retry_after} if status >= 400 and self.retry_after else {}
        return JSONResponse({"ok": status < 300}, status_code=status, headers=headers)

    async def config(self, request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        if "secret" in body:
            self.secret = str(body["secret"])
        self.fail = [int(s) for s in body.get("fail") or []]
        self.always = int(body["always"]) if body.get("always") else None
        self.retry_after = str(body.get("retry_after") or "")
        return JSONResponse({"fail": self.fail, "always": self.always})

    async def listed(self, request: Request) -> Response:
        return JSONResponse({"received": self.received})

    def routes(self) -> list[Route]:
        return [
            Route("/hooks/receive", self.receive, methods=["POST"]),
            Route("/hooks/config", self.config, methods=["POST"]),
            Route("/hooks/received", self.listed, methods=["GET"]),
        ]
