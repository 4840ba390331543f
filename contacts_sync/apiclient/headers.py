"""Response header blocks parsed without the email package, for plain headers.

http.client hands every response's header block to `email.parser` (a feed parser built for MIME mail): in the
sync worker that was a quarter of the CPU of a contact write, more than the rest of the HTTP path (bench/fleet.py,
docs/benchmarks.md). `parse_headers` below reads the same lines with http.client's own reader and its limits, and
builds the same `HTTPMessage` from lines of the plain form `Name: value` (visible ASCII, blanks and tabs). Any
other line (a folded continuation, a byte outside ASCII, a line without a colon, an empty name) sends the whole
block to the email parser as before, so an unusual answer is read exactly as http.client reads it, defects and
all. tests/apiclient/test_headers.py holds the two to the same messages.

`install()` puts it in http.client for the process (the API clients' requests go through urllib3, which reads
responses with http.client); apiclient/client.py calls it on import.
"""

from __future__ import annotations

import email.parser
import http.client
import re
from typing import Any

# A plain header line as the email parser reads it: a field name of visible ASCII but ':', a colon, blanks, then
# a value of visible ASCII, blanks and tabs, ended by CRLF or LF. Its value keeps trailing blanks (so does email).
_PLAIN_LINE = re.compile(rb"([!-9;-~]+):[ \t]*([\t -~]*)\r?\n")
_email_parse_headers = http.client.parse_headers


def parse_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage) -> Any:
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]  # its line and count limits included
    message = _class()
    for line in lines[:-1]:  # the last is the blank line that ends the block (or b"" at the end of the stream)
        plain = _PLAIN_LINE.fullmatch(line)
        if plain is None:
            return email.parser.Parser(_class=_class).parsestr(b"".join(lines).decode("iso-8859-1"))
        message[plain[1].decode("ascii")] = plain[2].decode("ascii")
    message.set_payload("")  # what the email parser leaves after a header block: an empty body
    return message


def install() -> None:
    """Make http.client read response headers with `parse_headers` (once per process; idempotent)."""
    if hasattr(http.client, "_read_headers"):  # the reader it relies on; without it http.client stays as it is
        setattr(http.client, "parse_headers", parse_headers)  # noqa: B010 - the stubs type it as overloaded
