"""PIN storage (key id, salt, rotation, the first scheme), seals, and weak PINs."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.pins import Checked, PinKeys, check_pin, hash_pin, is_weak, seal, unseal

KEYS = PinKeys.single(b"key-one", "k1")
NUMBER = "8613800000003"
pins = st.from_regex(r"[0-9]{6}", fullmatch=True)


@given(pin=pins, other=pins)
def test_a_stored_pin_checks_only_its_own_pin(pin: str, other: str) -> None:
    stored = hash_pin(KEYS, NUMBER, pin)
    assert check_pin(KEYS, NUMBER, stored, pin).ok
    assert check_pin(KEYS, NUMBER, stored, other).ok == (other == pin)
    assert not check_pin(KEYS, "8613800000002", stored, pin).ok  # bound to the agent


def test_each_entry_has_its_own_salt_and_names_its_key() -> None:
    first, second = hash_pin(KEYS, NUMBER, "135790"), hash_pin(KEYS, NUMBER, "135790")
    assert first != second
    assert first.startswith("v2$k1$")
    assert len(first) <= 160
    assert "135790" not in first


def test_rotation_checks_under_the_old_key_and_asks_for_a_new_hash() -> None:
    stored = hash_pin(KEYS, NUMBER, "135790")
    rotated = PinKeys("k2", {"k1": b"key-one", "k2": b"key-two"})
    checked = check_pin(rotated, NUMBER, stored, "135790")
    assert checked.ok
    assert checked.rehash
    again = hash_pin(rotated, NUMBER, "135790")
    assert again.startswith("v2$k2$")
    assert check_pin(rotated, NUMBER, again, "135790") == check_pin(
        rotated, NUMBER, again, "135790"
    )
    assert check_pin(rotated, NUMBER, again, "135790") == Checked(ok=True, rehash=False)
    # once k1 is dropped from the ring, its entries no longer check
    assert not check_pin(PinKeys.single(b"key-two", "k2"), NUMBER, stored, "135790").ok


def test_the_first_scheme_still_checks_and_asks_for_a_new_hash() -> None:
    mac = hmac.new(b"key-one", f"pin:v1:{NUMBER}:333333".encode(), hashlib.sha256).hexdigest()
    checked = check_pin(KEYS, NUMBER, f"v1${mac}", "333333")
    assert checked.ok
    assert checked.rehash
    assert not check_pin(KEYS, NUMBER, f"v1${mac}", "333334").ok


@pytest.mark.parametrize("stored", ["", "v2$", "v2$k9$00$00", "v3$k1$00$00", "garbage"])
def test_malformed_entries_check_nothing(stored: str) -> None:
    assert not check_pin(KEYS, NUMBER, stored, "135790").ok


@given(pin=pins)
def test_a_seal_opens_only_for_its_agent_and_key(pin: str) -> None:
    sealed = seal(KEYS, NUMBER, pin)
    assert pin not in sealed
    assert sealed == seal(KEYS, NUMBER, pin)  # deterministic: "repeat the PIN" compares seals
    assert unseal(KEYS, NUMBER, sealed) == pin
    assert unseal(KEYS, "8613800000002", sealed) is None
    assert unseal(PinKeys.single(b"key-two", "k2"), NUMBER, sealed) is None


@pytest.mark.parametrize("credential", ["pinseal:v2:", "pinseal:v2:AAAA", "pinseal:v2:!!", "12345"])
def test_forged_seals_and_non_pins_open_to_nothing(credential: str) -> None:
    assert unseal(KEYS, NUMBER, credential) is None


def test_a_pin_typed_as_such_passes_through() -> None:
    assert unseal(KEYS, NUMBER, "135790") == "135790"


@pytest.mark.parametrize(
    ("pin", "weak"),
    [
        ("000000", True),
        ("777777", True),
        ("123456", True),
        ("654321", True),
        ("890123", True),
        ("210987", True),
        ("135790", False),
        ("112233", False),
        ("123457", False),
        ("333334", False),
    ],
)
def test_weak_pins(pin: str, weak: bool) -> None:
    assert is_weak(pin) == weak


def test_a_key_ring_must_hold_its_current_key() -> None:
    with pytest.raises(ValueError, match="current"):
        PinKeys("k2", {"k1": b"x"})
    with pytest.raises(ValueError, match="key id"):
        PinKeys("bad id!", {"bad id!": b"x"})
