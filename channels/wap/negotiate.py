"""Which page format a browser gets, from its `Accept` header (RFC 9110 section 12.5.1).

WML 1.3 goes to a browser that asks for `text/vnd.wap.wml` more strongly than for any XHTML or
HTML type; everyone else gets XHTML Mobile Profile. Only types a browser names explicitly are
compared: a WAP 1.x browser sends `text/vnd.wap.wml, */*` (WML, though `*/*` would take
anything), a WAP 2.0 browser lists both `application/vnd.wap.xhtml+xml` and
`text/vnd.wap.wml` (XHTML-MP, what it renders best: a tie goes to XHTML), a desktop or
smartphone browser names only HTML types (XHTML-MP, which it renders as XHTML). `q=0` means
"not acceptable": `text/vnd.wap.wml;q=0` never gets WML. No header, or one that does not
parse, gets XHTML-MP.

The same XHTML-MP page goes out under the media type the browser names: a WAP 2.0 browser's
`application/vnd.wap.xhtml+xml` (the type XHTML-MP is registered under), else
`application/xhtml+xml` (desktop and smartphone browsers: Chromium saves a
`vnd.wap.xhtml+xml` answer as a download instead of showing it), else `text/html`, the
highest quality winning and a tie going in that order; a browser that names none of them gets
the WAP type. Pure functions; no I/O.
"""

from __future__ import annotations

from typing import Final, Literal

Format = Literal["wml", "xhtml"]

WML_TYPES: Final = frozenset({"text/vnd.wap.wml"})
XHTML_MP_TYPE: Final = "application/vnd.wap.xhtml+xml"
# The types an XHTML-MP page may go out as, in the order a tie is settled.
XHTML_MEDIA_TYPES: Final = (XHTML_MP_TYPE, "application/xhtml+xml", "text/html")
XHTML_TYPES: Final = frozenset(XHTML_MEDIA_TYPES)
accept_items_max: Final = 64  # media ranges looked at in one header (the rest ignored)
accept_chars_max: Final = 4096  # characters of the header looked at


def _quality(parameters: list[str]) -> float:
    """The `q` of a media range (1 when absent); 0 for a malformed one (not acceptable)."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() != "q":
            continue
        try:
            quality = float(value.strip())
        except ValueError:
            return 0.0
        return quality if 0.0 <= quality <= 1.0 else 0.0
    return 1.0


def accepted(header: str) -> dict[str, float]:
    """Each explicitly named media type (lower case) and its highest quality."""
    qualities: dict[str, float] = {}
    for item in header[:accept_chars_max].split(",")[:accept_items_max]:
        media, *parameters = item.split(";")
        media = media.strip().lower()
        if not media or "*" in media:
            continue
        qualities[media] = max(qualities.get(media, 0.0), _quality(parameters))
    return qualities


def page_format(accept: str | None) -> Format:
    """`wml` or `xhtml` for a request's `Accept` header (see the module docstring)."""
    if not accept:
        return "xhtml"
    qualities = accepted(accept)
    wml = max((qualities.get(media, 0.0) for media in WML_TYPES), default=0.0)
    xhtml = max((qualities.get(media, 0.0) for media in XHTML_TYPES), default=0.0)
    return "wml" if wml > 0.0 and wml > xhtml else "xhtml"


def xhtml_media_type(accept: str | None) -> str:
    """The media type an XHTML-MP page goes out as (see the module docstring)."""
    qualities = accepted(accept or "")
    best = max(XHTML_MEDIA_TYPES, key=lambda media: qualities.get(media, 0.0))
    return best if qualities.get(best, 0.0) > 0.0 else XHTML_MP_TYPE


__all__ = ["XHTML_MP_TYPE", "Format", "accepted", "page_format", "xhtml_media_type"]
