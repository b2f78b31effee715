"""Text gathered in document order into lines: inline runs join (white space collapsed, as
XML browsers do), a line break or a block (a link, a field) ends the line before it.

A ZERO WIDTH SPACE is a line-break hint (the platform puts them in long references and
numbers so they wrap on a narrow screen): a phone shows nothing for it, and neither do we, so
the text read off the screen is the text the user reads."""

from __future__ import annotations

from typing import Final

from simulator.wap_browser.screen import Block, Text

ZERO_WIDTH_SPACE: Final = "\u200b"


def readable(text: str) -> str:
    """The text without the invisible line-break hints."""
    return text.replace(ZERO_WIDTH_SPACE, "")


class TextFlow:
    def __init__(self) -> None:
        self._blocks: list[Block] = []
        self._runs: list[tuple[str, bool]] = []

    def add(self, text: str, strong: bool) -> None:
        if text:
            self._runs.append((readable(text), strong))

    def breaks(self) -> None:
        """End the current line (`<p>`, `<br/>`)."""
        text = " ".join("".join(run for run, _ in self._runs).split())
        if text:
            strong = all(bold for run, bold in self._runs if run.strip())
            self._blocks.append(Text(text, strong))
        self._runs.clear()

    def block(self, block: Block) -> None:
        self.breaks()
        self._blocks.append(block)

    def finish(self) -> list[Block]:
        self.breaks()
        return self._blocks


__all__ = ["ZERO_WIDTH_SPACE", "TextFlow", "readable"]
