"""SMS texts the channel words itself from the catalogue: notices (`notice.<name>`), the
history list, confirmation codes. Amounts in fen and numbers are formatted by the catalogue
(`*_fen` as yuan, `msisdn`/`*_msisdn` as national numbers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from dialogs.catalogue import Catalogue
from dialogs.events import Message, Value

HISTORY_NOTICE: Final = "history"
HISTORY_ITEM_KEY: Final = "sms.history.item"


def _word(catalogue: Catalogue, language: str, group: str, value: Value) -> Value:
    """A kind or state named in the recipient's language; an unknown one as it is."""
    key = f"sms.{group}.{value}"
    known = catalogue.keys()
    return catalogue.text(language, Message(key)) if key in known else value


def _readable(catalogue: Catalogue, language: str, values: Mapping[str, Value]) -> dict[str, Value]:
    shown = dict(values)
    if "kind" in shown:
        shown["kind"] = _word(catalogue, language, "kind", shown["kind"])
    if "state" in shown:
        shown["state"] = _word(catalogue, language, "state", shown["state"])
    if "sender" in shown:  # a number the catalogue formats only under a *_msisdn name
        shown["sender_msisdn"] = shown["sender"]
    return shown


def notice_text(
    catalogue: Catalogue,
    language: str,
    notice: str,
    values: Mapping[str, Value],
    items: Sequence[Mapping[str, Value]] = (),
) -> str:
    """`notice.<notice>` in `language`; a list's items one compact line each after it."""
    lines = [
        catalogue.text(
            language, Message(f"notice.{notice}", _readable(catalogue, language, values))
        )
    ]
    lines.extend(
        catalogue.text(language, Message(HISTORY_ITEM_KEY, _readable(catalogue, language, item)))
        for item in items
    )
    return "\n".join(lines)


def code_text(catalogue: Catalogue, language: str, code: str) -> str:
    return catalogue.text(language, Message("sms.transfer_code", {"code": code}))


def masked(text: str, secret: str, mask: str) -> str:
    """`text` with every occurrence of `secret` replaced (what an outbox row may hold)."""
    assert secret, "nothing to mask"
    return text.replace(secret, mask)
