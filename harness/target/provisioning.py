"""Typed client of the embedded simulator's provisioning API (``/api/*``, docs/sim.md
"Provisioning API"), over httpx with the bearer token of ``serve``.

Used only where the target has ``Capability.PROVISIONING_API``: the project's own tests and
fuzzers, and the things the manual does outside the site (開通 of an external line). A flow
never reaches a setting through it when the web pages can do it.

Every answer is validated into a frozen pydantic model, so a field the server stops sending is
a ``ProvisioningError`` here, not a ``KeyError`` deep in a flow. Errors name the method, the
path, the status and the server's own message; a 422 on ``put_settings`` is the document's
fault and becomes an ``InputError`` carrying the server's problems (where / rule / rule_id),
exactly as ``smartpbx-harness check`` would print them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Literal, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from harness.errors import HarnessError, InputError, Problem
from harness.target.mail import MailMessage
from harness.target.model import ApiAccess

#: Rows one list request asks for; the lists are read page by page (``?after=&limit=``).
PAGE = 10_000


class ProvisioningError(HarnessError):
    """The provisioning API could not do what was asked (unreachable, 4xx/5xx, bad JSON)."""

    def __init__(self, method: str, path: str, status: int | None, detail: str) -> None:
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        answered = f"→ {status}" if status is not None else "→ no answer"
        super().__init__(f"provisioning API {method} {path} {answered}: {detail}")


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Health(_Record):
    """``GET /api/health``: liveness and the ports ``serve`` listens on."""

    status: Literal["ok"]
    http: int | None
    smtp: int | None
    sip: int | None
    pstn: int | None


class TenantInfo(_Record):
    """``GET /api/tenant``: the loaded tenant, without passwords."""

    name: str
    path: str
    sip_domain: str
    uno_address: str | None
    service_code: str | None
    admin_login_id: str
    #: 内線番号 → the 端末ユーザ's ログインID.
    terminal_users: dict[str, str]
    mfa_enabled: bool


class _Listed(_Record):
    """A row of a paged list: every row carries its ``id``."""

    id: int


class Registration(_Listed):
    """A live registration of a tenant terminal (端末ID, 内線番号, contact)."""

    terminal_id: str
    extension: str
    contact: str
    source: str
    expires_at: datetime


class PstnRegistration(_Listed):
    """An external number registered on the carrier side."""

    number: str
    contact: str
    transport: Literal["UDP", "TCP"]
    source: str
    expires_at: datetime


class CallLeg(_Record):
    """One number the PBX rang: end state and start ``t`` (simulated s since arrival)."""

    target: str
    state: Literal["ringing", "answered", "stopped", "failed"]
    t: float


class VoicemailDrop(_Record):
    """Where a call went to voicemail: the mailbox and when (simulated s since arrival)."""

    mailbox: str
    t: float


class CallDetail(_Record):
    legs: tuple[CallLeg, ...]
    answered_by: str | None
    duration: float
    voicemail: VoicemailDrop | None = None


class CallRecord(_Listed):
    """One finished call (docs/sim.md "Call records")."""

    call_id: str
    started_at: datetime
    ended_at: datetime
    caller: str
    callee: str
    caller_id: str | None
    #: ``answered``, ``voicemail``, ``cancelled`` or ``released:<reason>``.
    outcome: str
    detail: CallDetail


class VoicemailMessage(_Listed):
    """A voicemail message: mailbox (内線番号), caller ID, when, length (simulated s)."""

    extension: str
    caller_id: str | None
    received_at: datetime
    duration: float


class _Enabled(_Record):
    enabled: bool


class _Ok(_Record):
    status: Literal["ok"]


_Row = TypeVar("_Row", bound=_Listed)
_M = TypeVar("_M", bound=_Record)
_T = TypeVar("_T")
_SETTINGS = TypeAdapter(dict[str, object])
_MAIL = TypeAdapter(list[MailMessage])


class ProvisioningClient:
    """Typed client of ``/api/*`` (bearer token); no ``Any`` in its signatures."""

    def __init__(self, access: ApiAccess, *, timeout: float = 30.0) -> None:
        self.access = access
        self._http = httpx.Client(
            base_url=access.base_url,
            timeout=timeout,
            headers={"Authorization": f"Bearer {access.token}"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # --- routes -------------------------------------------------------------------------------

    def health(self) -> Health:
        return self._one("GET", "/api/health", Health)

    def tenant(self) -> TenantInfo:
        return self._one("GET", "/api/tenant", TenantInfo)

    def load_tenant(self, path: Path) -> TenantInfo:
        """Load a tenant folder (ご利用内容.yaml, 設定.yaml), replacing all state."""
        return self._one("POST", "/api/tenant", TenantInfo, body={"path": str(path)})

    def reset(self) -> None:
        """Back to the loaded documents' settings; MFA, mail, lockouts, sessions cleared."""
        self._one("POST", "/api/reset", _Ok)

    def settings(self) -> dict[str, object]:
        """The current settings as a 設定 document (Japanese keys, as 設定.yaml)."""
        return self._parse("GET", "/api/settings", _SETTINGS, self._call("GET", "/api/settings"))

    def put_settings(self, document: Mapping[str, object]) -> None:
        """Replace every setting, all or nothing; a refused document raises ``InputError``."""
        response = self._send("PUT", "/api/settings", dict(document))
        if response.status_code == 422:
            raise _refused(response, subject="設定 document (PUT /api/settings)")
        self._check("PUT", "/api/settings", response)

    def set_line_live(self, number: str, live: bool) -> None:
        """The 開通 flag of the tenant's 外線番号 ``number``."""
        self._call("PUT", f"/api/lines/{number}", {"line_live": live})

    def mfa(self) -> bool:
        """Whether 多要素認証 is on for 端末ユーザ (as on アカウント設定)."""
        return self._one("GET", "/api/mfa", _Enabled).enabled

    def set_mfa(self, enabled: bool) -> None:
        self._one("PUT", "/api/mfa", _Enabled, body={"enabled": enabled})

    def mail(self) -> list[MailMessage]:
        """Every message the SMTP sink received since the last reset, oldest first."""
        return self._parse("GET", "/api/mail", _MAIL, self._call("GET", "/api/mail"))

    def registrations(self) -> list[Registration]:
        return self._rows("/api/registrations", Registration)

    def pstn_registrations(self) -> list[PstnRegistration]:
        return self._rows("/api/pstn/registrations", PstnRegistration)

    def calls(self) -> list[CallRecord]:
        return self._rows("/api/calls", CallRecord)

    def voicemail(self) -> list[VoicemailMessage]:
        return self._rows("/api/voicemail", VoicemailMessage)

    # --- plumbing -----------------------------------------------------------------------------

    def _rows(self, path: str, model: type[_Row]) -> list[_Row]:
        """Every row of a paged list (``?after=<last id>&limit=PAGE`` until a short page)."""
        adapter: TypeAdapter[list[_Row]] = TypeAdapter(list[model])  # type: ignore[valid-type]
        rows: list[_Row] = []
        while True:
            query = f"{path}?after={rows[-1].id if rows else 0}&limit={PAGE}"
            page: list[_Row] = self._parse("GET", path, adapter, self._call("GET", query))
            rows += page
            if len(page) < PAGE:
                return rows

    def _one(self, method: str, path: str, model: type[_M], *, body: object = None) -> _M:
        return self._parse(method, path, TypeAdapter(model), self._call(method, path, body))

    def _call(self, method: str, path: str, body: object = None) -> object:
        response = self._send(method, path, body)
        self._check(method, path, response)
        try:
            data: object = response.json()
        except ValueError as error:
            raise ProvisioningError(
                method, path, response.status_code, f"answer is not JSON: {error}"
            ) from error
        return data

    def _send(self, method: str, path: str, body: object) -> httpx.Response:
        try:
            if body is None:
                return self._http.request(method, path)
            return self._http.request(method, path, json=body)
        except RuntimeError as error:  # httpx: the client was closed (the target stopped)
            raise ProvisioningError(method, path, None, f"the client is closed: {error}") from error
        except httpx.HTTPError as error:
            raise ProvisioningError(
                method,
                path,
                None,
                f"{type(error).__name__}: {error} (is serve running at {self.access.base_url}?)",
            ) from error

    @staticmethod
    def _check(method: str, path: str, response: httpx.Response) -> None:
        if response.is_success:
            return
        raise ProvisioningError(method, path, response.status_code, _server_message(response))

    @staticmethod
    def _parse(method: str, path: str, adapter: TypeAdapter[_T], data: object) -> _T:
        try:
            return adapter.validate_python(data)
        except ValidationError as error:
            raise ProvisioningError(
                method, path, 200, f"answer does not have the documented shape: {error}"
            ) from error


def _server_message(response: httpx.Response) -> str:
    """The server's ``error`` and problem lines, else the start of the body."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:2000] or response.reason_phrase
    if not isinstance(data, dict):
        return response.text[:2000]
    lines = [str(data.get("error", ""))]
    problems = data.get("problems")
    if isinstance(problems, list):
        lines += [f"  - {p.get('message', p)}" for p in problems if isinstance(p, dict)]
    return "\n".join(lines)


def _refused(response: httpx.Response, *, subject: str) -> InputError:
    """A 422's ``problems`` as an ``InputError`` (exit 2: the document is at fault)."""
    try:
        data = response.json()
    except ValueError:
        data = {}
    raw = data.get("problems") if isinstance(data, dict) else None
    problems = [
        Problem(
            where=str(p.get("where", "?")),
            rule=str(p.get("rule", "")),
            value=None if p.get("value") is None else str(p.get("value")),
            rule_id=None if p.get("rule_id") is None else str(p.get("rule_id")),
        )
        for p in (raw if isinstance(raw, list) else [])
        if isinstance(p, dict)
    ]
    if not problems:
        error = data.get("error") if isinstance(data, dict) else None
        problems = [Problem(where=subject, rule=str(error or response.text[:2000]))]
    return InputError(problems, subject=subject)
