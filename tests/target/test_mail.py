"""MailReader against a tiny listing on 127.0.0.1 serving canned mail JSON: the code of the
newest mail to the address after the mark, the bearer token, and clear errors."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness.errors import HarnessError
from harness.target import MailAccess, MailReader


def _mail(
    to: str,
    code: str | None,
    *,
    subject: str = "【Arcstar Smart PBX】ワンタイムパスワードのお知らせ",
) -> dict[str, object]:
    body = f"ワンタイムパスワード: {code}\n\n有効期限は発行から10分間です。" if code else "お知らせ"
    return {
        "mail_from": "no-reply@smart-pbx.jp",
        "to": [to],
        "subject": subject,
        "body": body,
        "time": "2026-12-02T18:31:24.123Z",
    }


@dataclass
class Listing:
    """What the fake listing answers; ``authorizations`` records each request's header."""

    url: str
    mails: list[dict[str, object]] = field(default_factory=list)
    status: int = 200
    raw: bytes | None = None
    authorizations: list[str | None] = field(default_factory=list)
    after_gets: dict[int, dict[str, object]] = field(default_factory=dict)
    gets: int = 0


@pytest.fixture
def listing() -> Iterator[Listing]:
    state = Listing(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state.authorizations.append(self.headers.get("Authorization"))
            state.gets += 1
            if state.gets in state.after_gets:  # a mail arriving while the reader polls
                state.mails.append(state.after_gets[state.gets])
            body = state.raw if state.raw is not None else json.dumps(state.mails).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/mail"
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _reader(listing: Listing, token: str | None = None) -> MailReader:
    return MailReader(MailAccess(api=listing.url, token=token))


def test_the_code_of_the_newest_mail_after_the_mark(listing: Listing) -> None:
    listing.mails = [_mail("user@example.jp", "111111")]
    reader = _reader(listing)
    mark = reader.mark()
    listing.mails += [
        _mail("other@example.jp", "222222"),
        _mail("User@Example.jp", "333333"),
        _mail("user@example.jp", "444444"),
        _mail("other@example.jp", "555555"),
    ]
    assert reader.wait_for_code("user@example.jp", after=mark, timeout=1) == "444444"
    assert [m.code() for m in reader.messages(to="user@example.jp", after=mark)] == [
        "333333",
        "444444",
    ]
    assert len(reader.messages()) == 5
    reader.close()


def test_it_polls_until_the_mail_arrives(listing: Listing) -> None:
    reader = _reader(listing)
    mark = reader.mark()
    listing.after_gets[4] = _mail("user@example.jp", "987654")
    assert reader.wait_for_code("user@example.jp", after=mark, timeout=5) == "987654"
    assert listing.gets >= 4


def test_a_code_from_before_the_mark_is_never_used(listing: Listing) -> None:
    listing.mails = [_mail("user@example.jp", "111111")]
    reader = _reader(listing)
    mark = reader.mark()
    with pytest.raises(HarnessError) as caught:
        reader.wait_for_code("user@example.jp", after=mark, timeout=0.2)
    message = str(caught.value)
    assert "user@example.jp" in message and "0.2 s" in message and listing.url in message
    assert "no mail to it arrived" in message


def test_a_mail_without_a_code_is_named(listing: Listing) -> None:
    reader = _reader(listing)
    mark = reader.mark()
    listing.mails = [_mail("user@example.jp", None)]
    with pytest.raises(HarnessError, match="1 mail.* none holds"):
        reader.wait_for_code("user@example.jp", after=mark, timeout=0.1)


def test_an_emptied_mailbox_makes_every_listed_mail_new(listing: Listing) -> None:
    listing.mails = [_mail("a@example.jp", "1"), _mail("a@example.jp", "2")]
    reader = _reader(listing)
    mark = reader.mark()
    listing.mails = [_mail("user@example.jp", "246810")]  # reset, then a new code
    assert reader.wait_for_code("user@example.jp", after=mark, timeout=1) == "246810"


def test_the_token_is_sent_as_bearer(listing: Listing) -> None:
    _reader(listing, token="s3cret").mark()
    _reader(listing).mark()
    assert listing.authorizations == ["Bearer s3cret", None]


def test_a_refused_token_says_to_check_it(listing: Listing) -> None:
    listing.status = 401
    with pytest.raises(HarnessError, match=r"401 \(check \[mail\] token\)"):
        _reader(listing).mark()


def test_an_answer_that_is_no_mail_list_is_named(listing: Listing) -> None:
    listing.raw = b'{"not": "a list"}'
    with pytest.raises(HarnessError, match="JSON list of"):
        _reader(listing).mark()


def test_an_unreachable_listing_is_a_harness_error() -> None:
    reader = MailReader(MailAccess(api="http://127.0.0.1:9/api/mail"), timeout=1)
    with pytest.raises(HarnessError, match="GET http://127.0.0.1:9/api/mail failed"):
        reader.mark()
