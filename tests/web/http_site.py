"""The Web設定変更サイト over plain HTTP: :class:`HttpSite`, a :class:`SiteDriver` that posts the
forms with the page's CSRF token the way a browser without JavaScript would, and reads the
pages' HTML the way the page objects read them (tests/web/test_site_state_machine.py, every
Hypothesis profile).

It lives in the tests, not in harness.web: page objects drive a browser only (DESIGN.md's
package table: harness.web imports playwright and the leaves; httpx is not among them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser

import httpx

from harness.web.pages import FORWARD_STATES, AbsenceShown, InboundRouteRow, RingGroupRow
from harness.web.pages.base import cell_value
from harness.web.site_driver import AbsenceForm, ForwardForm, Outcome, confirms

# -- HTML, read the way the page objects read it -----------------------------------------------


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    children: list[_Element | str] = field(default_factory=list)

    def text(self) -> str:
        parts: list[str] = []
        pending: list[_Element | str] = [self]
        while pending:
            node = pending.pop()
            if isinstance(node, str):
                parts.append(node)
            else:
                pending.extend(reversed(node.children))
        return " ".join("".join(parts).split())

    def walk(self) -> list[_Element]:
        found: list[_Element] = []
        pending: list[_Element] = [self]
        while pending:
            node = pending.pop()
            found.append(node)
            pending.extend(reversed([c for c in node.children if isinstance(c, _Element)]))
        return found

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


_VOID = frozenset({"input", "br", "img", "meta", "link", "hr", "wbr", "source", "col"})


class _TreeBuilder(HTMLParser):
    """A small DOM of a server-rendered page (the site emits well-formed HTML, no script)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Element("#document", {})
        self._open: list[_Element] = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = _Element(tag, {k: v or "" for k, v in attrs})
        self._open[-1].children.append(element)
        if tag not in _VOID:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


@dataclass
class _Document:
    """One page's HTML, with the readings every driver action needs."""

    url: str
    root: _Element
    nodes: list[_Element] = field(default_factory=list)
    """Every element in document order (walked once)."""

    def __post_init__(self) -> None:
        self.nodes = self.root.walk()

    @classmethod
    def of(cls, response: httpx.Response) -> _Document:
        builder = _TreeBuilder()
        builder.feed(response.text)
        builder.close()
        return cls(url=str(response.url), root=builder.root)

    @property
    def path(self) -> str:
        return httpx.URL(self.url).path

    def elements(self, tag: str | None = None) -> list[_Element]:
        return [e for e in self.nodes if tag is None or e.tag == tag]

    def by_id(self, ident: str) -> _Element | None:
        return next((e for e in self.nodes if e.attrs.get("id") == ident), None)

    def csrf_token(self) -> str:
        for element in self.elements("input"):
            if element.attrs.get("name") == "csrf_token":
                return element.attrs.get("value", "")
        return ""

    def messages(self) -> tuple[str, ...]:
        """Page notices: ``role=alert`` outside forms and ``role=status`` (Screen.messages)."""
        inside_forms = {id(e) for form in self.elements("form") for e in form.walk()}
        found = [
            e.text()
            for e in self.nodes
            if (e.attrs.get("role") == "status")
            or (e.attrs.get("role") == "alert" and id(e) not in inside_forms)
        ]
        return tuple(text for text in found if text)

    def field_errors(self) -> dict[str, str]:
        """``{accessible name of the field in error: its message}`` (Screen.field_errors)."""
        labels = {e.attrs.get("for", ""): e.text() for e in self.elements("label")}
        errors: dict[str, str] = {}
        for control in self.nodes:
            if control.attrs.get("aria-invalid") != "true":
                continue
            labelled = [self.by_id(i) for i in control.attrs.get("aria-labelledby", "").split()]
            names = [e.text() for e in labelled if e is not None]
            name = " ".join(names) or labels.get(control.attrs.get("id", ""), "")
            for ident in control.attrs.get("aria-describedby", "").split():
                message = self.by_id(ident)
                if message is not None and message.attrs.get("role") == "alert":
                    errors[name or control.attrs.get("id", "")] = message.text()
        return errors

    def table(self, index: int = 0) -> list[tuple[dict[str, str], _Element]]:
        """Body rows of the ``index``-th table as ``({header: cell text}, row)``; a row of one
        cell spanning the table (「着信グループはありません。」) is a note, not data."""
        tables = self.elements("table")
        if index >= len(tables):
            return []
        table = tables[index]
        headers = [th.text() for th in table.walk() if th.tag == "th" and _in_head(table, th)]
        rows: list[tuple[dict[str, str], _Element]] = []
        for body in (e for e in table.walk() if e.tag == "tbody"):
            for row in (c for c in body.children if isinstance(c, _Element) and c.tag == "tr"):
                cells = [
                    c for c in row.children if isinstance(c, _Element) and c.tag in ("td", "th")
                ]
                if len(cells) == 1 and cells[0].attrs.get("colspan"):
                    continue
                texts = [c.text() for c in cells]
                rows.append((dict(zip(headers, texts, strict=False)), row))
        return rows

    def value(self, name: str) -> str:
        """The value a form would send for the text input or select ``name`` ("" if none)."""
        for element in self.nodes:
            if element.attrs.get("name") != name:
                continue
            if element.tag == "select":
                return _selected(element)[0]
            return element.attrs.get("value", "")
        return ""

    def selected_text(self, name: str) -> str:
        select = next((e for e in self.elements("select") if e.attrs.get("name") == name), None)
        return "" if select is None else _selected(select)[1]

    def checked(self, name: str, value: str | None = None) -> bool:
        return any(
            e.attrs.get("name") == name
            and "checked" in e.attrs
            and (value is None or e.attrs.get("value") == value)
            for e in self.elements("input")
        )


def _in_head(table: _Element, th: _Element) -> bool:
    return any(th in head.walk() for head in table.walk() if head.tag == "thead")


def _selected(select: _Element) -> tuple[str, str]:
    options = [e for e in select.walk() if e.tag == "option"]
    chosen = next((o for o in options if "selected" in o.attrs), options[0] if options else None)
    if chosen is None:
        return "", ""
    return chosen.attrs.get("value", chosen.text()), chosen.text()


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in re.split(r"[、,\s]+", cell_value(text)) if w)


def _seconds(text: str) -> int | None:
    digits = re.search(r"\d+", text)
    return int(digits.group()) if digits else None


def _outcome(document: _Document) -> Outcome:
    messages = document.messages()
    return Outcome(
        saved=confirms(messages),
        field_errors=document.field_errors(),
        messages=messages,
    )


class HttpSite:
    """:class:`SiteDriver` over plain HTTP: one cookie jar, forms posted with their token."""

    def __init__(
        self,
        base_url: str,
        login_id: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Log in with ``login_id`` / ``password``; ``transport`` replaces the network (an
        in-process ASGI app in tests)."""
        self._http = httpx.Client(
            base_url=base_url, timeout=30, follow_redirects=True, transport=transport
        )
        login = self._get("/SmartPBX/Login")
        landed = self._post("/SmartPBX/Login", {"login_id": login_id, "password": password}, login)
        self._landing = landed.path

    def landing(self) -> str:
        return self._landing

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str) -> _Document:
        return _Document.of(self._http.get(path))

    def _post(
        self, path: str, data: Mapping[str, str | Sequence[str]], form: _Document
    ) -> _Document:
        body = {**data, "csrf_token": form.csrf_token()}
        return _Document.of(self._http.post(path, data=body))

    # -- administrator ---------------------------------------------------------------------
    def groups(self) -> list[RingGroupRow]:
        return [
            RingGroupRow(
                kind=row.get("種別", ""),
                pilot=cell_value(row.get("代表番号", "")),
                members=_words(row.get("メンバー", "")),
                ring_time=_seconds(row.get("呼出時間", "")),
            )
            for row, _ in self._get("/SmartPBX/Init/Groups").table()
        ]

    def add_group(self, kind: str, pilot: str, members: Sequence[str], ring_time: str) -> Outcome:
        form = self._get("/SmartPBX/Init/Groups/Add")
        slots = {
            e.attrs["name"]: ""
            for e in form.elements("input")
            if re.fullmatch(r"member_\d+", e.attrs.get("name", ""))
        }
        for position, member in enumerate(members, start=1):
            slots[f"member_{position}"] = member
        data = {"kind": kind, "pilot": pilot, "ring_time": ring_time, **slots}
        return _outcome(self._post("/SmartPBX/Init/Groups/Add", data, form))

    def delete_group(self, index: int) -> Outcome:
        rows = self._get("/SmartPBX/Init/Groups").table()
        forms = [e for e in rows[index][1].walk() if e.tag == "form"]
        path = forms[0].attrs["action"]
        confirm = self._get(path)
        return _outcome(self._post(path, {}, confirm))

    def inbound_routes(self) -> list[InboundRouteRow]:
        return [
            InboundRouteRow.from_cells(row)
            for row, _ in self._get("/SmartPBX/Init/Inbound").table()
        ]

    def set_inbound_route(self, external_number: str, destination: str) -> Outcome:
        path = f"/SmartPBX/Init/Inbound/{external_number}"
        form = self._get(path)
        return _outcome(self._post(path, {"destination": destination}, form))

    def caller_ids(self) -> dict[str, str]:
        rows = self._get("/SmartPBX/Init/Outbound").table()
        return {row["内線番号"]: cell_value(row.get("発信者番号", "")) for row, _ in rows}

    def set_outbound_caller_id(self, extension: str, caller_id: str) -> Outcome:
        path = f"/SmartPBX/Init/Outbound/{extension}"
        form = self._get(path)
        return _outcome(self._post(path, {"caller_id": caller_id}, form))

    def mfa_enabled(self) -> bool:
        return self._get("/SmartPBX/Account").checked("mfa", "on")

    def set_mfa(self, enabled: bool) -> Outcome:
        form = self._get("/SmartPBX/Account")
        data = {"mfa": "on" if enabled else "off"}
        return _outcome(self._post("/SmartPBX/Account", data, form))

    # -- 端末ユーザ ----------------------------------------------------------------------------
    def absence(self) -> AbsenceShown:
        page = self._get("/SmartPBX/User/Absence")
        password = next((e.text() for e in page.nodes if e.has_class("voicemail-password")), "")
        names = ("unconditional", "busy", "unreachable", "no_answer")
        return AbsenceShown(
            enabled=page.checked("enabled", "設定"),
            kind=(
                "シングルナンバーリーチ設定"
                if page.checked("kind", "シングルナンバーリーチ")
                else "転送/留守番電話設定"
            ),
            forward_to=page.value("forward_to"),
            actions={
                state: page.selected_text(name)
                for state, name in zip(FORWARD_STATES, names, strict=True)
            },
            ring_time=page.value("ring_time"),
            reach_number_1=page.value("reach_number_1"),
            reach_start_1=page.value("reach_start_1"),
            reach_number_2=page.value("reach_number_2"),
            reach_start_2=page.value("reach_start_2"),
            reach_end=page.value("reach_end"),
            voicemail=page.checked("voicemail"),
            voicemail_password=password,
        )

    def _save_absence(self, data: Mapping[str, str]) -> Outcome:
        form = self._get("/SmartPBX/User/Absence")
        sent = {"extension": form.value("extension"), **data}
        return _outcome(self._post("/SmartPBX/User/Absence", sent, form))

    def set_absence(self, form: AbsenceForm) -> Outcome:
        if isinstance(form, ForwardForm):
            names = ("unconditional", "busy", "unreachable", "no_answer")
            chosen = {
                name: form.actions.get(state, "設定しない")
                for state, name in zip(FORWARD_STATES, names, strict=True)
            }
            data = {"enabled": "設定", "kind": "転送/留守番電話", "forward_to": form.forward_to}
            return self._save_absence({**data, **chosen, "ring_time": form.ring_time})
        reach = {
            "enabled": "設定",
            "kind": "シングルナンバーリーチ",
            "reach_number_1": form.number_1,
            "reach_start_1": form.start_1,
            "reach_number_2": form.number_2,
            "reach_start_2": form.start_2,
            "reach_end": form.end,
        }
        return self._save_absence(reach | ({"voicemail": "on"} if form.voicemail else {}))

    def clear_absence(self) -> Outcome:
        return self._save_absence({"enabled": "未設定"})
