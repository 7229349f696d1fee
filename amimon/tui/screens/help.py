"""The help screen: every key, named as it is typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

# How keys are typed, where Textual's own name for a key is a word.
TYPED = {
    "slash": "/",
    "question_mark": "?",
    "escape": "Esc",
    "enter": "Enter",
    "ctrl+c": "Ctrl+C",
    "ctrl+p": "Ctrl+P",
    "up": "↑",
    "down": "↓",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
}


def typed(key: str) -> str:
    """``slash`` → ``/``; ``escape`` → ``Esc``; plain letters stay as they are."""
    return " ".join(TYPED.get(k, k) for k in key.split(","))


def help_lines(keys: Sequence[tuple[str, str]]) -> Text:
    """One line per (key as typed, what it does)."""
    width = max((len(k) for k, _ in keys), default=1)
    lines = Text("amimon keys\n\n", style="bold")
    for key, words in keys:
        lines.append(f"{key:>{width}}  ", style="bold")
        lines.append(f"{words}\n")
    lines.append("\nClick a column header to sort by it; again to reverse.")
    return lines


class HelpScreen(ModalScreen[None]):
    """Every key, in one place; Esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close"),
    ]
    AUTO_FOCUS = "*"  # the scroll, so arrows and PgUp/PgDn scroll (the app's is "#tasks")

    def __init__(self, keys: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = tuple(keys)

    def compose(self) -> ComposeResult:
        yield VerticalScroll(Static(help_lines(self.keys)), id="help")
