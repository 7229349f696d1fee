"""The key footer: Textual's, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[object, ...]


class KeyFooter(Footer):
    """Textual's ``Footer`` rebuilds all its keys on every "bindings changed" signal, one
    rebuild per signal: at start-up focus moves and the screen resumes (five signals, each
    rebuild restyling every key), while the first poll wants the same thread. This one
    rebuilds at most once per refresh, and only when what it would show differs."""

    def __init__(self, *, show_command_palette: bool = True) -> None:
        super().__init__(show_command_palette=show_command_palette)
        self._pending = False
        self._shown: Shown | None = None

    def on_mount(self) -> None:
        super().on_mount()
        self.bindings_changed(self.screen)  # mounted after the screen's first signals

    def bindings_changed(self, screen: Screen[object]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._pending = False
        shown = self._keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys(self) -> Shown:
        """What ``compose`` draws from: every shown binding, its key text and state."""
        app = self.app
        return (
            self.show_command_palette,
            tuple(
                (key, binding, app.get_key_display(binding), enabled, tip)
                for key, (_, binding, enabled, tip) in self.screen.active_bindings.items()
                if binding.show or key == app.COMMAND_PALETTE_BINDING
            ),
        )
