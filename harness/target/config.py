"""Target files: a remote deployment described in TOML (docs/targets.md).

Read with the stdlib ``tomllib`` into one validated pydantic model (``extra="forbid"``,
strict types), after ``${NAME}`` in any string value is replaced by the environment variable
``NAME`` (secrets stay out of the file). Every problem — a missing file, a file that is not
UTF-8 or not TOML, an unknown table or key (with the closest valid one), a value of the wrong
type or out of range, an unset variable — is collected and raised at once as an
``InputError`` (exit 2) whose lines name ``file › [table] › key``, the value found and what is
allowed. Nothing is contacted here: :mod:`harness.target.probe` checks reachability.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import ErrorDetails

from harness.errors import InputError, Problem
from harness.target.model import MailAccess, SipEndpoint, Target

#: ``--target embedded``: the harness starts ``serve`` itself (harness.target.embedded).
EMBEDDED = "embedded"

_ENV = re.compile(r"\$\{([^}]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Keys whose value is never echoed in a message.
_SECRET_KEYS = frozenset({"token"})


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _host_port(value: str) -> str:
    """Check ``host:port`` (``[v6]:port`` for IPv6); the port 1–65535."""
    host, _, port = value.rpartition(":")
    if value.lower().startswith(("sip:", "sips:")):
        raise ValueError("write host:port without the sip: scheme, e.g. 127.0.0.1:5060")
    if not host or not port:
        raise ValueError("must be host:port, e.g. 127.0.0.1:5060")
    if host.startswith("[") != host.endswith("]") or " " in host:
        raise ValueError("the host is malformed; write host:port, e.g. 127.0.0.1:5060")
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"the port {port!r} must be a whole number from 1 to 65535")
    return value


def _http_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as error:
        raise ValueError(f"is not a URL ({error}); write e.g. http://127.0.0.1:8080") from error
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            "must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080"
        )
    return value.rstrip("/")


def _finite(value: float, *, positive: bool) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if positive and value <= 0:
        raise ValueError("must be greater than 0")
    if value < 0:
        raise ValueError("must be 0 or more")
    return value


class TargetTable(_Table):
    name: str | None = Field(
        default=None, min_length=1, description="a name for reports (default: the file's stem)"
    )
    time_scale: float = Field(
        default=1.0,
        description="real seconds per simulated second of the service's timers, a finite "
        "number > 0 (1.0 for a real deployment)",
    )
    changes_settings: bool = Field(
        default=False,
        description="true or false (false = verify only: the run never writes settings)",
    )
    pbx_features: bool = Field(
        default=True,
        description="true or false (false for a plain SIP server such as Kamailio)",
    )
    media: bool = Field(
        default=True,
        description="true or false (false when the deployment's RTP cannot reach the "
        "harness's phones: the two-way-audio checks are then skipped)",
    )
    tolerance: float | None = Field(
        default=None,
        description="simulated seconds an observed event may be off the model, a finite "
        "number >= 0 (default: harness.flows.timeline's rule)",
    )

    @field_validator("time_scale")
    @classmethod
    def _scale(cls, value: float) -> float:
        return _finite(value, positive=True)

    @field_validator("tolerance")
    @classmethod
    def _tolerance(cls, value: float | None) -> float | None:
        return None if value is None else _finite(value, positive=False)


class SipTable(_Table):
    proxy: str = Field(description='where SIP is sent, "host:port", e.g. "127.0.0.1:5060"')
    transport: Literal["udp", "tcp"] = Field(default="udp", description='"udp" or "tcp"')

    check_proxy = field_validator("proxy")(_host_port)


class WebTable(_Table):
    base_url: str = Field(description='the site\'s base URL, e.g. "http://127.0.0.1:8080"')

    check_url = field_validator("base_url")(_http_url)


class ListingTable(_Table):
    api: str = Field(description="an http(s) URL answering GET with a JSON list")
    token: str | None = Field(
        default=None, min_length=1, description='a bearer token, e.g. "${SMARTPBX_MAIL_TOKEN}"'
    )

    check_url = field_validator("api")(_http_url)


class TargetFile(_Table):
    """The whole target file; only ``[sip]`` is required."""

    target: TargetTable = Field(
        default_factory=TargetTable, description="name, time_scale, changes_settings…"
    )
    sip: SipTable = Field(description="the SIP proxy terminals register and call through")
    carrier: SipTable | None = Field(
        default=None, description="where external test numbers register (carrier capability)"
    )
    web: WebTable | None = Field(default=None, description="the web sites (web capability)")
    mail: ListingTable | None = Field(
        default=None, description="how one-time codes are read (mail capability)"
    )
    voicemail: ListingTable | None = Field(
        default=None, description="a voicemail listing (voicemail_api capability)"
    )


def resolve_target(spec: str) -> Target | None:
    """``"embedded"`` → None (the caller starts one); anything else is a target file path."""
    if spec.strip() == EMBEDDED:
        return None
    return load_target_file(Path(spec))


def load_target_file(path: Path) -> Target:
    """Read, expand and validate a target file; ``InputError`` naming every problem."""
    subject = f"target file {path}"
    data = _read_toml(path, subject)
    problems: list[Problem] = []
    expanded = _expand(data, path, (), problems)
    if problems:
        raise InputError(problems, subject=subject)
    assert isinstance(expanded, dict)
    try:
        model = TargetFile.model_validate(expanded)
    except ValidationError as error:
        raise InputError(
            [_problem(path, detail, expanded) for detail in error.errors()], subject=subject
        ) from None
    if model.target.changes_settings and model.web is None:
        raise InputError(
            [
                Problem(
                    where=f"{path} › [target] › changes_settings",
                    rule="changes_settings = true needs a [web] table with base_url (settings "
                    "are reached through the web pages): add [web] or set it to false",
                    value="true",
                )
            ],
            subject=subject,
        )
    return _target(model, path)


def _target(model: TargetFile, path: Path) -> Target:
    def endpoint(table: SipTable) -> SipEndpoint:
        host, _, port = table.proxy.rpartition(":")
        return SipEndpoint(host=host.strip("[]"), port=int(port), transport=table.transport)

    settings = model.target
    return Target(
        name=settings.name or path.stem,
        kind="remote",
        time_scale=settings.time_scale,
        sip=endpoint(model.sip),
        carrier=endpoint(model.carrier) if model.carrier else None,
        web_base_url=model.web.base_url if model.web else None,
        mail=MailAccess(api=model.mail.api, token=model.mail.token) if model.mail else None,
        voicemail_api=model.voicemail.api if model.voicemail else None,
        voicemail_token=model.voicemail.token if model.voicemail else None,
        changes_settings=settings.changes_settings,
        pbx_features=settings.pbx_features,
        media=settings.media,
        tolerance=settings.tolerance,
    )


def target_file_text(
    target: Target, *, comments: Sequence[str] = (), token_env: str | None = None
) -> str:
    """``target`` as a target file that :func:`load_target_file` reads back (the provisioning
    API excepted: target files have none). Tokens are never written: with ``token_env`` they
    become ``${token_env}`` (export the variable for the run); a token without it is refused.
    ``comments`` go first, one ``#`` line each."""

    def q(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)  # JSON strings are TOML basic strings

    def proxy(endpoint: SipEndpoint) -> list[str]:
        host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
        return [f"proxy = {q(f'{host}:{endpoint.port}')}", f"transport = {q(endpoint.transport)}"]

    def token(value: str | None) -> list[str]:
        if value is None:
            return []
        if token_env is None:
            raise ValueError("a target file never holds a token: give token_env")
        return [f"token = {q('${' + token_env + '}')}"]

    lines = [*(f"# {c}" for c in comments), "[target]", f"name = {q(target.name)}"]
    lines += [f"time_scale = {target.time_scale!r}"]
    lines += [f"changes_settings = {str(target.changes_settings).lower()}"]
    lines += [f"pbx_features = {str(target.pbx_features).lower()}"]
    lines += [f"media = {str(target.media).lower()}"]
    if target.tolerance is not None:
        lines.append(f"tolerance = {target.tolerance!r}")
    lines += ["", "[sip]", *proxy(target.sip)]
    if target.carrier is not None:
        lines += ["", "[carrier]", *proxy(target.carrier)]
    if target.web_base_url is not None:
        lines += ["", "[web]", f"base_url = {q(target.web_base_url)}"]
    if target.mail is not None:
        lines += ["", "[mail]", f"api = {q(target.mail.api)}", *token(target.mail.token)]
    if target.voicemail_api is not None:
        lines += ["", "[voicemail]", f"api = {q(target.voicemail_api)}"]
        lines += token(target.voicemail_token)
    return "\n".join(lines) + "\n"


def _read_toml(path: Path, subject: str) -> dict[str, object]:
    def refuse(rule: str) -> InputError:
        return InputError([Problem(where=str(path), rule=rule)], subject=subject)

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise refuse(
            "no such file: give the path of a TOML target file (docs/targets.md, examples in "
            "targets/) or --target embedded"
        ) from None
    except IsADirectoryError:
        raise refuse("is a folder: give the path of a TOML target file") from None
    except OSError as error:
        raise refuse(f"cannot be read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise refuse(f"is not UTF-8 (byte {error.start}, line {line}): save it as UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise refuse(f"is not valid TOML: {error}; fix the syntax there") from None


def _expand(value: object, path: Path, loc: tuple[str, ...], problems: list[Problem]) -> object:
    """``${NAME}`` in every string replaced by the environment; problems for unset names."""
    if isinstance(value, dict):
        return {key: _expand(item, path, (*loc, key), problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, path, loc, problems) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if not _ENV_NAME.fullmatch(name):
            problems.append(
                Problem(
                    where=_where(path, loc),
                    rule="${…} must name an environment variable (letters, digits, _), "
                    "e.g. ${SMARTPBX_MAIL_TOKEN}",
                    value=match.group(0),
                )
            )
            return match.group(0)
        if name not in os.environ:
            problems.append(
                Problem(
                    where=_where(path, loc),
                    rule=f"the environment variable {name} is not set: export {name}=… before "
                    "the run, or write the value in the file",
                    value=match.group(0),
                )
            )
            return match.group(0)
        return os.environ[name]

    return _ENV.sub(substitute, value)


def _where(path: Path, loc: tuple[str | int, ...]) -> str:
    parts = [str(path)]
    if loc:
        parts.append(f"[{loc[0]}]")
        parts += [str(part) for part in loc[1:]]
    return " › ".join(parts)


def _model_at(loc: tuple[str | int, ...]) -> type[_Table] | None:
    """The table model a location's last key belongs to."""
    model: type[_Table] = TargetFile
    for key in loc[:-1]:
        field = model.model_fields.get(str(key))
        if field is None:
            return None
        nested = _table_type(field.annotation)
        if nested is None:
            return None
        model = nested
    return model


def _table_type(annotation: object) -> type[_Table] | None:
    candidates = getattr(annotation, "__args__", (annotation,))
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, _Table):
            return candidate
    return None


def _problem(path: Path, detail: ErrorDetails, data: dict[str, object]) -> Problem:
    loc = tuple(detail["loc"])
    where = _where(path, loc)
    key = str(loc[-1]) if loc else ""
    model = _model_at(loc)
    kind = detail["type"]
    shown = None if key in _SECRET_KEYS else _show(detail.get("input"))
    if kind == "extra_forbidden" and model is not None:
        valid = list(model.model_fields)
        close = difflib.get_close_matches(key, valid, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        what = "table" if len(loc) == 1 else "key"
        inside = "the file" if len(loc) == 1 else f"[{loc[0]}]"
        return Problem(
            where=where,
            rule=f"unknown {what}{hint}; the {what}s of {inside} are: {', '.join(valid)}",
            value=None,
        )
    field = model.model_fields.get(key) if model is not None else None
    allowed = field.description if field is not None and field.description else ""
    if kind == "missing":
        return Problem(where=where, rule=f"is required: {allowed}")
    message = detail["msg"].removeprefix("Value error, ")
    rule = f"{message}; allowed: {allowed}" if allowed else message
    return Problem(where=where, rule=rule, value=shown)


def _show(value: object) -> str | None:
    if value is None:
        return None
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
