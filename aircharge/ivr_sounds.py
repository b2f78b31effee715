"""The platform's prompt set as the Asterisk emulator plays it (demo, tests, `bench ivr`).

The emulator may not read the platform's catalogue (it reaches the platform only over AGI),
so the composition root hands it the prompts as data: a folder built by `aircharge prompts
build` when there is one (real durations), else every prompt's text with its length estimated
as `dialogs.render.ivr_speech.estimated_ms` does.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.render.ivr_speech import (
    PROMPT_FOLDER,
    SILENCE_SOUND,
    asterisk_language,
    estimated_ms,
    prompt_set,
    silence_ms,
)
from simulator.asterisk.sounds import Sound, SoundLibrary


def platform_sounds(catalogue: Catalogue, built: Path | None = None) -> SoundLibrary:
    """Every platform prompt in every language, under `aircharge/<name>` as STREAM FILE
    names it; from `built` (an `aircharge prompts build` folder) when given."""
    if built is not None:
        return SoundLibrary.load(built)
    sounds: dict[str, dict[str, Sound]] = {}
    for language in LANGUAGES:
        folder = asterisk_language(language)
        named = sounds.setdefault(folder, {})
        for name, text in prompt_set(catalogue, language).items():
            ms = silence_ms if name == SILENCE_SOUND else estimated_ms(text, language)
            full = f"{PROMPT_FOLDER}/{name}"
            named[full] = Sound(full, folder, text, ms)
    return SoundLibrary(sounds)


__all__ = ["platform_sounds"]
