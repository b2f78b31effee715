"""Every shipped flow's journeys, inputs to screens, on every renderer, in both languages.

The expected texts live in `golden/*.yaml`, written by hand (the Chinese and English of the
top-up and payment screens among them), never generated from the code. USSD, STK and SMS
are compared on every screen given; IVR (the plan read aloud) and WAP (the XHTML-MP text and
choices) on the key screens, and every screen must render in every medium.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs.catalogue import Catalogue
from dialogs.engine import Engine, Step
from dialogs.events import End, RunOperation
from dialogs.flow import load_flows
from dialogs.render.ivr import render_ivr
from dialogs.render.sms import render_sms
from dialogs.render.stk import DisplayText, GetInput, SelectItem, render_stk
from dialogs.render.ussd import render_ussd
from dialogs.render.wap import FormTarget, render_wml, render_xhtml
from tests.dialogs.readers import transcript, xhtml_summary

GOLDEN = Path(__file__).parent / "golden"
ENGINE = Engine(load_flows())
CATALOGUE = Catalogue.load()
FORM = FormTarget("/wap/form", "token-1")


def seal(pin: str) -> str:
    return f"sealed:{pin}"


def describe_stk(command: object) -> str:
    match command:
        case SelectItem():
            return " | ".join([f"SELECT {command.title}", *command.items])
        case GetInput():
            flags = ["digits"] * command.digits_only + ["hidden"] * command.hidden
            spec = " ".join([f"{command.min_length}..{command.max_length}", *flags])
            return f"INPUT {command.text} [{spec}]"
        case DisplayText():
            return f"DISPLAY {command.text}"
    raise TypeError(command)


def _journeys() -> list[Any]:
    cases = []
    for path in sorted(GOLDEN.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        for journey in document["journeys"]:
            cases.append(
                pytest.param(document["flow"], journey, id=f"{path.stem}: {journey['name']}")
            )
    return cases


def _advance(step: Step | None, flow: str, language: str, expected: dict[str, Any]) -> Step:
    """The opening screen when the journey has none yet; then the step's input or outcome."""
    if step is None:
        step = ENGINE.start(flow, language)
    if "input" in expected:
        return ENGINE.feed(step.state, expected["input"], seal)
    if "outcome" in expected:
        return ENGINE.resume(step.state, expected["outcome"], expected.get("values", {}))
    return step


@pytest.mark.parametrize(("flow", "journey"), _journeys())
def test_journey(flow: str, journey: dict[str, Any]) -> None:
    language = journey["language"]
    step: Step | None = None
    for expected in journey["steps"]:
        step = _advance(step, flow, language, expected)
        event = step.event
        if "run" in expected:
            ((name, params),) = expected["run"].items()
            assert event == RunOperation(name, params)
            continue
        assert not isinstance(event, RunOperation)
        if "ussd" in expected:
            assert render_ussd(event, CATALOGUE, language).text == expected["ussd"]
        if "stk" in expected:
            assert describe_stk(render_stk(event, CATALOGUE, language)) == expected["stk"]
        if "sms" in expected:
            assert render_sms(event, CATALOGUE, language).text == expected["sms"]
        if "notify" in expected:
            assert isinstance(event, End)
            sent = [(n.to, CATALOGUE.text(language, n.message)) for n in event.notifications]
            assert sent == [(n["to"], n["text"]) for n in expected["notify"]]
        plan = render_ivr(event, CATALOGUE, language)
        if "ivr" in expected:
            ending = f"#{plan.collect.max_digits}" if plan.collect else "hangup"
            assert f"{transcript(plan, CATALOGUE, language)} {ending}" == expected["ivr"]
        render_wml(event, CATALOGUE, language, FORM)
        page = xhtml_summary(render_xhtml(event, CATALOGUE, language, FORM))
        if "wap" in expected:
            assert (
                "\n".join([page["text"], *(label for _, label in page["choices"])])
                == (expected["wap"])
            )
    assert step is not None
    assert isinstance(step.event, End), "every golden journey runs to its end"


def test_every_shipped_flow_has_golden_journeys_in_both_languages() -> None:
    covered: dict[str, set[str]] = {}
    for path in GOLDEN.glob("*.yaml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        covered[document["flow"]] = {j["language"] for j in document["journeys"]}
    assert covered == {flow: {"zh-CN", "en"} for flow in load_flows()}
