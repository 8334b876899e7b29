"""Provider plugins found through the ``asxh_pay.providers`` entry points (asxh_pay.plugins).

A provider "installed as its own package" is played by a distribution written into a temp
directory put on ``sys.path`` (``*.dist-info`` with ``entry_points.txt``): importlib.metadata
finds it exactly as it finds a pip-installed one.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from asxh_pay import plugins
from asxh_pay.client import AsyncPayoutClient, PollPolicy, ProviderSetup
from asxh_pay.errors import ConfigurationError
from asxh_pay.ledger import SqliteLedger
from asxh_pay.models import Beneficiary, PayoutRequest
from asxh_pay.payroll.served_stack import free_port
from asxh_pay.plugins import BrokenProviderPlugin, UnknownProvider, load_provider, provider_names
from asxh_pay.status import PayoutStatus

ROOT = Path(__file__).resolve().parents[1]

PLUGIN_MODULE = """
from asxh_pay.plugins import ProviderPlugin
from asxh_pay.providers.generic import GenericProvider
from asxh_pay.sandbox.generic import GenericSandbox

SECRET = "fake-pay-published-sandbox-secret"


class FakePay(GenericProvider):
    name = "fake_pay"

    def __init__(self, base_url, *, secret):
        super().__init__(base_url, secret=secret)
        self.refuse_sandbox_credentials(secret)


class FakePaySandbox(GenericSandbox):
    name = "fake_pay"

    def __init__(self, **kwargs):
        super().__init__(secret=SECRET, **kwargs)


def plugin():
    return ProviderPlugin(
        name="fake_pay",
        adapter=FakePay,
        sandbox=FakePaySandbox,
        sandbox_adapter=lambda base_url="https://fake.sandbox.invalid": FakePay(base_url, secret=SECRET),
        published_credentials=(SECRET,),
        description="a provider installed as its own package",
    )


def not_a_plugin():
    return {"name": "wrong"}


def misnamed():
    return ProviderPlugin(name="other", adapter=FakePay, sandbox=FakePaySandbox)
"""


def _distribution(root: Path, dist: str, entries: dict[str, str], module: str | None = None) -> None:
    info = root / f"{dist}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entries.items())
    (info / "entry_points.txt").write_text(f"[{plugins.GROUP}]\n{lines}\n")
    if module is not None:
        (root / "fake_pay_plugin.py").write_text(textwrap.dedent(module))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A directory on sys.path where tests "install" distributions."""
    root = tmp_path / "site"
    root.mkdir()
    sys.path.insert(0, str(root))
    load_provider.cache_clear()
    try:
        yield root
    finally:
        sys.path.remove(str(root))
        sys.modules.pop("fake_pay_plugin", None)
        load_provider.cache_clear()


def test_builtin_providers_are_registered_in_pyproject_as_entry_points() -> None:
    """The built-ins take the same path as a plugin: pyproject's table is the registry."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"][plugins.GROUP]
    assert declared == plugins.BUILTIN_ENTRY_POINTS
    for name in plugins.BUILTIN_ENTRY_POINTS:
        plugin = load_provider(name)
        assert plugin.adapter.name == name
    assert {"generic", "momo", "treasury", "viettel_money", "vnpost"} <= set(provider_names())
    generic = load_provider("generic")
    assert generic.configure is not None
    with pytest.raises(ConfigurationError, match="ASXH_PAY_RAILS__GENERIC__SECRET_KEY"):
        generic.configure("https://payouts.example.vn", {"secret_key": None})
    assert generic.configure("https://payouts.example.vn", {"secret_key": "s"}).name == "generic"


def test_installed_distribution_is_discovered_and_its_sandbox_credentials_published(site: Path) -> None:
    _distribution(site, "fake_pay", {"fake-pay": "fake_pay_plugin:plugin"}, PLUGIN_MODULE)
    assert "fake_pay" in provider_names()
    plugin = load_provider("Fake-Pay")
    assert plugin.name == "fake_pay" and plugin.adapter.__name__ == "FakePay"
    assert "fake_pay 0.1" in plugin.origin
    assert plugin.sandbox is not None and plugin.sandbox_adapter is not None
    assert plugin.served_sandbox().settle_after_s == 1.0
    # Its published sandbox secret is refused off a sandbox address, like the built-in ones.
    with pytest.raises(ConfigurationError, match="published credentials"):
        plugin.adapter("https://api.fake-pay.vn", secret="fake-pay-published-sandbox-secret")  # type: ignore[call-arg]


def test_unknown_provider_names_the_installed_ones() -> None:
    with pytest.raises(UnknownProvider, match=r"unknown provider 'acme'.*installed: generic, momo"):
        load_provider("acme")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("fake_pay_missing_module:plugin", "ModuleNotFoundError"),
        ("fake_pay_plugin:not_a_plugin", "returned dict, not an asxh_pay.plugins.ProviderPlugin"),
        ("fake_pay_plugin:misnamed", "must share one name"),
    ],
)
def test_broken_plugin_is_a_clear_error_naming_its_distribution(site: Path, entry: str, message: str) -> None:
    _distribution(site, "fake_pay", {"fake_pay": entry}, PLUGIN_MODULE)
    with pytest.raises(BrokenProviderPlugin, match=r"fake_pay 0\.1") as info:
        load_provider("fake_pay")
    assert message in str(info.value)
    assert load_provider("generic").name == "generic"  # the others still load


def test_two_distributions_registering_one_name_are_refused(site: Path) -> None:
    _distribution(site, "fake_pay", {"fake_pay": "fake_pay_plugin:plugin"}, PLUGIN_MODULE)
    _distribution(site, "fake_pay_fork", {"fake_pay": "fake_pay_plugin:misnamed"})
    with pytest.raises(BrokenProviderPlugin, match="registered twice"):
        load_provider("fake_pay")


def _env(site: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}


async def test_cli_serves_an_installed_plugins_sandbox(site: Path, tmp_path: Path) -> None:
    """``asxh-pay sandbox serve fake-pay`` in another process; paid over real HTTP."""
    _distribution(site, "fake_pay", {"fake_pay": "fake_pay_plugin:plugin"}, PLUGIN_MODULE)
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "asxh_pay",
            "sandbox",
            "serve",
            "fake-pay",
            "--port",
            str(port),
            "--lang",
            "en",
        ],
        cwd=tmp_path,
        env=_env(site),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f"fake-pay sandbox listening on http://127.0.0.1:{port}" in line, proc.stderr
        plugin = load_provider("fake_pay")
        assert plugin.sandbox_adapter is not None
        adapter = plugin.sandbox_adapter(f"http://127.0.0.1:{port}")
        request = PayoutRequest(
            programme="NCC",
            period="2026-11",
            beneficiary=Beneficiary(cccd="001090012345", full_name="Nguyễn Văn An"),
            destination={"kind": "bank", "bank_bin": "970405", "account_number": "1234567890"},
            amount=1_500_000,
        )
        client = AsyncPayoutClient(
            SqliteLedger(tmp_path / "l.db"),
            [ProviderSetup(adapter)],
            poll=PollPolicy(initial_s=0.2, max_s=0.5, deadline_s=20),
        )
        async with client:
            payout = await client.pay(request)
        assert payout.status is PayoutStatus.SUCCEEDED
        assert payout.provider == "fake_pay"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(
    ("name", "entry", "code", "message"),
    [
        ("acme", None, 2, "unknown provider 'acme'"),
        ("fake_pay", "fake_pay_missing_module:plugin", 3, "provider plugin 'fake_pay' cannot be loaded"),
    ],
)
def test_cli_sandbox_serve_unknown_or_broken_plugin(
    site: Path, tmp_path: Path, name: str, entry: str | None, code: int, message: str
) -> None:
    if entry is not None:
        _distribution(site, "fake_pay", {"fake_pay": entry})
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "asxh_pay",
            "sandbox",
            "serve",
            name,
            "--port",
            str(free_port()),
            "--lang",
            "en",
        ],
        cwd=tmp_path,
        env=_env(site),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == code, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_rail_adapter_builds_a_plugins_rail_embedded_served_or_production(site: Path, tmp_path: Path) -> None:
    _distribution(site, "fake_pay", {"fake_pay": "fake_pay_plugin:plugin"}, PLUGIN_MODULE)
    plugin = load_provider("fake_pay")
    assert plugins.destinations_of(plugin) == (
        "bank",
        "cash_home",
        "cash_pickup",
        "postal_account",
        "wallet:fake_pay",
    )
    adapter, sandbox = plugins.rail_adapter(
        "fake_pay", base_url=None, sandbox=True, settings={}, book=tmp_path / "fake.db"
    )
    assert adapter.name == "fake_pay" and sandbox is not None and sandbox.settle_after_s == 0.0
    served, none = plugins.rail_adapter("fake_pay", base_url="http://127.0.0.1:9", sandbox=True, settings={})
    assert served.base_url == "http://127.0.0.1:9" and none is None
    with pytest.raises(ConfigurationError, match="has no configure"):
        plugins.rail_adapter("fake_pay", base_url="https://api.fake-pay.vn", sandbox=False, settings={})


async def test_a_configured_rail_names_an_installed_provider(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[rails.fake_pay]`` in asxh-pay.toml: the payroll's rails include the plugin's, embedded
    (its sandbox in process, books under <data>/sandbox) and routed by its destinations."""
    from asxh_pay.config import load_settings
    from asxh_pay.payroll.configured import build_adapter, rails_from_settings

    _distribution(site, "fake_pay", {"fake_pay": "fake_pay_plugin:plugin"}, PLUGIN_MODULE)
    for name in list(os.environ):
        if name.startswith("ASXH_PAY_"):
            monkeypatch.delenv(name)
    path = tmp_path / "asxh-pay.toml"
    path.write_text('[rails.fake_pay]\nsandbox = true\ndestinations = ["wallet:fake_pay"]\n', "utf-8")
    settings = load_settings(path)
    assert settings.routes()["wallet:fake_pay"] == "fake_pay"
    rails = rails_from_settings(settings, tmp_path)
    try:
        assert "fake_pay" in [s.adapter.name for s in rails.setups]
        assert "fake_pay" in rails.sandboxes and rails.router.routes["wallet:fake_pay"] == "fake_pay"
        client = AsyncPayoutClient(
            SqliteLedger(tmp_path / "l.db"), rails.setups, router=rails.router, poll=PollPolicy(deadline_s=10)
        )
        request = PayoutRequest(
            programme="NCC",
            period="2026-11",
            beneficiary=Beneficiary(cccd="001090012345", full_name="Nguyễn Văn An"),
            destination={"kind": "wallet", "provider": "fake_pay", "phone": "0901234567"},
            amount=1_500_000,
        )
        async with client:
            payout = await client.pay(request)
        assert payout.status is PayoutStatus.SUCCEEDED and payout.provider == "fake_pay"
        assert (tmp_path / "sandbox" / "fake_pay.db").exists()
    finally:
        rails.close()
    # Served sandbox: the test-credential adapter at the loopback address.
    path.write_text('[rails.fake_pay]\nsandbox = true\nbase_url = "http://127.0.0.1:9"\n', "utf-8")
    served = build_adapter("fake_pay", load_settings(path).rails["fake_pay"])
    assert served.name == "fake_pay" and served.base_url == "http://127.0.0.1:9"


def test_an_unknown_configured_provider_lists_the_installed_ones(tmp_path: Path) -> None:
    from asxh_pay.config import load_settings

    path = tmp_path / "asxh-pay.toml"
    path.write_text("[rails.acme]\nsandbox = true\n", "utf-8")
    with pytest.raises(ConfigurationError, match=r"unknown provider 'acme'.*generic.*asxh_pay\.providers"):
        load_settings(path)
