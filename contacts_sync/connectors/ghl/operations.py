"""Which GHL operations (method + path template) a flow uses, and the OAuth scope each needs: the catalogue's facts.

Derived from the code, never written per recipe: `client_operations()` reads each `GHLClient` method's
`self._request("METHOD", "/path")`, `calls_of(cls, method)` reads which client methods a writer or the reader calls.
The scope of each operation is the official spec's `security` (checked by tests/connectors/ghl/test_operations.py
against ../shared/specs/ghl, which the product itself cannot read at run time).
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from collections.abc import Iterable
from typing import Any

from . import client as client_module
from . import reads as reads_module

# The classes whose methods send GHL requests (the client and its read mixin).
CLIENT_CLASSES = {client_module: "GHLClient", reads_module: "LocationReads"}

# The spec's scope of every operation the product calls ("METHOD /path" as the spec spells the path).
# POST /contacts/bulk/business has no `security` in the spec; HighLevel enforces contacts.write on it.
OPERATION_SCOPES: dict[str, str] = {
    "GET /contacts/{contactId}": "contacts.readonly",
    "POST /contacts/search": "contacts.readonly",
    "GET /contacts/": "contacts.readonly",
    "GET /contacts/search/duplicate": "contacts.readonly",
    "POST /contacts/": "contacts.write",
    "POST /contacts/upsert": "contacts.write",
    "PUT /contacts/{contactId}": "contacts.write",
    "DELETE /contacts/{contactId}": "contacts.write",
    "GET /contacts/business/{businessId}": "contacts.readonly",
    "POST /contacts/bulk/business": "contacts.write",
    "GET /contacts/{contactId}/tasks": "contacts.readonly",
    "GET /contacts/{contactId}/tasks/{taskId}": "contacts.readonly",
    "POST /contacts/{contactId}/tasks": "contacts.write",
    "PUT /contacts/{contactId}/tasks/{taskId}": "contacts.write",
    "PUT /contacts/{contactId}/tasks/{taskId}/completed": "contacts.write",
    "DELETE /contacts/{contactId}/tasks/{taskId}": "contacts.write",
    "POST /contacts/{contactId}/tags": "contacts.write",
    "DELETE /contacts/{contactId}/tags": "contacts.write",
    "GET /contacts/{contactId}/notes": "contacts.readonly",
    "GET /contacts/{contactId}/notes/{id}": "contacts.readonly",
    "POST /contacts/{contactId}/notes": "contacts.write",
    "PUT /contacts/{contactId}/notes/{id}": "contacts.write",
    "DELETE /contacts/{contactId}/notes/{id}": "contacts.write",
    "GET /contacts/{contactId}/appointments": "contacts.readonly",
    "GET /calendars/events": "calendars/events.readonly",
    "GET /businesses/": "businesses.readonly",
    "POST /businesses/": "businesses.write",
    "POST /locations/{locationId}/tasks/search": "locations/tasks.readonly",
    "GET /locations/{locationId}/customFields": "locations/customFields.readonly",
    "GET /locations/{locationId}": "locations.readonly",
    "GET /users/": "users.readonly",
}


def _request_calls(node: ast.AST) -> Iterable[tuple[str, str]]:
    for call in ast.walk(node):
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "_request"
            and len(call.args) >= 2
            and all(isinstance(a, ast.Constant) for a in call.args[:2])
        ):
            method, path = call.args[0].value, call.args[1].value  # type: ignore[attr-defined]
            yield str(method), str(path)


@functools.cache
def client_operations() -> dict[str, tuple[str, ...]]:
    """GHLClient method name -> the operations ("METHOD /path") it sends."""
    out: dict[str, tuple[str, ...]] = {}
    for module, name in CLIENT_CLASSES.items():
        tree = ast.parse(inspect.getsource(module))
        for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name):
            for fn in (n for n in cls.body if isinstance(n, ast.FunctionDef)):
                ops = tuple(dict.fromkeys(f"{m} {p}" for m, p in _request_calls(fn)))
                if ops:
                    out[fn.name] = ops
    return out


def _client_calls(node: ast.AST) -> Iterable[str]:
    """Names X of every `self.client.X(...)` (or `client.X(...)`) call under node."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute):
            owner = call.func.value
            if (isinstance(owner, ast.Attribute) and owner.attr == "client") or (
                isinstance(owner, ast.Name) and owner.id == "client"
            ):
                yield call.func.attr


@functools.cache
def calls_of(obj: Any, method: str | None = None) -> tuple[str, ...]:
    """The GHL operations a class (or one of its methods, and the methods of the class it calls on self) sends."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef))
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}
    todo = [method] if method else list(methods)
    seen: set[str] = set()
    names: list[str] = []
    while todo:
        name = todo.pop()
        if name in seen or name not in methods:
            continue
        seen.add(name)
        names.extend(_client_calls(methods[name]))
        todo.extend(
            c.func.attr
            for c in ast.walk(methods[name])  # self._helper(...) calls
            if isinstance(c, ast.Call)
            and isinstance(c.func, ast.Attribute)
            and isinstance(c.func.value, ast.Name)
            and c.func.value.id == "self"
        )
    ops = client_operations()
    found = {op for name in names for op in ops.get(name, ())}
    return tuple(sorted(found, key=lambda op: (op.split(" ", 1)[1], op)))


def scopes_for(operations: Iterable[str]) -> tuple[str, ...]:
    """The fewest scopes that cover these operations (an unknown operation raises: add it to OPERATION_SCOPES)."""
    missing = [op for op in operations if op not in OPERATION_SCOPES]
    if missing:
        raise KeyError(f"no scope known for {missing}: add them to OPERATION_SCOPES")
    return tuple(sorted({OPERATION_SCOPES[op] for op in operations}))
