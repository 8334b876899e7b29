"""asxh-pay.toml: secrets never in the file nor printed, env overrides, config check per rail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from asxh_pay.cli import EXIT_ATTENTION, EXIT_OK, EXIT_REFUSED, main
from asxh_pay.config import load_settings
from asxh_pay.errors import ConfigurationError
from asxh_pay.localserver import LocalServer, serve
from asxh_pay.payroll.configured import rails_from_settings, registry_from_settings
from asxh_pay.payroll.register_http import RegisterService
from asxh_pay.payroll.registry import SandboxPopulationRegistry
from asxh_pay.payroll.served_stack import free_port
from asxh_pay.sandbox.momo import MomoSandbox
from asxh_pay.sandbox.served import ServedSandbox
from asxh_pay.sandbox.treasury import demo_sandbox
from asxh_pay.sandbox.viettel_money import ViettelMoneySandbox
from asxh_pay.sandbox.vnpost import VNPostSandbox

SECRET = "s3cr3t-Value-that-must-never-print"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("ASXH_PAY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no ./asxh-pay.toml of the developer's


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


REAL = """
ledger_url = "sqlite:///ledger.db"
[rails.vnpost]
base_url = "https://vnpost.example.vn"
partner_code = "ASXH"
[rails.momo]
base_url = "https://payment.momo.vn"
partner_code = "MOMOX"
access_key = "ak"
callback_url = "https://asxh.example.vn/callbacks/momo"
"""


@pytest.mark.parametrize(
    ("extra", "env"),
    [
        (
            '[rails.vnpost]\nbase_url = "https://v.example"\nsecret_key = "abc"\n',
            "ASXH_PAY_RAILS__VNPOST__SECRET_KEY",
        ),
        (
            '[rails.viettel_money]\nbase_url = "https://v.example"\ntoken = "abc"\n',
            "ASXH_PAY_RAILS__VIETTEL_MONEY__TOKEN",
        ),
        (
            '[register]\nsandbox = false\nbase_url = "https://r.example"\ntoken = "abc"\n',
            "ASXH_PAY_REGISTER__TOKEN",
        ),
        ('ledger_url = "postgresql://asxh:pw@db/asxh"\n', "ASXH_PAY_LEDGER_URL"),
    ],
)
def test_a_file_holding_a_secret_in_clear_is_refused_naming_the_variable(
    tmp_path: Path, extra: str, env: str
) -> None:
    path = _write(tmp_path / "asxh-pay.toml", extra)
    with pytest.raises(ConfigurationError) as err:
        load_settings(path)
    assert "secret in clear" in str(err.value) and env in str(err.value)
    assert "abc" not in str(err.value) and "pw" not in str(err.value)


def test_config_show_never_prints_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "asxh-pay.toml", REAL)
    monkeypatch.setenv("ASXH_PAY_RAILS__MOMO__SECRET_KEY", SECRET)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "asxh_pay_rails__vnpost__secret_key").write_text(SECRET + "-file")
    monkeypatch.setenv("ASXH_PAY_SECRETS_DIR", str(secrets))
    assert load_settings(path).rails["vnpost"].secret_key is not None  # read from the directory
    for argv in (
        ["--config", str(path), "config", "show"],
        ["config", "show", "--config", str(path), "--json"],
    ):
        assert main(argv) == EXIT_OK
        out = capsys.readouterr()
        assert SECRET not in out.out + out.err and "s3cr3t" not in out.out
        assert "**********" in out.out
    # The settings' own repr masks too (a traceback or a debugger shows no secret).
    assert SECRET not in repr(load_settings(path))


def test_a_missing_credential_names_the_environment_variable(tmp_path: Path) -> None:
    path = _write(tmp_path / "asxh-pay.toml", REAL)
    with pytest.raises(ConfigurationError) as err:
        rails_from_settings(load_settings(path), tmp_path)
    assert "ASXH_PAY_RAILS__VNPOST__SECRET_KEY" in str(err.value)
    reg = _write(tmp_path / "reg.toml", '[register]\nsandbox = false\nbase_url = "https://r.example"\n')
    with pytest.raises(ConfigurationError) as err:
        registry_from_settings(load_settings(reg), tmp_path)
    assert "ASXH_PAY_REGISTER__TOKEN" in str(err.value)


def test_environment_variables_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "asxh-pay.toml", REAL)
    monkeypatch.setenv("ASXH_PAY_CONFIG", str(path))  # the file's path from the environment too
    monkeypatch.setenv("ASXH_PAY_RAILS__VNPOST__BASE_URL", "https://other.example.vn")
    monkeypatch.setenv("ASXH_PAY_RAILS__MOMO__LIMITS__CONCURRENCY", "7")
    monkeypatch.setenv("ASXH_PAY_LEDGER_URL", "postgresql://asxh@db/asxh")
    monkeypatch.setenv("ASXH_PAY_ROUTING__CASH_FALLBACK", "vnpost")
    s = load_settings(None)
    assert s.source == path
    assert s.rails["vnpost"].base_url == "https://other.example.vn"
    assert s.rails["vnpost"].partner_code == "ASXH"  # the rest of the table still from the file
    assert s.rails["momo"].limits.concurrency == 7
    assert s.ledger_url == "postgresql://asxh@db/asxh"
    assert s.routes()["wallet:momo"] == "momo" and s.routes()["cash_pickup"] == "vnpost"


def test_no_file_means_the_embedded_sandboxes(tmp_path: Path) -> None:
    s = load_settings(None)
    assert s.source is None and s.embedded and s.register.embedded
    rails = rails_from_settings(s, tmp_path)
    try:
        assert set(rails.sandboxes) == {"viettel_money", "momo", "vnpost"} and rails.treasury is not None
    finally:
        rails.close()


def test_a_real_rail_never_gets_sandboxes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "asxh-pay.toml", REAL + '[routing]\ncash_fallback = "vnpost"\n')
    monkeypatch.setenv("ASXH_PAY_RAILS__VNPOST__SECRET_KEY", SECRET)
    monkeypatch.setenv("ASXH_PAY_RAILS__MOMO__SECRET_KEY", SECRET)
    (tmp_path / "momo.pem").write_bytes(_rsa_public_pem())
    monkeypatch.setenv("ASXH_PAY_RAILS__MOMO__KEY_FILES__PROVIDER_PUBLIC_KEY", str(tmp_path / "momo.pem"))
    rails = rails_from_settings(load_settings(path), tmp_path)
    assert rails.sandboxes == {} and rails.treasury is None
    assert {s.name: s.adapter.base_url for s in rails.setups} == {
        "vnpost": "https://vnpost.example.vn",
        "momo": "https://payment.momo.vn",
    }
    assert all(s.transport is None for s in rails.setups)  # real HTTP, nothing in-process
    assert rails.report_files == {}  # reports are downloaded from the rails themselves


def test_a_sandbox_rail_must_be_on_loopback(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.toml", '[rails.momo]\nsandbox = true\nbase_url = "https://momo.example"\n')
    with pytest.raises(ConfigurationError, match="loopback"):
        load_settings(path)


def _rsa_public_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    # A key of its own: the sandbox's published MoMo key is refused off a sandbox address.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --------------------------------------------------------------------------- config check


@pytest.fixture
def served(tmp_path: Path) -> Iterator[dict[str, LocalServer]]:
    registry = SandboxPopulationRegistry(tmp_path / "registry.db")
    bank = demo_sandbox(tmp_path / "bank-keys")
    servers = {
        "momo": serve(ServedSandbox(MomoSandbox()).handle),
        "viettel_money": serve(ServedSandbox(ViettelMoneySandbox()).handle),
        "vnpost": serve(ServedSandbox(VNPostSandbox()).handle),
        "treasury": serve(bank.handle),
        "register": serve(RegisterService(registry).handle),
    }
    for s in servers.values():
        s.start()
    yield servers
    for s in servers.values():
        s.stop()
    registry.close()


def _served_config(tmp_path: Path, servers: dict[str, LocalServer], *, momo_url: str | None = None) -> Path:
    return _write(
        tmp_path / "served.toml",
        f"""
[rails.treasury]
sandbox = true
base_url = "{servers["treasury"].url}"
key_files = {{ client_key = "{tmp_path / "bank-keys" / "client_key.pem"}" }}
[rails.viettel_money]
sandbox = true
base_url = "{servers["viettel_money"].url}"
[rails.momo]
sandbox = true
base_url = "{momo_url or servers["momo"].url}"
[rails.vnpost]
sandbox = true
base_url = "{servers["vnpost"].url}"
[register]
sandbox = true
base_url = "{servers["register"].url}"
""",
    )


def test_config_check_contacts_each_served_rail_and_the_register(
    tmp_path: Path, served: dict[str, LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _served_config(tmp_path, served)
    assert main(["config", "check", "--config", str(path), "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and set(report["checks"]) == {
        "rail treasury",
        "rail viettel_money",
        "rail momo",
        "rail vnpost",
        "register",
    }
    assert all(c["ok"] for c in report["checks"].values()), report


def test_config_check_fails_for_the_rail_on_a_closed_port(
    tmp_path: Path, served: dict[str, LocalServer], capsys: pytest.CaptureFixture[str]
) -> None:
    path = _served_config(tmp_path, served, momo_url=f"http://127.0.0.1:{free_port()}")
    assert main(["config", "check", "--config", str(path)]) == EXIT_ATTENTION
    out = capsys.readouterr().out  # Vietnamese by default
    lines = {line.split(":")[0]: line for line in out.splitlines()}
    assert "cannot reach" in lines["LỖI  rail momo"] and out.endswith("Cấu hình có kênh chi trả bị lỗi\n")
    assert "ĐẠT  rail vnpost" in lines and "ĐẠT  register" in lines
    assert main(["config", "check", "--config", str(path), "--lang", "en"]) == EXIT_ATTENTION
    out = capsys.readouterr().out
    lines = {line.split(":")[0]: line for line in out.splitlines()}
    assert lines["FAIL rail momo"].startswith("FAIL") and "cannot reach" in lines["FAIL rail momo"]
    assert "OK   rail vnpost" in lines and "OK   register" in lines


def test_an_invalid_file_is_refused_with_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "bad.toml", '[rails.momo]\nprovider = "paypal"\nbase_url = "https://x"\n')
    assert main(["config", "show", "--config", str(path)]) == EXIT_REFUSED
    assert "unknown provider" in capsys.readouterr().err


def test_the_readme_example_configuration_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text("utf-8")
    example = readme.split("## Configuration", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    s = load_settings(_write(tmp_path / "asxh-pay.toml", example))
    assert set(s.rails) == {"treasury", "viettel_money", "momo", "vnpost"} and not s.embedded
    assert s.routes()["bank"] == "treasury" and s.routing.cash_fallback == "vnpost"
    assert s.log_format == "json" and s.roster == Path("/srv/asxh-pay/roster.jsonl")


def test_workers_take_the_configured_rails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from asxh_pay.cli.scaleout import build_providers

    args = argparse.Namespace(providers=None, provider_url=None, sandbox=None, config=None, data_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="no provider named"):
        build_providers(args, 8)  # no file: embedded sandboxes cannot be shared by workers
    path = _write(tmp_path / "w.toml", '[rails.momo]\nsandbox = true\nbase_url = "http://127.0.0.1:9"\n')
    args.config = str(path)
    setups, router = build_providers(args, 8)
    assert [s.name for s in setups] == ["momo"] and router.routes == {"wallet:momo": "momo"}
    assert router.fallback_provider is None  # no vnpost configured: no cash fallback
