"""What the browser model refuses, and whose fault it is."""

from __future__ import annotations


class PageError(Exception):
    """The page cannot be shown: not well-formed, not WML or XHTML, or breaking the format's
    rules. The server's fault (or the network's), not the user's."""


class EntryRefused(ValueError):
    """What the user typed or chose is refused by the field (a handset beeps); nothing
    changes. The message says why."""


__all__ = ["EntryRefused", "PageError"]
