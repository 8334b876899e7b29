"""Every sandbox, the register and ``asxh-pay serve`` as separate processes on 127.0.0.1.

Why: the month must be shown to work over real HTTP, each party in its own process and
the whole wired only by a configuration file, exactly as a province would run it against
the real rails. The end-to-end test and ``asxh-pay demo --served`` start the same stack.

Each process logs to ``<workdir>/logs/NAME.log``; all are stopped (SIGTERM, then SIGKILL)
when the block ends, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from asxh_pay.errors import ConfigurationError

RAIL_SANDBOXES = {
    "treasury": "treasury",
    "viettel_money": "viettel-money",
    "momo": "momo",
    "vnpost": "vnpost",
}


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports on 127.0.0.1 that nobody listens on, for processes started later.

    Why not ``bind(0)``: the port is chosen here and bound later by a child process, and the
    kernel hands ports of its ephemeral range to every outgoing connection meanwhile (a
    month over HTTP opens thousands), so such a port was once taken before the child bound
    it. Ports below that range are never handed out implicitly; only another deliberate
    listener could take one, and a random choice makes that unlikely.
    """
    low = _ephemeral_range_start()
    rng = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(100 * count):
        if len(chosen) == count:
            break
        port = rng.randrange(10_000, low) if low > 11_000 else _kernel_port()
        if port not in chosen and _bindable(port):
            chosen.append(port)
    if len(chosen) < count:
        raise ConfigurationError(f"found only {len(chosen)} free ports on 127.0.0.1, {count} needed")
    return chosen


def free_port() -> int:
    """One port as :func:`free_ports` chooses them."""
    return free_ports(1)[0]


def _ephemeral_range_start(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default; elsewhere the check in ``_bindable`` still holds


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServedStack:
    workdir: Path
    config: Path
    urls: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def start_serve(self) -> None:
        """Start ``asxh-pay serve`` (later than the sandboxes when a SQLite ledger must not see
        two writers during a run: the providers resend their callbacks until it answers)."""
        if "serve" in self.procs:
            return
        argv = ["--config", str(self.config), "serve", "--port", str(self.ports["serve"])]
        _start(self, "serve", [*argv, "--data-dir", str(self.workdir / "serve")], self.urls["serve"])
        _wait_http(self.urls["serve"] + "/healthz")

    def pass_cash_window(self) -> int:
        """Let the served post office's month pass (its callbacks go to ``serve``); days passed."""
        response = httpx.post(self.urls["vnpost"] + "/_sandbox/pass-cash-window", timeout=600.0)
        response.raise_for_status()
        return int(response.json()["days"])

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _start(stack: ServedStack, name: str, argv: list[str], ready: str, *, timeout_s: float = 60.0) -> None:
    """Start ``asxh-pay ARGV`` and wait for ``ready`` in its output: the address it serves,
    which its first line names in either language (``--lang``)."""
    logs = stack.workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{name}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "asxh_pay", *argv],
            cwd=stack.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    stack.procs[name] = proc
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if ready.encode() in log_path.read_bytes():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    tail = log_path.read_bytes()[-600:].decode("utf-8", "replace")
    raise ConfigurationError(f"{name} did not start (see {log_path}): {tail}")


def _wait_http(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            httpx.get(url, timeout=1.0)
            return
        time.sleep(0.05)
    raise ConfigurationError(f"{url} never answered")


@contextlib.contextmanager
def served_stack(
    workdir: Path,
    *,
    registry_db: Path,
    ledger_url: str | None = None,
    settle_after_s: float = 0.2,
    start_serve: bool = True,
) -> Iterator[ServedStack]:
    """Start the stack, write ``<workdir>/asxh-pay.toml`` naming it, stop everything at the end.

    ``ledger_url`` goes into the file when given (else the environment or the data folder
    decides). With a SQLite ledger, ``serve`` and ``run`` write the same file: use
    PostgreSQL when both run at once (see README, "Serving callbacks").
    """
    # Every path absolute: the processes run in ``workdir``, the caller maybe elsewhere.
    workdir = workdir.resolve()
    registry_db = registry_db.resolve()
    if ledger_url is not None and ledger_url.startswith("sqlite:///"):
        ledger_url = "sqlite:///" + str(Path(ledger_url.removeprefix("sqlite:///")).resolve())
    workdir.mkdir(parents=True, exist_ok=True)
    names = (*RAIL_SANDBOXES, "register", "serve")
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    config = workdir / "asxh-pay.toml"
    treasury_key = workdir / "asxh-pay-data" / "treasury-sandbox" / "client_key.pem"
    lines = [f'ledger_url = "{ledger_url}"'] if ledger_url else []
    for rail in RAIL_SANDBOXES:
        lines += [f"[rails.{rail}]", "sandbox = true", f'base_url = "{urls[rail]}"']
        lines.append(f'callback_url = "{urls["serve"]}/callbacks/{rail}"')
        if rail == "treasury":
            lines.append(f'key_files = {{ client_key = "{treasury_key}" }}')
    lines += ["[register]", "sandbox = true", f'base_url = "{urls["register"]}"']
    config.write_text("\n".join(lines) + "\n", "utf-8")
    stack = ServedStack(workdir, config, urls, ports=ports)
    try:
        for rail, sandbox in RAIL_SANDBOXES.items():
            argv = ["sandbox", "serve", sandbox, "--port", str(ports[rail])]
            if rail != "treasury":
                argv += ["--callback-url", f"{urls['serve']}/callbacks/{rail}"]
            if rail in ("momo", "viettel_money"):
                argv += ["--settle-after-s", str(settle_after_s)]
            _start(stack, rail, argv, urls[rail])
        _start(
            stack,
            "register",
            [
                "sandbox",
                "serve",
                "register",
                "--port",
                str(ports["register"]),
                "--registry-db",
                str(registry_db),
            ],
            urls["register"],
        )
        if start_serve:
            stack.start_serve()
        yield stack
    finally:
        stack.stop()
