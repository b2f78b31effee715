"""The WAP channel: the shared flows as WML 1.3 decks and XHTML-MP pages under `/wap/`."""
