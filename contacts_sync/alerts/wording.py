"""What an alert says, as pure functions: a title a person understands and the technical detail underneath.

Status reasons come from two places: our own sentences (services.status: "6 of 50 items failed (12%)", "no
successful run since ...") and, for failed runs and connections, the error an outside library raised
("Reading hubstaff failed: TransportError: could not connect: HTTPConnectionPool(host='127.0.0.1', port=8010):
Max retries exceeded ..."). The title keeps our sentences and turns the library's into words; the raw text is
always kept as the detail, so nothing is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A title is one line on a phone's lock screen and in an email subject: longer reasons are cut here.
TITLE_REASON_MAX = 120

_APP_LABELS = {
    "ghl": "HighLevel",
    "hubstaff": "Hubstaff",
    "hotspotsystem": "HotspotSystem",
    "starbuero": "starbuero.de",
    "upguard": "UpGuard",
    "custom": "the custom app",
}

# (pattern of the raw error, what it means) in order; {app} is the app named in the error, else "the app".
_CAUSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), text)
    for p, text in (
        (
            r"invalid_grant|refresh token (is )?(invalid|revoked|expired)|TokenRefused",
            "{app} refused the stored credentials",
        ),
        (
            r"\bScopeError\b|missing scope|not authorized for this scope",
            "{app} refused a request the token has no scope for",
        ),
        (r"\bAuthError\b|\b401\b|unauthori[sz]ed|invalid (api )?(key|token)", "{app} refused the credentials"),
        (r"\bForbiddenError\b|\b403\b|forbidden", "{app} denied access"),
        (r"\bRateLimitedError\b|BudgetExhausted|\b429\b|rate.?limit", "{app} is rate-limiting the requests"),
        (r"timed out|timeout", "{app} did not answer in time"),
        (
            r"HTTPConnectionPool|HTTPSConnectionPool|Max retries exceeded|NewConnectionError|Connection refused|"
            r"could not connect|Name or service not known|nodename nor servname|getaddrinfo|\bTransportError\b",
            "{app} could not be reached",
        ),
        (r"\bServerError\b|\bHTTP 5\d\d\b|answered 5\d\d|\b50[0-4] ", "{app} answered with server errors"),
        (
            r"\bMalformedResponseError\b|not valid JSON|unexpected (answer|response)",
            "{app} sent an answer we could not read",
        ),
        (r"\bNotFoundError\b|\b404\b", "{app} does not know the account or record asked for"),
        (r"^Suspicious: read 0 records", "the source returned no records where it used to return some"),
        (r"^Configuration problem", "the sync's settings need attention"),
        (r"^Internal error", "an internal error stopped the run"),
        (r"^The worker vanished", "the worker running it stopped repeatedly"),
    )
)
# Sentences services.status writes itself: already words, kept as they are.
_OURS = re.compile(
    r"^(outage: |\d+ of \d+ (items|records) failed|no successful run|the run took |"
    r"\d+ records read back|every record failed|paused|resumed|disconnected by )",
    re.IGNORECASE,
)
_FIRST_SENTENCE = re.compile(r"^(.*?)(?:[.;](?:\s|$)|$)")
_APP_IN_ERROR = re.compile(r"^Reading (\w+) failed", re.IGNORECASE)
_HTTP_STATUS = re.compile(r"\b(?:HTTP |answered |status[ =:]*)(\d{3})\b", re.IGNORECASE)
# Raw library text: a class name followed by a colon ("ServerError: ...") or a repr ("(Caused by ...").
_LOOKS_TECHNICAL = re.compile(r"\b[A-Z][A-Za-z]+(Error|Exception|Pool)\b|\(Caused by|Traceback|<\w+ object at")


@dataclass(frozen=True)
class Headline:
    title: str  # "Hubstaff clients → GHL contacts is failing: Hubstaff could not be reached"
    detail: str  # the reason as recorded (the raw error of a failed run), "" when the title says it all


def app_label(key: str) -> str:
    return _APP_LABELS.get(key.lower(), key)


def plain_reason(reason: str, *, app: str = "") -> str:
    """The reason in words: our own sentences stay as they are; a library's error becomes what it means."""
    first = (reason or "").strip().splitlines()[0].strip() if (reason or "").strip() else ""
    if not first:
        return ""
    if _OURS.match(first):  # the first sentence says it; "outage:" is the state's name, not news
        sentence = _FIRST_SENTENCE.match(first)
        text = (sentence.group(1) if sentence else first).removeprefix("outage: ")
        return _cut(text[:1].lower() + text[1:] if text[1:2].islower() else text)
    named = _APP_IN_ERROR.match(first)
    who = app_label(named.group(1)) if named else (app or "the app")
    for pattern, text in _CAUSES:
        if pattern.search(first):
            words = text.format(app=who)
            status = _HTTP_STATUS.search(first)
            if status and "server errors" in words:
                words += f" (HTTP {status.group(1)})"
            return words
    if _LOOKS_TECHNICAL.search(first):
        return "stopped by an error (see the details)"
    return _cut(first)


def _cut(text: str) -> str:
    return text if len(text) <= TITLE_REASON_MAX else text[: TITLE_REASON_MAX - 1].rstrip() + "…"


_VERBS = {
    "needs_reauth": "needs to be connected again",
    "error": "has a connection problem",
    "failing": "is failing",
    "degraded": "is degraded",
    "stale": "has not synced for too long",
    "disabled": "is disconnected",
}


def headline(*, name: str, new_status: str, reason: str, app: str = "") -> Headline:
    """The alert's title and detail for a sync or connection that entered `new_status` because of `reason`."""
    verb = _VERBS.get(new_status, f"is {new_status.replace('_', ' ')}")
    words = plain_reason(reason, app=app)
    title = f"{name} {verb}" + (f": {words}" if words else "")
    raw = (reason or "").strip()
    detail = "" if not raw or raw == words else raw
    return Headline(title=title, detail=detail)
