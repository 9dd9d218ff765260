"""SDP for the virtual phones, pure: the session descriptions they offer and answer.

Theory of operation (RFC 3264 offer/answer over RFC 4566 descriptions). A virtual phone offers
one audio stream in every INVITE and answers every offer it receives; no media flows yet, so
the description names port 9 (discard) and PCMU, and what matters to the service is the media
direction: ``hold`` offers ``a=sendonly`` and the answer mirrors it (``recvonly``, RFC 3264
§6.1 and §8.4), ``resume`` offers ``a=sendrecv`` again. Bytes in, bytes out: no socket, no
clock (part of the sans-IO core, ``docs/architecture.md``). The phones' media work grows here:
codecs, RTP ports and the parsing that needs.
"""

from __future__ import annotations

CONTENT_TYPE = "application/sdp"
#: The direction an SDP answer takes to an offer's (RFC 3264 §6.1); anything else: sendrecv.
_ANSWER_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
_DIRECTIONS = ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive")


def session_description(session: int, direction: str = "sendrecv") -> bytes:
    """A minimal audio offer/answer (RFC 4566). No media is ever sent; port 9 (discard).

    ``session`` is the o= line's session id and version (a fresh number per description)."""
    return (
        f"v=0\r\no=- {session} {session} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        f"t=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na={direction}\r\n"
    ).encode()


def sdp_direction(sdp: bytes) -> str:
    """The media direction an SDP body states (``a=sendonly`` …; sendrecv when none)."""
    for line in sdp.decode("utf-8", "replace").splitlines():
        if line.strip() in _DIRECTIONS:
            return line.strip()[2:]
    return "sendrecv"


def answer_direction(offer: bytes) -> str:
    """The direction to answer ``offer`` with (sendonly → recvonly …; RFC 3264 §6.1)."""
    return _ANSWER_DIRECTION.get(sdp_direction(offer), "sendrecv")
