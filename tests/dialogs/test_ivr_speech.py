"""Spoken numbers, digits, amounts and spelled text of the IVR: tables of readings written by
hand in both languages (Mandarin amounts with their unit in 元, 角 and 分), the sound table's
closure (every sound said exists), and properties over many numbers: a small reader turns the
spoken words back into the number or the amount.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.catalogue import Catalogue
from dialogs.events import Event
from dialogs.render.ivr import (
    PromptItem,
    SayAmount,
    SayDigits,
    SayNumber,
    Sound,
    Speak,
    prompt_texts,
    render_ivr,
)
from dialogs.render.ivr_speech import (
    PROMPT_FOLDER,
    SILENCE_SOUND,
    asterisk_language,
    estimated_ms,
    number_max,
    prompt_set,
    sounds,
    speech_lead_ms,
    speech_ms_min,
    speech_texts,
)
from tests.dialogs.strategies import events

CATALOGUE = Catalogue.load()
LANGUAGES = ("zh-CN", "en")
TEXTS = {language: speech_texts(language) for language in LANGUAGES}
NAME = re.compile(r"[a-z0-9]+(?:/[a-z0-9]+)*")


def said(item: PromptItem, language: str) -> str:
    """The item's sounds as their texts: joined in Mandarin, spaced in English."""
    words = [TEXTS[language][name] for name in sounds(item, language)]
    return ("" if language == "zh-CN" else " ").join(words)


NUMBERS = [
    (0, "零", "zero"),
    (2, "两", "two"),
    (7, "七", "seven"),
    (10, "十", "ten"),
    (11, "十一", "eleven"),
    (12, "十二", "twelve"),
    (20, "二十", "twenty"),
    (22, "二十二", "twenty two"),
    (99, "九十九", "ninety nine"),
    (100, "一百", "one hundred"),
    (101, "一百零一", "one hundred one"),
    (110, "一百一十", "one hundred ten"),
    (200, "两百", "two hundred"),
    (212, "两百一十二", "two hundred twelve"),
    (1000, "一千", "one thousand"),
    (1005, "一千零五", "one thousand five"),
    (1050, "一千零五十", "one thousand fifty"),
    (2200, "两千两百", "two thousand two hundred"),
    (10050, "一万零五十", "ten thousand fifty"),
    (20000, "两万", "twenty thousand"),
    (22000, "两万两千", "twenty two thousand"),
    (100000, "十万", "one hundred thousand"),
    (105000, "十万五千", "one hundred five thousand"),
    (120000, "十二万", "one hundred twenty thousand"),
    (100010, "十万零一十", "one hundred thousand ten"),
    (1020000, "一百零二万", "one million twenty thousand"),
    (
        123456789,
        "一亿两千三百四十五万六千七百八十九",
        "one hundred twenty three million four hundred fifty six thousand"
        " seven hundred eighty nine",
    ),
    (100000001, "一亿零一", "one hundred million one"),
    (100010000, "一亿零一万", "one hundred million ten thousand"),
    (200000000, "两亿", "two hundred million"),
    (1000000000, "十亿", "one billion"),
    (
        number_max,
        "九千九百九十九亿九千九百九十九万九千九百九十九",
        "nine hundred ninety nine billion nine hundred ninety nine million"
        " nine hundred ninety nine thousand nine hundred ninety nine",
    ),
    (number_max + 1, "一" + "零" * 12, "one" + " zero" * 12),  # said digit by digit
    (-1, "负一", "minus one"),
    (-2, "负二", "minus two"),
    (-15, "负十五", "minus fifteen"),
    (-10050, "负一万零五十", "minus ten thousand fifty"),
]


@pytest.mark.parametrize(("value", "zh", "en"), NUMBERS)
def test_numbers_are_read_as_numbers(value: int, zh: str, en: str) -> None:
    assert said(SayNumber(value), "zh-CN") == zh
    assert said(SayNumber(value), "en") == en


AMOUNTS = [
    (5000, "五十", "fifty"),
    (5050, "五十点五", "fifty point five"),
    (5005, "五十点零五", "fifty point zero five"),
    (5055, "五十点五五", "fifty point five five"),
    (1, "零点零一", "zero point zero one"),
    (10, "零点一", "zero point one"),
    (0, "零", "zero"),
    (200, "两", "two"),  # 两元
    (250, "二点五", "two point five"),  # a decimal reading says 二
    (-250, "负二点五", "minus two point five"),
    (-5000, "负五十", "minus fifty"),
    (1000000, "一万", "ten thousand"),
    (
        1234567,
        "一万两千三百四十五点六七",
        "twelve thousand three hundred forty five point six seven",
    ),
]


@pytest.mark.parametrize(("fen", "zh", "en"), AMOUNTS)
def test_amounts_are_yuan_then_point_and_decimals_without_the_unit(
    fen: int, zh: str, en: str
) -> None:
    assert said(SayAmount(fen), "zh-CN") == zh
    assert said(SayAmount(fen), "en") == en


AMOUNTS_WITH_UNIT = [
    (5000, "五十元"),
    (5050, "五十元五角"),
    (5055, "五十元五角五分"),
    (5005, "五十元零五分"),
    (50, "五角"),
    (5, "五分"),
    (55, "五角五分"),
    (0, "零元"),
    (1, "一分"),
    (10, "一角"),
    (100, "一元"),
    (105, "一元零五分"),
    (1000, "十元"),  # a leading 一十 is said 十, as in numbers
    (1505, "十五元零五分"),
    (2, "两分"),  # a 2 before its unit is 两
    (20, "两角"),
    (200, "两元"),
    (222, "两元两角两分"),
    (2000, "二十元"),  # inside the yuan, the number rules: 二 before 十
    (20200, "两百零二元"),
    (120000, "一千两百元"),
    (3000, "三十元"),
    (1000000, "一万元"),
    (10000500, "十万零五元"),
    (-250, "负两元五角"),
    (-5, "负五分"),
    (-5005, "负五十元零五分"),
    (1234567, "一万两千三百四十五元六角七分"),
]


@pytest.mark.parametrize(("fen", "zh"), AMOUNTS_WITH_UNIT)
def test_mandarin_amounts_with_their_unit_are_yuan_jiao_and_fen(fen: int, zh: str) -> None:
    assert said(SayAmount(fen, unit=True), "zh-CN") == zh


def test_english_never_says_a_unit_and_falls_back_to_the_decimal_reading() -> None:
    for fen, _, en in AMOUNTS:
        assert said(SayAmount(fen, unit=True), "en") == en
    assert sounds(SayAmount(5050, unit=True), "zh-CN") == (
        "num/5", "num/10", "num/yuan", "num/5", "num/jiao",
    )  # fmt: skip


def test_phone_numbers_say_yao_for_one_in_mandarin_only() -> None:
    phone = SayDigits("13900000001", telephone=True)
    assert sounds(phone, "zh-CN") == (
        "num/yao", "num/3", "num/9", *["num/0"] * 7, "num/yao",
    )  # fmt: skip
    assert said(phone, "zh-CN") == "幺三九零零零零零零零幺"
    assert said(phone, "en") == "one three nine zero zero zero zero zero zero zero one"
    assert said(SayDigits("0123456789", telephone=True), "zh-CN") == "零幺二三四五六七八九"


def test_codes_and_menu_keys_say_one_for_one() -> None:
    assert said(SayDigits("1", telephone=False), "zh-CN") == "一"
    assert said(SayDigits("2", telephone=False), "zh-CN") == "二"  # a key is a digit, not 两
    assert said(SayDigits("123456", telephone=False), "zh-CN") == "一二三四五六"
    assert said(SayDigits("120", telephone=False), "en") == "one two zero"


def test_a_sound_is_its_own_file_in_every_language() -> None:
    for language in (*LANGUAGES, "fr"):
        assert sounds(Sound("topup.confirm.0"), language) == ("topup.confirm.0",)


def test_free_text_is_spelled_letters_and_digits_and_skips_the_rest() -> None:
    reference = Speak("AC25-01 x中!", "en")
    assert sounds(reference, "en") == (
        "letter/a", "letter/c", "num/2", "num/5", "num/0", "num/1", "letter/x",
    )  # fmt: skip
    assert said(reference, "zh-CN") == "AC二五零一X"
    assert said(reference, "en") == "A C two five zero one X"
    assert sounds(Speak("充值", "zh-CN"), "zh-CN") == ()


def test_an_unknown_language_reads_the_default_one() -> None:
    for item in (
        SayNumber(12),
        SayDigits("1", telephone=True),
        SayAmount(5050),
        SayAmount(5050, unit=True),
    ):
        assert sounds(item, "fr") == sounds(item, "zh-CN")
    assert speech_texts("fr") == speech_texts("zh-CN")
    assert asterisk_language("fr") == "zh"


def test_asterisk_languages_and_folder() -> None:
    assert asterisk_language("zh-CN") == "zh"
    assert asterisk_language("en") == "en"
    assert PROMPT_FOLDER == "aircharge"


def test_speech_sound_names_and_texts() -> None:
    assert TEXTS["zh-CN"]["num/yao"] == "幺"
    assert TEXTS["zh-CN"]["num/1"] == "一"
    assert TEXTS["zh-CN"]["num/1e8"] == "亿"
    assert TEXTS["en"]["num/point"] == "point"
    assert TEXTS["en"]["num/minus"] == "minus"
    assert [TEXTS["zh-CN"][f"num/{unit}"] for unit in ("yuan", "jiao", "fen")] == ["元", "角", "分"]
    assert "num/yao" not in TEXTS["en"]
    assert "num/yuan" not in TEXTS["en"]
    assert "num/hundred" not in TEXTS["zh-CN"]
    for language in LANGUAGES:
        for name, text in TEXTS[language].items():
            assert NAME.fullmatch(name), name
            assert text.strip() == text, name
            assert text, name
        assert set(TEXTS[language]) >= {f"num/{digit}" for digit in range(10)}
        assert set(TEXTS[language]) >= {f"letter/{char}" for char in "abcxyz"}


def test_the_prompt_set_is_the_catalogue_prompts_the_speech_sounds_and_silence() -> None:
    for language in LANGUAGES:
        prompts = prompt_set(CATALOGUE, language)
        catalogue = prompt_texts(CATALOGUE, language)
        assert prompts == {**catalogue, **TEXTS[language], SILENCE_SOUND: ""}
        assert len(prompts) == len(catalogue) + len(TEXTS[language]) + 1
        assert list(prompts) == sorted(prompts)
    assert prompt_set(CATALOGUE, "zh-CN")["topup.confirm.0"] == "为"
    assert prompt_set(CATALOGUE, "en")["topup.confirm.0"] == "Top up"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sound_said_is_in_the_speech_table(language: str) -> None:
    items: list[PromptItem] = [SayNumber(value) for value, _, _ in NUMBERS]
    items += [SayNumber(value) for value in range(100)]
    items += [SayAmount(fen) for fen, _, _ in AMOUNTS]
    items += [SayAmount(fen, unit=True) for fen, _ in AMOUNTS_WITH_UNIT]
    items += [SayDigits("0123456789", telephone=telephone) for telephone in (True, False)]
    items.append(Speak(string_of_ascii(), language))
    produced = {name for item in items for name in sounds(item, language)}
    assert produced <= set(TEXTS[language])
    assert produced == set(TEXTS[language]), "every speech sound is used by some item"


def string_of_ascii() -> str:
    return "".join(chr(code) for code in range(32, 127))


def test_estimated_durations_are_rough_rates_with_a_floor() -> None:
    assert estimated_ms("一", "zh-CN") == speech_lead_ms + 280
    assert estimated_ms("。", "zh-CN") == speech_ms_min
    assert estimated_ms("请输入充值号码", "zh-CN") == speech_lead_ms + 7 * 280
    assert estimated_ms("请输入充值号码。", "zh-CN") == speech_lead_ms + 7 * 280  # no time for "。"
    assert estimated_ms("Enter the number to top up", "en") == speech_lead_ms + 26 * 75
    assert estimated_ms(" Enter   the ", "en") == speech_lead_ms + 9 * 75
    assert estimated_ms("A", "en") == speech_ms_min
    assert estimated_ms("请输入充值号码", "fr") == estimated_ms("请输入充值号码", "zh-CN")


# ---- properties: the words read back as the number --------------------------------------------

_ZH_DIGITS = {char: value for value, char in enumerate("零一二三四五六七八九")} | {
    "幺": 1,
    "两": 2,
}
_ZH_PLACES = {"十": 10, "百": 100, "千": 1000}


def read_zh(text: str) -> int:
    """A Mandarin number (负, 万/亿 groups, a leading 十) as an int."""
    negative = text.startswith("负")
    yi = wan = group = digit = 0  # the 亿 part, the 万 part, the group being said, its digit
    for char in text.removeprefix("负"):
        if char in _ZH_DIGITS:
            digit = _ZH_DIGITS[char]
        elif char in _ZH_PLACES:
            group += (digit or 1) * _ZH_PLACES[char]  # 十 alone is 一十
            digit = 0
        elif char == "万":
            wan = (group + digit) * 10**4
            group = digit = 0
        else:
            assert char == "亿", text
            yi = (yi + wan + group + digit) * 10**8
            wan = group = digit = 0
    value = yi + wan + group + digit
    return -value if negative else value


_EN_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}


def read_en(text: str) -> int:
    words = text.split()
    negative = words[:1] == ["minus"]
    total = chunk = 0
    for word in words[negative:]:
        if word == "hundred":
            chunk *= 100
        elif word in _EN_SCALES:
            total += chunk * _EN_SCALES[word]
            chunk = 0
        else:
            chunk += _EN_WORDS[word]
    value = total + chunk
    return -value if negative else value


def canonical_zh(text: str, value: int) -> None:
    """The reading has no doubled 零, no trailing 零, and no leading 一十."""
    assert "零零" not in text, text
    assert value == 0 or not text.endswith("零"), text
    assert not text.removeprefix("负").startswith("一十"), text


magnitudes = st.integers(-number_max, number_max) | st.integers(-(10**6), 10**6)


@settings(max_examples=500, deadline=None, database=None)
@given(magnitudes)
def test_any_number_reads_back_in_both_languages(value: int) -> None:
    zh = said(SayNumber(value), "zh-CN")
    assert read_zh(zh) == value, zh
    canonical_zh(zh, value)
    en = said(SayNumber(value), "en")
    assert read_en(en) == value, en


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(-(10**13), 10**13))
def test_any_amount_reads_back_as_yuan_point_digits(fen: int) -> None:
    for language, reader in (("zh-CN", read_zh), ("en", read_en)):
        point = "点" if language == "zh-CN" else " point "
        whole, _, decimals = said(SayAmount(fen), language).partition(point)
        negative = whole.startswith(("负", "minus"))
        yuan = abs(reader(whole))
        words = list(decimals) if language == "zh-CN" else decimals.split()
        digits = "".join(str(reader(word)) for word in words)
        assert not digits.endswith("0"), "a final zero is dropped"
        magnitude = yuan * 100 + int((digits or "0").ljust(2, "0"))
        assert (-magnitude if negative else magnitude) == fen


# 负? then "<number>元", "<digit>角", "零?<digit>分", each only when it is not zero
_ZH_AMOUNT = re.compile(r"(负)?(?:([^元角分]+)元)?(?:(.)角)?(?:(零)?(.)分)?")


def read_zh_amount(text: str) -> int:
    """A Mandarin amount in 元, 角 and 分 ("负五十元零五分") as fen; asserts its canonical form:
    no unit with nothing in it (but 零元), 零 between 元 and 分 only, 两 before 角 and 分."""
    match = _ZH_AMOUNT.fullmatch(text)
    assert match, text
    assert text.removeprefix("负"), "something is said"
    negative, yuan_said, jiao_said, zero, fen_said = match.groups()
    yuan = read_zh(yuan_said) if yuan_said else 0
    if yuan_said:
        canonical_zh(yuan_said, yuan)
    jiao, fen = (_ZH_DIGITS[said] if said else 0 for said in (jiao_said, fen_said))
    assert (yuan or jiao or fen) or text == "零元", text
    assert (yuan_said is None or yuan) or text == "零元", text
    assert jiao_said is None or jiao, text
    assert fen_said is None or fen, text
    assert "二" not in (jiao_said, fen_said), text  # 两角, 两分
    assert bool(zero) == bool(yuan and not jiao and fen), text  # 五十元零五分
    magnitude = yuan * 100 + jiao * 10 + fen
    assert not (negative and magnitude == 0), text
    return -magnitude if negative else magnitude


@settings(max_examples=300, deadline=None, database=None)
@given(st.integers(-(10**13), 10**13))
def test_any_mandarin_amount_with_its_unit_reads_back_as_yuan_jiao_fen(fen: int) -> None:
    zh = said(SayAmount(fen, unit=True), "zh-CN")
    assert read_zh_amount(zh) == fen, zh
    assert zh.count("元") <= 1, zh  # the unit is said once


@settings(max_examples=200, deadline=None, database=None)
@given(events(), st.sampled_from([*LANGUAGES, "fr"]))
def test_every_sound_of_any_plan_is_in_the_prompt_set(event: Event, language: str) -> None:
    available = prompt_set(CATALOGUE, language)
    for item in render_ivr(event, CATALOGUE, language).items:
        assert set(sounds(item, language)) <= set(available), item
