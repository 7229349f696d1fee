"""What follows a poll, off the UI thread: AMI details, the history's ETA priors, and the
history's record of what the poll changed. The monitor's poll worker calls it after every
reduced poll; it never raises for a missing permission or a bad history file."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from amimon.model import ImageLookup, Target, TaskState
from amimon.state import MonitorState, images_wanted

if TYPE_CHECKING:
    from amimon.events import Event
    from amimon.history import HistoryStore, ImageInfo


class ImageSource(Protocol):
    def describe_images(self, wanted: Mapping[Target, Collection[str]]) -> ImageLookup: ...


class AfterPoll:
    """Looks up the AMIs of new tasks (once each; DescribeImages is optional), gives a
    running task without a rate of its own its bucket's median GiB/min from the history,
    and queues the poll for the history file."""

    def __init__(
        self,
        images: ImageSource | None,
        store: HistoryStore | None,
        *,
        opener: Callable[[], HistoryStore] | None = None,
    ) -> None:
        """``opener`` opens the history on the first poll, in the worker, when there was
        nothing to read before the first frame (no file yet: start-up need not pay for
        SQLite)."""
        self.images = images
        self.store = store
        self._opener = opener
        self._asked: set[tuple[Target, str]] = set()  # (target, bucket) priors looked up
        self._wanted_of: tuple[MonitorState | None, dict[Target, list[str]]] = (None, {})

    def __call__(
        self,
        before: MonitorState,
        after: MonitorState,
        now: datetime,
        happened: Collection[Event] = (),
    ) -> tuple[MonitorState, tuple[Event, ...]]:
        """The state with what was looked up, and the events of the look-ups; ``happened``
        are the poll's events (a completion makes its bucket's rate worth reading again)."""
        from amimon.events import TaskCompleted
        from amimon.reducer import add_images

        if self._opener is not None:
            opened, self._opener = self._opener(), None
            self.store = opened if opened.enabled else None
        for event in happened:
            if isinstance(event, TaskCompleted) and event.task.task.bucket:
                self._asked.discard((event.task.task.target, event.task.task.bucket))
        events: tuple[Event, ...] = ()
        state = after
        if self.images is not None:
            wanted = self._wanted(state)
            if wanted:
                lookup = self.images.describe_images(wanted)
                state, events = add_images(state, lookup, now)
                if self.store is not None:
                    self.store.record_images(_kept(lookup))
        if self.store is not None:
            state = self._priors(state)
            self.store.record(before, state, now)
        return state, events

    def will_look_up(self, state: MonitorState) -> bool:
        """Whether following ``state`` asks AWS about AMIs (it then takes a while)."""
        return self.images is not None and bool(self._wanted(state))

    def _wanted(self, state: MonitorState) -> dict[Target, list[str]]:
        """``images_wanted``, once per state (the worker asks twice: a walk over every task)."""
        if self._wanted_of[0] is not state:
            self._wanted_of = (state, images_wanted(state))
        return self._wanted_of[1]

    def close(self) -> None:
        """Write what is queued to the history and close it."""
        if self.store is not None:
            self.store.close(timeout=5)

    def _priors(self, state: MonitorState) -> MonitorState:
        """Bucket rates for the buckets of running tasks, read once per (target, bucket)."""
        from amimon.history import throughput

        assert self.store is not None
        new: dict[tuple[Target, str], float] = {}
        for tracked in state.tasks.values():
            task = tracked.task
            if task.state != TaskState.IN_PROGRESS or not task.bucket:
                continue
            pair = (task.target, task.bucket)
            if pair in self._asked:
                continue
            self._asked.add(pair)
            found = throughput(self.store, task.bucket, target=task.target)
            if found is not None:
                new[pair] = found.gib_per_minute
        if not new:
            return state
        return replace(state, bucket_rates={**state.bucket_rates, **new})


def _kept(lookup: ImageLookup) -> list[ImageInfo]:
    """What the history keeps of the AMIs found (a deregistered AMI adds nothing)."""
    from amimon.history import ImageInfo

    return [ImageInfo(i.target, i.ami_id, i.name, i.size_gib) for i in lookup.images if i.found]
