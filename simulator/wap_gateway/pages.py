"""The gateway's own pages: what the handset shows when the gateway cannot bring the
platform's page (unreachable, no answer in time, too large) or the path is not the service's.

A real WAP gateway answers such errors itself, in a format the handset reads: a WML deck for a
WAP 1.x browser (whose `Accept` names `text/vnd.wap.wml` and no XHTML), an XHTML-MP page
otherwise. The text is in Chinese unless the handset's `Accept-Language` asks for English, the
same two languages as the platform's pages; written by hand, escaped, no entities but XML's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal
from xml.sax.saxutils import escape, quoteattr

WML_TYPE: Final = "text/vnd.wap.wml"
XHTML_TYPES: Final = ("application/vnd.wap.xhtml+xml", "application/xhtml+xml")
WML_CONTENT_TYPE: Final = "text/vnd.wap.wml; charset=utf-8"
XHTML_CONTENT_TYPE: Final = "application/vnd.wap.xhtml+xml; charset=utf-8"

Problem = Literal["unreachable", "timeout", "too_large", "not_here"]

# problem -> language -> (title, text)
_TEXTS: Final[dict[Problem, dict[str, tuple[str, str]]]] = {
    "unreachable": {
        "zh-CN": ("网关错误", "无法连接到服务，请稍后再试。"),
        "en": ("Gateway error", "The service cannot be reached. Please try again later."),
    },
    "timeout": {
        "zh-CN": ("网关错误", "服务没有及时应答，请稍后再试。"),
        "en": ("Gateway error", "The service did not answer in time. Please try again later."),
    },
    "too_large": {
        "zh-CN": ("网关错误", "页面过大，手机无法显示。"),
        "en": ("Gateway error", "The page is too large for this phone."),
    },
    "not_here": {
        "zh-CN": ("未找到", "此网关只提供本服务的页面。"),
        "en": ("Not found", "This gateway carries only the service's pages."),
    },
}


@dataclass(frozen=True, slots=True)
class ErrorPage:
    status: int
    body: bytes
    content_type: str


def wants_wml(accept: str) -> bool:
    """A WAP 1.x browser: it accepts WML and no XHTML."""
    accept = accept.lower()
    return WML_TYPE in accept and not any(kind in accept for kind in XHTML_TYPES)


def page_language(accept_language: str) -> str:
    return "en" if accept_language.strip().lower().startswith("en") else "zh-CN"


def error_page(problem: Problem, status: int, accept: str, accept_language: str) -> ErrorPage:
    """The page for `problem`, answered with `status`, in the handset's format and language."""
    language = page_language(accept_language)
    title, text = _TEXTS[problem][language]
    text = f"{text} ({status})"
    if wants_wml(accept):
        body = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.3//EN"'
            ' "http://www.wapforum.org/DTD/wml13.dtd">\n'
            f'<wml xml:lang="{language}">\n'
            f'<card id="error" title={quoteattr(title)}>\n'
            f"<p>{escape(text)}</p>\n"
            "</card>\n</wml>\n"
        )
        return ErrorPage(status, body.encode(), WML_CONTENT_TYPE)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE html PUBLIC "-//WAPFORUM//DTD XHTML Mobile 1.2//EN"'
        ' "http://www.openmobilealliance.org/tech/DTD/xhtml-mobile12.dtd">\n'
        f'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="{language}">\n'
        f"<head>\n<title>{escape(title)}</title>\n</head>\n"
        f"<body>\n<p>{escape(text)}</p>\n</body>\n</html>\n"
    )
    return ErrorPage(status, body.encode(), XHTML_CONTENT_TYPE)


__all__ = ["ErrorPage", "Problem", "error_page", "page_language", "wants_wml"]
