"""Configuration: one TOML file, loopback defaults, ``AIRCHARGE_*`` environment overrides.

Precedence, lowest first: the defaults written on the dataclasses below < the TOML file (when one
is given) < environment variables. Every key has a loopback default except the secrets, whose
defaults are demo values that only ``aircharge demo`` accepts (see ``demo_secrets_in_use``).

An environment variable ``AIRCHARGE_<SECTION>_<KEY>`` overrides ``<section>.<key>``: the first
word after ``AIRCHARGE_`` names the section (section names contain no underscore), the rest is
the key (``AIRCHARGE_BOSS_TIMEOUT_MS`` -> ``boss.timeout_ms``). Lists are comma-separated.
Variables whose first word names no section (``AIRCHARGE_CONFIG``, ``AIRCHARGE_HOME``) belong to
someone else and are ignored.

Anything wrong fails at start with a ``ConfigError`` saying where the value came from, the key,
the value and what was expected::

    config.toml: boss.timeout_ms = -5: expected a positive integer (milliseconds)

Each section validates itself in its constructor, so a ``Config`` built in code is as
trustworthy as one loaded from a file; unknown sections and keys are errors, since they are
usually typos.
"""

import difflib
import functools
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from channels.smpp.coding import CODECS, SMS_CODINGS, USSD_CODINGS, CodingMap
from channels.smpp.link import LinkSettings
from channels.sms.service import SmsSettings
from ledger.commissions import rate_bp_max
from ledger.operations.resolver import ResolverPolicy
from ledger.pins import PinKeys, PinPolicy

__all__ = [
    "DEMO_SECRETS",
    "ENV_PREFIX",
    "BankConfig",
    "BossConfig",
    "CommissionsConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "LimitsConfig",
    "PinsConfig",
    "PlatformConfig",
    "ResolverConfig",
    "SecretsConfig",
    "SimulatorConfig",
    "SmppConfig",
    "SmsConfig",
    "UssdConfig",
    "WapConfig",
    "demo_secrets_in_use",
    "dump_toml",
    "load_config",
    "on_free_ports",
]

ENV_PREFIX = "AIRCHARGE_"

_DEMO_PIN_KEY = "demo-pin-key"
_DEMO_API_TOKEN = "demo-token"  # noqa: S105 -- a published demo value, refused by `serve`
_DEMO_BANK_SECRET = "demo-bank-secret"  # noqa: S105 -- likewise (the bank emulator's default)
_DEMO_SMPP_PASSWORD = "demosmpp"  # noqa: S105 -- likewise (fits SMPP's 8 octets)
_DEMO_SMPP_USSD_PASSWORD = "demoussd"  # noqa: S105 -- likewise

DEMO_SECRETS: Mapping[str, str] = MappingProxyType(
    {
        "secrets.pin_key": _DEMO_PIN_KEY,
        "secrets.api_token": _DEMO_API_TOKEN,
        "secrets.bank_secret": _DEMO_BANK_SECRET,
        "secrets.smpp_password": _DEMO_SMPP_PASSWORD,
        "secrets.smpp_ussd_password": _DEMO_SMPP_USSD_PASSWORD,
    }
)

_T = TypeVar("_T")


class ConfigError(Exception):
    """The configuration is wrong; the message names the source, the key, the value and the fix."""


class _InvalidValue(ConfigError):
    """A section refused its values; the loader prefixes the file or variable they came from."""

    def __init__(self, section: str, shown: tuple[tuple[str, str], ...], expectation: str) -> None:
        self.section = section
        self.keys = tuple(key for key, _ in shown)
        self.detail = ", ".join(f"{section}.{key} = {value}" for key, value in shown)
        self.detail += f": {expectation}"
        super().__init__(self.detail)


class _Reject(Exception):
    """Raised by a check with what it expected; the section adds the key and the value."""

    def __init__(self, expectation: str) -> None:
        super().__init__(expectation)
        self.expectation = expectation


# --- checks: each takes a raw value and returns it normalised, or raises _Reject ---------------


def _port(value: object) -> int:
    # bool is a subclass of int, but `http_port = true` is a mistake, not port 1
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise _Reject("expected an integer port 0..65535 (0 picks a free port)")
    return value


def _positive_int(unit: str) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise _Reject(f"expected a positive integer ({unit})")
        return value

    return check


def _text(expectation: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value.strip():
            raise _Reject(expectation)
        return value

    return check


_host = _text("expected a non-empty host name or IP address")
_secret = _text("expected a non-empty string")


def _optional_secret(value: object) -> str:
    if not isinstance(value, str) or (value and not value.strip()):
        raise _Reject("expected a string: empty for none, else not only spaces")
    return value


def _one_of(*choices: str, fold_case: bool = False) -> Callable[[object], str]:
    listed = ", ".join(repr(choice) for choice in choices)
    expectation = f"expected one of {listed}" + (" (any case)" if fold_case else "")

    def check(value: object) -> str:
        if isinstance(value, str):
            candidate = value.upper() if fold_case else value
            if candidate in choices:
                return candidate
        raise _Reject(expectation)

    return check


_DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def _database_url(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(_DATABASE_SCHEMES):
        raise _Reject("expected a URL starting with " + " or ".join(_DATABASE_SCHEMES))
    return value


def _http_url(value: object) -> str:
    expectation = "expected an http(s)://host[:port][/path] URL"
    if not isinstance(value, str) or any(char.isspace() for char in value):
        raise _Reject(expectation)
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 -- parsing the port raises ValueError when it is malformed
    except ValueError:
        raise _Reject(expectation) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _Reject(expectation)
    if parts.query or parts.fragment or "@" in parts.netloc:
        raise _Reject(expectation + " without credentials, query or fragment")
    return value


def _service_code(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\*[0-9*]*#", value):
        raise _Reject("expected a USSD service code like '*123#' (starts with *, ends with #)")
    return value


def _service_number(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{3,20}", value):
        raise _Reject("expected the SMS service number as 3 to 20 digits, like '1888'")
    return value


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Reject("expected true or false")
    return value


def _gateways(value: object, *, may_be_empty: bool = False) -> tuple[str, ...]:
    expectation = "expected a non-empty list of IP addresses or CIDR networks"
    if may_be_empty:
        expectation = "expected a list of IP addresses or CIDR networks"
    if not isinstance(value, list | tuple) or not (value or may_be_empty):
        raise _Reject(expectation)
    for item in value:
        if not isinstance(item, str):
            raise _Reject(f"{expectation}; {item!r} is not a string")
        try:
            ip_network(item, strict=False)
        except ValueError:
            raise _Reject(f"{expectation}; {item!r} is neither") from None
    return tuple(value)


def _levels(value: object) -> tuple[int, ...]:
    expectation = "expected a non-empty list of agent levels among 1, 2 and 3"
    if not isinstance(value, list | tuple) or not value:
        raise _Reject(expectation)
    # from the environment the items come as text
    value = [int(v) if isinstance(v, str) and v.strip() in ("1", "2", "3") else v for v in value]
    if any(isinstance(v, bool) or v not in (1, 2, 3) for v in value) or len(set(value)) != len(
        value
    ):
        raise _Reject(expectation + ", each once")
    return tuple(value)


def _key_id(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", value):
        raise _Reject("expected a key id of 1..16 letters, digits, '_' or '-'")
    return value


def _retired_keys(value: object) -> tuple[str, ...]:
    expectation = "expected a list of 'id:key' strings (a key id, a colon, the key)"
    if not isinstance(value, list | tuple):
        raise _Reject(expectation)
    ids = []
    for item in value:
        key_id, colon, key = item.partition(":") if isinstance(item, str) else ("", "", "")
        if not colon or not key or not re.fullmatch(r"[A-Za-z0-9_-]{1,16}", key_id):
            raise _Reject(expectation)
        ids.append(key_id)
    if len(set(ids)) != len(ids):
        raise _Reject(expectation + ", each id once")
    return tuple(value)


def _sound_folder(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*", value):
        raise _Reject("expected a folder name: letters, digits, '_', '-', '/' between parts")
    return value


def _smpp_string(size_max: int, what: str) -> Callable[[object], str]:
    """An SMPP C-octet string field: ASCII, at most `size_max` characters (may be empty)."""

    def check(value: object) -> str:
        if not isinstance(value, str) or len(value) > size_max or not value.isascii():
            raise _Reject(f"expected {what}: ASCII, at most {size_max} characters")
        return value

    return check


def _smpp_password(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > 8 or not value.isascii():
        raise _Reject("expected an SMPP password: 1..8 ASCII characters")
    return value


def _bind_mode(value: object) -> str:
    return _one_of("transceiver", "transmitter", "receiver")(value)


def _non_negative_int(unit: str) -> Callable[[object], int]:
    def check(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _Reject(f"expected an integer >= 0 ({unit})")
        return value

    return check


class Table(Mapping[str, str]):
    """An immutable, hashable TOML table of strings (a dataclass default must be hashable)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items = dict(items or {})

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(self._items.items()))

    def __repr__(self) -> str:
        return f"Table({self._items!r})"


def _data_codings(value: object) -> Mapping[str, str]:
    expectation = (
        'expected a table of data_coding = codec, like {"0x0F" = "gbk"}; codecs: '
        + ", ".join(sorted(CODECS))
    )
    if not isinstance(value, Mapping):
        raise _Reject(expectation)
    try:
        CodingMap.from_config(value)
    except (ValueError, TypeError, AttributeError):
        raise _Reject(expectation) from None
    return value if isinstance(value, Table) else Table(value)


def _hidden_list(value: object) -> str:
    return f"<hidden list of {len(value)}>" if isinstance(value, list | tuple) else _hidden(value)


# --- how a value is shown in an error: never a secret, never a password in a URL ---------------


def _hidden(value: object) -> str:
    if isinstance(value, str) and not value.strip():
        return repr(value)
    return f"<hidden {type(value).__name__}>"


def _url_shown(value: object) -> str:
    if isinstance(value, str):
        return repr(re.sub(r"(://[^/@:]*:)[^/]*@", r"\1***@", value))
    return repr(value)


# --- sections ---------------------------------------------------------------------------------

_SPEC = "aircharge.config"


@dataclass(frozen=True, slots=True)
class _Spec:
    check: Callable[[object], object]
    doc: str
    show: Callable[[object], str] = repr


def _setting(
    default: _T, check: Callable[[object], _T], doc: str, show: Callable[[object], str] = repr
) -> _T:
    """A field with its check, its one-line documentation and how an error shows its value."""
    spec = _Spec(check, doc, show)
    return field(default=default, metadata={_SPEC: spec})


def _spec(item: Field[Any]) -> _Spec:
    spec: _Spec = item.metadata[_SPEC]
    return spec


class _Section:
    """Validation shared by every section: check and normalise each field, then the whole."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # set by @dataclass on each section
    SECTION: ClassVar[str]
    DOC: ClassVar[str]

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            spec = _spec(item)
            try:
                normalised = spec.check(value)
            except _Reject as reject:
                raise _InvalidValue(
                    self.SECTION, ((item.name, spec.show(value)),), reject.expectation
                ) from None
            if normalised is not value:
                object.__setattr__(self, item.name, normalised)
        self._check_together()

    def _check_together(self) -> None:
        """Rules that involve more than one key of the section; none by default."""


@dataclass(frozen=True, slots=True)
class PlatformConfig(_Section):
    SECTION: ClassVar[str] = "platform"
    DOC: ClassVar[str] = "The platform's own listeners and defaults."

    host: str = _setting("127.0.0.1", _host, "address every platform listener binds to")
    http_port: int = _setting(
        8080, _port, "webadmin /, /api/v1, /wap/, /ussd/callback, /bank/notify, /metrics"
    )
    fastagi_port: int = _setting(4573, _port, "FastAGI server for Asterisk")
    language: str = _setting(
        "zh-CN", _one_of("zh-CN", "en"), 'default language of user-facing text: "zh-CN" | "en"'
    )
    log_level: str = _setting(
        "INFO",
        _one_of("DEBUG", "INFO", "WARNING", "ERROR", fold_case=True),
        "DEBUG | INFO | WARNING | ERROR",
    )


@dataclass(frozen=True, slots=True)
class DatabaseConfig(_Section):
    SECTION: ClassVar[str] = "database"
    DOC: ClassVar[str] = "Where business state lives: SQLite (embedded) or PostgreSQL (shared)."

    url: str = _setting(
        "sqlite+aiosqlite:///aircharge.db",
        _database_url,
        "or postgresql+asyncpg://user@host:port/db",
        _url_shown,
    )
    sqlite_synchronous: str = _setting(
        "FULL",
        _one_of("FULL", "NORMAL", fold_case=True),
        "FULL (durable) | NORMAL (faster; a power loss may lose the last commits)",
    )


@dataclass(frozen=True, slots=True)
class BossConfig(_Section):
    SECTION: ClassVar[str] = "boss"
    DOC: ClassVar[str] = "The operator's billing system (BOSS)."

    url: str = _setting(
        "http://127.0.0.1:8081", _http_url, "base URL of the operator's billing system", _url_shown
    )
    timeout_ms: int = _setting(
        5000,
        _positive_int("milliseconds"),
        "per request; past it the outcome is unknown and the resolver takes over",
    )


@dataclass(frozen=True, slots=True)
class BankConfig(_Section):
    SECTION: ClassVar[str] = "bank"
    DOC: ClassVar[str] = "The bank holding the operator's collection account (agents' deposits)."

    url: str = _setting(
        "http://127.0.0.1:8082", _http_url, "base URL of the bank's API (statements)", _url_shown
    )
    timeout_ms: int = _setting(5000, _positive_int("milliseconds"), "per request to the bank")
    allowed_addresses: tuple[str, ...] = _setting(
        ("127.0.0.1", "::1"),
        _gateways,
        "addresses or CIDR networks of the bank allowed to call /bank/notify",
    )
    signature_tolerance_s: int = _setting(
        300,
        _positive_int("seconds"),
        "how far a notification's signed timestamp may be from our clock",
    )

    def notify_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The allowed bank addresses as networks (a bare address is a /32 or /128)."""
        return tuple(ip_network(item, strict=False) for item in self.allowed_addresses)


@dataclass(frozen=True, slots=True)
class UssdConfig(_Section):
    SECTION: ClassVar[str] = "ussd"
    DOC: ClassVar[str] = "USSD menus reached through HTTP gateways."

    service_code: str = _setting("*123#", _service_code, "what subscribers dial")
    allowed_gateways: tuple[str, ...] = _setting(
        ("127.0.0.1", "::1"),
        _gateways,
        "addresses or CIDR networks of USSD gateways allowed to call /ussd/callback",
    )
    session_timeout_s: int = _setting(
        180, _positive_int("seconds"), "seconds of silence that end a session"
    )
    profile: str = _setting(
        "africastalking",
        _one_of("africastalking", "json"),
        "gateway profile on /ussd/callback: africastalking (form, CON/END) | json",
    )
    signature_tolerance_s: int = _setting(
        300,
        _positive_int("seconds"),
        "how far a signed callback's timestamp may be from our clock (with secrets.ussd_secret)",
    )

    def gateway_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The allowed gateways as networks (a bare address is a /32 or /128)."""
        return tuple(ip_network(item, strict=False) for item in self.allowed_gateways)


@dataclass(frozen=True, slots=True)
class IvrConfig(_Section):
    SECTION: ClassVar[str] = "ivr"
    DOC: ClassVar[str] = (
        "IVR voice calls: Asterisk reaches the FastAGI server (platform.fastagi_port)."
    )

    enabled: bool = _setting(True, _flag, "serve FastAGI calls")
    allowed_asterisks: tuple[str, ...] = _setting(
        ("127.0.0.1", "::1"),
        _gateways,
        "addresses or CIDR networks of the Asterisk servers allowed to connect",
    )
    sound_folder: str = _setting(
        "aircharge",
        _sound_folder,
        "folder of the platform's prompts inside Asterisk's sounds directory",
    )

    def asterisk_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The allowed Asterisk addresses as networks (a bare address is a /32 or /128)."""
        return tuple(ip_network(item, strict=False) for item in self.allowed_asterisks)


@dataclass(frozen=True, slots=True)
class WapConfig(_Section):
    SECTION: ClassVar[str] = "wap"
    DOC: ClassVar[str] = "WAP pages under /wap/ on the platform's HTTP port (docs/wap.md)."

    enabled: bool = _setting(True, _flag, "serve /wap/")
    allowed_gateways: tuple[str, ...] = _setting(
        ("127.0.0.1", "::1"),
        functools.partial(_gateways, may_be_empty=True),
        "addresses or CIDR networks of WAP gateways whose X-MSISDN / X-Up-Calling-Line-Id"
        " headers are trusted (empty: none); from anywhere else the page asks for number and"
        " PIN. Put no reverse proxy on this host in front of /wap/ while loopback is listed",
    )
    session_timeout_s: int = _setting(
        300, _positive_int("seconds"), "seconds of silence that end a session (and its form)"
    )

    def gateway_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        """The trusted gateways as networks (a bare address is a /32 or /128)."""
        return tuple(ip_network(item, strict=False) for item in self.allowed_gateways)


@dataclass(frozen=True, slots=True)
class SmsConfig(_Section):
    SECTION: ClassVar[str] = "sms"
    DOC: ClassVar[str] = "SMS commands to the service number, replies, notices and receipts."

    service_number: str = _setting("1888", _service_number, "where subscribers send commands")
    duplicate_window_s: int = _setting(
        600, _positive_int("seconds"), "a repeated money command inside it asks Y <code> first"
    )
    confirm_ttl_s: int = _setting(
        300, _positive_int("seconds"), "how long a repeat's Y <code> is valid"
    )
    replies_per_day_max: int = _setting(
        30, _positive_int("replies"), "replies per number and business day; more are not sent"
    )
    short_code_digits_max: int = _setting(
        8, _positive_int("digits"), "senders this short (service numbers) get no reply"
    )
    receipts: bool = _setting(
        True, _flag, "ask for delivery receipts of money replies, notices and codes"
    )
    receipt_retention_s: int = _setting(
        172_800, _positive_int("seconds"), "how long receipt parts are kept to match receipts"
    )

    def settings(self) -> SmsSettings:
        return SmsSettings(
            service_number=self.service_number,
            duplicate_window_ms=self.duplicate_window_s * 1000,
            confirm_ttl_ms=self.confirm_ttl_s * 1000,
            replies_per_day_max=self.replies_per_day_max,
            short_code_digits_max=self.short_code_digits_max,
            receipts=self.receipts,
        )


@dataclass(frozen=True, slots=True)
class SmppConfig(_Section):
    SECTION: ClassVar[str] = "smpp"
    DOC: ClassVar[str] = "The SMPP link to the SMSC (ESME), and an optional bind to a USSD centre."

    enabled: bool = _setting(
        True, _flag, "bind to the SMSC; false: no SMS channel (codes and history unavailable)"
    )
    link: str = _setting("smsc", _text("expected a non-empty link name"), "name in logs, metrics")
    host: str = _setting("127.0.0.1", _host, "SMSC address")
    port: int = _setting(2775, _port, "SMSC port")
    system_id: str = _setting("aircharge", _smpp_string(15, "a system_id"), "our bind name")
    system_type: str = _setting("", _smpp_string(12, "a system_type"), "often empty")
    bind: str = _setting("transceiver", _bind_mode, "transceiver | transmitter | receiver")
    window: int = _setting(64, _positive_int("submit_sm in flight"), "submit_sm in flight")
    submit_rate_per_s: int = _setting(
        0, _non_negative_int("parts per second"), "submit_sm per second; 0: unlimited"
    )
    enquire_link_s: int = _setting(
        30, _positive_int("seconds"), "silence from the SMSC before an enquire_link"
    )
    response_timeout_ms: int = _setting(
        10_000, _positive_int("milliseconds"), "wait for a response before giving up on it"
    )
    reconnect_min_ms: int = _setting(
        500, _positive_int("milliseconds"), "first wait before connecting again (doubles)"
    )
    reconnect_max_ms: int = _setting(
        30_000, _positive_int("milliseconds"), "longest wait between connection attempts"
    )
    data_codings: Mapping[str, str] = _setting(
        Table(), _data_codings, 'data_coding overrides, e.g. {"0x0F" = "gbk"}'
    )
    ussd_bind: bool = _setting(False, _flag, "bind a second link to a USSD centre")
    ussd_host: str = _setting("127.0.0.1", _host, "USSD centre address")
    ussd_port: int = _setting(2776, _port, "USSD centre port")
    ussd_system_id: str = _setting(
        "aircharge", _smpp_string(15, "a system_id"), "our bind name at the USSD centre"
    )
    ussd_data_codings: Mapping[str, str] = _setting(
        Table(), _data_codings, "data_coding overrides on the USSD bind"
    )

    def _check_together(self) -> None:
        if self.reconnect_min_ms > self.reconnect_max_ms:
            shown = (
                ("reconnect_min_ms", repr(self.reconnect_min_ms)),
                ("reconnect_max_ms", repr(self.reconnect_max_ms)),
            )
            raise _InvalidValue(self.SECTION, shown, "expected min <= max")

    def link_settings(self, password: str, source_addr: str) -> LinkSettings:
        """The SMS link; `password` is `secrets.smpp_password`, `source_addr` the service
        number."""
        return LinkSettings(
            name=self.link, host=self.host, port=self.port, system_id=self.system_id,
            password=password, system_type=self.system_type,
            bind=self.bind,  # type: ignore[arg-type]  # checked by _bind_mode
            window=self.window, submit_rate_per_s=self.submit_rate_per_s,
            enquire_link_ms=self.enquire_link_s * 1000,
            response_timeout_ms=self.response_timeout_ms,
            reconnect_min_ms=self.reconnect_min_ms, reconnect_max_ms=self.reconnect_max_ms,
            codings=CodingMap.from_config(self.data_codings, SMS_CODINGS),
            ussd_codings=CodingMap.from_config(self.data_codings, USSD_CODINGS),
            source_addr=source_addr,
        )  # fmt: skip

    def ussd_link_settings(self, password: str, source_addr: str) -> LinkSettings | None:
        """The USSD bind (`secrets.smpp_ussd_password`), or None when `ussd_bind` is off."""
        if not self.ussd_bind:
            return None
        ussd_codings = CodingMap.from_config(self.ussd_data_codings, USSD_CODINGS)
        return LinkSettings(
            name=f"{self.link}-ussd", host=self.ussd_host, port=self.ussd_port,
            system_id=self.ussd_system_id, password=password, system_type=self.system_type,
            window=self.window, enquire_link_ms=self.enquire_link_s * 1000,
            response_timeout_ms=self.response_timeout_ms,
            reconnect_min_ms=self.reconnect_min_ms, reconnect_max_ms=self.reconnect_max_ms,
            codings=ussd_codings, ussd_codings=ussd_codings, source_addr=source_addr,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class LimitsConfig(_Section):
    SECTION: ClassVar[str] = "limits"
    DOC: ClassVar[str] = (
        "Defaults of the sales limits, in fen (100 fen = ¥1.00); per level and per agent they"
        " are set in the database."
    )

    topup_min_fen: int = _setting(100, _positive_int("fen"), "¥1.00")
    topup_max_fen: int = _setting(50000, _positive_int("fen"), "¥500.00")
    daily_amount_fen: int = _setting(
        2_000_000, _positive_int("fen"), "¥20,000.00 sold per agent and business day"
    )
    daily_count: int = _setting(500, _positive_int("sales"), "sales per agent and business day")
    subscriber_daily_fen: int = _setting(
        200_000, _positive_int("fen"), "¥2,000.00 received per number and business day"
    )
    reversal_window_s: int = _setting(
        1800, _positive_int("seconds"), "how long after a sale its seller may reverse it"
    )
    selling_levels: tuple[int, ...] = _setting(
        (1, 2, 3), _levels, "agent levels that may sell: 1, 2, 3 (merchants)"
    )
    transfer_code_ttl_s: int = _setting(
        300, _positive_int("seconds"), "how long a subscriber transfer's code is valid"
    )
    transfer_code_attempts_max: int = _setting(
        3, _positive_int("attempts"), "wrong tries that spend a transfer's code"
    )

    def _check_together(self) -> None:
        if self.topup_min_fen > self.topup_max_fen:
            shown = (
                ("topup_min_fen", repr(self.topup_min_fen)),
                ("topup_max_fen", repr(self.topup_max_fen)),
            )
            raise _InvalidValue(self.SECTION, shown, "expected topup_min_fen <= topup_max_fen")


def _basis_points(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= rate_bp_max:
        raise _Reject(f"expected an integer 0..{rate_bp_max} (basis points: 100 = 1 %)")
    return value


@dataclass(frozen=True, slots=True)
class CommissionsConfig(_Section):
    SECTION: ClassVar[str] = "commissions"
    DOC: ClassVar[str] = (
        "Commission on a posted sale, in basis points (100 = 1 %), rounded down to the fen."
    )

    seller_bp: int = _setting(200, _basis_points, "the seller's rate: 2.0 %")
    level1_override_bp: int = _setting(30, _basis_points, "a level-1 agent above the seller: 0.3 %")
    level2_override_bp: int = _setting(50, _basis_points, "a level-2 agent above the seller: 0.5 %")


@dataclass(frozen=True, slots=True)
class ResolverConfig(_Section):
    SECTION: ClassVar[str] = "resolver"
    DOC: ClassVar[str] = "Settling sales whose outcome at BOSS is unknown, by their reference."

    interval_s: int = _setting(2, _positive_int("seconds"), "between sweeps")
    cases_per_sweep: int = _setting(50, _positive_int("cases"), "cases one sweep takes on")
    stale_after_s: int = _setting(
        30, _positive_int("seconds"), "a sale still `reserved` this long lost its caller"
    )
    backoff_base_s: int = _setting(2, _positive_int("seconds"), "first wait to ask BOSS again")
    backoff_max_s: int = _setting(300, _positive_int("seconds"), "longest wait (doubling)")
    lease_s: int = _setting(60, _positive_int("seconds"), "how long one process holds a case")
    manual_after_s: int = _setting(
        3600, _positive_int("seconds"), "age at which a case goes to manual review"
    )

    def policy(self) -> ResolverPolicy:
        return ResolverPolicy(
            self.interval_s,
            self.cases_per_sweep,
            self.stale_after_s,
            self.backoff_base_s,
            self.backoff_max_s,
            self.lease_s,
            self.manual_after_s,
        )


@dataclass(frozen=True, slots=True)
class PinsConfig(_Section):
    SECTION: ClassVar[str] = "pins"
    DOC: ClassVar[str] = "Wrong PINs: agent lockout, and the throttle per channel source."

    attempts_max: int = _setting(3, _positive_int("attempts"), "wrong PINs in a row that lock")
    lockout_minutes: int = _setting(30, _positive_int("minutes"), "how long a lockout lasts")
    source_failures_max: int = _setting(
        10, _positive_int("attempts"), "wrong PINs from one source before it is not heard"
    )
    source_window_minutes: int = _setting(
        10, _positive_int("minutes"), "the window those are counted in"
    )

    def policy(self) -> PinPolicy:
        return PinPolicy(
            self.attempts_max,
            self.lockout_minutes,
            self.source_failures_max,
            self.source_window_minutes,
        )


@dataclass(frozen=True, slots=True)
class SecretsConfig(_Section):
    SECTION: ClassVar[str] = "secrets"
    DOC: ClassVar[str] = "Replace all before `aircharge serve`: it refuses the demo values."

    pin_key: str = _setting(
        _DEMO_PIN_KEY,
        _secret,
        "HMAC key for agent PINs; the demo value only `aircharge demo` accepts",
        _hidden,
    )
    api_token: str = _setting(
        _DEMO_API_TOKEN, _secret, "bearer token of /api/v1; the demo value likewise", _hidden
    )
    bank_secret: str = _setting(
        _DEMO_BANK_SECRET,
        _secret,
        "HMAC key the bank signs /bank/notify with; the demo value likewise",
        _hidden,
    )
    ussd_secret: str = _setting(
        "",
        _optional_secret,
        "HMAC key USSD gateways sign /ussd/callback with; empty: no signature required",
        _hidden,
    )
    smpp_password: str = _setting(
        _DEMO_SMPP_PASSWORD, _smpp_password, "SMPP bind password; the demo value likewise", _hidden
    )
    smpp_ussd_password: str = _setting(
        _DEMO_SMPP_USSD_PASSWORD,
        _smpp_password,
        "password of the USSD centre bind; the demo value likewise",
        _hidden,
    )
    pin_key_id: str = _setting(
        "k1", _key_id, "id stored with each PIN hash; change it with the key to rotate"
    )
    retired_pin_keys: tuple[str, ...] = _setting(
        (),
        _retired_keys,
        "earlier PIN keys as 'id:key', still accepted; a PIN checked under one is re-hashed",
        _hidden_list,
    )

    def _check_together(self) -> None:
        if any(item.partition(":")[0] == self.pin_key_id for item in self.retired_pin_keys):
            shown = (("pin_key_id", repr(self.pin_key_id)), ("retired_pin_keys", "<hidden>"))
            raise _InvalidValue(self.SECTION, shown, "expected the current id not to be retired")

    def pin_keys(self) -> PinKeys:
        retired = dict(item.split(":", 1) for item in self.retired_pin_keys)
        keys = {key_id: key.encode() for key_id, key in retired.items()}
        return PinKeys(self.pin_key_id, {**keys, self.pin_key_id: self.pin_key.encode()})


@dataclass(frozen=True, slots=True)
class SimulatorConfig(_Section):
    SECTION: ClassVar[str] = "simulator"
    DOC: ClassVar[str] = "Emulators of the carrier's elements (aircharge demo, aircharge sim)."

    host: str = _setting("127.0.0.1", _host, "address the emulators bind to")
    smsc_port: int = _setting(2775, _port, "SMSC (SMPP server; the platform binds to it)")
    boss_port: int = _setting(8081, _port, "BOSS API")
    bank_port: int = _setting(8082, _port, "bank API")
    smsc_http_port: int = _setting(
        8083, _port, "the SMSC emulator's control API: handsets send SMS and dial USSD"
    )
    asterisk_http_port: int = _setting(
        8084, _port, "the Asterisk emulator's control API: place IVR calls"
    )


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration; every section defaults to its loopback or demo values."""

    platform: PlatformConfig = field(default_factory=PlatformConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    boss: BossConfig = field(default_factory=BossConfig)
    bank: BankConfig = field(default_factory=BankConfig)
    ussd: UssdConfig = field(default_factory=UssdConfig)
    ivr: IvrConfig = field(default_factory=IvrConfig)
    wap: WapConfig = field(default_factory=WapConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    smpp: SmppConfig = field(default_factory=SmppConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    commissions: CommissionsConfig = field(default_factory=CommissionsConfig)
    pins: PinsConfig = field(default_factory=PinsConfig)
    resolver: ResolverConfig = field(default_factory=ResolverConfig)
    secrets: SecretsConfig = field(default_factory=SecretsConfig)
    simulator: SimulatorConfig = field(default_factory=SimulatorConfig)

    def __post_init__(self) -> None:
        for item in fields(self):
            assert isinstance(getattr(self, item.name), _SECTIONS[item.name]), item.name


_SECTIONS: Mapping[str, type[_Section]] = MappingProxyType(
    {
        cls.SECTION: cls
        for cls in (
            PlatformConfig,
            DatabaseConfig,
            BossConfig,
            BankConfig,
            UssdConfig,
            IvrConfig,
            WapConfig,
            SmsConfig,
            SmppConfig,
            LimitsConfig,
            CommissionsConfig,
            PinsConfig,
            ResolverConfig,
            SecretsConfig,
            SimulatorConfig,
        )
    }
)
assert tuple(_SECTIONS) == tuple(item.name for item in fields(Config))
assert all("_" not in name for name in _SECTIONS), "AIRCHARGE_<SECTION>_<KEY> needs this"


def _defaults(section: str) -> dict[str, object]:
    return {item.name: item.default for item in fields(_SECTIONS[section])}


def _sections(config: Config) -> Iterator[tuple[str, _Section]]:
    for name in _SECTIONS:
        yield name, getattr(config, name)


# --- loading ----------------------------------------------------------------------------------


@dataclass
class _Layers:
    """Values set above the defaults, and for each the file or variable that set it last."""

    values: dict[str, dict[str, object]] = field(
        default_factory=lambda: {name: {} for name in _SECTIONS}
    )
    origins: dict[tuple[str, str], str] = field(default_factory=dict)

    def set(self, section: str, key: str, value: object, origin: str) -> None:
        self.values[section][key] = value
        self.origins[section, key] = origin


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Defaults, then the TOML file at ``path`` (when given), then ``AIRCHARGE_*`` variables.

    ``environ`` defaults to ``os.environ``. Raises ``ConfigError`` on the first problem found.
    """
    layers = _Layers()
    if path is not None:
        _apply_file(layers, Path(path))
    _apply_environ(layers, os.environ if environ is None else environ)
    return _build(layers)


def _build(layers: _Layers) -> Config:
    built: dict[str, Any] = {}
    for name, cls in _SECTIONS.items():
        try:
            built[name] = cls(**layers.values[name])
        except _InvalidValue as error:
            raise ConfigError(_with_origin(error, layers.origins)) from None
    return Config(**built)


def _with_origin(error: _InvalidValue, origins: Mapping[tuple[str, str], str]) -> str:
    sources = [origins[error.section, key] for key in error.keys if (error.section, key) in origins]
    if not sources:
        return error.detail
    return ", ".join(dict.fromkeys(sources)) + ": " + error.detail


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None


def _apply_file(layers: _Layers, path: Path) -> None:
    document = _read_toml(path)
    unknown = [name for name in document if name not in _SECTIONS]
    if unknown:
        raise ConfigError(f"{path}: {_unknown_message('section', unknown, list(_SECTIONS))}")
    for section, table in document.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section} = {table!r}: expected a table [{section}]")
        valid = list(_defaults(section))
        unknown = [key for key in table if key not in valid]
        if unknown:
            message = _unknown_message("key", unknown, valid, where=f" in [{section}]")
            raise ConfigError(f"{path}: {message}")
        for key, value in table.items():
            layers.set(section, key, value, str(path))


def _unknown_message(noun: str, names: list[str], valid: list[str], where: str = "") -> str:
    guesses = []
    for name in names:
        close = difflib.get_close_matches(name, valid, n=1)
        if close:
            guesses.append(repr(close[0]) + (f" for {name!r}" if len(names) > 1 else ""))
    hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
    plural = "s" if len(names) > 1 else ""
    named = ", ".join(repr(name) for name in names)
    listed = ", ".join(valid)
    return f"unknown {noun}{plural} {named}{where}{hint}; valid {noun}s: {listed}"


def _apply_environ(layers: _Layers, environ: Mapping[str, str]) -> None:
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        section, _, key = variable.removeprefix(ENV_PREFIX).partition("_")
        section, key = section.lower(), key.lower()
        if section not in _SECTIONS:
            continue  # e.g. AIRCHARGE_CONFIG, AIRCHARGE_HOME: not a key of this file
        defaults = _defaults(section)
        if key not in defaults:
            raise ConfigError(f"{variable}: {_unknown_env_message(section, key, list(defaults))}")
        value = _parse_env_value(environ[variable], defaults[key])
        layers.set(section, key, value, variable)


def _unknown_env_message(section: str, key: str, valid: list[str]) -> str:
    variables = [f"{ENV_PREFIX}{section}_{name}".upper() for name in valid]
    close = difflib.get_close_matches(f"{ENV_PREFIX}{section}_{key}".upper(), variables, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    listed = ", ".join(variables)
    return f"unknown key {key!r} in [{section}]{hint}; valid variables: {listed}"


def _parse_env_value(text: str, default: object) -> object:
    """Convert a variable to the type of its key's default; leave it as text when it does not
    parse, so that the key's check reports it with the usual message."""
    if isinstance(default, bool):
        return {"true": True, "1": True, "false": False, "0": False}.get(text.strip().lower(), text)
    if isinstance(default, int):
        try:
            return int(text.strip())
        except ValueError:
            return text
    if isinstance(default, tuple):
        return [item.strip() for item in text.split(",") if item.strip()]
    if isinstance(default, Mapping):  # "0x0F=gbk,0x08=ucs2"
        pairs = [item.partition("=") for item in text.split(",") if item.strip()]
        if all(sep for _, sep, _ in pairs):
            return {key.strip(): value.strip() for key, _, value in pairs}
    return text


# --- demo secrets -----------------------------------------------------------------------------


def on_free_ports(config: Config) -> Config:
    """`config` with every listener of the platform and the emulators on a port the system
    picks, so that several demo worlds (tests, scripted sessions) run side by side."""
    return replace(
        config,
        platform=replace(config.platform, http_port=0, fastagi_port=0),
        simulator=replace(
            config.simulator,
            boss_port=0,
            bank_port=0,
            smsc_port=0,
            smsc_http_port=0,
            asterisk_http_port=0,
        ),
    )


def demo_secrets_in_use(config: Config) -> list[str]:
    """The keys (``secrets.pin_key`` ...) that still hold their published demo values."""
    in_use = []
    for dotted, demo_value in DEMO_SECRETS.items():
        section, key = dotted.split(".")
        if getattr(getattr(config, section), key) == demo_value:
            in_use.append(dotted)
    return in_use


# --- writing ----------------------------------------------------------------------------------


def dump_toml(config: Config) -> str:
    """The configuration as a TOML document, each key with a comment; loads back equal."""
    lines: list[str] = []
    for name, section in _sections(config):
        lines += [f"# {section.DOC}", f"[{name}]"]
        entries = [
            (f"{item.name} = {_toml_value(getattr(section, item.name))}", _spec(item).doc)
            for item in fields(section)
        ]
        width = max(len(entry) for entry, _ in entries)
        lines += [f"{entry.ljust(width)}  # {doc}" for entry, doc in entries]
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


_TOML_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'
