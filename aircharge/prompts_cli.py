"""The `aircharge prompts build DIR` command: the IVR prompt set as 8 kHz WAV files for Asterisk.

What is built: for each language, `dialogs.render.ivr_speech.prompt_set` (the catalogue's
prompts and the spoken digits, numbers and letters), laid out as Asterisk looks for sounds,
`DIR/<Asterisk language>/aircharge/<name>.wav` (`zh` for zh-CN, `en` for en: agi_language
values; a name's `/` makes a sub-folder). Beside the files, `prompts.json`:
`{"language": "zh-CN", "prompts": {name: {"text": ..., "ms": ...}}}`, sorted, with each
file's duration read from the WAV; the Asterisk emulator and the terminal UI read it to show a
prompt's text while it plays. Copy `DIR/zh` and `DIR/en` into Asterisk's sounds directory.

How: espeak-ng synthesises each text (text on stdin, UTF-8), then sox converts its 22 050 Hz
output to 8 kHz mono 16-bit signed PCM, the format Asterisk plays without transcoding. Why sox:
22 050 → 8 000 Hz is not an integer ratio and needs a low-pass filter before decimation to keep
aliasing out of a telephone band; the stdlib has no resampler (`audioop` is deprecated and gone
in Python 3.13) and sox's `rate` effect is a well-tested one (Debian package `sox`).
The Mandarin voice is `cmn-latn-pinyin`: espeak-ng 1.51's `cmn` voice (Debian 12) reads the
pinyin of many characters with its English rules (零 → "ling two"); `cmn-latn-pinyin` reads
the same pinyin as Mandarin, and still says a lone Latin capital by its letter name.

Incremental: a prompt whose WAV exists and whose text equals the previous manifest's is kept
(`--force` rebuilds all); WAV files of prompts no longer in the set are removed. `--only`
limits what is synthesised to names matching shell patterns (`num/*`); prompts outside it stay
as they are when up to date, and are removed when their text changed. Synthesis runs in at most
`synthesis_jobs_max` parallel subprocesses. The manifest is written even after a failure, so it
always lists exactly the files that speak their current text.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.render.ivr_speech import ASTERISK_LANGUAGES, PROMPT_FOLDER, prompt_set, silence_ms

ESPEAK: Final = "espeak-ng"
SOX: Final = "sox"
ESPEAK_VOICES: Final[Mapping[str, str]] = {"zh-CN": "cmn-latn-pinyin", "en": "en"}
MANIFEST: Final = "prompts.json"
SOUND_SUFFIX: Final = ".wav"
sample_rate_hz: Final = 8000
sample_width_bytes: Final = 2  # 16-bit signed PCM
channels_count: Final = 1
synthesis_jobs_max: Final = 4  # parallel espeak-ng/sox pipelines
synthesis_jobs_default: Final = max(1, min(synthesis_jobs_max, os.cpu_count() or 1))
synthesis_timeout_s: Final = 60  # one tool on one prompt
PROG: Final = "aircharge prompts build"

assert set(ESPEAK_VOICES) == set(LANGUAGES), "an espeak-ng voice for each catalogue language"

Progress = Callable[[str], None]


class BuildError(Exception):
    """The build cannot go on; the message names the prompt, the tool or the path."""


@dataclass(frozen=True, slots=True)
class Tools:
    espeak: str
    sox: str


@dataclass(slots=True)
class LanguageReport:
    language: str
    built: int = 0
    kept: int = 0
    removed: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Plan:
    """What one language's build does: synthesise `build`, keep `keep`, delete `remove`."""

    build: tuple[str, ...]
    keep: Mapping[str, Mapping[str, object]]  # name -> its previous manifest entry
    remove: tuple[str, ...]  # names of WAV files to delete


def add_prompts_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    prompts = commands.add_parser("prompts", help="the IVR prompt sound files")
    actions = prompts.add_subparsers(
        dest="prompts_command", required=True, metavar="PROMPTS_COMMAND"
    )
    build = actions.add_parser(
        "build", help="synthesise the IVR prompts (zh, en) as 8 kHz WAV with espeak-ng and sox"
    )
    build.add_argument(
        "dir", type=Path, metavar="DIR", help="output folder; DIR/zh and DIR/en go to Asterisk"
    )
    build.add_argument(
        "--lang",
        type=_languages,
        default=LANGUAGES,
        help="comma-separated languages: zh (or zh-CN), en (default: zh,en)",
    )
    build.add_argument("--force", action="store_true", help="rebuild every prompt")
    build.add_argument(
        "--only",
        type=_patterns,
        default=None,
        metavar="PATTERNS",
        help="synthesise only prompts whose name matches these comma-separated shell patterns",
    )
    build.add_argument(
        "--jobs",
        type=_jobs,
        default=synthesis_jobs_default,
        help=f"parallel syntheses, 1 to {synthesis_jobs_max} (default {synthesis_jobs_default})",
    )


def _languages(value: str) -> tuple[str, ...]:
    by_name = {asterisk: lang for lang, asterisk in ASTERISK_LANGUAGES.items()}
    by_name |= {lang: lang for lang in LANGUAGES}
    chosen: list[str] = []
    for name in (part.strip() for part in value.split(",")):
        if name not in by_name:
            raise argparse.ArgumentTypeError(f"unknown language {name!r}; use zh, en")
        if by_name[name] not in chosen:
            chosen.append(by_name[name])
    return tuple(chosen)


def _patterns(value: str) -> tuple[str, ...]:
    patterns = tuple(part.strip() for part in value.split(",") if part.strip())
    if not patterns:
        raise argparse.ArgumentTypeError("no pattern given")
    return patterns


def _jobs(value: str) -> int:
    jobs = int(value)
    if not 1 <= jobs <= synthesis_jobs_max:
        raise argparse.ArgumentTypeError(f"between 1 and {synthesis_jobs_max}")
    return jobs


def run_prompts(args: argparse.Namespace) -> int:
    assert args.prompts_command == "build", args.prompts_command
    try:
        tools = find_tools()
    except BuildError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    catalogue = Catalogue.load()
    reports: list[LanguageReport] = []
    progress = ProgressPrinter()
    try:
        for language in args.lang:
            texts = prompt_set(catalogue, language)
            report = build_language(
                args.dir, language, texts, tools,
                force=args.force, only=args.only, jobs=args.jobs, progress=progress,
            )  # fmt: skip
            progress.finish()
            reports.append(report)
            if report.failures:
                break
    except BuildError as exc:
        progress.finish()
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    print(_summary(args.dir, reports, time.monotonic() - started))
    for report in reports:
        for failure in report.failures:
            print(f"{PROG}: {failure}", file=sys.stderr)
    return 1 if any(report.failures for report in reports) else 0


def find_tools() -> Tools:
    """espeak-ng and sox from PATH, or one error naming the Debian packages to install."""
    espeak, sox = shutil.which(ESPEAK), shutil.which(SOX)
    missing = [name for name, path in ((ESPEAK, espeak), (SOX, sox)) if path is None]
    if espeak is None or sox is None:
        packages = " ".join(missing)
        raise BuildError(
            f"needs {' and '.join(missing)}, not found on PATH (Debian: apt-get install {packages})"
        )
    return Tools(espeak, sox)


def _summary(directory: Path, reports: Sequence[LanguageReport], seconds: float) -> str:
    parts = [
        f"{ASTERISK_LANGUAGES[r.language]} {r.built} built, {r.kept} kept, {r.removed} removed"
        for r in reports
    ]
    return f"prompts build: {'; '.join(parts)} in {seconds:.1f} s → {directory}"


class ProgressPrinter:
    """Progress lines on stderr; on a terminal each line replaces the previous one."""

    def __init__(self) -> None:
        self._overwrite = sys.stderr.isatty()
        self._open = False

    def __call__(self, line: str) -> None:
        if self._overwrite:
            print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)
            self._open = True
        else:
            print(line, file=sys.stderr, flush=True)

    def finish(self) -> None:
        """End an overwritten line, so what follows starts on its own."""
        if self._open:
            print(file=sys.stderr, flush=True)
            self._open = False


def language_root(directory: Path, language: str) -> Path:
    """Where a language's prompt files go: DIR/<Asterisk language>/aircharge."""
    return directory / ASTERISK_LANGUAGES[language] / PROMPT_FOLDER


def plan(
    texts: Mapping[str, str],
    previous: Mapping[str, Mapping[str, object]],
    existing: frozenset[str],
    *,
    force: bool,
    only: Sequence[str] | None,
) -> Plan:
    """What to synthesise, keep and delete (pure): `previous` is the old manifest's prompts,
    `existing` the names that have a WAV file."""
    build: list[str] = []
    keep: dict[str, Mapping[str, object]] = {}
    remove: list[str] = sorted(existing - texts.keys())
    for name, text in texts.items():
        entry = previous.get(name, {})
        current = (
            name in existing and entry.get("text") == text and isinstance(entry.get("ms"), int)
        )
        selected = only is None or any(fnmatch.fnmatchcase(name, pattern) for pattern in only)
        if selected and (force or not current):
            build.append(name)
        elif current:
            keep[name] = entry
        elif name in existing:
            remove.append(name)  # outside --only and out of date: it would say an old text
    return Plan(tuple(build), keep, tuple(sorted(remove)))


def build_language(
    directory: Path,
    language: str,
    texts: Mapping[str, str],
    tools: Tools,
    *,
    force: bool = False,
    only: Sequence[str] | None = None,
    jobs: int = synthesis_jobs_default,
    progress: Progress | None = None,
) -> LanguageReport:
    """Build one language's prompt files and manifest under `directory` (module docstring)."""
    assert 1 <= jobs <= synthesis_jobs_max, jobs
    root = language_root(directory, language)
    _make_writable_folder(root)
    manifest = root / MANIFEST
    todo = plan(texts, _read_manifest(manifest), _existing(root), force=force, only=only)
    report = LanguageReport(language, kept=len(todo.keep))
    for name in todo.remove:
        _remove(root, name)
        report.removed += 1
    _remove_empty_folders(root)
    entries: dict[str, Mapping[str, object]] = dict(todo.keep)
    try:
        with tempfile.TemporaryDirectory(prefix=".build-", dir=root.parent) as scratch:
            synthesise = _synthesiser(tools, ESPEAK_VOICES[language], root, Path(scratch))
            _run_jobs(todo.build, texts, synthesise, jobs, report, entries, progress)
    finally:
        _write_manifest(manifest, language, entries)
    report.built = len(entries) - report.kept
    return report


def _run_jobs(
    names: Sequence[str],
    texts: Mapping[str, str],
    synthesise: Callable[[int, str, str], int],
    jobs: int,
    report: LanguageReport,
    entries: dict[str, Mapping[str, object]],
    progress: Progress | None,
) -> None:
    """Synthesise `names` in at most `jobs` threads, each waiting on its own subprocesses; the
    first failure (or Ctrl-C) cancels what has not started, and what has started finishes."""
    label = ASTERISK_LANGUAGES[report.language]
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="prompts") as pool:
        futures: dict[Future[int], str] = {
            pool.submit(synthesise, index, name, texts[name]): name
            for index, name in enumerate(names)
        }
        try:
            _collect(futures, texts, report, entries, progress, label)
        finally:
            for future in futures:
                future.cancel()


def _collect(
    futures: Mapping[Future[int], str],
    texts: Mapping[str, str],
    report: LanguageReport,
    entries: dict[str, Mapping[str, object]],
    progress: Progress | None,
    label: str,
) -> None:
    done = 0
    for future in as_completed(futures):
        if future.cancelled():
            continue
        name = futures[future]
        try:
            ms = future.result()
        except BuildError as exc:
            report.failures.append(f"{label}: {exc}")
            for pending in futures:
                pending.cancel()
            continue
        entries[name] = {"text": texts[name], "ms": ms}
        done += 1
        if progress is not None:
            progress(f"{label}: {done}/{len(futures)} {name}")


def _synthesiser(
    tools: Tools, voice: str, root: Path, scratch: Path
) -> Callable[[int, str, str], int]:
    def synthesise(index: int, name: str, text: str) -> int:
        """espeak-ng to a scratch WAV, sox to 8 kHz, moved into place; its duration in ms.
        An empty text (the silence GET DATA plays) is written as silence, not synthesised."""
        raw, converted = scratch / f"{index}.raw.wav", scratch / f"{index}.wav"
        if not text:
            _write_silence(converted)
            return _place(name, converted, root)
        _tool(name, text, [tools.espeak, "-v", voice, "-b", "1", "-w", str(raw), "--stdin"], text)
        _tool(name, text, [
            tools.sox, "-V1", str(raw),
            "-r", str(sample_rate_hz), "-c", str(channels_count),
            "-b", str(8 * sample_width_bytes), "-e", "signed-integer", str(converted),
        ])  # fmt: skip
        raw.unlink(missing_ok=True)
        return _place(name, converted, root)

    return synthesise


def _write_silence(path: Path) -> None:
    with wave.open(str(path), "wb") as sound:
        sound.setnchannels(channels_count)
        sound.setsampwidth(sample_width_bytes)
        sound.setframerate(sample_rate_hz)
        frames = sample_rate_hz * silence_ms // 1000
        sound.writeframes(b"\0" * frames * sample_width_bytes * channels_count)


def _place(name: str, converted: Path, root: Path) -> int:
    """Check the converted WAV, move it to its name under `root`; its duration in ms."""
    ms = _duration_ms(name, converted)
    target = root / f"{name}{SOUND_SUFFIX}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(converted, target)
    except OSError as exc:
        raise BuildError(f"{name}: cannot write {target}: {exc.strerror or exc}") from exc
    return ms


def _tool(name: str, text: str, command: list[str], stdin: str = "") -> None:
    tool = Path(command[0]).name
    try:
        completed = subprocess.run(  # noqa: S603 - our tools, found on PATH; text on stdin
            command, input=stdin.encode(), capture_output=True, timeout=synthesis_timeout_s,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise BuildError(f"{name} ({text!r}): {tool} took over {synthesis_timeout_s} s") from exc
    except OSError as exc:
        raise BuildError(f"{name} ({text!r}): cannot run {tool}: {exc}") from exc
    if completed.returncode != 0:
        stderr = completed.stderr.decode(errors="replace").strip() or "(no message)"
        raise BuildError(
            f"{name} ({text!r}): {tool} failed with exit status {completed.returncode}: {stderr}"
        )


def _duration_ms(name: str, path: Path) -> int:
    """The WAV's duration, after checking it is what Asterisk wants."""
    try:
        with wave.open(str(path), "rb") as sound:
            params = sound.getparams()
    except (OSError, EOFError, wave.Error) as exc:
        raise BuildError(f"{name}: unreadable WAV from {SOX}: {exc}") from exc
    shape = (params.framerate, params.nchannels, params.sampwidth)
    if shape != (sample_rate_hz, channels_count, sample_width_bytes) or params.nframes == 0:
        raise BuildError(f"{name}: {SOX} wrote {shape} with {params.nframes} frames")
    return round(params.nframes * 1000 / params.framerate)


def _make_writable_folder(root: Path) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise BuildError(f"cannot write to {root}: {exc.strerror or exc}") from exc


def _existing(root: Path) -> frozenset[str]:
    """The names of the WAV files under `root` (`num/5` for root/num/5.wav)."""
    return frozenset(
        path.relative_to(root).with_suffix("").as_posix()
        for path in root.rglob(f"*{SOUND_SUFFIX}")
        if path.is_file()
    )


def _remove(root: Path, name: str) -> None:
    path = root / f"{name}{SOUND_SUFFIX}"
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise BuildError(f"cannot remove the stale {path}: {exc.strerror or exc}") from exc


def _remove_empty_folders(root: Path) -> None:
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()


def _read_manifest(path: Path) -> dict[str, Mapping[str, object]]:
    """The previous build's prompts; nothing (a full build) when absent or unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        print(f"{PROG}: ignoring {path} ({exc}); rebuilding its prompts", file=sys.stderr)
        return {}
    prompts = document.get("prompts") if isinstance(document, dict) else None
    if not isinstance(prompts, dict):
        return {}
    return {name: entry for name, entry in prompts.items() if isinstance(entry, dict)}


def _write_manifest(path: Path, language: str, entries: Mapping[str, Mapping[str, object]]) -> None:
    document = {"language": language, "prompts": dict(sorted(entries.items()))}
    text = json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    scratch = path.with_name(f".{path.name}.tmp")
    try:
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, path)
    except OSError as exc:
        raise BuildError(f"cannot write {path}: {exc.strerror or exc}") from exc
