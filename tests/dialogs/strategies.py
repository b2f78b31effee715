"""Hypothesis strategies shared by the renderer tests: any catalogue message with parameter
values of the right types (and hostile ones), and any screen built from them."""

from __future__ import annotations

from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.events import INPUTS, Ask, End, Event, Message, Value

CATALOGUE = Catalogue.load()
KEYS = sorted(CATALOGUE.keys())
CHOICES_MAX = 9  # every medium's menu limit (IVR keys, STK items)


def values_for(name: str) -> st.SearchStrategy[Value]:
    if name.endswith("_fen"):
        return st.integers()
    if name == "msisdn" or name.endswith("_msisdn"):
        return st.from_regex(r"861[3-9][0-9]{9}", fullmatch=True) | st.text()
    return st.integers() | st.text()


@st.composite
def messages(draw: st.DrawFn) -> Message:
    key = draw(st.sampled_from(KEYS))
    params = {name: draw(values_for(name)) for name in sorted(CATALOGUE.placeholders(key))}
    return Message(key, params)


@st.composite
def events(draw: st.DrawFn) -> Event:
    if draw(st.booleans()):
        return End(draw(messages()))
    choices = tuple(draw(st.lists(messages(), max_size=CHOICES_MAX)))
    spec = draw(st.sampled_from(list(INPUTS.values())))
    notice = draw(st.none() | messages())
    return Ask(draw(messages()), choices, spec, notice)
