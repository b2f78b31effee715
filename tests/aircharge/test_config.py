"""Configuration: defaults < file < environment, and every bad value named with its fix."""

import dataclasses
import re
from ipaddress import ip_network
from pathlib import Path

import pytest

from aircharge import config as config_module
from aircharge.config import (
    DEMO_SECRETS,
    BossConfig,
    Config,
    ConfigError,
    DatabaseConfig,
    LimitsConfig,
    PlatformConfig,
    SecretsConfig,
    UssdConfig,
    demo_secrets_in_use,
    dump_toml,
    load_config,
)
from simulator.bank import DEMO_SECRET as BANK_DEMO_SECRET

REPO = Path(__file__).resolve().parents[2]
ALL_KEYS = [
    f"{section.name}.{item.name}"
    for section in dataclasses.fields(Config)
    for item in dataclasses.fields(getattr(Config(), section.name))
]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str = "", environ=None) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={} if environ is None else environ)
    return str(caught.value)


# --- layers ----------------------------------------------------------------------------------


def test_defaults_without_a_file():
    config = load_config(environ={})
    assert config == Config()
    assert config.platform.host == "127.0.0.1"
    assert config.platform.http_port == 8080
    assert config.platform.fastagi_port == 4573
    assert config.platform.language == "zh-CN"
    assert config.platform.log_level == "INFO"
    assert config.database.url == "sqlite+aiosqlite:///aircharge.db"
    assert config.database.sqlite_synchronous == "FULL"
    assert config.boss == BossConfig(url="http://127.0.0.1:8081", timeout_ms=5000)
    assert config.ussd.service_code == "*123#"
    assert config.ussd.allowed_gateways == ("127.0.0.1", "::1")
    assert config.ussd.session_timeout_s == 180
    assert config.limits == LimitsConfig(topup_min_fen=100, topup_max_fen=50000)
    assert config.secrets == SecretsConfig(pin_key="demo-pin-key", api_token="demo-token")
    assert (config.simulator.smsc_port, config.simulator.boss_port) == (2775, 8081)
    assert config.simulator.bank_port == 8082


def test_file_overrides_some_keys_and_keeps_the_other_defaults(tmp_path):
    path = write(
        tmp_path,
        """
        [platform]
        http_port = 9090
        language = "en"

        [database]
        url = "postgresql+asyncpg://aircharge@db.example:5432/aircharge"
        sqlite_synchronous = "normal"

        [ussd]
        allowed_gateways = ["10.1.0.0/16", "192.0.2.7"]
        """,
    )
    config = load_config(path, environ={})
    assert config.platform == PlatformConfig(http_port=9090, language="en")
    assert config.database.url == "postgresql+asyncpg://aircharge@db.example:5432/aircharge"
    assert config.database.sqlite_synchronous == "NORMAL"  # case-insensitive, stored upper
    assert config.ussd.allowed_gateways == ("10.1.0.0/16", "192.0.2.7")
    assert config.boss == BossConfig()


def test_environment_overrides_the_file(tmp_path):
    path = write(tmp_path, "[boss]\ntimeout_ms = 3000\nurl = 'http://boss.example:9000/api'\n")
    environ = {
        "AIRCHARGE_BOSS_TIMEOUT_MS": "7000",
        "AIRCHARGE_DATABASE_URL": "sqlite+aiosqlite:////var/lib/aircharge/db",
        "AIRCHARGE_SECRETS_API_TOKEN": "s3cret token",
    }
    config = load_config(path, environ=environ)
    assert config.boss == BossConfig(url="http://boss.example:9000/api", timeout_ms=7000)
    assert config.database.url == "sqlite+aiosqlite:////var/lib/aircharge/db"
    assert config.secrets.api_token == "s3cret token"


def test_environment_alone_without_a_file():
    config = load_config(environ={"AIRCHARGE_PLATFORM_LOG_LEVEL": "debug"})
    assert config.platform.log_level == "DEBUG"


def test_environment_list_is_comma_separated():
    environ = {"AIRCHARGE_USSD_ALLOWED_GATEWAYS": "10.0.0.0/8, 127.0.0.1,,::1"}
    config = load_config(environ=environ)
    assert config.ussd.allowed_gateways == ("10.0.0.0/8", "127.0.0.1", "::1")
    assert config.ussd.gateway_networks() == (
        ip_network("10.0.0.0/8"),
        ip_network("127.0.0.1/32"),
        ip_network("::1/128"),
    )


def test_gateway_networks_accept_host_bits_set():
    ussd = UssdConfig(allowed_gateways=("192.0.2.7/24",))
    assert ussd.allowed_gateways == ("192.0.2.7/24",)  # kept as given
    assert ussd.gateway_networks() == (ip_network("192.0.2.0/24"),)


def test_variables_naming_no_section_are_ignored():
    environ = {
        "AIRCHARGE_CONFIG": "/etc/aircharge.toml",
        "AIRCHARGE_HOME": "/srv/aircharge",
        "AIRCHARGE_SOME_THING": "x",
        "PATH": "/usr/bin",
        "aircharge_boss_timeout_ms": "-1",  # not our prefix: variables are upper-case
    }
    assert load_config(environ=environ) == Config()


@pytest.mark.parametrize(
    ("variable", "hint"),
    [
        ("AIRCHARGE_BOSS_TIMEOUT", "did you mean AIRCHARGE_BOSS_TIMEOUT_MS?"),
        ("AIRCHARGE_BOSS", "unknown key ''"),
        ("AIRCHARGE_USSD_GATEWAYS", "AIRCHARGE_USSD_ALLOWED_GATEWAYS"),
    ],
)
def test_unknown_key_of_a_known_section_in_the_environment(variable, hint):
    with pytest.raises(ConfigError) as caught:
        load_config(environ={variable: "1"})
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert hint in message


def test_unknown_env_key_lists_the_valid_variables():
    with pytest.raises(ConfigError, match="AIRCHARGE_BOSS_URL, AIRCHARGE_BOSS_TIMEOUT_MS"):
        load_config(environ={"AIRCHARGE_BOSS_TIMEOUT": "1"})


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        (
            "AIRCHARGE_BOSS_TIMEOUT_MS",
            "-5",
            "AIRCHARGE_BOSS_TIMEOUT_MS: boss.timeout_ms = -5: "
            "expected a positive integer (milliseconds)",
        ),
        (
            "AIRCHARGE_PLATFORM_HTTP_PORT",
            "eighty",
            "AIRCHARGE_PLATFORM_HTTP_PORT: platform.http_port = 'eighty': "
            "expected an integer port 0..65535 (0 picks a free port)",
        ),
        (
            "AIRCHARGE_USSD_ALLOWED_GATEWAYS",
            "10.0.0.0/8,gateway.example",
            "AIRCHARGE_USSD_ALLOWED_GATEWAYS: ussd.allowed_gateways = "
            "['10.0.0.0/8', 'gateway.example']: expected a non-empty list of IP addresses "
            "or CIDR networks; 'gateway.example' is neither",
        ),
        (
            "AIRCHARGE_USSD_ALLOWED_GATEWAYS",
            " , ",
            "AIRCHARGE_USSD_ALLOWED_GATEWAYS: ussd.allowed_gateways = []: "
            "expected a non-empty list of IP addresses or CIDR networks",
        ),
    ],
)
def test_bad_environment_value_names_the_variable(tmp_path, variable, text, message):
    assert load_error(tmp_path, "[boss]\ntimeout_ms = 100\n", {variable: text}) == message


def test_env_parsing_of_booleans_for_future_keys():
    parse = config_module._parse_env_value
    assert [parse(text, False) for text in ("true", "TRUE", "1", "false", "0")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert parse("yes", False) == "yes"  # left for the key's check to reject


# --- validation --------------------------------------------------------------------------------

PORT = "expected an integer port 0..65535 (0 picks a free port)"
GATEWAYS = "expected a non-empty list of IP addresses or CIDR networks"
HTTP_URL = "expected an http(s)://host[:port][/path] URL"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[platform]\nhttp_port = 65536", f"platform.http_port = 65536: {PORT}"),
        ("[platform]\nfastagi_port = -1", f"platform.fastagi_port = -1: {PORT}"),
        ("[platform]\nhttp_port = true", f"platform.http_port = True: {PORT}"),
        ("[platform]\nhttp_port = '8080'", f"platform.http_port = '8080': {PORT}"),
        ("[platform]\nhttp_port = 80.5", f"platform.http_port = 80.5: {PORT}"),
        ("[simulator]\nsmsc_port = 70000", f"simulator.smsc_port = 70000: {PORT}"),
        ("[simulator]\nboss_port = false", f"simulator.boss_port = False: {PORT}"),
        ("[simulator]\nbank_port = -2", f"simulator.bank_port = -2: {PORT}"),
        (
            "[platform]\nhost = ''",
            "platform.host = '': expected a non-empty host name or IP address",
        ),
        (
            "[simulator]\nhost = 127",
            "simulator.host = 127: expected a non-empty host name or IP address",
        ),
        (
            "[platform]\nlanguage = 'zh'",
            "platform.language = 'zh': expected one of 'zh-CN', 'en'",
        ),
        (
            "[platform]\nlog_level = 'TRACE'",
            "platform.log_level = 'TRACE': "
            "expected one of 'DEBUG', 'INFO', 'WARNING', 'ERROR' (any case)",
        ),
        (
            "[database]\nurl = 'sqlite:///aircharge.db'",
            "database.url = 'sqlite:///aircharge.db': "
            "expected a URL starting with sqlite+aiosqlite:// or postgresql+asyncpg://",
        ),
        (
            "[database]\nsqlite_synchronous = 'OFF'",
            "database.sqlite_synchronous = 'OFF': expected one of 'FULL', 'NORMAL' (any case)",
        ),
        ("[boss]\nurl = 'ftp://boss.example'", f"boss.url = 'ftp://boss.example': {HTTP_URL}"),
        ("[boss]\nurl = 'boss.example:8081'", f"boss.url = 'boss.example:8081': {HTTP_URL}"),
        ("[boss]\nurl = 'http://:8081'", f"boss.url = 'http://:8081': {HTTP_URL}"),
        ("[boss]\nurl = 'http://boss:port'", f"boss.url = 'http://boss:port': {HTTP_URL}"),
        ("[boss]\nurl = 'http://boss:99999'", f"boss.url = 'http://boss:99999': {HTTP_URL}"),
        ("[boss]\nurl = 'http://bo ss/'", f"boss.url = 'http://bo ss/': {HTTP_URL}"),
        (
            "[boss]\nurl = 'http://boss/api?x=1'",
            f"boss.url = 'http://boss/api?x=1': {HTTP_URL} without credentials, query or fragment",
        ),
        (
            "[boss]\ntimeout_ms = -5",
            "boss.timeout_ms = -5: expected a positive integer (milliseconds)",
        ),
        (
            "[boss]\ntimeout_ms = 0",
            "boss.timeout_ms = 0: expected a positive integer (milliseconds)",
        ),
        (
            "[ussd]\nsession_timeout_s = 1.5",
            "ussd.session_timeout_s = 1.5: expected a positive integer (seconds)",
        ),
        (
            "[ussd]\nservice_code = '123#'",
            "ussd.service_code = '123#': "
            "expected a USSD service code like '*123#' (starts with *, ends with #)",
        ),
        (
            "[ussd]\nservice_code = '*12a#'",
            "ussd.service_code = '*12a#': "
            "expected a USSD service code like '*123#' (starts with *, ends with #)",
        ),
        ("[ussd]\nallowed_gateways = []", f"ussd.allowed_gateways = []: {GATEWAYS}"),
        (
            "[ussd]\nallowed_gateways = '127.0.0.1'",
            f"ussd.allowed_gateways = '127.0.0.1': {GATEWAYS}",
        ),
        (
            "[ussd]\nallowed_gateways = ['10.0.0.300']",
            f"ussd.allowed_gateways = ['10.0.0.300']: {GATEWAYS}; '10.0.0.300' is neither",
        ),
        (
            "[ussd]\nallowed_gateways = [10]",
            f"ussd.allowed_gateways = [10]: {GATEWAYS}; 10 is not a string",
        ),
        (
            "[limits]\ntopup_min_fen = 0",
            "limits.topup_min_fen = 0: expected a positive integer (fen)",
        ),
        (
            "[limits]\ntopup_max_fen = 50.5",
            "limits.topup_max_fen = 50.5: expected a positive integer (fen)",
        ),
        (
            "[limits]\ntopup_min_fen = 600\ntopup_max_fen = 500",
            "limits.topup_min_fen = 600, limits.topup_max_fen = 500: "
            "expected topup_min_fen <= topup_max_fen",
        ),
        ("[secrets]\npin_key = ''", "secrets.pin_key = '': expected a non-empty string"),
        ("[secrets]\napi_token = '  '", "secrets.api_token = '  ': expected a non-empty string"),
        ("[platform]\nhttp_port = 80\n[platform.extra]\nx = 1", None),
    ],
)
def test_each_rule_rejects_a_bad_value_naming_file_key_value_and_expectation(
    tmp_path, toml, message
):
    error = load_error(tmp_path, toml)
    path = tmp_path / "config.toml"
    if message is None:  # a sub-table is an unknown key, not a value
        assert error.startswith(f"{path}: unknown key 'extra' in [platform]")
    else:
        assert error == f"{path}: {message}"


def test_limits_conflict_between_file_and_environment_names_both_sources(tmp_path):
    environ = {"AIRCHARGE_LIMITS_TOPUP_MAX_FEN": "500"}
    error = load_error(tmp_path, "[limits]\ntopup_min_fen = 600\n", environ)
    path = tmp_path / "config.toml"
    assert error.startswith(f"{path}, AIRCHARGE_LIMITS_TOPUP_MAX_FEN: limits.topup_min_fen = 600")


def test_limit_equal_min_and_max_is_allowed():
    assert LimitsConfig(topup_min_fen=1, topup_max_fen=1).topup_max_fen == 1


def test_sections_built_in_code_validate_themselves():
    with pytest.raises(ConfigError, match=re.escape("boss.timeout_ms = -5: expected a positive")):
        BossConfig(timeout_ms=-5)
    with pytest.raises(ConfigError, match=r"^platform\.http_port = 70000: expected"):
        PlatformConfig(http_port=70000)
    assert DatabaseConfig(sqlite_synchronous="normal").sqlite_synchronous == "NORMAL"
    assert UssdConfig(allowed_gateways=["10.0.0.1"]).allowed_gateways == ("10.0.0.1",)  # type: ignore[arg-type]
    assert PlatformConfig(http_port=0).http_port == 0  # tests bind to a free port


def test_secret_values_never_appear_in_errors(tmp_path):
    error = load_error(tmp_path, "[secrets]\npin_key = 123456\n")
    assert error.endswith("secrets.pin_key = <hidden int>: expected a non-empty string")
    assert "123456" not in error


def test_database_password_is_masked_in_errors(tmp_path):
    error = load_error(tmp_path, "[database]\nurl = 'postgresql://app:hunter2@db/aircharge'\n")
    assert "hunter2" not in error
    assert "database.url = 'postgresql://app:***@db/aircharge'" in error


def test_password_holding_an_at_sign_is_masked_whole(tmp_path):
    error = load_error(tmp_path, "[database]\nurl = 'postgresql://app:p@ss@db/x'\n")
    assert "database.url = 'postgresql://app:***@db/x'" in error


def test_boss_url_with_credentials_is_refused_and_masked(tmp_path):
    error = load_error(tmp_path, "[boss]\nurl = 'http://u:pw@boss.example/'\n")
    assert error.endswith(
        "boss.url = 'http://u:***@boss.example/': "
        f"{HTTP_URL} without credentials, query or fragment"
    )


def test_good_boss_urls_are_accepted():
    for url in ("https://boss.example", "http://10.0.0.5:8081/", "https://[::1]:8443/boss/v2"):
        assert BossConfig(url=url).url == url


# --- structure of the file ---------------------------------------------------------------------


def test_unknown_key_is_named_with_the_valid_keys_of_its_section(tmp_path):
    error = load_error(tmp_path, "[boss]\ntimeout = 10\n")
    assert error == (
        f"{tmp_path / 'config.toml'}: unknown key 'timeout' in [boss] "
        "(did you mean 'timeout_ms'?); valid keys: url, timeout_ms"
    )


def test_several_unknown_keys_are_all_named(tmp_path):
    error = load_error(tmp_path, "[limits]\nmin = 1\nmax = 2\n")
    assert "unknown keys 'min', 'max' in [limits]" in error
    assert error.endswith(
        "valid keys: topup_min_fen, topup_max_fen, daily_amount_fen, daily_count,"
        " subscriber_daily_fen, reversal_window_s, selling_levels, transfer_code_ttl_s,"
        " transfer_code_attempts_max"
    )


def test_unknown_section_is_named_with_the_valid_sections(tmp_path):
    error = load_error(tmp_path, "[bos]\nurl = 'http://x'\n")
    assert error == (
        f"{tmp_path / 'config.toml'}: unknown section 'bos' (did you mean 'boss'?); "
        "valid sections: platform, database, boss, bank, ussd, ivr, wap, sms, smpp, limits,"
        " commissions, pins, resolver, secrets, simulator"
    )


def test_top_level_key_outside_any_section_is_refused(tmp_path):
    error = load_error(tmp_path, "host = '0.0.0.0'\n")
    assert "unknown section 'host'" in error


def test_section_that_is_not_a_table_is_refused(tmp_path):
    error = load_error(tmp_path, "platform = 3\n")
    assert error == f"{tmp_path / 'config.toml'}: platform = 3: expected a table [platform]"


def test_toml_syntax_error_names_the_file_and_the_line(tmp_path):
    error = load_error(tmp_path, "[platform]\nhttp_port = 8080\nhost = \n")
    assert error.startswith(f"{tmp_path / 'config.toml'}: invalid TOML: ")
    assert "line 3" in error


def test_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == f"{path}: no such configuration file"


def test_unreadable_path_is_named(tmp_path):
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path}: cannot read")):
        load_config(tmp_path, environ={})


def test_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes('[platform]\nlanguage = "中文"\n'.encode("gbk"))
    with pytest.raises(ConfigError, match=re.escape(f"{path}: not UTF-8 text")):
        load_config(path, environ={})


def test_empty_file_gives_the_defaults(tmp_path):
    assert load_config(write(tmp_path, ""), environ={}) == Config()


# --- writing and demo secrets ------------------------------------------------------------------


def test_dump_then_load_gives_the_same_config_for_the_defaults(tmp_path):
    path = write(tmp_path, dump_toml(Config()))
    assert load_config(path, environ={}) == Config()


def test_dump_then_load_gives_the_same_config_for_unusual_values(tmp_path):
    config = Config(
        platform=PlatformConfig(host="::", http_port=0, language="en", log_level="debug"),
        database=DatabaseConfig(url="postgresql+asyncpg://a@db/x", sqlite_synchronous="NORMAL"),
        ussd=UssdConfig(service_code="*1*2#", allowed_gateways=("10.0.0.0/8",)),
        limits=LimitsConfig(topup_min_fen=1, topup_max_fen=1),
        secrets=SecretsConfig(pin_key='q"u\\o\tte\n\x7f\x01 键', api_token="tok#en # no comment"),
    )
    text = dump_toml(config)
    assert load_config(write(tmp_path, text), environ={}) == config
    assert dump_toml(load_config(write(tmp_path, text), environ={})) == text


def test_dump_mentions_every_key_with_a_comment():
    text = dump_toml(Config())
    for dotted in ALL_KEYS:
        key = dotted.split(".")[1]
        assert re.search(rf"^{key} = .+  # \S", text, re.MULTILINE), key


def test_example_file_holds_every_default():
    example = REPO / "aircharge" / "config.example.toml"
    assert load_config(example, environ={}) == Config()
    assert dump_toml(Config()) in example.read_text(encoding="utf-8")


def test_docs_describe_every_key():
    docs = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for dotted in ALL_KEYS:
        section, key = dotted.split(".")
        assert f"`{key}`" in docs, dotted
        assert f"AIRCHARGE_{section.upper()}_{key.upper()}" in docs, dotted


def test_demo_secrets_in_use():
    assert DEMO_SECRETS == {
        "secrets.pin_key": "demo-pin-key",
        "secrets.api_token": "demo-token",
        "secrets.bank_secret": "demo-bank-secret",
        "secrets.smpp_password": "demosmpp",
        "secrets.smpp_ussd_password": "demoussd",
    }
    smpp = ["secrets.smpp_password", "secrets.smpp_ussd_password"]
    assert demo_secrets_in_use(Config()) == [
        "secrets.pin_key",
        "secrets.api_token",
        "secrets.bank_secret",
        *smpp,
    ]
    one = Config(secrets=SecretsConfig(pin_key="a-real-key"))
    assert demo_secrets_in_use(one) == ["secrets.api_token", "secrets.bank_secret", *smpp]
    none = Config(
        secrets=SecretsConfig(
            pin_key="k", api_token="t", bank_secret="b", smpp_password="p",
            smpp_ussd_password="u",
        )
    )  # fmt: skip
    assert demo_secrets_in_use(none) == []


def test_bank_emulator_ships_the_demo_bank_secret():
    # The emulator run alone signs with the value only `aircharge demo` accepts.
    assert DEMO_SECRETS["secrets.bank_secret"] == BANK_DEMO_SECRET


def test_demo_secrets_replaced_from_the_environment():
    environ = {
        "AIRCHARGE_SECRETS_PIN_KEY": "k" * 32,
        "AIRCHARGE_SECRETS_API_TOKEN": "t" * 32,
        "AIRCHARGE_SECRETS_BANK_SECRET": "b" * 32,
        "AIRCHARGE_SECRETS_SMPP_PASSWORD": "p" * 8,
        "AIRCHARGE_SECRETS_SMPP_USSD_PASSWORD": "u" * 8,
    }
    assert demo_secrets_in_use(load_config(environ=environ)) == []


def test_the_resolver_must_not_take_sales_still_waiting_on_boss():
    from aircharge.platform import _resolver_policy

    slow_boss = Config(boss=BossConfig(timeout_ms=20_000))
    with pytest.raises(ConfigError, match="stale_after_s above twice the BOSS time-out"):
        _resolver_policy(slow_boss)
    assert _resolver_policy(Config()).stale_after_s == 30


def test_sms_section_defaults_and_checks(tmp_path):
    config = load_config(environ={})
    assert config.sms.service_number == "1888"
    assert config.sms.duplicate_window_s == 600
    assert config.sms.receipts is True
    assert "sms.service_number = '*1888#'" in load_error(
        tmp_path, '[sms]\nservice_number = "*1888#"'
    )
    assert "sms.receipts = 'yes'" in load_error(tmp_path, '[sms]\nreceipts = "yes"')
    environ = {"AIRCHARGE_SMS_RECEIPTS": "false", "AIRCHARGE_SMS_REPLIES_PER_DAY_MAX": "5"}
    loaded = load_config(environ=environ)
    assert (loaded.sms.receipts, loaded.sms.replies_per_day_max) == (False, 5)


def test_smpp_section_codings_from_file_and_environment(tmp_path):
    text = '[smpp]\nwindow = 32\ndata_codings = {"0x0F" = "gbk"}\n'
    config = load_config(write(tmp_path, text), environ={})
    assert config.smpp.window == 32
    link = config.smpp.link_settings(config.secrets.smpp_password, "1888")
    assert link.codings.codec(0x0F) == "gbk"
    assert link.window == 32
    assert config.secrets.smpp_password not in repr(link)
    assert config.smpp.ussd_link_settings("pw", "1888") is None
    environ = {
        "AIRCHARGE_SMPP_USSD_DATA_CODINGS": "0x0F=gsm7-packed",
        "AIRCHARGE_SMPP_USSD_BIND": "1",
    }
    ussd = load_config(environ=environ).smpp.ussd_link_settings("pw", "1888")
    assert ussd is not None
    assert ussd.codings.codec(0x0F) == "gsm7-packed"
    assert ussd.codings.codec(0x48) == "ucs2"


def test_smpp_section_refuses_bad_values(tmp_path):
    error = load_error(tmp_path, '[smpp]\ndata_codings = {"0x0F" = "klingon"}\n')
    assert "smpp.data_codings" in error
    error = load_error(tmp_path, "[secrets]\nsmpp_password = 'far-too-long'\n")
    assert "far-too-long" not in error
    assert "1..8" in error
