"""Render engine events as USSD pages: text plus whether the session continues.

A page lists the prompt and numbered choices, after a notice line when the last input was
refused. Page size: 182 GSM 7-bit characters or about 80 in UCS-2 (Chinese); pagination
with `98 More` / `0 Back` comes with the SMPP USSD work. `RunOperation` is never rendered:
the channel runs it and resumes the engine first.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.catalogue import Catalogue
from dialogs.events import Ask, End, Event


@dataclass(frozen=True, slots=True)
class UssdPage:
    text: str
    end: bool


def render_ussd(event: Event, catalogue: Catalogue, language: str) -> UssdPage:
    match event:
        case Ask():
            lines = []
            if event.notice is not None:
                lines.append(catalogue.text(language, event.notice))
            lines.append(catalogue.text(language, event.prompt))
            lines.extend(
                f"{number}. {catalogue.text(language, choice)}"
                for number, choice in enumerate(event.choices, start=1)
            )
            return UssdPage("\n".join(lines), end=False)
        case End():
            return UssdPage(catalogue.text(language, event.message), end=True)
        case _:
            raise TypeError(f"a USSD page cannot show {type(event).__name__}")
