"""The scanner reads a body in AWS's form as botocore does, and leaves any other to the tree;
a source's client gets its tasks as StoreTasks, the same ones parse_task makes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore import parsers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amimon.aws import fastparse
from amimon.aws.clients import parse_timestamp as _parse_timestamp
from amimon.aws.scan import TASKS
from amimon.aws.source import tasks_of
from amimon.model import StoreTask, Target, iso_ms, parse_task
from amimon.sim.protocol import NAMESPACE
from amimon.sim.protocol import x as escape
from tests.factories import T0
from tests.simulator import many, running, source
from tests.test_fastparse import (
    FIELDS,
    SHAPE,
    TIMESTAMP_PARSERS,
    _describe_xml,
    compare,
    parsers_for,
    response,
    task_dicts,
    wrap,
)

TARGET = Target(None, "us-east-1", "http://127.0.0.1:1")


def scanned(body: bytes, timestamp: Any = _parse_timestamp, target: Target | None = None) -> Any:
    """What the scanner makes of ``body`` (None: not in its form), as a parser made with
    ``timestamp`` would call it."""
    _, fast = parsers_for(timestamp)
    plan = fast._plans.get(SHAPE)
    assert plan is not None and plan.scanner is not None
    assert fast._timestamp is not None
    return plan.scanner.read(body, fast._timestamp, fast._iso, target)


def as_tasks(body: bytes, timestamp: Any) -> list[StoreTask]:
    """The StoreTasks parse_task makes of botocore's own result for ``body``."""
    kwargs = {} if timestamp is None else {"timestamp_parser": timestamp}
    parsed = parsers.EC2QueryParser(**kwargs).parse(response(body), SHAPE)
    return [parse_task(item, TARGET) for item in parsed.get("StoreImageTaskResults", ())]


def assert_same_tasks(ours: list[StoreTask], theirs: list[StoreTask]) -> None:
    assert ours == theirs
    for a, b in zip(ours, theirs, strict=True):
        assert [(k, type(v)) for k, v in vars(a).items()] == [
            (k, type(v)) for k, v in vars(b).items()
        ]
        if a.start_time is not None and b.start_time is not None:
            assert a.start_time.utcoffset() == b.start_time.utcoffset()


def check_scanned(body: bytes) -> None:
    """Scanned, with every timestamp parser: the same dict as botocore's, and with a
    target the same StoreTasks as parse_task makes of botocore's items."""
    compare(body, must_be_fast=True)
    for timestamp in TIMESTAMP_PARSERS:
        parsed = scanned(body, timestamp)
        assert parsed is not None
        with_target = scanned(body, timestamp, TARGET)
        assert with_target is not None
        assert "StoreImageTaskResults" not in with_target
        assert_same_tasks(with_target.get(TASKS, []), as_tasks(body, timestamp))
        rest = {k: v for k, v in with_target.items() if k != TASKS}
        assert rest == {k: v for k, v in parsed.items() if k != "StoreImageTaskResults"}


# Bodies in the scanner's form ------------------------------------------------------------

INDENTED = f"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeStoreImageTasksResponse xmlns="{NAMESPACE}">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <storeImageTaskResultSet>
        <item>
            <amiId>ami-0abc1234def567890</amiId>
            <taskStartTime>2026-11-27T12:00:00.000Z</taskStartTime>
            <bucket>archive</bucket>
            <s3objectKey>ami-0abc1234def567890.bin</s3objectKey>
            <progressPercentage>47</progressPercentage>
            <storeTaskState>InProgress</storeTaskState>
        </item>
        <item>
            <amiId>ami-0123456789abcdef0</amiId>
            <taskStartTime>2026-11-26T08:30:00Z</taskStartTime>
            <bucket>dr &amp; backup</bucket>
            <s3objectKey>ami-0123456789abcdef0.bin</s3objectKey>
            <progressPercentage>17</progressPercentage>
            <storeTaskState>Failed</storeTaskState>
            <storeTaskFailureReason>The snapshot &lt;snap-1&gt; is &quot;gone&quot;.</storeTaskFailureReason>
        </item>
    </storeImageTaskResultSet>
    <nextToken>abc</nextToken>
</DescribeStoreImageTasksResponse>
"""


def test_an_indented_body_as_aws_writes_it_is_scanned() -> None:
    check_scanned(INDENTED.encode())
    tasks = scanned(INDENTED.encode(), target=TARGET)[TASKS]
    assert [t.bucket for t in tasks] == ["archive", "dr & backup"]
    assert tasks[1].failure_reason == 'The snapshot <snap-1> is "gone".'
    assert tasks[0].start_time == T0 and tasks[0].start_time.tzinfo is UTC


@settings(max_examples=150, deadline=None)
@given(tasks=st.lists(task_dicts(), max_size=12), next_token=st.one_of(st.none(), st.text()))
def test_the_simulators_bodies_are_scanned_unless_they_carry_a_carriage_return(
    tasks: list[dict[str, Any]], next_token: str | None
) -> None:
    body = _describe_xml(tasks, next_token).encode()
    if b"\r" in body:  # XML reads "\r" as "\n": left to the tree
        assert scanned(body) is None
        compare(body, must_be_fast=True)
    else:
        check_scanned(body)


# Any text XML can carry but "\r" (escape() drops what it cannot), sometimes entities only.
texts = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=30),
    st.sampled_from(["", " ", "&", "<>", "]]>", "\"'", "&amp;lt;", "a\tb\nc", "\x85\u2028"]),
)


@st.composite
def fields(draw: st.DrawFn, name: str, values: st.SearchStrategy[str], space: str) -> str:
    """A field, maybe absent, maybe empty if a string (an empty timestamp or number is
    outside the form: botocore raises)."""
    empty = ["empty"] if values is texts else []
    how = draw(st.sampled_from(["value", "value", "value", "absent", *empty]))
    if how == "absent":
        return ""
    value = "" if how == "empty" else draw(values)
    quoted = escape(value)
    if draw(st.booleans()):
        quoted = quoted.replace('"', "&quot;").replace("'", "&apos;")
    return f"<{name}>{quoted}</{name}>{space}"


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """A body in the scanner's form: fields in order, each maybe empty or absent."""
    space = draw(st.sampled_from(["", "\n", "\n    ", " \t"]))
    moments = st.datetimes(
        min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
    values = {
        "taskStartTime": st.one_of(
            moments.map(iso_ms), moments.map(lambda m: m.strftime("%Y-%m-%dT%H:%M:%SZ"))
        ),
        "progressPercentage": st.integers(-5, 10**12).map(str),
    }
    items = []
    for _ in range(draw(st.integers(0, 5))):
        inner = "".join(draw(fields(n, values.get(n, texts), space)) for n in FIELDS)
        items.append(f"<item>{space}{inner}</item>{space}")
    namespace = draw(st.sampled_from([NAMESPACE, "urn:x", None]))
    xmlns = "" if namespace is None else f' xmlns="{namespace}"'
    result_set = draw(st.sampled_from(["items", "items", "none"]))
    children = [draw(fields("requestId", texts, space))]
    if result_set == "items":
        children.append(f"<storeImageTaskResultSet>{space}{''.join(items)}")
        children.append(f"</storeImageTaskResultSet>{space}")
    children.append(draw(fields("nextToken", texts, space)))
    declaration = draw(st.sampled_from(['<?xml version="1.0" encoding="UTF-8"?>', ""]))
    return (
        f"{declaration}{space}<DescribeStoreImageTasksResponse{xmlns}>{space}"
        f"{''.join(children)}</DescribeStoreImageTasksResponse>{space}"
    ).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=documents())
def test_any_body_in_the_scanners_form_is_scanned_as_botocore_reads_it(body: bytes) -> None:
    check_scanned(body)


# Bodies outside the form: the tree reads them (or botocore, which may raise) -------------

ITEM = (
    "<amiId>ami-1</amiId><taskStartTime>2026-11-27T12:00:00.000Z</taskStartTime>"
    "<bucket>b</bucket><progressPercentage>5</progressPercentage>"
)
OUTSIDE: list[tuple[str, bytes]] = [
    ("cdata", wrap("<item><amiId><![CDATA[ami-1]]></amiId></item>")),
    ("comment", wrap(f"<item><!-- c -->{ITEM}</item>")),
    ("attribute", wrap(f'<item id="1">{ITEM}</item>')),
    ("self-closing field", wrap("<item><amiId/><bucket>b</bucket></item>")),
    ("character reference", wrap("<item><amiId>&#97;mi-1</amiId></item>")),
    ("undefined entity", wrap("<item><amiId>&nbsp;</amiId></item>")),
    ("bare ampersand", wrap("<item><amiId>a & b</amiId></item>")),
    ("cdata end in text", wrap("<item><amiId>a ]]> b</amiId></item>")),
    ("carriage return in text", wrap("<item><amiId>a\r\nb</amiId></item>")),
    ("carriage returns between", wrap(f"\r\n<item>\r\n{ITEM}</item>\r\n")),
    ("control character", wrap("<item><amiId>a\x01b</amiId></item>")),
    ("noncharacter", wrap("<item><amiId>a\ufffeb</amiId></item>")),
    ("byte order mark", b"\xef\xbb\xbf" + wrap(f"<item>{ITEM}</item>")),
    ("single-quoted declaration", b"<?xml version='1.0'?>" + wrap(f"<item>{ITEM}</item>")),
    ("prefixed field", wrap('<item><o:amiId xmlns:o="urn:o">a</o:amiId></item>')),
    ("unknown field", wrap(f"<item>{ITEM}<newField>x</newField></item>")),
    ("member, not item", wrap(f"<member>{ITEM}</member>")),
    ("fields out of order", wrap("<item><bucket>b</bucket><amiId>a</amiId></item>")),
    ("repeated field", wrap("<item><amiId>a</amiId><amiId>b</amiId></item>")),
    ("text in an item", wrap(f"<item>text{ITEM}</item>")),
    ("offset timestamp", wrap("<item><taskStartTime>2026-11-27T12:00:00+00:00</taskStartTime></item>")),
    ("empty timestamp", wrap("<item><taskStartTime></taskStartTime></item>")),
    ("impossible date", wrap("<item><taskStartTime>2026-02-30T12:00:00.000Z</taskStartTime></item>")),
    ("fractional progress", wrap("<item><progressPercentage>4.5</progressPercentage></item>")),
    ("requestId after the list", wrap("", "<requestId>late</requestId>").replace(b"<requestId>r</requestId>", b"")),
    ("self-closing list", wrap("").replace(b"<storeImageTaskResultSet></storeImageTaskResultSet>", b"<storeImageTaskResultSet/>")),
    ("unclosed", wrap(f"<item>{ITEM}</item>")[:-10]),
]  # fmt: skip


# In the form, but a value does not convert: the scanner raises, the tree then botocore decide.
DOES_NOT_CONVERT = {"impossible date", "fractional progress"}


@pytest.mark.parametrize(("name", "body"), OUTSIDE, ids=[name for name, _ in OUTSIDE])
def test_a_body_outside_the_form_is_left_to_the_tree(name: str, body: bytes) -> None:
    if name in DOES_NOT_CONVERT:
        with pytest.raises(ValueError):
            scanned(body)
    else:
        assert scanned(body) is None
    compare(body)


# Tasks for amimon's source ------------------------------------------------------------------


def test_a_source_gets_the_same_tasks_as_from_botocores_parser(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[Any] = []
    monkeypatch.setattr("amimon.aws.source.parse_task", lambda *a: made.append(a) or parse_task(*a))
    with running(many(450, bucket="mixed")) as server:
        ours = source(server, page_size=100)
        theirs = source(server, page_size=100)
        _, client = theirs.clients.get(theirs.targets[0])
        factory = parsers.ResponseParserFactory()
        factory.set_parser_defaults(timestamp_parser=_parse_timestamp)
        client._endpoint._response_parser_factory = factory
        fast = ours.fetch().polls[0].tasks
        assert made == []  # every task came from the scanner
        slow = theirs.fetch().polls[0].tasks
        assert len(made) == 450  # every task from a botocore item
        assert len(fast) == 450
        assert_same_tasks(list(fast), list(slow))
        assert fast[0].target == slow[0].target == ours.targets[0]
        ours.close()
        theirs.close()


def test_a_body_left_to_the_tree_gives_botocores_items_and_the_same_tasks() -> None:
    body = wrap(f"<item><!-- c -->{ITEM}</item><item>{ITEM}</item>")
    _, fast = parsers_for(_parse_timestamp)
    context = {fastparse._TARGET: TARGET}
    parsed = fast.parse(response(body, context=context), SHAPE)
    assert TASKS not in parsed
    assert len(parsed["StoreImageTaskResults"]) == 2
    assert_same_tasks(tasks_of(parsed, TARGET), as_tasks(body, _parse_timestamp))


def test_only_the_client_asked_gets_tasks() -> None:
    with running(many(3)) as server:
        src = source(server)
        _, asked = src.clients.get(src.targets[0])
        session = src.clients._session(None)
        other = session.create_client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=server.url,
            aws_access_key_id="a",
            aws_secret_access_key="b",
        )
        assert [type(t) for t in asked.describe_store_image_tasks()[TASKS]] == [StoreTask] * 3
        page = other.describe_store_image_tasks()
        assert TASKS not in page
        assert [type(t) for t in page["StoreImageTaskResults"]] == [dict] * 3
        src.close()
