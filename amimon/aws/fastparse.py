"""A fast botocore response parser for DescribeStoreImageTasks; everything else goes to botocore."""

# botocore's EC2QueryParser walks the tree in Python with a regex per element and a
# getattr per value: 20-35 ms of CPU per 1,000 tasks, most of a poll's cost. This parser
# reads the same XML with the same ElementTree parser botocore uses and turns it into the
# same dict, several times faster; a body written as AWS and the simulator write it is
# read without building a tree at all (``Scanner``). It claims only a 2xx response whose output shape is
# DescribeStoreImageTasksResult and whose body it can read exactly as botocore would;
# anything else (errors, other operations, other protocols, malformed XML, a field botocore
# would turn into something odd) is handed to botocore's own parser, unchanged.

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from xml.etree.ElementTree import Element, TreeBuilder, XMLParser

from botocore import parsers
from botocore.utils import lowercase_dict

from amimon.aws.scan import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    STRING,
    TASKS,
    TIMESTAMP,
    Field,
    ListOf,
    Scanner,
    convert,
)
from amimon.model import Target

if TYPE_CHECKING:
    from botocore.model import Shape

__all__ = ["TASKS", "FastParserFactory", "FastStoreTasksParser", "deliver_tasks", "install"]

log = logging.getLogger(__name__)

OUTPUT_SHAPE: Final = "DescribeStoreImageTasksResult"

# Where ``deliver_tasks`` puts a client's target in the response, for the parser.
_TARGET: Final = "amimon.target"

_KINDS: Final = {
    "string": STRING,
    "character": STRING,
    "integer": INTEGER,
    "long": INTEGER,
    "timestamp": TIMESTAMP,
    "boolean": BOOLEAN,
    "float": FLOAT,
    "double": FLOAT,
}


def _iso_first(fallback: Callable[[str], Any]) -> Callable[[str], Any]:
    """``fallback``, but ``datetime.fromisoformat`` for the form AWS sends
    (``2026-11-27T12:00:00.000Z``, or without milliseconds): several times faster than
    dateutil (botocore's default), and than calling amimon's parser for each value."""
    fromisoformat = datetime.fromisoformat

    def parse(text: str) -> Any:
        length = len(text)
        if (length == 24 and text[4:20:3] == "--T::." and text[23] == "Z") or (
            length == 20 and text[4:19:3] == "--T::" and text[19] == "Z"
        ):
            try:
                return fromisoformat(text)
            except ValueError:
                pass  # not digits, or a date that does not exist: the fallback says how
        return fallback(text)

    return parse


# Texts the session's timestamp parser must read as ``fromisoformat`` does (same instant,
# same UTC offset) for the fast path to use ``fromisoformat`` on AWS's form: true of
# botocore's default and of amimon's; not of a parser kept to return strings or epochs.
_ISO_SAMPLES: Final = (
    "2026-11-27T12:00:00.000Z",
    "1970-01-01T00:00:00Z",
    "2099-12-31T23:59:59.999Z",
)


def _reads_iso(timestamp: Callable[[str], Any]) -> bool:
    for sample in _ISO_SAMPLES:
        expected = datetime.fromisoformat(sample)
        try:
            value = timestamp(sample)
        except Exception:
            return False
        if not (
            isinstance(value, datetime)
            and value == expected
            and value.utcoffset() == expected.utcoffset()
        ):
            return False
    return True


class _Decline(Exception):
    """This response is botocore's to parse (its result would not be what the fast path
    builds, or it raises)."""


class _ItemTags(NamedTuple):
    """One list's item fields by qualified tag ("{ns}name"), with their member positions."""

    strings: dict[str, tuple[str, int]]  # tag -> (key, position)
    others: dict[str, tuple[str, int, int]]  # tag -> (key, kind, position)


class _Plan:
    """How to read one output shape, compiled once from botocore's model."""

    def __init__(self, members: tuple[Field | ListOf, ...]) -> None:
        self.members = members
        self.top_names = {m.name: m for m in members}
        self._tags: dict[str, dict[str, _ItemTags]] = {}
        self.scanner = Scanner.compile(members)

    def item_tags(self, namespace: str) -> dict[str, _ItemTags]:
        """Each list's ``_ItemTags`` for elements in ``namespace`` ("{uri}" or "")."""
        found = self._tags.get(namespace)
        if found is None:
            found = {}
            for member in self.members:
                if isinstance(member, ListOf):
                    tags = _ItemTags({}, {})
                    for position, field in enumerate(member.fields):
                        tag = namespace + field.name
                        if field.kind == STRING:
                            tags.strings[tag] = (field.key, position)
                        else:
                            tags.others[tag] = (field.key, field.kind, position)
                    found[member.key] = tags
            if len(self._tags) < 16:  # a few API versions, not one per response
                self._tags[namespace] = found
        return found


def _scalar(name: str, shape: Shape) -> Field | None:
    kind = _KINDS.get(shape.type_name)
    if kind is None or set(shape.serialization) - {"name"}:
        return None
    return Field(name, shape.serialization.get("name", name), kind)


def _compile(shape: Shape) -> _Plan | None:
    """The plan for ``shape``, or None if it has anything the fast path does not read
    exactly as botocore does (then botocore parses every response of it)."""
    if shape.name != OUTPUT_SHAPE or shape.type_name != "structure":
        return None
    if set(shape.serialization) or shape.metadata.get("exception") or shape.metadata.get("union"):
        return None
    members: list[Field | ListOf] = []
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        if member.type_name == "list":
            item = member.member
            if set(member.serialization) - {"name"} or item.type_name != "structure":
                return None
            if set(item.serialization) - {"name"} or item.metadata.get("union"):
                return None
            fields = []
            for field_name, field_shape in item.members.items():
                field = _scalar(field_name, field_shape)
                if field is None:
                    return None
                fields.append(field)
            members.append(ListOf(name, member.serialization.get("name", name), tuple(fields)))
        else:
            scalar = _scalar(name, member)
            if scalar is None:
                return None
            members.append(scalar)
    names = [m.name for m in members]
    if len(set(names)) != len(names) or "requestId" in names:
        return None
    return _Plan(tuple(members))


def _local(tag: str) -> str:
    # botocore strips the namespace with re.sub("{.*}", "", tag); an ElementTree tag is
    # "{uri}name" or "name" (expat refuses a "}" in a namespace URI), so this is the same.
    return tag.rpartition("}")[2]


class FastStoreTasksParser:
    """Parses a successful DescribeStoreImageTasks response itself; every other response,
    and any it cannot read exactly as botocore would, is parsed by ``delegate``."""

    def __init__(
        self, delegate: parsers.ResponseParser, plans: _PlanCache, timestamps: _TimestampCache
    ) -> None:
        self.delegate = delegate
        self._plans = plans
        # The timestamp parser the delegate was made with: the session's default, if set;
        # ``_iso``: it reads AWS's form as ``datetime.fromisoformat`` does.
        timestamp = getattr(delegate, "_timestamp_parser", None)
        self._timestamp: Callable[[str], Any] | None = None
        self._iso = False
        if timestamp is not None:
            self._timestamp, self._iso = timestamps.get(timestamp)

    def parse(self, response: Mapping[str, Any], shape: Shape | None) -> Any:
        """botocore's ``ResponseParser.parse``: the same arguments, the same result."""
        parsed = self.parse_fast(response, shape)
        if parsed is None:
            return self.delegate.parse(response, shape)  # type: ignore[arg-type]
        return parsed

    def parse_fast(self, response: Mapping[str, Any], shape: Shape | None) -> Any:
        """What botocore's parser returns for ``response``, or None if this one declines."""
        if shape is None or self._timestamp is None:
            return None
        status = response["status_code"]
        if not 200 <= status < 300:
            return None
        plan = self._plans.get(shape)
        if plan is None:
            return None
        context = response.get("context", {})
        try:
            parsed = self._read(
                response["body"], plan, self._timestamp, self._iso, context.get(_TARGET)
            )
        except Exception as exc:
            # Malformed XML, a value botocore's handlers reject, a repeated element...
            log.debug("leaving this response to botocore: %r", exc)
            return None
        # As botocore's ResponseParser.parse does after parsing the body.
        parsers.LOG.debug("Response headers: %r", response["headers"])
        parsers.LOG.debug("Response body:\n%r", response["body"])
        metadata = parsed.get("ResponseMetadata", {})
        metadata["HTTPStatusCode"] = status
        metadata["HTTPHeaders"] = lowercase_dict(response["headers"])
        parsed["ResponseMetadata"] = metadata
        algorithm = context.get("checksum", {}).get("response_algorithm")
        if algorithm:
            metadata["ChecksumAlgorithm"] = algorithm
        return parsed

    @staticmethod
    def _read(
        body: bytes,
        plan: _Plan,
        timestamp: Callable[[str], Any],
        iso: bool,
        target: Target | None,
    ) -> dict[str, Any]:
        scanner = plan.scanner
        if scanner is not None and isinstance(body, bytes):
            try:
                scanned = scanner.read(body, timestamp, iso, target)
            except Exception:
                scanned = None  # a value that does not convert: the tree says what happens
            if scanned is not None:
                return scanned
        # The same parser botocore builds: encoding="utf-8" overrides the XML declaration.
        parser = XMLParser(target=TreeBuilder(), encoding="utf-8")
        parser.feed(body)
        root: Element = parser.close()
        tag = root.tag
        namespace = tag[: tag.rindex("}") + 1] if tag[:1] == "{" else ""

        # botocore matches children by local name, whatever their namespace, and turns a
        # repeated name into a list its handlers then mangle: decline those.
        nodes: dict[str, Element] = {}
        top_names = plan.top_names
        for child in root:
            name = _local(child.tag)
            if name in top_names or name == "requestId":
                if name in nodes:
                    raise _Decline(f"repeated <{name}>")
                nodes[name] = child

        parsed: dict[str, Any] = {}
        for member in plan.members:
            node = nodes.get(member.name)
            if node is None:
                continue
            if isinstance(member, Field):
                text = node.text
                parsed[member.key] = convert(member.kind, "" if text is None else text, timestamp)
            else:
                tags = plan.item_tags(namespace)[member.key]
                parsed[member.key] = _read_items(node, tags, member, timestamp)

        request_id = nodes.get("requestId")
        if request_id is not None:
            # botocore reads .text here directly: <requestId/> gives None, not "".
            parsed["ResponseMetadata"] = {"RequestId": request_id.text}
        return parsed


def _read_items(
    node: Element, tags: _ItemTags, member: ListOf, timestamp: Callable[[str], Any]
) -> list[dict[str, Any]]:
    """The items of a list: every child of ``node``, whatever its tag (as botocore reads
    them), each a dict with its fields in the shape's member order (as botocore builds it)."""
    strings = tags.strings
    others = tags.others
    items = []
    for item in node:
        out: dict[str, Any] = {}
        previous = -1
        for child in item:
            text = child.text
            if text is None:
                text = ""  # <foo></foo> is "", as botocore's _text_content makes it
            spec = strings.get(child.tag)
            if spec is not None:
                key, position = spec
                out[key] = text
            else:
                other = others.get(child.tag)
                if other is None:
                    break  # unknown, or a field in another namespace
                key, kind, position = other
                if kind == INTEGER:
                    out[key] = int(text)
                elif kind == TIMESTAMP:
                    out[key] = timestamp(text)
                else:
                    out[key] = convert(kind, text, timestamp)
            if position < previous:
                break  # out of order
            previous = position
        else:
            if len(out) == len(item):  # else a field was repeated
                items.append(out)
                continue
        items.append(_read_item(item, member.fields, timestamp))
    return items


def _read_item(
    item: Element, fields: tuple[Field, ...], timestamp: Callable[[str], Any]
) -> dict[str, Any]:
    """One item the slow way: any namespace, unknown elements ignored, repeats declined."""
    known = {field.name for field in fields}
    nodes: dict[str, Element] = {}
    for child in item:
        name = _local(child.tag)
        if name in known:
            if name in nodes:
                raise _Decline(f"repeated <{name}>")
            nodes[name] = child
    out: dict[str, Any] = {}
    for field in fields:
        node = nodes.get(field.name)
        if node is not None:
            text = node.text
            out[field.key] = convert(field.kind, "" if text is None else text, timestamp)
    return out


class _PlanCache:
    """Plans by output shape (shapes live as long as their client's service model)."""

    def __init__(self) -> None:
        self._plans: weakref.WeakKeyDictionary[Shape, _Plan | None] = weakref.WeakKeyDictionary()

    def get(self, shape: Shape) -> _Plan | None:
        if shape.name != OUTPUT_SHAPE:
            return None
        try:
            return self._plans[shape]
        except KeyError:
            plan = _compile(shape)
            self._plans[shape] = plan
            return plan


class _TimestampCache:
    """For each timestamp parser a session uses, the one the fast path calls instead, and
    whether that parser reads AWS's form as ``datetime.fromisoformat`` does."""

    def __init__(self) -> None:
        self._parsers: dict[Callable[[str], Any], tuple[Callable[[str], Any], bool]] = {}

    def get(self, timestamp: Callable[[str], Any]) -> tuple[Callable[[str], Any], bool]:
        found = self._parsers.get(timestamp)
        if found is None:
            iso = _reads_iso(timestamp)
            found = (_iso_first(timestamp) if iso else timestamp, iso)
            if len(self._parsers) >= 8:
                self._parsers.clear()
            self._parsers[timestamp] = found
        return found


class FastParserFactory(parsers.ResponseParserFactory):
    """botocore's parser factory, with ``FastStoreTasksParser`` in front of the EC2 parser.

    Parsers come from ``base`` (the factory the session had), so the defaults set on it
    before (``timestamp_parser``...) or through this factory after still apply.
    """

    def __init__(self, base: parsers.ResponseParserFactory | None = None) -> None:
        super().__init__()
        self.base = base if base is not None else parsers.ResponseParserFactory()
        super().set_parser_defaults(**getattr(self.base, "_defaults", {}))  # for inspection
        self._plans = _PlanCache()
        self._timestamps = _TimestampCache()

    def set_parser_defaults(self, **kwargs: Any) -> None:
        super().set_parser_defaults(**kwargs)
        self.base.set_parser_defaults(**kwargs)

    def create_parser(self, protocol_name: str) -> Any:
        parser = self.base.create_parser(protocol_name)
        if protocol_name == "ec2":
            return FastStoreTasksParser(parser, self._plans, self._timestamps)
        return parser


def deliver_tasks(client: Any, target: Target) -> None:
    """Have ``client`` (made by a session with ``install``) deliver the tasks of a
    DescribeStoreImageTasks result as StoreTasks of ``target``, under ``TASKS`` in place of
    ``StoreImageTaskResults``, whenever the fast parser reads the body without a tree
    (``amimon.aws.scan``): no dict per task then, no ``parse_task``. A body it leaves to
    ElementTree or to botocore gives botocore's result, as for any other client, so a
    caller reads ``TASKS`` or else ``StoreImageTaskResults``: amimon's source does."""

    def mark(response_dict: dict[str, Any], **kwargs: Any) -> None:
        response_dict.setdefault("context", {})[_TARGET] = target

    client.meta.events.register("before-parse.ec2.DescribeStoreImageTasks", mark)


def install(botocore_session: Any) -> Any:
    """Make clients created from now on by ``botocore_session`` parse DescribeStoreImageTasks
    responses with the fast parser; returns the session. Installing twice is harmless."""
    current = botocore_session.get_component("response_parser_factory")
    if not isinstance(current, FastParserFactory):
        botocore_session.register_component("response_parser_factory", FastParserFactory(current))
    return botocore_session
