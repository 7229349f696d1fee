"""Reads a DescribeStoreImageTasks body written the way AWS writes it, without a tree."""

# ElementTree builds an element for every field of every task before a line of Python
# looks at it: about half of what the fast parser costs. A body in the form AWS and the
# simulator write is read here with two regular expressions instead:
#
# - an optional XML declaration (version 1.0, UTF-8), then the root element with at most a
#   default namespace;
# - requestId, then the shape's members in the model's order, each at most once;
# - the list's children all <item>, each item's fields in the model's order, each at most
#   once, a timestamp as AWS writes it (2026-11-27T12:00:00.000Z);
# - whitespace only between elements; text without markup, CDATA or character
#   references, using only the five predefined entities; no "\r" (XML reads it as "\n")
#   and no character XML 1.0 refuses anywhere.
#
# Within that form XML gives each text exactly as written, entities replaced, and every
# name is in the root's namespace: what ElementTree and botocore read. A body outside it,
# however valid (attributes, comments, CDATA, another order, a field AWS adds), is left to
# the tree, which reads anything botocore reads.

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final, NamedTuple

from amimon.model import StoreTask, Target, make_task, new_task

# How a scalar member's text becomes a value: botocore's BaseXMLResponseParser handlers.
STRING: Final = 0
INTEGER: Final = 1
TIMESTAMP: Final = 2
BOOLEAN: Final = 3
FLOAT: Final = 4

# The key of the StoreTask list in a result read for amimon's own source (see
# ``fastparse.deliver_tasks``): not a name a botocore member can have.
TASKS: Final = "amimon.StoreTasks"


class Field(NamedTuple):
    key: str  # the member name: the key in the parsed dict
    name: str  # the XML element's local name
    kind: int


class ListOf(NamedTuple):
    key: str
    name: str
    fields: tuple[Field, ...]  # of each item, in the shape's member order


def convert(kind: int, text: str, timestamp: Callable[[str], Any]) -> Any:
    if kind == STRING:
        return text
    if kind == INTEGER:
        return int(text)
    if kind == TIMESTAMP:
        return timestamp(text)
    if kind == BOOLEAN:
        return text == "true"
    return float(text)


# StoreTask's values after its target, as members of an item, with their kinds.
_TASK_FIELDS: Final = (
    ("AmiId", STRING),
    ("TaskStartTime", TIMESTAMP),
    ("Bucket", STRING),
    ("S3objectKey", STRING),
    ("ProgressPercentage", INTEGER),
    ("StoreTaskState", STRING),
    ("StoreTaskFailureReason", STRING),
)

# Text is anything but "<"; the body is checked once for what the form excludes (bytes
# translate and search in C: a character class in the pattern costs more than both).
_TEXT: Final = "([^<]*)"
_ISO_TEXT: Final = "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{3})?Z)"
_SPACE: Final = "[ \t\r\n]*"
# Every byte but the C0 controls XML refuses, and "\r": a body left with any is not
# scanned, nor one with U+FFFE or U+FFFF (the other characters XML refuses), nor "]]>".
_ALLOWED: Final = bytes(b for b in range(256) if b >= 0x20 or b in (0x09, 0x0A))
_BAD_AMPERSAND: Final = re.compile("&(?!(?:amp|lt|gt|quot|apos);)")
_ENTITIES: Final = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"))


def _unescape(text: str) -> str:
    # Only the five entities are in a scanned body, so "&amp;" last is exact.
    for entity, char in _ENTITIES:
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def _element(name: str, content: str) -> str:
    # (?:...|) rather than (?:...)?: the same match, and sre's branch is the cheaper.
    tag = re.escape(name)
    return f"(?:<{tag}>{content}</{tag}>{_SPACE}|)"


class Scanner:
    """Reads a body in the scanner's form into what botocore's parser returns for it."""

    def __init__(self, members: tuple[Field | ListOf, ...], items: ListOf) -> None:
        document = (
            '(?:<\\?xml version="1\\.0" encoding="UTF-8"\\?>)?'
            + _SPACE
            + '<([A-Za-z][A-Za-z0-9]*)(?: xmlns="[-\\w.:/]*")?>'
            + _SPACE
            + _element("requestId", _TEXT)
        )
        for member in members:
            content = f"{_SPACE}(.*)" if member is items else _TEXT
            document += _element(member.name, content)
        document += "</\\1>" + _SPACE
        # An item and the space after it; anything else is one character of junk.
        item = "<item>" + _SPACE
        for f in items.fields:
            item += _element(f.name, _ISO_TEXT if f.kind == TIMESTAMP else _TEXT)
        item += "</item>" + _SPACE + "|(.)"
        self.document = re.compile(document, re.DOTALL)
        self.items = re.compile(item, re.DOTALL)
        self.members = members  # in the order of the document's groups after requestId
        self.list = items
        self.keys = tuple(f.key for f in items.fields)  # in the order of an item's groups
        self.typed = tuple((f.key, f.kind) for f in items.fields if f.kind != STRING)
        self.junk = len(items.fields) + 1  # the group number of a character no item took
        # Where each of StoreTask's values is among an item's groups, if the model's item
        # has every one of them with the kind StoreTask expects.
        self.task_groups: tuple[int, ...] | None = None
        groups = {(f.key, f.kind): n for n, f in enumerate(items.fields, 1)}
        if all(field in groups for field in _TASK_FIELDS):
            self.task_groups = tuple(groups[field] for field in _TASK_FIELDS)

    @classmethod
    def compile(cls, members: tuple[Field | ListOf, ...]) -> Scanner | None:
        """The scanner for a shape of one list and scalars around it, or None."""
        lists = [m for m in members if isinstance(m, ListOf)]
        return cls(members, lists[0]) if len(lists) == 1 else None

    def read(
        self,
        body: bytes,
        timestamp: Callable[[str], Any],
        iso: bool,
        target: Target | None = None,
    ) -> dict[str, Any] | None:
        """The parsed body, or None if it is not in the scanner's form; ``iso``: the
        session's ``timestamp`` reads AWS's form as ``datetime.fromisoformat`` does. With
        ``target``, the items are StoreTasks of that target under ``TASKS`` instead. Raises
        if a value does not convert (then the tree, and botocore, have their say)."""
        # Single characters first: a search for one is many times faster than for three.
        if body.translate(None, _ALLOWED):
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if "\ufffe" in text or "\uffff" in text or ("]" in text and "]]>" in text):
            return None
        found = self.document.fullmatch(text)
        if found is None:
            return None
        escaped = "&" in text
        if escaped and _BAD_AMPERSAND.search(text):
            return None
        fix = _unescape if escaped else None
        # The item regex only takes AWS's form of a timestamp.
        item_time = datetime.fromisoformat if iso else timestamp
        values = found.groups()  # the root's name, requestId, then a group per member
        parsed: dict[str, Any] = {}
        for member, value in zip(self.members, values[2:], strict=True):
            if value is None:
                continue
            if isinstance(member, ListOf):
                if target is not None and self.task_groups is not None:
                    tasks = self._tasks(value, item_time, iso, fix, target)
                    if tasks is None:
                        return None
                    parsed[TASKS] = tasks
                else:
                    items = self._items(value, item_time, fix)
                    if items is None:
                        return None
                    parsed[member.key] = items
            else:
                parsed[member.key] = convert(member.kind, fix(value) if fix else value, timestamp)
        request_id = values[1]
        if request_id is not None:
            # As the tree has it: <requestId></requestId> has no text (None), not "".
            parsed["ResponseMetadata"] = {
                "RequestId": (fix(request_id) if fix else request_id) or None
            }
        return parsed

    def _items(
        self, block: str, timestamp: Callable[[str], Any], fix: Callable[[str], str] | None
    ) -> list[dict[str, Any]] | None:
        keys, typed, junk = self.keys, self.typed, self.junk
        items = []
        for match in self.items.finditer(block):
            if match.lastindex == junk:
                return None
            values = match.groups()
            if values.count(None) == 1:  # only the junk group's: every field is there
                item = dict(zip(keys, values, strict=False))
            else:
                item = {k: v for k, v in zip(keys, values, strict=False) if v is not None}
            if fix is not None:
                item = {k: fix(v) for k, v in item.items()}
            for key, kind in typed:
                value = item.get(key)
                if value is not None:
                    item[key] = convert(kind, value, timestamp)
            items.append(item)
        return items

    def _tasks(
        self,
        block: str,
        timestamp: Callable[[str], Any],
        iso: bool,
        fix: Callable[[str], str] | None,
        target: Target,
    ) -> list[StoreTask] | None:
        groups, junk = self.task_groups, self.junk
        assert groups is not None
        # Each item's values in StoreTask's order, then its junk group (None in an item).
        # Today's model has StoreTask's fields, and only those, in that order: then an
        # item's groups are just that. (Comprehensions: a loop here costs 10% more.)
        matches = self.items.finditer(block)
        if groups == tuple(range(1, junk)):
            rows = [match.groups() for match in matches]
        else:
            rows = [(*match.group(*groups), match.group(junk)) for match in matches]
        if any(row[-1] is not None for row in rows):
            return None
        if fix is not None:
            rows = [tuple(None if v is None else fix(v) for v in row) for row in rows]
        # With fromisoformat on AWS's form (aware), regex text (str) and int(), every value
        # is already of the type make_task would leave as it is.
        task = new_task if iso else make_task
        return [
            task(
                target,
                ami_id,
                None if start is None else timestamp(start),
                bucket,
                key,
                None if progress is None else int(progress),
                state,
                reason,
            )
            for ami_id, start, bucket, key, progress, state, reason, _ in rows
        ]
