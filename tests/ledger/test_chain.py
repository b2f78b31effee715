"""The chain's hash is a stored format: journals written before any change to the code must
still verify. Pinned vectors (computed by the first implementation) and an independent
restatement of the canonical form guard it."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger.chain import genesis, link

texts = st.text(max_size=20)
maybe_text = st.none() | texts
ints = st.integers(min_value=0, max_value=2**62)


def canonical(previous: str, *fields: object) -> str:
    joined = "\x1f".join("" if value is None else str(value) for value in fields)
    return hashlib.sha256(f"{previous}\x1e{joined}".encode()).hexdigest()


def test_pinned_vectors() -> None:
    post = link(
        "ab" * 32, 7, 42, "topup:abc", "post", 11, 3, 5000, "CNY", "topup:abc:r", None,
        "订单-9", '{"channel":"ussd"}', 1764135600123456,
    )  # fmt: skip
    assert post == "b2eec74686dcd139c464f8378f57b8aa9f96e784defbbc0b12046ddc2a79593e"
    pending = link(genesis(1), 1, 1, "k", "pending", 2, 1, 1, "CNY", None, 1764135600000000,
                   None, "{}", 1)  # fmt: skip
    assert pending == "066dafa2fef1e5cbff603c37f50d144f66f83e2ec74b1d9a709b63d5c58b2c6a"


@given(
    previous=texts, writer_id=ints, seq=ints, key=texts, kind=texts, debit=ints, credit=ints,
    amount=ints, currency=texts, pending_key=maybe_text, expires_us=st.none() | ints,
    reference=maybe_text, meta=texts, created_us=ints,
)  # fmt: skip
def test_link_is_the_canonical_form(
    previous: str, writer_id: int, seq: int, key: str, kind: str, debit: int, credit: int,
    amount: int, currency: str, pending_key: str | None, expires_us: int | None,
    reference: str | None, meta: str, created_us: int,
) -> None:  # fmt: skip
    fields = (
        writer_id, seq, key, kind, debit, credit, amount, currency, pending_key, expires_us,
        reference, meta, created_us,
    )  # fmt: skip
    assert link(previous, *fields) == canonical(previous, *fields)
