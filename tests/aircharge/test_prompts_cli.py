"""`aircharge prompts build DIR`: real syntheses with espeak-ng and sox (a handful of prompts
through `--only`), checked with the stdlib `wave` module; incremental rebuilds; and the errors
an operator meets (missing tools, a failing synthesis, a folder that cannot be written), with
stand-in tools on PATH where the real ones are not needed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import wave
from fnmatch import fnmatchcase
from pathlib import Path

import pytest

from aircharge.cli import main
from aircharge.prompts_cli import plan
from dialogs.catalogue import Catalogue
from dialogs.render.ivr_speech import prompt_set

CATALOGUE = Catalogue.load()
ONLY = "num/1*,num/yao,num/point,topup.confirm.*,silence"  # a handful of prompts, in both languages


def require_tools() -> None:
    """Skip without espeak-ng and sox on a developer machine; fail in CI."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{' and '.join(missing)} required in CI (.ci/ensure-packages installs them)")
    pytest.skip(f"{' and '.join(missing)} not installed")


def build(*args: str) -> int:
    with pytest.raises(SystemExit) as exited:
        main(["prompts", "build", *args])
    assert isinstance(exited.value.code, int)
    return exited.value.code


def selected(language: str, only: str = ONLY) -> dict[str, str]:
    texts = prompt_set(CATALOGUE, language)
    patterns = only.split(",")
    return {k: v for k, v in texts.items() if any(fnmatchcase(k, p) for p in patterns)}


def manifest(directory: Path, folder: str) -> dict[str, object]:
    document = json.loads((directory / folder / "aircharge" / "prompts.json").read_text("utf-8"))
    assert isinstance(document, dict)
    return document


def test_builds_8khz_wavs_and_a_manifest_per_language(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tools()
    assert build(str(tmp_path), "--only", ONLY) == 0
    out, err = capsys.readouterr()
    counts = {
        folder: len(selected(language)) for language, folder in (("zh-CN", "zh"), ("en", "en"))
    }
    assert out.startswith(
        f"prompts build: zh {counts['zh']} built, 0 kept, 0 removed;"
        f" en {counts['en']} built, 0 kept, 0 removed in "
    )
    assert out.endswith(f" s → {tmp_path}\n")
    assert "zh: 1/" in err
    assert "en: 1/" in err
    for language, folder in (("zh-CN", "zh"), ("en", "en")):
        expected = selected(language)
        assert "num/1" in expected
        assert "topup.confirm.0" in expected
        assert ("num/yao" in expected) == (language == "zh-CN")
        document = manifest(tmp_path, folder)
        assert document["language"] == language
        prompts = document["prompts"]
        assert isinstance(prompts, dict)
        assert list(prompts) == sorted(expected)
        for name, text in expected.items():
            wav = tmp_path / folder / "aircharge" / f"{name}.wav"
            with wave.open(str(wav), "rb") as sound:
                assert sound.getframerate() == 8000
                assert sound.getnchannels() == 1
                assert sound.getsampwidth() == 2
                frames = sound.getnframes()
            assert frames > 0
            assert prompts[name] == {"text": text, "ms": round(frames * 1000 / 8000)}
            assert 100 <= prompts[name]["ms"] < 10_000
        with wave.open(str(tmp_path / folder / "aircharge" / "silence.wav"), "rb") as sound:
            assert set(sound.readframes(sound.getnframes())) == {0}, "silence, not speech"
        assert prompts["silence"] == {"text": "", "ms": 100}
    assert (tmp_path / "zh" / "aircharge" / "num" / "yao.wav").is_file()
    assert not (tmp_path / "en" / "aircharge" / "num" / "yao.wav").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["en", "zh"], "no scratch left behind"


def test_a_rebuild_keeps_what_is_current_and_redoes_a_changed_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_tools()
    root = tmp_path / "zh" / "aircharge"
    assert build(str(tmp_path), "--lang", "zh", "--only", "num/1*") == 0
    built = sorted(selected("zh-CN", "num/1*"))
    assert built == ["num/1", "num/10", "num/100", "num/1000", "num/10000", "num/1e8"]
    past = 1_000_000_000  # 2001: any rewrite after this shows
    for name in built:
        os.utime(root / f"{name}.wav", (past, past))
    document = manifest(tmp_path, "zh")
    prompts = document["prompts"]
    assert isinstance(prompts, dict)
    prompts["num/10"]["text"] = "an older text"
    (root / "prompts.json").write_text(json.dumps(document), encoding="utf-8")
    (root / "gone").mkdir()
    (root / "gone" / "old.wav").write_bytes(b"RIFF")
    capsys.readouterr()

    assert build(str(tmp_path), "--lang", "zh", "--only", "num/1*") == 0
    out = capsys.readouterr().out
    assert f"zh 1 built, {len(built) - 1} kept, 1 removed" in out
    mtimes = {name: (root / f"{name}.wav").stat().st_mtime for name in built}
    assert mtimes.pop("num/10") > past
    assert set(mtimes.values()) == {past}
    assert manifest(tmp_path, "zh")["prompts"]["num/10"]["text"] == "十"  # type: ignore[index]
    assert not (root / "gone").exists()

    assert build(str(tmp_path), "--lang", "zh-CN", "--only", "num/1*", "--force") == 0
    assert f"zh {len(built)} built, 0 kept, 0 removed" in capsys.readouterr().out
    assert all((root / f"{name}.wav").stat().st_mtime > past for name in built)


def test_only_keeps_current_prompts_outside_it_and_drops_out_of_date_ones() -> None:
    texts = {"a.0": "A", "b.0": "B", "c.0": "C", "d.0": "D"}
    previous: dict[str, dict[str, object]] = {
        "a.0": {"text": "A", "ms": 10},
        "b.0": {"text": "old", "ms": 10},
        "c.0": {"text": "C", "ms": 10},
        "x.0": {"text": "X", "ms": 10},
    }
    existing = frozenset({"a.0", "b.0", "x.0", "y/z"})  # c.0's file is gone
    todo = plan(texts, previous, existing, force=False, only=["d.*"])
    assert todo.build == ("d.0",)
    assert set(todo.keep) == {"a.0"}
    assert todo.remove == ("b.0", "x.0", "y/z")
    everything = plan(texts, previous, existing, force=False, only=None)
    assert everything.build == ("b.0", "c.0", "d.0")
    assert set(everything.keep) == {"a.0"}
    assert everything.remove == ("x.0", "y/z")
    forced = plan(texts, previous, existing, force=True, only=None)
    assert forced.build == ("a.0", "b.0", "c.0", "d.0")
    assert forced.keep == {}


def stand_in(folder: Path, name: str, script: str) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.parametrize(
    ("present", "named"),
    [((), "espeak-ng and sox"), (("espeak-ng",), "sox"), (("sox",), "espeak-ng")],
)
def test_missing_tools_say_which_debian_package_to_install(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    present: tuple[str, ...],
    named: str,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in present:
        stand_in(bin_dir, tool, "exit 0")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert build(str(tmp_path / "out")) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"aircharge prompts build: needs {named}, not found on PATH"
        f" (Debian: apt-get install {named.replace(' and ', ' ')})\n"
    )
    assert not (tmp_path / "out").exists()


def test_a_failing_synthesis_names_the_prompt_and_the_tool_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "espeak-ng", "echo 'Error: voice is broken' >&2; exit 3")
    stand_in(bin_dir, "sox", "exit 0")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert build(str(tmp_path / "out"), "--lang", "zh", "--only", "num/yao", "--jobs", "1") == 1
    err = capsys.readouterr().err
    assert (
        "aircharge prompts build: zh: num/yao ('幺'): espeak-ng failed with exit status 3:"
        " Error: voice is broken\n"
    ) in err
    document = manifest(tmp_path / "out", "zh")
    assert document == {"language": "zh-CN", "prompts": {}}, "nothing listed that was not built"


def test_a_folder_that_cannot_be_written_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    stand_in(bin_dir, "espeak-ng", "exit 0")
    stand_in(bin_dir, "sox", "exit 0")
    monkeypatch.setenv("PATH", str(bin_dir))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    assert build(str(blocker)) == 1
    err = capsys.readouterr().err
    assert (
        err == f"aircharge prompts build: cannot write to {blocker}/zh/aircharge: Not a directory\n"
    )


def test_an_unknown_language_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert build("out", "--lang", "zh,fr") == 2
    assert "unknown language 'fr'; use zh, en" in capsys.readouterr().err
