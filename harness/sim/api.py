"""The provisioning API: the only way tests reach into the simulator (JSON over HTTP).

Every route answers JSON; bad JSON or bad values get a 4xx with ``{"error": …, "problems":
[{"where", "rule", "value", "rule_id", "message"}]}`` saying what is wrong — never a 500.
``PUT /api/settings`` checks the document as ``smartpbx-harness check`` checks 設定.yaml
(``harness.guide.validate``): the same problems, the same ``message`` line, the same
``rule_id``. The OpenAPI 3.1 document
(``OPENAPI``, served at ``/api/openapi.json``) is written by hand for the routes and generated
by pydantic for the 設定 document, so it follows ``harness.guide.types`` as it evolves.

Before any of these routes runs, ``harness.sim.web.access.AccessGuard`` has checked the Host
header, the bearer token (every route but the public ``/api/openapi.json``) and that a body is
JSON; the document declares the scheme (``components.securitySchemes.bearer``).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.clock import wall_time
from harness.errors import InputError, Problem
from harness.guide.types import Settings
from harness.sim.documents import read_tenant
from harness.sim.store import NoTenantError, SettingsError
from harness.sim.web.context import Simulation

MAX_BODY = 1_000_000

#: The fields of each record list that are times (stored as Unix seconds). Every time in
#: /api/* is shown one way: ISO 8601 UTC with milliseconds (docs/sim.md "Times").
TIME_FIELDS = {
    "registrations": ("expires_at",),
    "pstn_registrations": ("expires_at",),
    "calls": ("started_at", "ended_at"),
    "voicemail_messages": ("received_at",),
}


def iso_time(unix: float) -> str:
    """``2026-12-02T18:31:24.123Z``: Unix seconds as ISO 8601 UTC, milliseconds."""
    moment = datetime.fromtimestamp(unix, UTC).isoformat(timespec="milliseconds")
    return moment.replace("+00:00", "Z")


class ApiError(Exception):
    def __init__(self, status: int, error: str, problems: list[Problem] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.problems = problems or []


def _error(status: int, error: str, problems: list[Problem] | None = None) -> JSONResponse:
    body = {
        "error": error,
        "problems": [
            {
                "where": p.where,
                "rule": p.rule,
                "value": p.value,
                "rule_id": p.rule_id,
                "message": str(p),  # the line ``smartpbx-harness check`` prints
            }
            for p in (problems or [])
        ],
    }
    return JSONResponse(body, status_code=status)


def _sim(request: Request) -> Simulation:
    sim: Simulation = request.app.state.sim
    return sim


async def _json_object(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, f"request body larger than {MAX_BODY} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, f"request body is not valid JSON: {error}") from error
    except RecursionError as error:  # the decoder's own depth guard, not a server fault
        raise ApiError(400, "request body is nested too deeply to be a document") from error
    if not isinstance(data, dict):
        raise ApiError(422, "request body must be a JSON object")
    return data


def api_route(handler: Any) -> Any:
    """Turn ApiError / InputError / NoTenantError into JSON 4xx answers."""

    async def endpoint(request: Request) -> Response:
        try:
            response: Response = await handler(request)
            return response
        except ApiError as error:
            return _error(error.status, error.error, error.problems)
        except SettingsError as error:
            return _error(422, f"{error.subject}: nothing was saved", error.problems)
        except InputError as error:
            return _error(422, f"{error.subject}: cannot be used", error.problems)
        except NoTenantError as error:
            return _error(409, str(error))

    endpoint.__name__ = handler.__name__
    return endpoint


def _tenant_json(sim: Simulation) -> dict[str, Any]:
    summary = sim.store.tenant_summary()
    return {
        "name": summary.name,
        "path": summary.source_path,
        "sip_domain": summary.sip_domain,
        "uno_address": summary.uno_address,
        "service_code": summary.service_code,
        "admin_login_id": summary.admin_login_id,
        "terminal_users": dict(summary.terminal_user_login_ids),
        "mfa_enabled": summary.mfa_enabled,
    }


@api_route
async def health(request: Request) -> Response:
    ports = _sim(request).ports or {}
    return JSONResponse(
        {
            "status": "ok",
            "http": ports.get("http"),
            "smtp": ports.get("smtp"),
            "sip": ports.get("sip"),
            "pstn": ports.get("pstn"),
        }
    )


@api_route
async def tenant(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "GET":
        return JSONResponse(_tenant_json(sim))
    data = await _json_object(request)
    path = data.get("path")
    if not isinstance(path, str) or not path:
        raise ApiError(
            422,
            'give the tenant folder as {"path": "<folder holding ご利用内容.yaml>"}',
            [
                Problem(
                    where="path", rule="a non-empty string (a folder path)", value=repr(path)[:80]
                )
            ],
        )
    loaded = await run_in_threadpool(read_tenant, path)
    source = str(Path(path).resolve())
    await run_in_threadpool(sim.store.load_tenant, loaded, source_path=source)
    if sim.mail_sink is not None:
        sim.mail_sink.clear()
    return JSONResponse(_tenant_json(sim))


@api_route
async def reset(request: Request) -> Response:
    sim = _sim(request)
    sim.store.reset()
    if sim.mail_sink is not None:
        sim.mail_sink.clear()
    return JSONResponse({"status": "ok"})


def _settings_json(sim: Simulation) -> dict[str, Any]:
    document = sim.store.settings_document()
    data: dict[str, Any] = document.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


@api_route
async def settings(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "GET":
        return JSONResponse(_settings_json(sim))
    data = await _json_object(request)
    # Checked whole, inside the write transaction, by the guide's rules; a refusal (422,
    # SettingsError) changes nothing.
    sim.store.replace_settings(data)
    return JSONResponse(_settings_json(sim))


@api_route
async def line(request: Request) -> Response:
    sim = _sim(request)
    number = request.path_params["number"]
    data = await _json_object(request)
    live = data.get("line_live")
    if not isinstance(live, bool):
        raise ApiError(
            422,
            'give {"line_live": true} or {"line_live": false}',
            [Problem(where="line_live", rule="true or false", value=repr(live)[:80])],
        )
    try:
        sim.store.set_line_live(number, live)
    except SettingsError as error:
        raise ApiError(
            404, f"外線番号 {number[:40]} is not in the tenant's 外線番号情報"
        ) from error
    return JSONResponse({"external_number": number, "line_live": live})


@api_route
async def mfa(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "PUT":
        data = await _json_object(request)
        enabled = data.get("enabled")
        if not isinstance(enabled, bool):
            raise ApiError(
                422,
                'give {"enabled": true} or {"enabled": false}',
                [Problem(where="enabled", rule="true or false", value=repr(enabled)[:80])],
            )
        sim.store.set_mfa(enabled)
    sim.store.tenant_summary()
    return JSONResponse({"enabled": sim.store.mfa_enabled()})


@api_route
async def mail(request: Request) -> Response:
    sim = _sim(request)
    sink = sim.mail_sink
    messages = [] if sink is None else [asdict(m) for m in sink.messages]
    for message in messages:
        message["to"] = list(message["to"])
        message["time"] = iso_time(wall_time(sim.clock, message["time"]))  # simulated → wall
    return JSONResponse(messages)


#: Most rows one list request returns (``limit``'s upper bound).
MAX_PAGE = 10_000


def _query_int(request: Request, name: str, *, low: int, high: int) -> int | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ApiError(
            400,
            f"query parameter {name!r} must be a whole number from {low} to {high}",
            [Problem(where=name, rule=f"integer {low}–{high}", value=text[:40])],
        )
    return int(text)


def _rows(table: Any) -> Any:
    @api_route
    async def rows(request: Request) -> Response:
        after = _query_int(request, "after", low=0, high=2**62) or 0
        limit = _query_int(request, "limit", low=1, high=MAX_PAGE)
        records = _sim(request).store.list_rows(table, after=after, limit=limit)
        for record in records:
            for name in TIME_FIELDS[table]:
                record[name] = iso_time(record[name])
            if table == "voicemail_messages":
                # The file's name stays inside the simulator: the link is what a client uses.
                has_audio = record.pop("audio") is not None
                record["audio_url"] = voicemail_audio_url(record["id"]) if has_audio else None
        return JSONResponse(records)

    rows.__name__ = table
    return rows


def voicemail_audio_url(message_id: int) -> str:
    return f"/api/voicemail/{message_id}/audio"


@api_route
async def voicemail_audio(request: Request) -> Response:
    """A voicemail message's recording as ``audio/wav`` (16-bit mono 8 kHz)."""
    raw = str(request.path_params["message_id"])
    known = raw.isascii() and raw.isdigit() and int(raw) < 2**62  # SQLite's INTEGER range
    path = _sim(request).store.voicemail_audio(int(raw)) if known else None
    if path is None or not path.is_file():
        raise ApiError(404, f"no voicemail recording {raw[:20]!r} (see GET /api/voicemail)")
    data = await run_in_threadpool(path.read_bytes)
    return Response(data, media_type="audio/wav")


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


ROUTES = [
    Route("/api/openapi.json", openapi),
    Route("/api/health", health),
    Route("/api/tenant", tenant, methods=["GET", "POST"]),
    Route("/api/reset", reset, methods=["POST"]),
    Route("/api/settings", settings, methods=["GET", "PUT"]),
    Route("/api/lines/{number}", line, methods=["PUT"]),
    Route("/api/mfa", mfa, methods=["GET", "PUT"]),
    Route("/api/mail", mail),
    Route("/api/registrations", _rows("registrations")),
    Route("/api/pstn/registrations", _rows("pstn_registrations")),
    Route("/api/calls", _rows("calls")),
    Route("/api/voicemail", _rows("voicemail_messages")),
    Route("/api/voicemail/{message_id}/audio", voicemail_audio),
]


# --- OpenAPI ----------------------------------------------------------------------------------


def _build_openapi() -> dict[str, Any]:
    ref = "#/components/schemas/{model}"
    keys, generated = models_json_schema(
        [(Settings, "validation"), (Settings, "serialization")], ref_template=ref, by_alias=True
    )
    schemas: dict[str, Any] = dict(generated.get("$defs", {}))
    settings_in = keys[(Settings, "validation")]
    settings_out = keys[(Settings, "serialization")]

    def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
        """An object schema; every property required unless ``required`` names fewer."""
        names = list(properties) if required is None else required
        return {"type": "object", "properties": properties, "required": names}

    nullable_str = {"type": ["string", "null"]}
    wall = {
        "type": "string",
        "format": "date-time",
        "description": "ISO 8601 UTC, milliseconds (2026-12-02T18:31:24.123Z)",
    }
    since_arrival = {
        "type": "number",
        "description": "simulated seconds since the call arrived (the model's t, as predict)",
    }
    schemas["Problem"] = obj(
        {
            "where": {"type": "string", "description": "file › table › row › field"},
            "rule": {"type": "string"},
            "value": nullable_str,
            "rule_id": {
                **nullable_str,
                "description": "the broken rule's stable id (docs/guide-format.md)",
            },
            "message": {"type": "string", "description": "the line `check` prints"},
        },
        ["where", "rule", "value", "rule_id", "message"],
    )
    schemas["Error"] = obj(
        {
            "error": {"type": "string"},
            "problems": {"type": "array", "items": {"$ref": ref.format(model="Problem")}},
        },
        ["error", "problems"],
    )
    schemas["Tenant"] = obj(
        {
            "name": {"type": "string"},
            "path": {"type": "string"},
            "sip_domain": {"type": "string"},
            "uno_address": nullable_str,
            "service_code": nullable_str,
            "admin_login_id": {"type": "string"},
            "terminal_users": {"type": "object", "additionalProperties": {"type": "string"}},
            "mfa_enabled": {"type": "boolean"},
        },
        [
            "name",
            "path",
            "sip_domain",
            "uno_address",
            "service_code",
            "admin_login_id",
            "terminal_users",
            "mfa_enabled",
        ],
    )
    schemas["PstnRegistration"] = obj(
        {
            "id": {"type": "integer"},
            "number": {"type": "string", "description": "the external number (user part)"},
            "contact": {"type": "string", "description": "where its calls go"},
            "transport": {"enum": ["UDP", "TCP"]},
            "source": {"type": "string", "description": "host:port the REGISTER came from"},
            "expires_at": wall,
        },
        ["id", "number", "contact", "transport", "source", "expires_at"],
    )
    schemas["Registration"] = obj(
        {
            "id": {"type": "integer"},
            "terminal_id": {"type": "string", "description": "端末ID (SIP user)"},
            "extension": {"type": "string", "description": "内線番号"},
            "contact": {"type": "string"},
            "source": {"type": "string", "description": "host the REGISTER came from"},
            "expires_at": wall,
        },
    )
    schemas["CallLeg"] = obj(
        {
            "target": {"type": "string", "description": "the number this leg rang"},
            "state": {"enum": ["ringing", "answered", "stopped", "failed"]},
            "t": since_arrival,
        },
    )
    schemas["Call"] = obj(
        {
            "id": {"type": "integer"},
            "call_id": {"type": "string"},
            "started_at": wall,
            "ended_at": wall,
            "caller": {"type": "string", "description": "内線番号, or the external number"},
            "callee": {"type": "string", "description": "the number dialled"},
            "caller_id": nullable_str,
            "outcome": {
                "type": "string",
                "description": "answered, voicemail, cancelled (the caller gave up) or "
                "released:<reason> (not_found, no_caller_id, busy, unavailable, no_answer, "
                "hop_limit, no_pickup)",
            },
            "detail": obj(
                {
                    "legs": {"type": "array", "items": {"$ref": ref.format(model="CallLeg")}},
                    "answered_by": {**nullable_str, "description": "the leg target answering"},
                    "duration": {
                        **since_arrival,
                        "description": "simulated seconds, arrival to end",
                    },  # fmt: skip
                    "voicemail": obj(
                        {"mailbox": {"type": "string"}, "t": since_arrival}, ["mailbox", "t"]
                    ),  # fmt: skip
                },
                ["legs", "answered_by", "duration"],
            ),
        },
    )
    schemas["Voicemail"] = obj(
        {
            "id": {"type": "integer"},
            "extension": {"type": "string", "description": "the mailbox (内線番号)"},
            "caller_id": nullable_str,
            "received_at": wall,
            "duration": {"type": "number", "description": "simulated seconds"},
            "audio_seconds": {
                "type": ["number", "null"],
                "description": "real seconds of the caller's audio recorded (null: no media)",
            },
            "audio_url": {
                "type": ["string", "null"],
                "description": "GET it (same bearer token) for the recording as audio/wav",
            },
        },
    )
    schemas["Mail"] = obj(
        {
            "mail_from": {"type": "string"},
            "to": {"type": "array", "items": {"type": "string"}},
            "subject": {"type": "string"},
            "body": {"type": "string"},
            "time": wall,
        },
        ["mail_from", "to", "subject", "body", "time"],
    )
    nullable_port = {"type": ["integer", "null"]}
    schemas["Health"] = obj(
        {
            "status": {"const": "ok"},
            "http": nullable_port,
            "smtp": nullable_port,
            "sip": nullable_port,
            "pstn": nullable_port,
        },
        ["status", "http", "smtp", "sip", "pstn"],
    )

    def json_body(schema: dict[str, Any]) -> dict[str, Any]:
        return {"content": {"application/json": {"schema": schema}}}

    def ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
        return {"description": description, **json_body(schema)}

    def err(description: str) -> dict[str, Any]:
        return {"description": description, **json_body({"$ref": ref.format(model="Error")})}

    def refs(name: str) -> dict[str, Any]:
        return {"$ref": ref.format(model=name)}

    no_tenant = err("no tenant loaded yet (POST /api/tenant first)")
    bad_body = {
        "400": err("body is not JSON"),
        "413": err("body too large"),
        "422": err("values break a rule; nothing was changed"),
    }
    paths: dict[str, Any] = {
        "/api/health": {
            "get": {"summary": "Liveness and ports", "responses": {"200": ok(refs("Health"))}}
        },
        "/api/tenant": {
            "get": {
                "summary": "The loaded tenant (no passwords)",
                "responses": {"200": ok(refs("Tenant")), "409": no_tenant},
            },
            "post": {
                "summary": "Load a tenant folder (ご利用内容.yaml, 設定.yaml), replacing all state",
                "requestBody": {
                    "required": True,
                    **json_body(obj({"path": {"type": "string", "minLength": 1}}, ["path"])),
                },
                "responses": {"200": ok(refs("Tenant")), **bad_body},
            },
        },
        "/api/reset": {
            "post": {
                "summary": "Back to the loaded settings; MFA, mail, lockouts, sessions cleared",
                "responses": {
                    "200": ok(obj({"status": {"const": "ok"}}, ["status"])),
                    "409": no_tenant,
                },
            }
        },
        "/api/settings": {
            "get": {
                "summary": "Current settings as a 設定 document (Japanese keys)",
                "responses": {"200": ok(settings_out), "409": no_tenant},
            },
            "put": {
                "summary": "Replace every setting by a 設定 document, all or nothing",
                "requestBody": {"required": True, **json_body(settings_in)},
                "responses": {"200": ok(settings_out), "409": no_tenant, **bad_body},
            },
        },
        "/api/lines/{number}": {
            "put": {
                "summary": "Set an external line's 開通 (line_live) flag",
                "parameters": [
                    {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": True,
                    **json_body(obj({"line_live": {"type": "boolean"}}, ["line_live"])),
                },
                "responses": {
                    "200": ok(
                        obj(
                            {
                                "external_number": {"type": "string"},
                                "line_live": {"type": "boolean"},
                            },
                            ["external_number", "line_live"],
                        )
                    ),
                    "404": err("no such 外線番号"),
                    "409": no_tenant,
                    **bad_body,
                },
            }
        },
        "/api/mfa": {
            "get": {
                "summary": "多要素認証 for 端末ユーザ (as on アカウント設定)",
                "responses": {
                    "200": ok(obj({"enabled": {"type": "boolean"}}, ["enabled"])),
                    "409": no_tenant,
                },
            },
            "put": {
                "summary": "Switch 多要素認証 on or off",
                "requestBody": {
                    "required": True,
                    **json_body(obj({"enabled": {"type": "boolean"}}, ["enabled"])),
                },
                "responses": {
                    "200": ok(obj({"enabled": {"type": "boolean"}}, ["enabled"])),
                    "409": no_tenant,
                    **bad_body,
                },
            },
        },
        "/api/mail": {
            "get": {
                "summary": "Messages received by the SMTP sink (one-time codes)",
                "responses": {"200": ok({"type": "array", "items": refs("Mail")})},
            }
        },
    }
    paging = [
        {
            "name": "after",
            "in": "query",
            "required": False,
            "description": "only rows whose id is greater (the last id of the previous page)",
            "schema": {"type": "integer", "minimum": 0, "maximum": 2**62},
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": f"at most this many rows (oldest first; 1–{MAX_PAGE})",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
        },
    ]
    paths["/api/pstn/registrations"] = {
        "get": {
            "summary": "External subscribers registered on the carrier-side (PSTN) listener",
            "parameters": paging,
            "responses": {
                "200": ok({"type": "array", "items": refs("PstnRegistration")}),
                "400": err("after/limit is not a whole number in range"),
            },
        }
    }
    for path, what, model in (
        (
            "/api/registrations",
            "SIP registrations, listed once their 200 OK is sent",
            "Registration",
        ),
        ("/api/calls", "Finished calls (filled by the SIP side)", "Call"),
        ("/api/voicemail", "Voicemail messages (filled by the SIP side)", "Voicemail"),
    ):
        paths[path] = {
            "get": {
                "summary": what,
                "parameters": paging,
                "responses": {
                    "200": ok({"type": "array", "items": refs(model)}),
                    "400": err("after/limit is not a whole number in range"),
                },
            }
        }
    paths["/api/voicemail/{message_id}/audio"] = {
        "get": {
            "summary": "A voicemail message's recording (16-bit mono 8 kHz WAV)",
            "parameters": [
                {
                    "name": "message_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                }
            ],
            "responses": {
                "200": {
                    "description": "the WAV file",
                    "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
                },
                "404": err("no such message, or it has no recording"),
            },
        }
    }
    # Every operation needs the bearer token (harness.sim.web.access); those taking a body
    # take JSON only. This document itself (GET /api/openapi.json) is public.
    unauthorized = {
        "description": "no or wrong bearer token (see the WWW-Authenticate header)",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        **json_body(refs("Error")),
    }
    for operations in paths.values():
        for method, operation in operations.items():
            operation["responses"]["401"] = unauthorized
            if method in ("post", "put"):
                operation["responses"]["415"] = err("body is not JSON (Content-Type)")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "smartpbx-harness simulator provisioning API",
            "version": "1.1",
            "description": "Load a tenant, apply settings, reset, read mail and SIP-side records. "
            "Every route needs 'Authorization: Bearer <token>': serve prints the token at start "
            "and writes it to <database>.api-token (mode 0600), or takes it from --api-token / "
            "$SMARTPBX_API_TOKEN. Bodies are JSON only (415 otherwise). Requests whose Host is "
            "not the address serve listens on (127.0.0.1:<port>, localhost:<port>) get 421. "
            "This document (GET /api/openapi.json) is public. Every time is ISO 8601 UTC "
            "wall-clock with milliseconds (…Z); inside a call's detail, `t` and `duration` are "
            "simulated seconds since the call arrived, the reference model's timeline unit.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the token serve prints at start (also in "
                    "<database>.api-token, mode 0600)",
                }
            },
        },
        "security": [{"bearer": []}],
    }


OPENAPI = _build_openapi()
