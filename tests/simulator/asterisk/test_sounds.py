from __future__ import annotations

import json
from pathlib import Path

import pytest

from simulator.asterisk import SoundLibrary, estimate_ms
from simulator.asterisk.say import digit_sounds, number_sounds


def test_lengths_are_estimated_from_the_text():
    assert estimate_ms("为") == 300  # the floor
    assert estimate_ms("请输入手机号码") == 1750  # 7 CJK characters at 4 a second
    assert estimate_ms("Top up " * 2) == 1000  # 14 other characters at 14 a second
    assert estimate_ms("充值50元") == 3 * 250 + round(2000 / 14)


def test_from_texts_finds_as_asterisk_does_language_then_en_then_missing():
    library = SoundLibrary.from_texts(
        {"zh": {"aircharge/a": "甲"}, "en": {"aircharge/a": "A", "aircharge/b": "B"}}
    )
    zh = library.find("aircharge/a", "zh")
    assert zh is not None
    assert (zh.text, zh.language, zh.ms, zh.samples) == ("甲", "zh", 300, 2400)
    fallback = library.find("aircharge/b", "zh")
    assert fallback is not None
    assert fallback.language == "en"
    assert library.find("aircharge/c", "zh") is None
    digit = library.find("digits/7", "zh")  # Asterisk's English core sounds are always there
    assert digit is not None
    assert digit.text == "seven"
    assert SoundLibrary.from_texts({}, core=False).find("digits/7", "en") is None


def test_load_reads_the_prompt_folder_of_aircharge_prompts_build(tmp_path: Path):
    for folder, language, prompts in [
        ("zh", "zh-CN", {"topup.confirm.0": {"text": "为", "ms": 420}}),
        ("en", "en", {"topup.confirm.0": {"text": "Top up"}}),
    ]:
        directory = tmp_path / folder / "aircharge"
        directory.mkdir(parents=True)
        document = {"language": language, "prompts": prompts}
        (directory / "prompts.json").write_text(json.dumps(document), encoding="utf-8")
    library = SoundLibrary.load(tmp_path)
    zh = library.find("aircharge/topup.confirm.0", "zh")
    en = library.find("aircharge/topup.confirm.0", "en")
    assert zh is not None
    assert en is not None
    assert (zh.text, zh.ms) == ("为", 420)
    assert (en.text, en.ms) == ("Top up", 429)  # no "ms": estimated
    assert library.languages == ("en", "zh")
    assert list(library.names("zh")) == ["aircharge/topup.confirm.0"]


def test_load_refuses_a_bad_prompt_file(tmp_path: Path):
    directory = tmp_path / "zh" / "aircharge"
    directory.mkdir(parents=True)
    (directory / "prompts.json").write_text('{"prompts": {"x": {"text": "a", "ms": 0}}}')
    with pytest.raises(ValueError, match="'ms' 0"):
        SoundLibrary.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        SoundLibrary.load(tmp_path / "nowhere")


def test_say_digits_and_say_number_play_asterisks_english_files():
    assert digit_sounds("1*#-x") == ["digits/1", "digits/star", "digits/pound", "digits/minus"]
    assert number_sounds(0) == ["digits/0"]
    assert number_sounds(15) == ["digits/15"]
    assert number_sounds(-123) == ["digits/minus", "digits/1", "digits/hundred", "digits/20",
                                   "digits/3"]  # fmt: skip
    assert number_sounds(2_000_019) == ["digits/2", "digits/million", "digits/19"]
    assert number_sounds(45_000) == ["digits/40", "digits/5", "digits/thousand"]
    assert number_sounds(10**9) is None
