"""Render engine events as USSD pages: text, whether the session continues, and pagination.

A page holds at most 182 GSM 7-bit characters (160 octets packed), or 80 UCS-2 characters
when any character is outside the GSM alphabet (Chinese always is). A choice screen too long
for one page is split: the prompt heads every page, choices keep their numbers across pages,
and `98 More` / `0 Back` move between pages (the channel keeps the page number; the engine
never sees those two inputs). An END text must fit one page: `aircharge flows check` proves
the shipped flows do, in both languages. `RunOperation` is never rendered: the channel runs
it and resumes the engine first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from dialogs.catalogue import Catalogue
from dialogs.events import Ask, End, Event, Message
from dialogs.gsm import septets, ucs2_units

page_septets_max: Final = 182
page_ucs2_max: Final = 80
MORE: Final = "98"
BACK: Final = "0"


@dataclass(frozen=True, slots=True)
class UssdPage:
    text: str
    end: bool
    page: int = 0
    pages: int = 1


def fits_page(text: str) -> bool:
    count = septets(text)
    return count <= page_septets_max if count is not None else ucs2_units(text) <= page_ucs2_max


def navigation(text: str) -> Literal["more", "back"] | None:
    """Whether an input moves between pages of a long menu rather than answering it."""
    entry = text.strip()
    if entry == MORE:
        return "more"
    if entry == BACK:
        return "back"
    return None


def render_ussd(event: Event, catalogue: Catalogue, language: str, page: int = 0) -> UssdPage:
    match event:
        case Ask():
            head = [catalogue.text(language, event.prompt)]
            if event.notice is not None:
                head.insert(0, catalogue.text(language, event.notice))
            choices = [
                f"{number}. {catalogue.text(language, choice)}"
                for number, choice in enumerate(event.choices, start=1)
            ]
            return _paginate(head, choices, catalogue, language, page)
        case End():
            return UssdPage(catalogue.text(language, event.message), end=True)
        case _:
            raise TypeError(f"a USSD page cannot show {type(event).__name__}")


def _paginate(
    head: list[str], choices: list[str], catalogue: Catalogue, language: str, page: int
) -> UssdPage:
    whole = "\n".join([*head, *choices])
    if fits_page(whole) or not choices:
        return UssdPage(whole, end=False)
    more = f"{MORE}. {catalogue.text(language, Message('ussd.more'))}"
    back = f"{BACK}. {catalogue.text(language, Message('ussd.back'))}"
    pages = _split(head, choices, more, back)
    index = min(max(page, 0), len(pages) - 1)
    return UssdPage("\n".join(pages[index]), end=False, page=index, pages=len(pages))


def _split(head: list[str], choices: Sequence[str], more: str, back: str) -> list[list[str]]:
    """Greedy: as many choices per page as fit with the head and the navigation lines."""
    pages: list[list[str]] = []
    remaining = list(choices)
    while remaining:
        first = not pages
        taken: list[str] = []
        while remaining:
            trial = [*taken, remaining[0]]
            nav = ([] if first else [back]) + ([more] if len(remaining) > 1 else [])
            if taken and not fits_page("\n".join([*head, *trial, *nav])):
                break
            taken = trial
            remaining.pop(0)
        nav = ([] if first else [back]) + ([more] if remaining else [])
        pages.append([*head, *taken, *nav])
    return pages
