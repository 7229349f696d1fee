"""Textual's Linux driver, with an input thread that sleeps until there is input.

Textual's input thread wakes ten times a second to see whether a lone Esc has waited long
enough to be a key of its own: a process that draws nothing spends most of its idle CPU
there. This one waits for input with no timeout, and with the parser's own timeout only
while the parser holds an unfinished sequence; stopping wakes it through a pipe. Keys,
mouse, paste and resize reach the app exactly as from Textual's driver.
"""

from __future__ import annotations

import os
import selectors
import threading
from codecs import getincrementaldecoder
from contextlib import suppress
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL_AS_TEXTUAL = 0.1  # seconds: Textual's own wait, used if its parser changes shape


class _WakingEvent(threading.Event):
    """The driver's exit event: setting it also wakes the input thread."""

    def __init__(self, wake: int) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        if self._wake >= 0:
            with suppress(OSError):
                os.write(self._wake, b"\0")

    def detach(self) -> None:
        """The pipe is being closed: its number may soon be another file's."""
        self._wake = -1


class QuietLinuxDriver(LinuxDriver):
    """``LinuxDriver`` whose input thread blocks until input, a pending sequence's timeout
    or the driver stopping (Textual's polls every 100 ms)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        self.exit_event: _WakingEvent = _WakingEvent(self._wake_write)

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def timeout() -> float | None:
            if not hasattr(parser, "_timeout_time"):  # another Textual: wait as it does
                return POLL_AS_TEXTUAL
            due = parser._timeout_time
            if due is None:
                return None  # nothing pending: wait for input, however long
            return max(0.0, due - get_time())

        def process(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for key, _ in ready:
                if key.fd == self._wake_read:
                    os.read(self._wake_read, 64)
                    continue
                data = decode(os.read(self.fileno, 1024 * 4), final=final)
                if not data:
                    # The terminal is gone (or stdin was never one): stop watching it.
                    # Textual's thread spun here, reading nothing as fast as it could.
                    selector.unregister(self.fileno)
                    continue
                for event in parser.feed(data):
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            if self.fileno in {key.fd for key in selector.get_map().values()}:
                selector.unregister(self.fileno)
            process(selector.select(0), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def close(self) -> None:
        super().close()
        self.exit_event.detach()
        for fd in (self._wake_read, self._wake_write):
            with suppress(OSError):
                os.close(fd)
