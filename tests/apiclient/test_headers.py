"""The plain-header fast path reads every header block exactly as http.client's email parser does."""

from __future__ import annotations

import http.client
import io
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from contacts_sync.apiclient.headers import _email_parse_headers, parse_headers

NAMES = st.one_of(
    st.sampled_from(["Content-Type", "content-length", "X-RateLimit-Remaining", "Set-Cookie", "set-cookie", "ETag"]),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":"), min_size=1),
    st.sampled_from(["", "From ", "Bad Name", "Naïve", "X\x00"]),  # what only the email parser reads
)
VALUES = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
    st.sampled_from(["", "  leading", "trailing  ", "\ttabbed\t", "a:b:c", "Zoë", "x\ry", "caf\xe9"]),
)
LINE = st.one_of(
    st.tuples(NAMES, VALUES).map(lambda nv: f"{nv[0]}:{nv[1]}"),
    st.tuples(NAMES, VALUES).map(lambda nv: f"{nv[0]}: {nv[1]}"),
    VALUES.map(lambda v: f" folded {v}"),  # a continuation line
    VALUES,  # a line without a colon
)


def _read(parser, block: bytes) -> tuple:
    fp = io.BytesIO(block + b"the body")
    message = parser(fp)
    return (
        message.items(),
        message.get_payload(),
        [type(d) for d in message.defects],
        message.is_multipart(),
        message.get_content_type(),
        message.get("content-length"),
        fp.read(),  # both stop at the same byte: the body is left to the response
    )


@settings(max_examples=400, deadline=None)
@given(
    lines=st.lists(LINE, max_size=12),
    newline=st.sampled_from(["\r\n", "\n"]),
    end=st.sampled_from(["\r\n", "\n", ""]),
)
def test_the_fast_path_reads_every_header_block_as_the_email_parser_does(
    lines: list[str], newline: str, end: str
) -> None:
    block = "".join(line + newline for line in lines).encode("iso-8859-1", errors="replace") + end.encode()
    assert _read(parse_headers, block) == _read(_email_parse_headers, block)


def test_apiclient_installs_it_and_a_plain_block_never_reaches_the_email_parser(monkeypatch: Any) -> None:
    import email.parser

    import contacts_sync.apiclient.client  # noqa: F401  - installs it

    assert http.client.parse_headers is parse_headers
    monkeypatch.setattr(email.parser, "Parser", None)  # calling it would raise
    block = b"Content-Type: application/json\r\nContent-Length: 2\r\nX-RateLimit-Remaining: 99\r\n\r\n"
    message = parse_headers(io.BytesIO(block))
    assert message["x-ratelimit-remaining"] == "99" and message.get_content_type() == "application/json"
