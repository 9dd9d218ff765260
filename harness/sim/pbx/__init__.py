"""The simulator's PBX brain: registrar, reactive call routing, voicemail (docs/pbx.md).

An independent implementation of DOMAIN.md "Call routing semantics" driven by events and
``Clock`` timers; it never imports ``harness.model`` (DESIGN.md hard rule).
"""
