"""The fast DescribeStoreImageTasks parser returns exactly what botocore's own parser does."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from xml.etree.ElementTree import Element

import boto3
import botocore.session
import pytest
from botocore import parsers
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.model import ShapeResolver
from botocore.utils import parse_timestamp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from amimon.aws.clients import isolated_botocore_session as _isolated_botocore_session
from amimon.aws.clients import parse_timestamp as _parse_timestamp
from amimon.aws.fastparse import FastParserFactory, FastStoreTasksParser, _iso_first, install
from amimon.model import iso_ms
from amimon.sim import DEMO_CREDENTIALS, SimServer
from amimon.sim.protocol import _XML_ILLEGAL, NAMESPACE
from amimon.sim.protocol import x as _x
from amimon.sim.spec import TaskSpec, TaskStatus
from amimon.sim.tasks_api import _describe_xml as _sim_describe_xml
from tests.factories import T0
from tests.simulator import ami, many, running


def _describe_xml(tasks: list[dict[str, Any]], next_token: str | None) -> str:
    """The simulator's response for tasks given as the items of a response."""
    statuses = [
        TaskStatus(
            TaskSpec(
                t["amiId"], t["bucket"], timedelta(0), timedelta(0), object_key=t["s3objectKey"]
            ),
            t["taskStartTime"],
            t["progressPercentage"],
            t["storeTaskState"],
            t["storeTaskFailureReason"],
        )
        for t in tasks
    ]
    return _sim_describe_xml(statuses, next_token)


EC2 = botocore.session.get_session().get_service_model("ec2")
SHAPE = EC2.operation_model("DescribeStoreImageTasks").output_shape
FIELDS = (
    "amiId",
    "taskStartTime",
    "bucket",
    "s3objectKey",
    "progressPercentage",
    "storeTaskState",
    "storeTaskFailureReason",
)
# The timestamp parsers a session may have: botocore's default, and amimon's.
TIMESTAMP_PARSERS: tuple[Callable[[str], Any] | None, ...] = (None, _parse_timestamp)


# Comparing results ---------------------------------------------------------------------


def assert_same(ours: Any, theirs: Any, path: str = "") -> None:
    """Equal, with the same types and the same key order all the way down."""
    if isinstance(theirs, datetime):
        assert isinstance(ours, datetime), path
        assert ours == theirs, path
        # Both aware with the same offset, or both naive. dateutil accepts an offset of a
        # whole day, which datetime then refuses to report: then both must refuse alike.
        assert outcome(ours.utcoffset) == outcome(theirs.utcoffset), path
        return
    assert type(ours) is type(theirs), f"{path}: {type(ours)} != {type(theirs)}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), path
        for key in theirs:
            assert_same(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), path
        for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(a, b, f"{path}[{n}]")
    elif isinstance(theirs, Element):  # botocore hands back nodes for a repeated element
        assert (ours.tag, ours.text, ours.attrib) == (theirs.tag, theirs.text, theirs.attrib)
    else:
        assert ours == theirs, path


def outcome(parse: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", parse()
    except Exception as exc:
        # Without object addresses: botocore's message for a repeated element names nodes.
        return "raised", (type(exc), re.sub(r" at 0x[0-9a-f]+", "", str(exc)))


def parsers_for(timestamp: Callable[[str], Any] | None) -> tuple[Any, FastStoreTasksParser]:
    """botocore's EC2 parser, and ours, with the same defaults."""
    factory = FastParserFactory()
    defaults = {} if timestamp is None else {"timestamp_parser": timestamp}
    factory.set_parser_defaults(**defaults)
    fast = factory.create_parser("ec2")
    assert isinstance(fast, FastStoreTasksParser)
    return parsers.EC2QueryParser(**defaults), fast


def response(
    body: bytes, status: int = 200, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    headers = {
        "Content-Type": "text/xml;charset=UTF-8",
        "Content-Length": str(len(body)),
        "Date": "Fri, 27 Nov 2026 12:00:00 GMT",
        "X-Amzn-RequestId": "abc",
    }
    extra = {} if context is None else {"context": context}
    return {"body": body, "headers": headers, "status_code": status, **extra}


def compare(
    body: bytes,
    *,
    must_be_fast: bool | None = None,
    fast_unless_botocore_raises: bool = False,
    shape: Any = SHAPE,
) -> None:
    """Both parsers, with each timestamp parser a session may have, give the same result
    (or raise the same error). ``must_be_fast``: whether ours must read it itself rather
    than hand it to botocore; ``fast_unless_botocore_raises``: ours reads it itself
    exactly when botocore's parser does not raise."""
    for timestamp in TIMESTAMP_PARSERS:
        botocore_parser, fast = parsers_for(timestamp)
        theirs = outcome(partial(botocore_parser.parse, response(body), shape))
        ours = outcome(partial(fast.parse, response(body), shape))
        assert ours[0] == theirs[0], (ours, theirs)
        assert_same(ours[1], theirs[1])
        handled = fast.parse_fast(response(body), shape) is not None
        if must_be_fast is not None:
            assert handled == must_be_fast
        if fast_unless_botocore_raises:
            assert handled == (theirs[0] == "ok"), theirs


# What a response may carry --------------------------------------------------------------

HOSTILE = [
    "[bold red]KMS key[/] [link=https://example.com]x[/link] [/]",
    "\x1b[31mred\x1b[0m \x1b]8;;http://evil\x07link\x1b]8;;\x07 \x1b]0;title\x07",
    "C1: \x9d\x9b2J\x85\x80\x9f",
    "bidi \u202eevil\u202c \u2066iso\u2069 \u200f",
    "KMS キーが無効です ✗ 失败",
    "emoji 💾🚀👩🏽‍💻 \U0001fffe",
    "",
    " ",
    "  padded\t ",
    "line\nbreak\r\nand\rcr",
    "&amp; <b>not markup</b> ]]> \"quotes\" 'apos'",
    "\x00\x01\x08\x0b\x0c\x1f controls XML cannot carry \ufffe\uffff",
]
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(codec="utf-8"), max_size=40),  # no lone surrogates
    st.builds(lambda s, n: s * n, st.sampled_from(HOSTILE[:6]), st.integers(50, 400)),
)
states = st.one_of(st.sampled_from(["InProgress", "Completed", "Failed"]), texts)
amis = st.one_of(st.integers(0, 2**64 - 1).map(lambda n: f"ami-{n:016x}"), texts)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
timestamp_texts = st.one_of(
    moments.map(iso_ms),
    moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ")),
    moments.map(lambda m: m.isoformat()),  # +00:00, microseconds
    moments.map(lambda m: m.astimezone(UTC).replace(tzinfo=None).isoformat()),  # naive
    moments.map(lambda m: m.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%fZ")),
    st.sampled_from(
        [
            *["", " 2026-11-27T12:00:00.000Z", "2026-11-27T24:00:00.000Z"],
            *["2026-02-30T12:00:00.000Z", "2026-11-27T12:00:00.000+05:30"],
            *["1700000000", "20261127", "tomorrow"],
        ]
    ),
)
progress_texts = st.one_of(
    st.integers(-1000, 10**20).map(str),
    st.sampled_from([" 42 ", "+7", "4_2", "٤٢", "", "abc", "1e2", "3.5", "0x10", "-0"]),
)


def task_dicts() -> st.SearchStrategy[dict[str, Any]]:
    """A task as the simulator's ``_describe_xml`` takes it."""
    return st.fixed_dictionaries(
        {
            "amiId": amis,
            "taskStartTime": moments,
            "bucket": texts,
            "s3objectKey": texts,
            "progressPercentage": st.integers(-5, 200),
            "storeTaskState": states,
            "storeTaskFailureReason": texts,
        }
    )


@settings(max_examples=150, deadline=None)
@given(
    tasks=st.lists(task_dicts(), max_size=12),
    next_token=st.one_of(st.none(), texts),
)
def test_any_response_the_simulator_sends_parses_as_botocore_parses_it(
    tasks: list[dict[str, Any]], next_token: str | None
) -> None:
    body = _describe_xml(tasks, next_token).encode("utf-8")
    compare(body, must_be_fast=True)


# Hand-written responses: what AWS could send and the simulator does not ------------------


def escape(text: str) -> str:
    return _x(text)


def cdata(text: str) -> str:
    clean = _XML_ILLEGAL.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


@dataclass
class Doc:
    """A response body, and whether a known element appears twice somewhere."""

    parts: list[str] = field(default_factory=list)
    repeated: bool = False


@st.composite
def elements(draw: st.DrawFn, name: str, values: st.SearchStrategy[str]) -> str:
    """``<name>value</name>``, mostly plain, else written one of the other ways XML
    allows, maybe in another namespace (botocore ignores namespaces below the root)."""
    tag = draw(st.sampled_from([name] * 5 + [f"o:{name}"]))
    ns = ' xmlns:o="urn:other"' if tag.startswith("o:") else ""
    ns += draw(st.sampled_from([""] * 5 + [' xmlns=""', ' attr="v &amp; w"']))
    style = draw(st.sampled_from(["text"] * 6 + ["cdata", "empty", "selfclosing", "child"]))
    value = draw(values)
    if style == "selfclosing":
        return f"<{tag}{ns}/>"
    inner = {
        "text": escape(value),
        "cdata": cdata(value),
        "empty": "",
        "child": f"{escape(value)}<b>inner</b>tail<!-- c -->",
    }[style]
    return f"<{tag}{ns}>{inner}</{tag}>"


UNKNOWN = st.sampled_from(
    [
        "<newField>x</newField>",
        "<tagSet><item><key>k</key><value>v</value></item></tagSet>",
        "<unknown/>",
        "<!-- a comment -->",
        "<?pi data?>",
        "\n    ",
    ]
)


@st.composite
def items(draw: st.DrawFn, doc: Doc) -> str:
    parts = []
    values = {
        "taskStartTime": timestamp_texts,
        "progressPercentage": progress_texts,
        "storeTaskState": states,
        "amiId": amis,
    }
    for name in FIELDS:
        count = draw(st.sampled_from([0, 1, 1, 1, 1, 2]))
        parts += [draw(elements(name, values.get(name, texts))) for _ in range(count)]
        doc.repeated |= count > 1
    if draw(st.integers(0, 3)) == 0:
        parts.insert(draw(st.integers(0, len(parts))), draw(UNKNOWN))
    if draw(st.integers(0, 9)) == 0:
        parts = draw(st.permutations(parts))
    tag = draw(st.sampled_from(["item", "item", "item", "member"]))
    return f"<{tag}>{''.join(parts)}</{tag}>"


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    doc = Doc()
    namespace = draw(
        st.sampled_from([NAMESPACE, NAMESPACE, "http://ec2.amazonaws.com/doc/2099-01-01/", None])
    )
    xmlns = "" if namespace is None else f' xmlns="{escape(namespace)}"'
    children: list[str] = []
    request_id = draw(st.sampled_from(["id", "empty", "none", "twice"]))
    if request_id != "none":
        text = "" if request_id == "empty" else "59dbff89-35bd-4eac-99ed-be587EXAMPLE"
        children += [f"<requestId>{text}</requestId>"] * (2 if request_id == "twice" else 1)
        doc.repeated |= request_id == "twice"
    result_set = draw(st.sampled_from(["items", "items", "items", "empty", "none"]))
    if result_set == "empty":
        children.append(
            draw(
                st.sampled_from(
                    [
                        "<storeImageTaskResultSet/>",
                        "<x:storeImageTaskResultSet xmlns:x='urn:y'></x:storeImageTaskResultSet>",
                    ]
                )
            )
        )
    elif result_set == "items":
        body = "".join(draw(st.lists(items(doc), max_size=6)))
        spacing = draw(st.sampled_from(["", "\n  "]))
        children.append(f"<storeImageTaskResultSet>{spacing}{body}</storeImageTaskResultSet>")
    tokens = draw(st.sampled_from([0, 1, 1, 2]))
    children += [draw(elements("nextToken", texts)) for _ in range(tokens)]
    doc.repeated |= tokens > 1
    if draw(st.booleans()):
        children.insert(draw(st.integers(0, len(children))), draw(UNKNOWN))
    if draw(st.booleans()):
        children = draw(st.permutations(children))
    declaration = draw(st.sampled_from(['<?xml version="1.0" encoding="UTF-8"?>\n', ""]))
    doc.parts = [
        declaration,
        f"<DescribeStoreImageTasksResponse{xmlns}>",
        *children,
        "</DescribeStoreImageTasksResponse>",
    ]
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=documents())
def test_any_hand_written_response_parses_as_botocore_parses_it(doc: Doc) -> None:
    body = "".join(doc.parts).encode("utf-8")
    # Ours hands a response to botocore only when botocore raises or meets a repeat.
    compare(body, fast_unless_botocore_raises=not doc.repeated)


def wrap(items: str, top: str = "", namespace: str | None = NAMESPACE) -> bytes:
    xmlns = "" if namespace is None else f' xmlns="{namespace}"'
    result_set = f"<storeImageTaskResultSet>{items}</storeImageTaskResultSet>"
    return (
        f"<DescribeStoreImageTasksResponse{xmlns}><requestId>r</requestId>{result_set}{top}"
        "</DescribeStoreImageTasksResponse>"
    ).encode()


OTHER = 'xmlns:o="urn:other"'
EDGES: list[tuple[str, bytes, bool]] = [
    ("repeated field", wrap("<item><amiId>a</amiId><amiId>b</amiId></item>"), False),
    (
        "repeated in another namespace",
        wrap(f"<item><amiId>a</amiId><o:amiId {OTHER}>b</o:amiId></item>"),
        False,
    ),
    ("repeated requestId", wrap("", "<requestId>s</requestId>"), False),
    (
        "repeated result set",
        wrap("<item/>", "<storeImageTaskResultSet><item/></storeImageTaskResultSet>"),
        False,
    ),
    ("repeated nextToken", wrap("", "<nextToken>a</nextToken><nextToken>b</nextToken>"), False),
    ("field in another namespace", wrap(f"<item><o:amiId {OTHER}>a</o:amiId></item>"), True),
    ("field in no namespace", wrap('<item><bucket xmlns="">b</bucket></item>'), True),
    (
        "unknown fields",
        wrap("<item><new>1</new><amiId>a</amiId><tagSet><item/></tagSet></item>"),
        True,
    ),
    ("out of order", wrap("<item><storeTaskState>s</storeTaskState><amiId>a</amiId></item>"), True),
    ("empty result set", wrap(""), True),
    (
        "self-closing result set",
        wrap("").replace(
            b"<storeImageTaskResultSet></storeImageTaskResultSet>", b"<storeImageTaskResultSet/>"
        ),
        True,
    ),
    (
        "no result set",
        wrap("").replace(b"<storeImageTaskResultSet></storeImageTaskResultSet>", b""),
        True,
    ),
    (
        "empty strings",
        wrap("<item><storeTaskFailureReason></storeTaskFailureReason><bucket/></item>"),
        True,
    ),
    ("empty requestId", wrap("").replace(b"<requestId>r</requestId>", b"<requestId/>"), True),
    ("no requestId", wrap("").replace(b"<requestId>r</requestId>", b""), True),
    ("whitespace", wrap("\n <item>\n  <amiId>  a \n</amiId>\n</item>\n", "\n"), True),
    ("cdata", wrap("<item><amiId><![CDATA[<a> & ]]>b</amiId></item>"), True),
    ("attributes", wrap('<item id="1"><amiId x="y">a</amiId></item>'), True),
    ("any child is an item", wrap("<member><amiId>a</amiId></member><foo/>text<item/>"), True),
    (
        "another API version",
        wrap("<item><amiId>a</amiId></item>", namespace="http://ec2.amazonaws.com/doc/2099-01-01/"),
        True,
    ),
    ("no namespace", wrap("<item><amiId>a</amiId></item>", namespace=None), True),
    ("empty nextToken", wrap("", "<nextToken/>"), True),
    ("unknown top-level elements", wrap("", "<new><requestId>x</requestId></new>"), True),
    (
        "progress with spaces",
        wrap("<item><progressPercentage> 42 </progressPercentage></item>"),
        True,
    ),
    (
        "progress in other digits",
        wrap("<item><progressPercentage>٤٢</progressPercentage></item>"),
        True,
    ),
    ("empty progress", wrap("<item><progressPercentage/></item>"), False),
    (
        "fractional progress",
        wrap("<item><progressPercentage>4.5</progressPercentage></item>"),
        False,
    ),
    ("empty timestamp", wrap("<item><taskStartTime/></item>"), False),
    (
        "declared Latin-1, sent UTF-8",
        b'<?xml version="1.0" encoding="ISO-8859-1"?>'
        + wrap("<item><amiId>\u00e9\u30ad</amiId></item>".encode().decode("unicode_escape")),
        True,
    ),
]


@pytest.mark.parametrize(("name", "body", "fast"), EDGES, ids=[e[0] for e in EDGES])
def test_edge_cases_parse_as_botocore_parses_them(name: str, body: bytes, fast: bool) -> None:
    compare(body, must_be_fast=fast)


@pytest.mark.parametrize("namespace", [NAMESPACE, "http://ec2.amazonaws.com/doc/2099-01-01/", ""])
def test_items_in_the_roots_namespace_take_the_fast_path(
    namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amimon.aws import fastparse

    slow: list[Any] = []
    monkeypatch.setattr(fastparse, "_read_item", lambda *args: slow.append(args))
    task = {name: "x" for name in FIELDS} | {"taskStartTime": T0, "progressPercentage": 5}
    body = _describe_xml([task] * 3, "t").replace(
        f' xmlns="{NAMESPACE}"', f' xmlns="{namespace}"' if namespace else ""
    )
    _, fast = parsers_for(_parse_timestamp)
    parsed = fast.parse_fast(response(body.encode()), SHAPE)
    assert parsed is not None
    assert len(parsed["StoreImageTaskResults"]) == 3
    assert slow == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<DescribeStoreImageTasksResponse><unclosed",
        b"<html><body>Service Unavailable</body></html>",
        b"not xml at all",
        b"<a>\x00</a>",
        b"<a>&#1;</a>",
        b"<a>\xff\xfe</a>",
        b'<?xml version="1.0" encoding="ISO-8859-1"?><r><requestId>\xe9</requestId></r>',
        b"<Response><Errors><Error><Code>X</Code></Error></Errors></Response>",
    ],
)
def test_bodies_botocore_cannot_read_or_barely_reads_give_the_same_outcome(body: bytes) -> None:
    compare(body)


def test_a_malformed_body_raises_botocores_response_parser_error() -> None:
    _, fast = parsers_for(_parse_timestamp)
    with pytest.raises(parsers.ResponseParserError, match="invalid XML received"):
        fast.parse(response(b"<DescribeStoreImageTasksResponse><unclosed"), SHAPE)


def test_values_come_out_as_botocore_types_them() -> None:
    body = _describe_xml(
        [
            {
                "amiId": "ami-0123456789abcdef0",
                "taskStartTime": T0,
                "bucket": "archive",
                "s3objectKey": "ami-0123456789abcdef0.bin",
                "progressPercentage": 37,
                "storeTaskState": "InProgress",
                "storeTaskFailureReason": "",
            }
        ],
        "next",
    ).encode()
    _, fast = parsers_for(_parse_timestamp)
    parsed = fast.parse_fast(response(body), SHAPE)
    assert parsed is not None
    assert parsed["StoreImageTaskResults"] == [
        {
            "AmiId": "ami-0123456789abcdef0",
            "TaskStartTime": T0,
            "Bucket": "archive",
            "S3objectKey": "ami-0123456789abcdef0.bin",
            "ProgressPercentage": 37,
            "StoreTaskState": "InProgress",
        }
    ]
    assert parsed["StoreImageTaskResults"][0]["TaskStartTime"].tzinfo is not None
    assert parsed["NextToken"] == "next"
    metadata = parsed["ResponseMetadata"]
    assert list(metadata) == ["RequestId", "HTTPStatusCode", "HTTPHeaders"]
    assert metadata["HTTPHeaders"]["x-amzn-requestid"] == "abc"
    compare(body, must_be_fast=True)


def test_the_checksum_algorithm_goes_into_the_metadata_as_botocore_puts_it() -> None:
    body = _describe_xml([], None).encode()
    context = {"checksum": {"response_algorithm": "CRC32"}}
    botocore_parser, fast = parsers_for(_parse_timestamp)
    ours = fast.parse_fast(response(body, context=context), SHAPE)
    assert ours is not None
    assert ours["ResponseMetadata"]["ChecksumAlgorithm"] == "CRC32"
    assert_same(ours, botocore_parser.parse(response(body, context=context), SHAPE))


@pytest.mark.filterwarnings("ignore::dateutil.parser.UnknownTimezoneWarning")
@settings(max_examples=300, deadline=None)
@example(  # a one-day offset that datetime cannot report, from both parsers alike
    moment=datetime(2000, 1, 1, 0, 23, 6, tzinfo=UTC), edits=[(13, "+"), (23, "0")], short=True
)
@given(
    moment=moments,
    edits=st.lists(
        st.tuples(st.integers(0, 23), st.sampled_from("0123456789-:.TZ +٣x")), max_size=3
    ),
    short=st.booleans(),
)
def test_iso_timestamps_read_as_botocores_default_reads_them(
    moment: datetime, edits: list[tuple[int, str]], short: bool
) -> None:
    chars = list(iso_ms(moment))
    for position, char in edits:
        chars[position] = char
    text = "".join(chars)
    if short:
        text = text[:19] + text[-1]
    ours = outcome(lambda: _iso_first(parse_timestamp)(text))
    theirs = outcome(lambda: parse_timestamp(text))
    assert ours[0] == theirs[0]
    assert_same(ours[1], theirs[1])


# What the factory leaves to botocore ----------------------------------------------------


def test_other_operations_and_errors_are_botocores() -> None:
    botocore_parser, fast = parsers_for(_parse_timestamp)
    images = EC2.operation_model("DescribeImages").output_shape
    body = (
        f'<DescribeImagesResponse xmlns="{NAMESPACE}"><requestId>r</requestId><imagesSet>'
        "<item><imageId>ami-1</imageId><creationDate>2026-11-27T12:00:00.000Z</creationDate>"
        "</item></imagesSet></DescribeImagesResponse>"
    ).encode()
    assert fast.parse_fast(response(body), images) is None
    assert_same(fast.parse(response(body), images), botocore_parser.parse(response(body), images))

    error = (
        b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message>"
        b"</Error></Errors><RequestID>r</RequestID></Response>"
    )
    for status in (400, 403, 503):
        assert fast.parse_fast(response(error, status), SHAPE) is None
        ours = fast.parse(response(error, status), SHAPE)
        assert_same(ours, botocore_parser.parse(response(error, status), SHAPE))
        assert ours["Error"]["Code"] == "RequestLimitExceeded"
    assert fast.parse_fast(response(_describe_xml([], None).encode()), None) is None


def test_other_protocols_get_botocores_parsers_unchanged() -> None:
    factory = FastParserFactory()
    classes: dict[str, Any] = dict(parsers.PROTOCOL_PARSERS)  # the stubs say instances
    for protocol, cls in classes.items():
        if protocol != "ec2":
            assert type(factory.create_parser(protocol)) is cls
    assert isinstance(factory.create_parser("ec2"), FastStoreTasksParser)


def shape_with(item_members: dict[str, Any], extra: dict[str, Any] | None = None) -> Any:
    shapes = {
        "DescribeStoreImageTasksResult": {
            "type": "structure",
            "members": {
                "StoreImageTaskResults": {
                    "shape": "Results",
                    "locationName": "storeImageTaskResultSet",
                },
                "NextToken": {"shape": "String", "locationName": "nextToken"},
            },
        },
        "Results": {"type": "list", "member": {"shape": "Result", "locationName": "item"}},
        "Result": {"type": "structure", "members": item_members},
        "String": {"type": "string"},
        "Integer": {"type": "integer"},
        "Boolean": {"type": "boolean"},
        "Blob": {"type": "blob"},
        **(extra or {}),
    }
    return ShapeResolver(shapes).get_shape_by_name("DescribeStoreImageTasksResult")


def test_a_new_field_in_the_model_is_read_and_an_unknown_kind_goes_to_botocore() -> None:
    body = (
        f'<DescribeStoreImageTasksResponse xmlns="{NAMESPACE}"><storeImageTaskResultSet>'
        "<item><amiId>ami-1</amiId><encrypted>true</encrypted><size>12</size>"
        "<blob>aGk=</blob></item></storeImageTaskResultSet></DescribeStoreImageTasksResponse>"
    ).encode()
    newer = shape_with(
        {
            "AmiId": {"shape": "String", "locationName": "amiId"},
            "Encrypted": {"shape": "Boolean", "locationName": "encrypted"},
            "Size": {"shape": "Integer", "locationName": "size"},
        }
    )
    compare(body, shape=newer, must_be_fast=True)
    with_blob = shape_with(
        {
            "AmiId": {"shape": "String", "locationName": "amiId"},
            "Blob": {"shape": "Blob", "locationName": "blob"},
        }
    )
    compare(body, shape=with_blob, must_be_fast=False)
    flattened = shape_with(
        {"AmiId": {"shape": "String", "locationName": "amiId"}},
        {"Results": {"type": "list", "flattened": True, "member": {"shape": "Result"}}},
    )
    compare(body, shape=flattened, must_be_fast=False)


def test_a_non_integer_progress_is_left_to_botocore_which_raises() -> None:
    task = "<amiId>ami-1</amiId><progressPercentage>37.5</progressPercentage>"
    body = (
        f'<DescribeStoreImageTasksResponse xmlns="{NAMESPACE}"><storeImageTaskResultSet>'
        f"<item>{task}</item></storeImageTaskResultSet></DescribeStoreImageTasksResponse>"
    ).encode()
    _, fast = parsers_for(_parse_timestamp)
    assert fast.parse_fast(response(body), SHAPE) is None
    with pytest.raises(ValueError, match="invalid literal for int"):
        fast.parse(response(body), SHAPE)
    compare(body, must_be_fast=False)


# install() --------------------------------------------------------------------------------


def test_install_keeps_the_sessions_parser_defaults_before_and_after() -> None:
    def before(text: str) -> Any:
        return ("before", text)

    def after(text: str) -> Any:
        return ("after", text)

    session = botocore.session.Session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=before)
    assert install(session) is session
    factory = session.get_component("response_parser_factory")
    assert isinstance(factory, FastParserFactory)
    install(session)
    assert session.get_component("response_parser_factory") is factory

    task = {name: "x" for name in FIELDS} | {"taskStartTime": T0, "progressPercentage": 5}
    body = _describe_xml([task], None).encode()

    def start(parser: Any) -> Any:
        parsed = parser.parse_fast(response(body), SHAPE)
        return parsed["StoreImageTaskResults"][0]["TaskStartTime"]

    assert start(factory.create_parser("ec2")) == ("before", "2026-11-27T12:00:00.000Z")
    factory.set_parser_defaults(timestamp_parser=after)
    assert start(factory.create_parser("ec2")) == ("after", "2026-11-27T12:00:00.000Z")
    assert type(factory.create_parser("query")) is parsers.QueryParser


# Through boto3 against the simulator -------------------------------------------------------


def make_client(server: SimServer, *, fast: bool, amimon_timestamps: bool = True) -> Any:
    core = _isolated_botocore_session()
    if amimon_timestamps:
        core.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_parse_timestamp
        )
    if fast:
        install(core)
    return boto3.Session(botocore_session=core).client(
        "ec2",
        region_name="us-east-1",
        endpoint_url=server.url,
        aws_access_key_id=DEMO_CREDENTIALS[0],
        aws_secret_access_key=DEMO_CREDENTIALS[1],
        config=Config(retries={"total_max_attempts": 1}),
    )


def without_metadata(page: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in page.items() if k != "ResponseMetadata"}


@pytest.fixture
def botocore_parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the shapes botocore's EC2 parser was asked to parse."""
    calls: list[str] = []
    original = parsers.EC2QueryParser.parse

    def spy(self: Any, response: Any, shape: Any) -> Any:
        calls.append(shape.name if shape is not None else "")
        return original(self, response, shape)

    monkeypatch.setattr(parsers.EC2QueryParser, "parse", spy)
    yield calls


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("all, 100 a page", {"PaginationConfig": {"PageSize": 100}}),
    ("all, 200 a page", {}),
    ("failed", {"Filters": [{"Name": "task-state", "Values": ["Failed"]}]}),
    ("dr bucket", {"Filters": [{"Name": "bucket", "Values": ["dr"]}]}),
    ("by id", {"ImageIds": [ami(n) for n in range(0, 60, 3)]}),
    ("nothing", {"Filters": [{"Name": "bucket", "Values": ["none"]}]}),
]


@pytest.mark.parametrize("amimon_timestamps", [True, False])
def test_paginated_results_through_boto3_are_the_same_with_and_without_install(
    amimon_timestamps: bool, botocore_parses: list[str]
) -> None:
    with running(many(450, bucket="mixed")) as server:
        plain = make_client(server, fast=False, amimon_timestamps=amimon_timestamps)
        fast = make_client(server, fast=True, amimon_timestamps=amimon_timestamps)
        for name, params in CALLS:
            pages = list(plain.get_paginator("describe_store_image_tasks").paginate(**params))
            botocore_parses.clear()
            fast_pages = list(fast.get_paginator("describe_store_image_tasks").paginate(**params))
            assert botocore_parses == [], name  # every page read by the fast parser
            assert len(fast_pages) == len(pages), name
            for ours, theirs in zip(fast_pages, pages, strict=True):
                assert_same(without_metadata(ours), without_metadata(theirs), name)
                ours_meta, theirs_meta = ours["ResponseMetadata"], theirs["ResponseMetadata"]
                assert list(ours_meta) == list(theirs_meta)
                assert ours_meta["HTTPStatusCode"] == theirs_meta["HTTPStatusCode"] == 200
                assert ours_meta["HTTPHeaders"].keys() == theirs_meta["HTTPHeaders"].keys()
                assert ours_meta["RequestId"]
        every = list(fast.get_paginator("describe_store_image_tasks").paginate())
        assert sum(len(p["StoreImageTaskResults"]) for p in every) == 450
        assert [bool(p.get("NextToken")) for p in every] == [True, True, False]


@pytest.mark.parametrize(
    ("fault", "code", "status"),
    [
        ("throttle", "RequestLimitExceeded", 503),
        ("unauthorized", "UnauthorizedOperation", 403),
        ("expired", "RequestExpired", 400),
    ],
)
def test_error_responses_are_the_same_client_errors(fault: str, code: str, status: int) -> None:
    with running(many(5)) as server:
        errors = []
        for fast in (False, True):
            client = make_client(server, fast=fast)
            server.inject(fault, times=1)
            with pytest.raises(ClientError) as caught:
                client.describe_store_image_tasks()
            errors.append(caught.value.response)
        plain, ours = errors
        assert ours["Error"] == plain["Error"]
        assert ours["Error"]["Code"] == code
        assert ours["ResponseMetadata"]["HTTPStatusCode"] == status
        assert ours["ResponseMetadata"]["RequestId"]


def test_a_dry_run_is_still_a_dry_run_operation_error() -> None:
    with running(many(5)) as server:
        client = make_client(server, fast=True)
        with pytest.raises(ClientError) as caught:
            client.describe_store_image_tasks(DryRun=True)
        assert caught.value.response["Error"]["Code"] == "DryRunOperation"


def test_a_malformed_response_still_raises_response_parser_error() -> None:
    with running(many(5)) as server:
        for fast in (False, True):
            client = make_client(server, fast=fast)
            server.inject("malformed", times=1)
            with pytest.raises(parsers.ResponseParserError):
                client.describe_store_image_tasks()
            # and the next, good response parses
            assert len(client.describe_store_image_tasks()["StoreImageTaskResults"]) == 5


def test_timestamps_through_boto3_are_aware_and_equal_to_botocores() -> None:
    with running(many(3, minutes_apart=61)) as server:
        page = make_client(server, fast=True).describe_store_image_tasks()
        starts = [t["TaskStartTime"] for t in page["StoreImageTaskResults"]]
        assert starts == [T0 - timedelta(minutes=61 * (n + 1)) for n in range(3)]
        assert all(s.utcoffset() == timedelta(0) for s in starts)


def test_canonical_timestamps_skip_the_sessions_parser_only_when_it_reads_them_alike() -> None:
    from amimon.aws.fastparse import _reads_iso

    assert _reads_iso(parse_timestamp)
    assert _reads_iso(_parse_timestamp)
    assert not _reads_iso(str)  # kept as text, as the AWS CLI can ask
    assert not _reads_iso(lambda text: parse_timestamp(text).timestamp())

    seen: list[str] = []

    def spy(text: str) -> Any:
        seen.append(text)
        return _parse_timestamp(text)

    factory = FastParserFactory()
    factory.set_parser_defaults(timestamp_parser=spy)
    factory.create_parser("ec2")  # checks how spy reads a few samples, once
    seen.clear()
    canonical = wrap("<item><taskStartTime>2026-11-27T12:00:00.000Z</taskStartTime></item>")
    other = wrap("<item><taskStartTime>2026-11-27T12:00:00+00:00</taskStartTime></item>")
    for body in (canonical, other):
        parsed = factory.create_parser("ec2").parse_fast(response(body), SHAPE)
        assert parsed["StoreImageTaskResults"][0]["TaskStartTime"] == T0
    assert seen == ["2026-11-27T12:00:00+00:00"]


def test_amimons_task_source_uses_the_fast_parser(botocore_parses: list[str]) -> None:
    from tests.simulator import source

    with running(many(450, bucket="mixed")) as server:
        from amimon.aws.paging import RetryPolicy

        src = source(server, page_size=100, retry=RetryPolicy(attempts=2))
        snapshot = src.fetch()
        assert len(snapshot.tasks) == 450
        assert not snapshot.failures
        assert botocore_parses == []  # five pages, none parsed by botocore
        server.inject("throttle", times=2)
        failed = src.fetch()
        assert [f.kind for f in failed.failures] == ["throttled"]  # both attempts throttled
        assert botocore_parses == ["DescribeStoreImageTasksResult"] * 2  # errors: botocore's
        src.close()
