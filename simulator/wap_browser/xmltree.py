"""A page's bytes to an element tree with the standard library's expat, refusing what a
browser model has no business with: entity declarations (no "billion laughs"), entities
neither XML's nor numeric (`&nbsp;`: the browser reads no DTD), and anything not well-formed.
Namespaces are dropped (`{http://www.w3.org/1999/xhtml}p` is `p`), as both formats use one.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Final
from xml.parsers import expat

from simulator.wap_browser.errors import PageError

_NAMESPACE_SEPARATOR: Final = "}"


def _local(name: str) -> str:
    return name.rpartition(_NAMESPACE_SEPARATOR)[2]


def parse_xml(body: bytes, what: str) -> ET.Element:
    """The document element of `body`; `what` names the page in errors."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=_NAMESPACE_SEPARATOR)

    def start(name: str, attributes: dict[str, str]) -> None:
        builder.start(_local(name), {_local(key): value for key, value in attributes.items()})

    def end(name: str) -> None:
        builder.end(_local(name))

    def entity_declared(name: str, *_: object) -> None:
        raise PageError(f"{what} declares the entity {name!r}; a page may not")

    def skipped(name: str, is_parameter: bool) -> None:
        raise PageError(f"{what} uses the undefined entity &{name}; (the browser reads no DTD)")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = entity_declared
    parser.SkippedEntityHandler = skipped
    parser.UseForeignDTD(False)
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise PageError(f"{what} is not well-formed XML: {exc}") from None
    try:
        return builder.close()
    except Exception as exc:  # an empty document: expat already refused most of those
        raise PageError(f"{what} has no document element") from exc


__all__ = ["parse_xml"]
