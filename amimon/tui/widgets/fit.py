"""Static text that keeps its height right: a layout pass only when the height changes."""

from __future__ import annotations

from rich.text import Text
from textual.visual import visualize
from textual.widgets import Static


def show_text(widget: Static, text: Text, width: int | None = None) -> None:
    """Put ``text`` in ``widget``. The screen is laid out again only if the text needs
    another number of lines at the widget's width (a wrapped line more or less), so a
    changing countdown costs a repaint, not a layout, while a new reason still resizes."""
    width = width or widget.content_region.width
    height = widget.content_region.height
    new = visualize(widget, text, markup=False)
    rules = widget.styles  # what Textual itself passes to get_height
    same = width > 0 and height > 0 and new.get_height(rules, width) == height  # type: ignore[arg-type]
    widget.update(text, layout=not same)
