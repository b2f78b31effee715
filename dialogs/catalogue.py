"""Message catalogues: every user-facing text in zh-CN (the default) and en.

One YAML file per language in `messages/`, flat `key: template` with `{name}` placeholders.
Parameters are formatted by name: `*_fen` as yuan (`50.00`), `msisdn`/`*_msisdn` as a
national number. Loading checks that every language has the same keys and placeholders.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import yaml

from dialogs.events import Message, Value
from dialogs.inputs import format_yuan, national_number

MESSAGES_DIR: Final = Path(__file__).parent / "messages"
LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"


class CatalogueError(Exception):
    """A catalogue is missing, malformed, or its languages disagree."""


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def format_param(name: str, value: Value) -> str:
    if isinstance(value, int) and name.endswith("_fen"):
        return format_yuan(value)
    if isinstance(value, str) and (name == "msisdn" or name.endswith("_msisdn")):
        return national_number(value)
    return str(value)


class Catalogue:
    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts
        self._check()

    @classmethod
    def load(cls, directory: Path = MESSAGES_DIR) -> Catalogue:
        texts: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            path = directory / f"{language}.yaml"
            try:
                document = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise CatalogueError(f"{path}: {exc}") from exc
            if not isinstance(document, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in document.items()
            ):
                raise CatalogueError(f"{path}: expected a mapping of message keys to strings")
            texts[language] = document
        return cls(texts)

    def _check(self) -> None:
        reference = self._texts[DEFAULT_LANGUAGE]
        for language in LANGUAGES:
            texts = self._texts.get(language)
            if texts is None:
                raise CatalogueError(f"no catalogue for {language}")
            missing = sorted(set(reference) ^ set(texts))
            if missing:
                raise CatalogueError(f"{language}: keys not in both languages: {missing}")
            for key, template in texts.items():
                try:
                    placeholders = _placeholders(template)
                except ValueError as exc:
                    raise CatalogueError(f"{language}: {key}: {exc}") from exc
                if placeholders != _placeholders(reference[key]):
                    raise CatalogueError(f"{language}: {key}: placeholders differ from zh-CN")

    def keys(self) -> frozenset[str]:
        return frozenset(self._texts[DEFAULT_LANGUAGE])

    def placeholders(self, key: str) -> set[str]:
        return _placeholders(self._texts[DEFAULT_LANGUAGE][key])

    def template(self, language: str, key: str) -> str:
        """The raw template of a key, placeholders unfilled (for diagrams and prompt lists)."""
        texts = self._texts.get(language) or self._texts[DEFAULT_LANGUAGE]
        return texts[key]

    def text(self, language: str, message: Message) -> str:
        texts = self._texts.get(language) or self._texts[DEFAULT_LANGUAGE]
        template = texts[message.key]
        params = {name: format_param(name, value) for name, value in message.params.items()}
        missing = _placeholders(template) - set(params)
        if missing:
            raise KeyError(f"message {message.key!r} needs {sorted(missing)}")
        return template.format_map(params)
