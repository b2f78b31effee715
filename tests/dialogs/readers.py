"""Readers of renderer output for tests: an IVR plan read aloud, a WAP page summarised."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from dialogs.catalogue import Catalogue
from dialogs.render.ivr import (
    AMOUNT_UNIT_WORDS,
    PromptPlan,
    SayAmount,
    SayDigits,
    SayNumber,
    Sound,
    Speak,
    prompt_texts,
)
from dialogs.render.wap import WapPage

X = "{http://www.w3.org/1999/xhtml}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def transcript(plan: PromptPlan, catalogue: Catalogue, language: str) -> str:
    """A plan read aloud: each sound as its text, typed items in angle brackets (an amount
    said with its unit as `<amount:5050 元>`)."""
    texts = prompt_texts(catalogue, language)
    words: list[str] = []
    for item in plan.items:
        match item:
            case Sound(name=name):
                words.append(texts[name])
            case SayDigits(digits=digits, telephone=True):
                words.append(f"<tel:{digits}>")
            case SayDigits(digits=digits):
                words.append(f"<digits:{digits}>")
            case SayNumber(value=value):
                words.append(f"<number:{value}>")
            case SayAmount(fen=fen, unit=True):
                words.append(f"<amount:{fen} {AMOUNT_UNIT_WORDS[language]}>")
            case SayAmount(fen=fen):
                words.append(f"<amount:{fen}>")
            case Speak(text=text, language=spoken):
                assert spoken == language
                words.append(f"<speak:{text}>")
    return " ".join(words)


_NAMED_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)")


def parse_page(page: WapPage) -> ET.Element:
    assert not _NAMED_ENTITY.search(page.body), "only XML's own entities and numeric ones"
    return ET.fromstring(page.body.encode("utf-8"))


def wml_summary(page: WapPage) -> dict[str, Any]:
    root = parse_page(page)
    assert root.tag == "wml"
    assert root.get(XML_LANG) in ("zh-CN", "en")
    (card,) = root.findall("card")
    assert card.get("newcontext") == "true"
    select = card.find("p/select")
    if select is not None:
        assert select.get("name") == "input"
    entry = card.find("p/input")
    do = card.find("do")
    return {
        "title": card.get("title"),
        "notice": card.findtext("p/b"),
        "text": next(p.text for p in card.findall("p") if len(p) == 0),
        "choices": [(option.get("value"), option.text) for option in card.iter("option")],
        "entry": None if entry is None else dict(entry.attrib),
        "submit": None if do is None else do.get("label"),
    }


def xhtml_summary(page: WapPage) -> dict[str, Any]:
    root = parse_page(page)
    assert root.tag == f"{X}html"
    body = root.find(f"{X}body")
    assert body is not None
    form = body.find(f"{X}form")
    scope = body if form is None else form
    labels = {label.get("for"): label.text for label in scope.iter(f"{X}label")}
    inputs = list(scope.iter(f"{X}input"))
    entries = [i for i in inputs if i.get("type") in ("text", "password")]
    submits = [i.get("value") for i in inputs if i.get("type") == "submit"]
    prompts = [p.text for p in scope.findall(f"{X}p") if len(p) == 0]
    return {
        "title": root.findtext(f"{X}head/{X}title"),
        "notice": body.findtext(f"{X}p/{X}strong"),
        "text": labels.pop("input", None) or prompts[0],
        "choices": [
            (i.get("value"), labels[i.get("id")]) for i in inputs if i.get("type") == "radio"
        ],
        "entry": dict(entries[0].attrib) if entries else None,
        "submit": submits[0] if submits else None,
    }
