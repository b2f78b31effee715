"""The service SIMs the simulator's handsets can hold: which number has one, and the menu
program its card runs.

A real agent gets a card personalised by the operator; here a phone whose number has a SIM
profile (`aircharge stk provision --out`, or the profiles `aircharge demo` writes) gets an
emulated card running the agent program compiled in the profile's language. The composition
root compiles the program (the simulator never imports the compiler: it would reach into the
platform's flows) and hands over the bytes, one program per language.

Profiles are looked up when a phone is created, in the profile directory:
`<directory>/<msisdn>.json` (the international number, as `aircharge demo` names them), else
any `*.json` there whose `msisdn` is the number (a profile written under another name). The
card writes its counter back to that file before each answer SMS leaves, so the counter
survives a restart of the simulator. A test may `provision` a profile in memory instead; its
counter is then kept here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from channels.stk.program import Program, load_program
from simulator.stk.card import SimCard
from simulator.stk.profile import ProfileError, SimProfile, load_profile, save_profile

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE: Final = "zh-CN"
profiles_scanned_max: Final = 1_000  # files looked at for a profile under another name


class SimStore:
    """Programs by language, and the profiles of the SIMs the handsets may hold."""

    def __init__(self, programs: Mapping[str, bytes], directory: Path | None = None) -> None:
        if not programs:
            raise ValueError("a SIM store needs the menu program in at least one language")
        self.programs: dict[str, Program] = {
            language: load_program(data) for language, data in programs.items()
        }
        self.directory = directory
        self._provisioned: dict[str, SimProfile] = {}

    def provision(self, profile: SimProfile) -> None:
        """A SIM for `profile.msisdn` kept in memory (tests): the next phone created for that
        number holds it."""
        self._provisioned[profile.msisdn] = profile

    def program(self, language: str) -> Program:
        """The program in `language`, else in Chinese, else the one there is."""
        for wanted in (language, DEFAULT_LANGUAGE):
            if wanted in self.programs:
                return self.programs[wanted]
        return next(iter(self.programs.values()))

    def card(self, msisdn: str) -> SimCard | None:
        """A card for the number (international digits, `8613800000003`), or None when it
        has no SIM profile."""
        profile = self._provisioned.get(msisdn)
        if profile is not None:
            return SimCard(self.program(profile.language), profile, self._keep)
        path = self._profile_path(msisdn)
        if path is None:
            return None
        try:
            profile = load_profile(path)
        except ProfileError as exc:
            log.warning("SIM profile %s not used: %s", path, exc)
            return None
        return SimCard(self.program(profile.language), profile, lambda p: save_profile(path, p))

    def where(self, msisdn: str) -> str:
        """Where a profile for `msisdn` is looked for, for a "no SIM" line."""
        if self.directory is None:
            return "no SIM profiles in this simulator"
        return f"no profile for {msisdn} in {self.directory}"

    def _keep(self, profile: SimProfile) -> None:
        self._provisioned[profile.msisdn] = profile

    def _profile_path(self, msisdn: str) -> Path | None:
        directory = self.directory
        if directory is None or not directory.is_dir():
            return None
        named = directory / f"{msisdn}.json"
        if named.is_file():
            return named
        for index, path in enumerate(sorted(directory.glob("*.json"))):
            if index >= profiles_scanned_max:
                break
            try:
                if load_profile(path).msisdn == msisdn:
                    return path
            except ProfileError:
                continue
        return None


__all__ = ["SimStore"]
