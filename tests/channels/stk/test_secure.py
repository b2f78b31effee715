"""The `STK1` seal: the format worked out again from its definition, round trips, and every
kind of damage refused."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC
from hypothesis import given
from hypothesis import strategies as st

from channels.stk.secure import (
    BadMac,
    SealError,
    SimKeys,
    counter_max,
    is_sealed_text,
    open_sealed,
    parse,
    plaintext_bytes_max,
    protect,
    sms_chars_max,
)

KEYS = SimKeys(kic=bytes(range(16)), kid=bytes(range(16, 32)))
OTHER = SimKeys(kic=bytes(range(1, 17)), kid=bytes(range(17, 33)))
SIM = "0123456789abcdef"


def _ecb_keystream(key: bytes, counter: int, length: int) -> bytes:
    """CTR mode done by hand: AES-ECB of counter(8) || block number(8), block after block."""
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    blocks = b"".join(
        encryptor.update(counter.to_bytes(8, "big") + n.to_bytes(8, "big"))
        for n in range((length + 15) // 16)
    )
    return blocks[:length]


def test_the_text_is_the_documented_construction():
    plaintext = "TOPUP 8613900000001 50 123456"
    text = protect(plaintext, SIM, 7, KEYS)
    prefix, sim, counter, body = text.split(" ")
    assert (prefix, sim, counter) == ("STK1", SIM, "7")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    ciphertext, mac = raw[:-8], raw[-8:]
    keystream = _ecb_keystream(KEYS.kic, 7, len(ciphertext))
    assert bytes(a ^ b for a, b in zip(ciphertext, keystream, strict=True)) == plaintext.encode()
    cmac = CMAC(algorithms.AES(KEYS.kid))
    cmac.update(b"STK1" + SIM.encode() + (7).to_bytes(8, "big") + ciphertext)
    assert mac == cmac.finalize()[:8]
    assert "=" not in body


def test_cmac_is_aes_cmac_of_rfc_4493():
    # RFC 4493, example 2: a 16-byte message.
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    cmac = CMAC(algorithms.AES(key))
    cmac.update(bytes.fromhex("6bc1bee22e409f96e93d7e117393172a"))
    assert cmac.finalize().hex() == "070a16b46b4d4144f79bdd9dd04a287c"


@given(
    plaintext=st.text(min_size=1, max_size=40).filter(
        lambda s: 0 < len(s.encode()) <= plaintext_bytes_max
    ),
    counter=st.integers(1, counter_max),
)
def test_round_trip(plaintext, counter):
    text = protect(plaintext, SIM, counter, KEYS)
    assert len(text) <= sms_chars_max
    assert is_sealed_text(text)
    sealed = parse(text)
    assert (sealed.sim_id, sealed.counter) == (SIM, counter)
    assert open_sealed(sealed, KEYS) == plaintext


def test_longest_command_at_the_highest_counter_fits_one_sms():
    text = protect("9" * plaintext_bytes_max, SIM, counter_max, KEYS)
    assert len(text) == sms_chars_max
    with pytest.raises(SealError, match="holds 85 bytes"):
        protect("9" * (plaintext_bytes_max + 1), SIM, 1, KEYS)


def test_other_keys_fail_the_mac():
    with pytest.raises(BadMac):
        open_sealed(parse(protect("BAL 123456", SIM, 1, KEYS)), OTHER)


def test_any_changed_body_character_is_refused():
    text = protect("TOPUP 8613900000001 50 123456", SIM, 1, KEYS)
    start = text.rindex(" ") + 1
    for position in range(start, len(text)):
        for changed in "ABQgw-_":  # every value of the last character's unused low bits too
            if changed == text[position]:
                continue
            tampered = text[:position] + changed + text[position + 1 :]
            with pytest.raises(SealError):  # BadMac, or a body that is not canonical
                open_sealed(parse(tampered), KEYS)


def test_a_changed_counter_or_sim_id_fails_the_mac():
    text = protect("BAL 123456", SIM, 5, KEYS)
    with pytest.raises(BadMac):
        open_sealed(parse(text.replace(" 5 ", " 6 ")), KEYS)
    with pytest.raises(BadMac):
        open_sealed(parse(text.replace(SIM, "f" + SIM[1:])), KEYS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("STK1", "not `STK1"),
        ("STK1 0123456789abcdef 1", "not `STK1"),
        ("STK1 0123456789ABCDEF 1 AAAAAAAAAAAAAA", "not `STK1"),  # upper-case SIM id
        ("STK1 0123456789abcdef 01 AAAAAAAAAAAAAA", "not `STK1"),  # leading zero
        ("STK1 0123456789abcdef 0 AAAAAAAAAAAAAA", "not `STK1"),
        ("STK1 0123456789abcdef 9999999999999 AAAAAAAAAAAAAA", "counter is 1.."),
        ("STK1 0123456789abcdef 1 AAAAAAAAAA+/", "not `STK1"),  # standard base64
        ("STK1 0123456789abcdef 1 AAAAA", "base64url"),  # 5 chars cannot be base64
        ("STK1 0123456789abcdef 1 AAAAAAAAAAA", "shorter than its MAC"),
        ("STK1 0123456789abcdef 1 AAAAAAAAAAAAAB", "not canonical"),  # low bits set
        ("STK1 0123456789abcdef 1 " + "A" * 200, "one SMS"),
        ("stk1 0123456789abcdef 1 AAAAAAAAAAAAAA", "not `STK1"),
    ],
)
def test_malformed_texts_are_refused(text, reason):
    with pytest.raises(SealError, match=reason):
        parse(text)


def test_bad_keys_and_headers_are_refused_when_sealing():
    with pytest.raises(ValueError, match="16 bytes"):
        SimKeys(kic=b"short", kid=bytes(16))
    with pytest.raises(ValueError, match="differ"):
        SimKeys(kic=bytes(16), kid=bytes(16))
    with pytest.raises(SealError, match="SIM id"):
        protect("BAL 1", "xyz", 1, KEYS)
    with pytest.raises(SealError, match="counter"):
        protect("BAL 1", SIM, 0, KEYS)
    with pytest.raises(SealError, match="nothing"):
        protect("", SIM, 1, KEYS)
    assert "00" not in repr(KEYS)


def test_an_undecodable_plaintext_is_refused():
    encryptor = Cipher(algorithms.AES(KEYS.kic), modes.CTR((1).to_bytes(8, "big") + bytes(8)))
    ciphertext = encryptor.encryptor().update(b"\xff\xfe")
    cmac = CMAC(algorithms.AES(KEYS.kid))
    cmac.update(b"STK1" + SIM.encode() + (1).to_bytes(8, "big") + ciphertext)
    body = base64.urlsafe_b64encode(ciphertext + cmac.finalize()[:8]).rstrip(b"=").decode()
    with pytest.raises(SealError, match="UTF-8"):
        open_sealed(parse(f"STK1 {SIM} 1 {body}"), KEYS)
