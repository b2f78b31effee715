"""USSD pages: sizes in GSM 7-bit and UCS-2, and long menus split with 98 More / 0 Back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.events import Ask, End, Message, RunOperation
from dialogs.render.ussd import fits_page, navigation, render_ussd


def _catalogue(labels: dict[str, str]) -> Catalogue:
    texts = {"prompt": "Choose", "ussd.more": "More", "ussd.back": "Back", **labels}
    zh = {**texts, "prompt": "请选择", "ussd.more": "更多", "ussd.back": "返回"}
    return Catalogue({"zh-CN": zh, "en": texts})


def test_page_sizes_follow_the_alphabet() -> None:
    assert fits_page("a" * 182)
    assert not fits_page("a" * 183)
    assert not fits_page("€" * 92)  # extension characters take two septets each
    assert fits_page("中" * 80)
    assert not fits_page("中" * 81)
    assert not fits_page("a" * 80 + "中")  # one Chinese character turns the page to UCS-2


def test_a_short_menu_is_one_page() -> None:
    catalogue = _catalogue({"a": "Top up", "b": "Balance"})
    page = render_ussd(Ask(Message("prompt"), (Message("a"), Message("b"))), catalogue, "en")
    assert (page.text, page.end, page.pages) == ("Choose\n1. Top up\n2. Balance", False, 1)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_a_long_menu_splits_keeping_numbers_and_navigation(language: str) -> None:
    labels = {
        f"o{i}": ("选项" if language == "zh-CN" else "Option ") + str(i) * 12 for i in range(9)
    }
    catalogue = _catalogue(labels)
    ask = Ask(Message("prompt"), tuple(Message(f"o{i}") for i in range(9)))
    first = render_ussd(ask, catalogue, language)
    assert first.pages > 1
    seen: list[str] = []
    for index in range(first.pages):
        page = render_ussd(ask, catalogue, language, index)
        assert page.page == index
        assert fits_page(page.text), page.text
        lines = page.text.split("\n")
        assert lines[0] in ("Choose", "请选择")
        assert (lines[-1].startswith("98. ")) == (index < first.pages - 1)
        assert any(line.startswith("0. ") for line in lines) == (index > 0)
        seen += [line for line in lines if re.match(r"^[1-9]\. ", line)]
    assert [line.split(".")[0] for line in seen] == [str(n) for n in range(1, 10)]
    past_the_end = render_ussd(ask, catalogue, language, 99)
    assert past_the_end.page == first.pages - 1


def test_end_and_navigation() -> None:
    catalogue = _catalogue({})
    assert render_ussd(End(Message("prompt")), catalogue, "en").end
    assert (navigation("98"), navigation(" 0 "), navigation("1")) == ("more", "back", None)
    with pytest.raises(TypeError):
        render_ussd(RunOperation("topup", {}), catalogue, "en")


@given(
    st.lists(
        st.text(st.characters(blacklist_characters="{}"), min_size=1, max_size=40),
        min_size=1,
        max_size=9,
    )
)
def test_any_menu_pages_fit_when_each_choice_can(labels: list[str]) -> None:
    catalogue = _catalogue({f"o{i}": text for i, text in enumerate(labels)})
    ask = Ask(Message("prompt"), tuple(Message(f"o{i}") for i in range(len(labels))))
    first = render_ussd(ask, catalogue, "en")
    for index in range(first.pages):
        page = render_ussd(ask, catalogue, "en", index)
        if page.pages > 1:
            lines = page.text.split("\n")
            single = [line for line in lines if re.match(r"^[1-9]\. ", line)]
            # a page over the limit is only allowed when one choice alone cannot fit
            assert fits_page(page.text) or len(single) == 1
