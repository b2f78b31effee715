"""Validate WAP pages against the WML 1.3 and XHTML Mobile Profile 1.2 DTDs, with lxml.

The DTDs are the tests' own copies in `tests/data/dtd/` (their header comments say where each
comes from); a page is parsed without fetching anything (`no_network`, no external DTD load,
no entity expansion), its DOCTYPE must name the DTD's public identifier, and then it is
validated against the local copy. Shared by the renderer's tests and the WAP channel's.

    from tests.wap_dtd import assert_valid_wml, assert_valid_xhtml_mp
    assert_valid_wml(response_text)           # raises AssertionError with libxml2's reasons
    errors = dtd_errors(body, XHTML_MP)       # [] when valid
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from lxml import etree

DTD_DIR: Final = Path(__file__).parent / "data" / "dtd"


@dataclass(frozen=True, slots=True)
class Doctype:
    root: str
    public_id: str
    file: str


WML13: Final = Doctype("wml", "-//WAPFORUM//DTD WML 1.3//EN", "wml13.dtd")
XHTML_MP: Final = Doctype("html", "-//WAPFORUM//DTD XHTML Mobile 1.2//EN", "xhtml-mobile12.dtd")


@functools.cache
def load_dtd(doctype: Doctype) -> etree.DTD:
    return etree.DTD(str(DTD_DIR / doctype.file))


def _parser() -> etree.XMLParser:
    # Nothing from outside: the DOCTYPE's system URL is never fetched, entities never expanded.
    return etree.XMLParser(
        load_dtd=False, no_network=True, resolve_entities=False, dtd_validation=False
    )


def dtd_errors(body: str | bytes, doctype: Doctype) -> list[str]:
    """Why `body` is not a valid document of `doctype`; empty when it is."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    try:
        tree = etree.ElementTree(etree.fromstring(data, _parser()))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    info = tree.docinfo
    problems = []
    if info.root_name != doctype.root or info.public_id != doctype.public_id:
        problems.append(
            f"DOCTYPE {info.root_name} {info.public_id!r}, expected"
            f" {doctype.root} {doctype.public_id!r}"
        )
    dtd = load_dtd(doctype)
    if not dtd.validate(tree):
        problems += [f"line {e.line}: {e.message}" for e in dtd.error_log]
    return problems


def assert_valid(body: str | bytes, doctype: Doctype) -> None:
    problems = dtd_errors(body, doctype)
    assert not problems, f"invalid {doctype.file}:\n" + "\n".join(problems)


def assert_valid_wml(body: str | bytes) -> None:
    assert_valid(body, WML13)


def assert_valid_xhtml_mp(body: str | bytes) -> None:
    assert_valid(body, XHTML_MP)
