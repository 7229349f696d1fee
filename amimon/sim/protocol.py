"""The EC2 Query protocol's plumbing: indexed parameters, filters, page tokens, XML and errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"

# XML 1.0 cannot carry most control characters at all, not even as references.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_FILTER_NAME = re.compile(r"^Filter\.(\d+)\.Name$")


class ApiError(Exception):
    """An EC2 error document to send back."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def x(value: object) -> str:
    """Text made safe for an XML element."""
    return escape(_XML_ILLEGAL.sub("", str(value)))


def xbool(value: bool) -> str:
    return "true" if value else "false"


def error_xml(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{x(code)}</Code><Message>{x(message)}</Message>"
        f"</Error></Errors><RequestID>{uuid.uuid4()}</RequestID></Response>"
    )


def response_xml(action: str, body: str) -> str:
    """``<ActionResponse>`` with a request id around ``body``."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{action}Response xmlns="{NAMESPACE}"><requestId>{uuid.uuid4()}</requestId>'
        f"{body}</{action}Response>"
    )


def indexed(params: Mapping[str, str], prefix: str) -> list[str]:
    """The values of ``Prefix.1``, ``Prefix.2``, ... in index order."""
    pattern = re.compile(rf"^{re.escape(prefix)}\.(\d+)$")
    found = sorted((int(m.group(1)), v) for k, v in params.items() if (m := pattern.match(k)))
    return [v for _, v in found]


def filters(params: Mapping[str, str], known: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``Filter.N.Name`` / ``Filter.N.Value.M`` pairs in order; an unknown name is an error."""
    found = []
    for key, name in params.items():
        match = _FILTER_NAME.match(key)
        if not match:
            continue
        if name not in known:
            raise ApiError("InvalidParameterValue", f"The filter '{name}' is invalid")
        index = int(match.group(1))
        found.append((index, name, indexed(params, f"Filter.{index}.Value")))
    return [(name, values) for _, name, values in sorted(found)]


def check_dry_run(params: Mapping[str, str]) -> None:
    """The caller is always permitted: a dry run answers ``DryRunOperation``."""
    if params.get("DryRun", "").lower() == "true":
        raise ApiError(
            "DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412
        )


def page_size(params: Mapping[str, str], default: int, maximum: int) -> int:
    """``MaxResults`` checked against 1..``maximum``, or ``default`` when absent."""
    raw = params.get("MaxResults")
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if not 1 <= size <= maximum:
        raise ApiError(
            "InvalidParameterValue",
            f"Value ({raw}) for parameter maxResults is invalid. "
            f"Expecting a value between 1 and {maximum}.",
        )
    return size


class PageTokens:
    """Opaque, signed ``NextToken`` values: where a page ended, bound to the query."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]

    def make(self, position: Sequence[str], query: str) -> str:
        payload = json.dumps([*position, query]).encode()
        return base64.urlsafe_b64encode(self._mac(payload) + payload).decode()

    def read(self, token: str, query: str) -> list[str]:
        """The position a token was made with; any doubt is ``InvalidParameterValue``."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            mac, payload = raw[:12], raw[12:]
            if not hmac.compare_digest(mac, self._mac(payload)):
                raise ValueError("bad signature")
            *position, token_query = json.loads(payload)
            if token_query != query:
                raise ValueError("token from another query")
            return [str(p) for p in position]
        except (ValueError, TypeError):
            raise ApiError(
                "InvalidParameterValue", "The specified NextToken is not valid."
            ) from None
