"""SIP for the harness: a sans-IO core plus (elsewhere in this package) transports and phones.

The core never touches a socket, a clock or a thread (../shared/STYLE.md §1, like h11):

- ``syntax`` — ``SipParseError`` (what + where + suggested status), tokens, ``Params``.
- ``uri`` — ``SipUri`` (§19.1, with §19.1.4 ``equivalent``), ``AbsoluteUri``, ``NameAddr``.
- ``headers`` — ``Headers`` (ordered, case-insensitive, compact forms, typed accessors),
  ``Via``, ``CSeq``.
- ``message`` — ``Request`` / ``Response`` (frozen dataclasses with builders),
  ``parse_message``, ``split_message``, ``serialize``, ``StreamParser`` for TCP.
- ``digest`` — RFC 7616/8760 digest authentication, client and server side.
- ``transaction`` — RFC 3261 §17 client/server transactions, one state table per kind.
- ``dialog`` — RFC 3261 §12 dialogs, in-dialog requests, CANCEL and ACK helpers.
- ``sdp`` — the phones' RFC 3264 offers and answers; ``app``, ``observed`` — the phones' pure
  rules (app profiles and status texts, timeline events).

``make lint`` holds the core to that (import contract ``sip-core-sans-io`` in pyproject.toml,
which lists the core and the I/O modules). See ``docs/sip.md`` for an overview with examples.
"""
