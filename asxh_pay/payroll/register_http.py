"""The population register over HTTP: the JSON API of docs/register.md, both sides.

:class:`HttpPopulationRegistry` is the payroll's adapter for a register reached over
HTTPS (a province's gateway to the National Population Database, or the served
sandbox); :class:`RegisterService` serves a :class:`SandboxPopulationRegistry` with the
same API, so ``asxh-pay sandbox serve register`` and a real gateway are
interchangeable in ``asxh-pay.toml``.

Why bearer tokens and not request signatures: the register answers questions and moves
no money; a replayed question gains nothing, and the gateways in front of government
databases issue per-client tokens over TLS. The token is a secret of the configuration
(``ASXH_PAY_REGISTER__TOKEN``), never logged.

Why batches: the month close asks the register again just before money leaves; a
province's month is tens of thousands of people, so the API takes up to
:data:`MAX_BATCH` CCCDs per call and the adapter sends ``batch_size`` at a time.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import httpx
from pydantic import SecretStr

from asxh_pay.errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderProtocolError,
    ProviderUnavailable,
)
from asxh_pay.identity import match_names, normalize_cccd
from asxh_pay.masking import get_logger
from asxh_pay.payroll.registry import PersonRecord, SandboxPopulationRegistry, Stop
from asxh_pay.status import FailureReason

log = get_logger(__name__)

#: The largest batch the API accepts in one call.
MAX_BATCH = 1000
#: The served sandbox register's token: public, worthless outside the sandbox.
SANDBOX_TOKEN = "asxh-register-sandbox-token"

PATH_HEALTH = "/v1/health"
PATH_LOOKUP = "/v1/people/lookup"
PATH_STATUS = "/v1/people/status"
PATH_VERIFY = "/v1/people/verify"

_STOP_REASONS = {
    "deceased": FailureReason.BENEFICIARY_DECEASED,
    "not_found": FailureReason.IDENTITY_CHECK_FAILED,
    "entitlement_ended": FailureReason.REGULATORY,
}


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ProviderProtocolError("the register sent a date that is not YYYY-MM-DD") from None


class HttpPopulationRegistry:
    """The payroll's register adapter for the JSON API (docs/register.md)."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | str,
        *,
        timeout_s: float = 30.0,
        batch_size: int = 500,
        attempts: int = 4,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ConfigurationError(f"register batch_size must be between 1 and {MAX_BATCH}")
        secret = token if isinstance(token, SecretStr) else SecretStr(token)
        if not secret.get_secret_value():
            raise ConfigurationError("the population register's token is empty (ASXH_PAY_REGISTER__TOKEN)")
        self.base_url = base_url.rstrip("/")
        self.batch_size = batch_size
        self.attempts = max(1, attempts)
        self._token = secret
        self._timeout = timeout_s
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"HttpPopulationRegistry(base_url={self.base_url!r})"

    def _client(self) -> httpx.AsyncClient:
        # One client per event loop: the payroll commands call asyncio.run more than once.
        if self._http is None or self._http.is_closed or getattr(self, "_loop", None) is not _loop():
            self._http = httpx.AsyncClient(
                base_url=self.base_url, timeout=self._timeout, transport=self._transport, trust_env=False
            )
            self._loop = _loop()
        return self._http

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        delay = 0.1
        last: Exception | None = None
        for attempt in range(self.attempts):
            try:
                resp = await self._client().request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                last = exc
            else:
                if resp.status_code in (401, 403):
                    raise AuthenticationError("the population register refused our token (401/403)")
                if resp.status_code in (429, 502, 503, 504):
                    last = ProviderUnavailable(f"population register answered {resp.status_code}")
                elif resp.status_code != 200:
                    raise ProviderProtocolError(f"population register answered {resp.status_code} to {path}")
                else:
                    try:
                        data = resp.json()
                    except ValueError:
                        raise ProviderProtocolError(f"population register sent non-JSON to {path}") from None
                    if not isinstance(data, dict):
                        raise ProviderProtocolError(f"population register sent a non-object to {path}")
                    return data
            if attempt + 1 < self.attempts:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise ProviderUnavailable(
            f"population register unreachable after {self.attempts} attempts ({type(last).__name__})"
        )

    def _chunks(self, cccds: Sequence[str]) -> list[list[str]]:
        unique = list(dict.fromkeys(cccds))
        return [unique[i : i + self.batch_size] for i in range(0, len(unique), self.batch_size)]

    async def health(self) -> dict[str, Any]:
        """The register's own health answer (``config check``): raises when it is unreachable."""
        return await self._call("GET", PATH_HEALTH)

    async def lookup_batch(self, cccds: Sequence[str]) -> dict[str, PersonRecord]:
        out: dict[str, PersonRecord] = {}
        for chunk in self._chunks(cccds):
            data = await self._call("POST", PATH_LOOKUP, {"cccds": chunk})
            for p in data.get("people", []):
                try:
                    rec = PersonRecord(
                        str(p["cccd"]),
                        str(p["full_name"]),
                        _date(p.get("birth_date")),
                        _date(p.get("died_on")),
                    )
                except (KeyError, TypeError):
                    raise ProviderProtocolError("the register sent a person without cccd/full_name") from None
                out[rec.cccd] = rec
        return out

    async def check_batch(self, cccds: Sequence[str]) -> dict[str, list[Stop]]:
        stops: dict[str, list[Stop]] = {}
        for chunk in self._chunks(cccds):
            data = await self._call("POST", PATH_STATUS, {"cccds": chunk})
            for s in data.get("stops", []):
                try:
                    cccd, kind = str(s["cccd"]), str(s["reason"])
                except (KeyError, TypeError):
                    raise ProviderProtocolError("the register sent a stop without cccd/reason") from None
                reason = _STOP_REASONS.get(kind)
                if reason is None:
                    raise ProviderProtocolError(f"the register sent an unknown stop reason {kind!r}")
                programme = s.get("programme")
                stops.setdefault(cccd, []).append(
                    Stop(
                        cccd,
                        reason,
                        str(s.get("detail") or kind)[:200],
                        str(programme) if programme else None,
                    )
                )
        return stops

    async def verify_identity(self, cccd: str, full_name: str, birth_date: date | None) -> dict[str, Any]:
        """The one-person identity check (CCCD, name, date of birth), as the register judges it."""
        body = {
            "cccd": cccd,
            "full_name": full_name,
            "birth_date": birth_date.isoformat() if birth_date else None,
        }
        return await self._call("POST", PATH_VERIFY, body)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def close(self) -> None:
        """Drop the connection pool (its sockets close with their event loop)."""
        self._http = None


def _loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# --------------------------------------------------------------------------- server side


class RegisterService:
    """The JSON API over a :class:`SandboxPopulationRegistry`, as an ``httpx`` handler.

    Serve it with :func:`asxh_pay.localserver.serve` (``asxh-pay sandbox serve register``).
    Deaths and entitlement stops recorded in the SQLite file by another process
    (``asxh-pay registry mark-dead``) are seen by the next request.
    """

    def __init__(self, registry: SandboxPopulationRegistry, token: str = SANDBOX_TOKEN) -> None:
        self.registry = registry
        self._token = token.encode()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        auth = request.headers.get("authorization", "")
        given = auth[7:].encode() if auth.startswith("Bearer ") else b""
        if not hmac.compare_digest(given, self._token):
            return httpx.Response(401, json={"error": "unauthorized"})
        path = request.url.path
        if request.method == "GET" and path == PATH_HEALTH:
            return httpx.Response(200, json={"status": "ok", "people": self.registry.count()})
        if request.method != "POST" or path not in (PATH_LOOKUP, PATH_STATUS, PATH_VERIFY):
            return httpx.Response(404, json={"error": "no_route"})
        try:
            body = json.loads(request.content)
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return httpx.Response(400, json={"error": "bad_request", "detail": "a JSON object is expected"})
        if path == PATH_VERIFY:
            return await self._verify(body)
        cccds = body.get("cccds")
        if not isinstance(cccds, list) or not all(isinstance(c, str) for c in cccds):
            return httpx.Response(400, json={"error": "bad_request", "detail": "cccds: a list of strings"})
        if len(cccds) > MAX_BATCH:
            return httpx.Response(413, json={"error": "batch_too_large", "max": MAX_BATCH})
        if path == PATH_LOOKUP:
            people = await self.registry.lookup_batch(cccds)
            return httpx.Response(200, json={"people": [_person_json(p) for p in people.values()]})
        stops = await self.registry.check_batch(cccds)
        return httpx.Response(200, json={"stops": [_stop_json(s) for ss in stops.values() for s in ss]})

    async def _verify(self, body: dict[str, Any]) -> httpx.Response:
        try:
            cccd = normalize_cccd(str(body.get("cccd", "")))
        except Exception:
            return httpx.Response(400, json={"error": "bad_request", "detail": "cccd: 12 digits"})
        people = await self.registry.lookup_batch([cccd])
        person = people.get(cccd)
        if person is None:
            return httpx.Response(200, json={"found": False})
        birth = body.get("birth_date")
        return httpx.Response(
            200,
            json={
                "found": True,
                "alive": person.alive,
                "died_on": person.died_on.isoformat() if person.died_on else None,
                "name_match": match_names(str(body.get("full_name", "")), person.full_name).value,
                "birth_date_match": None
                if birth is None or person.birth_date is None
                else str(birth) == person.birth_date.isoformat(),
            },
        )


def _person_json(p: PersonRecord) -> dict[str, Any]:
    return {
        "cccd": p.cccd,
        "full_name": p.full_name,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "died_on": p.died_on.isoformat() if p.died_on else None,
    }


_REASON_NAMES = {v: k for k, v in _STOP_REASONS.items()}


def _stop_json(s: Stop) -> dict[str, Any]:
    return {"cccd": s.cccd, "reason": _REASON_NAMES[s.reason], "detail": s.detail, "programme": s.programme}
