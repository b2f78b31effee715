"""What a sound name "plays" on the emulated Asterisk: its text and its length, per language.

Asterisk keeps sounds in one folder per language (`sounds/zh/aircharge/topup.confirm.0.wav`) and
a command names them without folder or extension (`aircharge/topup.confirm.0`). Looking one up
follows Asterisk's `fileexists_core`: the channel's language first, then `en`, then no language
folder at all; a name found nowhere is "missing" (STREAM FILE answers `200 result=-1 endpos=0`).

A library is built from plain data (`SoundLibrary.from_texts`: the composition root passes the
platform's prompt texts, lengths estimated from the text) or read from a folder written by
`aircharge prompts build DIR` (`SoundLibrary.load`): `DIR/<lang>/aircharge/prompts.json` holds
`{"language": "zh-CN", "prompts": {"<name>": {"text": "...", "ms": 1234}}}` with names without
the `aircharge/` prefix, the WAVs beside it. Either way the library holds Asterisk's English
core digits (`digits/0` ... `digits/million`), which every Asterisk installs and SAY DIGITS /
SAY NUMBER play.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

FALLBACK_LANGUAGE: Final = "en"  # Asterisk's default language, tried after the channel's
NO_LANGUAGE: Final = ""  # sounds straight under the sounds folder, tried last
PROMPTS_FILE: Final = "prompts.json"
SAMPLES_PER_MS: Final = 8  # Asterisk counts positions in 8 kHz samples (endpos)

ms_floor: Final = 300  # even a one-character prompt takes this long
cjk_chars_per_s: Final = 4  # Mandarin syllables read at an even pace
other_chars_per_s: Final = 14  # letters, digits, spaces, punctuation
prompt_file_bytes_max: Final = 16 * 1024 * 1024  # one prompts.json
sounds_per_language_max: Final = 100_000

_CORE_WORDS: Final = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
)  # fmt: skip
_CORE_TENS: Final = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


@dataclass(frozen=True, slots=True)
class Sound:
    """One sound file: its name as a command gives it, the language folder it was found in,
    what it says and how long it plays."""

    name: str
    language: str
    text: str
    ms: int

    def __post_init__(self) -> None:
        assert self.name, "a sound has a name"
        assert self.ms > 0, (self.name, self.ms)

    @property
    def samples(self) -> int:
        """The length in Asterisk's unit (8 kHz samples), the `endpos` of a full playback."""
        return self.ms * SAMPLES_PER_MS


def estimate_ms(text: str) -> int:
    """How long a synthesised voice takes to say `text`: ~4 CJK characters a second, ~14 other
    characters a second, never under `ms_floor`."""
    wide = sum(1 for char in text if unicodedata.east_asian_width(char) in ("W", "F"))
    other = len(text) - wide
    ms = wide * 1000 / cjk_chars_per_s + other * 1000 / other_chars_per_s
    return max(ms_floor, round(ms))


def core_sounds() -> dict[str, str]:
    """Asterisk's English core digits, name -> text (what SAY DIGITS and SAY NUMBER play)."""
    texts = {f"digits/{n}": word for n, word in enumerate(_CORE_WORDS)}
    texts |= {f"digits/{20 + 10 * n}": word for n, word in enumerate(_CORE_TENS)}
    texts |= {f"digits/{word}": word for word in ("hundred", "thousand", "million", "minus")}
    texts |= {"digits/star": "star", "digits/pound": "pound"}
    return texts


class SoundLibrary:
    """Sounds by language folder and name; `find` looks a name up as Asterisk does."""

    def __init__(self, sounds: Mapping[str, Mapping[str, Sound]]) -> None:
        for language, by_name in sounds.items():
            assert len(by_name) <= sounds_per_language_max, (language, len(by_name))
            assert all(s.language == language for s in by_name.values()), language
        self._sounds = {language: dict(by_name) for language, by_name in sounds.items()}

    @classmethod
    def from_texts(
        cls, texts: Mapping[str, Mapping[str, str]], *, core: bool = True
    ) -> SoundLibrary:
        """`{"zh": {"aircharge/topup.confirm.0": "为", ...}, "en": {...}}`: lengths estimated
        from the texts; `core` adds Asterisk's English core digits."""
        merged: dict[str, dict[str, str]] = {lang: dict(names) for lang, names in texts.items()}
        if core:
            english = merged.setdefault(FALLBACK_LANGUAGE, {})
            for name, text in core_sounds().items():
                english.setdefault(name, text)
        return cls(
            {
                language: {
                    name: Sound(name, language, text, estimate_ms(text))
                    for name, text in names.items()
                }
                for language, names in merged.items()
            }
        )

    @classmethod
    def load(cls, directory: Path | str, *, core: bool = True) -> SoundLibrary:
        """A prompt folder written by `aircharge prompts build DIR`: every
        `DIR/<lang>/<set>/prompts.json`, its names prefixed with `<set>/` as Asterisk sees
        them; a prompt without `ms` gets its length estimated from its text."""
        base = Path(directory)
        if not base.is_dir():
            raise FileNotFoundError(f"no prompt folder at {base}")
        library = cls.from_texts({}, core=core)
        for path in sorted(base.glob(f"*/*/{PROMPTS_FILE}")):
            language, prefix = path.parent.parent.name, path.parent.name
            for sound in _read_prompts(path, language, prefix):
                library._sounds.setdefault(language, {})[sound.name] = sound
        return library

    def find(self, name: str, language: str) -> Sound | None:
        """The sound Asterisk plays for `name` on a channel in `language`, None when missing."""
        for folder in (language, FALLBACK_LANGUAGE, NO_LANGUAGE):
            sound = self._sounds.get(folder, {}).get(name)
            if sound is not None:
                return sound
        return None

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._sounds))

    def names(self, language: str) -> Iterator[str]:
        """The names held in one language folder (without the fallbacks)."""
        return iter(sorted(self._sounds.get(language, {})))

    def __len__(self) -> int:
        return sum(len(by_name) for by_name in self._sounds.values())


def _read_prompts(path: Path, language: str, prefix: str) -> Iterator[Sound]:
    if path.stat().st_size > prompt_file_bytes_max:
        raise ValueError(f"{path}: larger than {prompt_file_bytes_max} bytes")
    document = json.loads(path.read_text(encoding="utf-8"))
    prompts = document.get("prompts") if isinstance(document, dict) else None
    if not isinstance(prompts, dict):
        raise ValueError(f"{path}: expected an object with a 'prompts' object")
    if len(prompts) > sounds_per_language_max:
        raise ValueError(f"{path}: more than {sounds_per_language_max} prompts")
    for name, entry in prompts.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
            raise ValueError(f"{path}: prompt {name!r} needs a 'text' string")
        text: str = entry["text"]
        ms = entry.get("ms")
        if ms is None:
            ms = estimate_ms(text)
        if not isinstance(ms, int) or isinstance(ms, bool) or ms <= 0:
            raise ValueError(f"{path}: prompt {name!r} has 'ms' {ms!r}, expected a positive int")
        yield Sound(f"{prefix}/{name}", language, text, ms)


__all__ = [
    "FALLBACK_LANGUAGE",
    "SAMPLES_PER_MS",
    "Sound",
    "SoundLibrary",
    "core_sounds",
    "estimate_ms",
]
