"""Audio for the virtual phones, pure: ITU-T G.711 μ-law/A-law, the phones' tones and finding
which tone a stretch of audio carries.

Theory of operation. Each phone sends a sine of its own frequency (``tone_for(name)``: one of
``TONES``, chosen by a stable hash of the phone's name, never near a DTMF frequency), so a
listener that finds the dominant frequency of what it received (``dominant_frequency``: an
FFT of a Hann-windowed stretch, the peak refined by parabolic interpolation) can say *who* it
hears. Silence (RMS below ``SILENCE_RMS``) and noise (no peak holding ``TONAL_SHARE`` of the
energy) are ``None``. G.711 is the ITU-T recommendation's segment coding written with numpy
(vectorised; the reference values of G.711 Tables 1a/2a are tests in tests/sip/test_audio.py);
pyproject.toml says why not audioop. WAV (RIFF, 16-bit mono) goes to and from bytes with the
stdlib ``wave``. No clock, no socket, no file: samples in, bytes out.
"""

from __future__ import annotations

import io
import wave
import zlib
from collections.abc import Callable, Mapping

import numpy as np
import numpy.typing as npt

RATE = 8000
Samples = npt.NDArray[np.int16]

#: Frequencies more than 40 Hz from every DTMF tone (RFC 4733 §3.2 / ITU-T Q.23).
_DTMF_HZ = (697, 770, 852, 941, 1209, 1336, 1477, 1633)
TONES: tuple[float, ...] = tuple(
    float(f) for f in range(400, 3400, 50) if all(abs(f - d) > 40 for d in _DTMF_HZ)
)
SILENCE_RMS = 50.0
TONAL_SHARE = 0.6
#: How close a detected frequency must be to a phone's tone to count as that phone.
TOLERANCE_HZ = 15.0

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635
_ALAW_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], dtype=np.int32)


def tone_for(name: str) -> float:
    """The tone a phone named ``name`` sends (stable across runs and processes)."""
    return TONES[zlib.crc32(name.encode("utf-8")) % len(TONES)]


def tone(
    frequency: float, *, start: int, count: int, amplitude: int = 8000, rate: int = RATE
) -> Samples:
    """``count`` samples of a sine from sample index ``start`` (phase-continuous across
    calls that advance ``start``)."""
    n = np.arange(start, start + count, dtype=np.float64)
    return np.round(amplitude * np.sin(2 * np.pi * frequency * n / rate)).astype(np.int16)


def dominant_frequency(samples: Samples, *, rate: int = RATE) -> float | None:
    """The frequency of the tone ``samples`` carry, or None for silence or noise."""
    if len(samples) < 64:
        return None
    x = samples.astype(np.float64)
    x -= x.mean()
    if float(np.sqrt(np.mean(x * x))) < SILENCE_RMS:
        return None
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    spectrum[0] = 0.0
    peak = int(np.argmax(spectrum))
    # A windowed sine spreads over about three bins: their share of the energy.
    share = float(spectrum[max(peak - 2, 0) : peak + 3].sum() / spectrum.sum())
    if share < TONAL_SHARE:
        return None
    offset = 0.0
    if 0 < peak < len(spectrum) - 1:
        a, b, c = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
        denominator = a - 2 * b + c
        offset = 0.5 * (a - c) / denominator if denominator else 0.0
    return (peak + offset) * rate / len(x)


def who(frequency: float | None, tones: Mapping[str, float]) -> str | None:
    """The name in ``tones`` whose frequency ``frequency`` is (within ``TOLERANCE_HZ``)."""
    if frequency is None:
        return None
    name, hz = min(tones.items(), key=lambda item: abs(item[1] - frequency), default=("", 0.0))
    return name if name and abs(hz - frequency) <= TOLERANCE_HZ else None


# -- ITU-T G.711 --------------------------------------------------------------------------


def ulaw_encode(samples: Samples) -> bytes:
    """G.711 μ-law: sign, 3-bit segment, 4-bit mantissa of the biased magnitude, inverted."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    exponent = np.clip(np.frexp(magnitude.astype(np.float64))[1] - 8, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    coded: npt.NDArray[np.uint8] = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)
    return coded.tobytes()


def ulaw_decode(data: bytes) -> Samples:
    u = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + _ULAW_BIAS) << exponent
    value = magnitude - _ULAW_BIAS
    return np.where(u & 0x80, -value, value).astype(np.int16)


def alaw_encode(samples: Samples) -> bytes:
    """G.711 A-law: 13-bit magnitude, segment by table, even bits inverted (XOR 0x55)."""
    x = samples.astype(np.int32) >> 3
    mask = np.where(x >= 0, 0xD5, 0x55)
    x = np.where(x >= 0, x, -x - 1)
    segment = np.searchsorted(_ALAW_SEG_END, x, side="left")
    shift = np.where(segment < 2, 1, segment)
    value = (np.minimum(segment, 7) << 4) | ((x >> shift) & 0x0F)
    value = np.where(segment >= 8, 0x7F, value)
    return ((value ^ mask) & 0xFF).astype(np.uint8).tobytes()


def alaw_decode(data: bytes) -> Samples:
    a = np.frombuffer(data, dtype=np.uint8).astype(np.int32) ^ 0x55
    t = (a & 0x0F) << 4
    segment = (a & 0x70) >> 4
    t = np.where(segment == 0, t + 8, t + 0x108)
    t = np.where(segment > 1, t << np.maximum(segment - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)


Encoder = Callable[[Samples], bytes]
Decoder = Callable[[bytes], Samples]
#: The codecs by their RTP encoding name (RFC 3551 §4.5.14).
CODECS: dict[str, tuple[Encoder, Decoder]] = {
    "PCMU": (ulaw_encode, ulaw_decode),
    "PCMA": (alaw_encode, alaw_decode),
}


# -- WAV (16-bit PCM, mono) ---------------------------------------------------------------

#: One G.711 packet's worth of samples (20 ms): the unit ``audible`` judges.
FRAME = 160


def wav_bytes(samples: Samples, *, rate: int = RATE) -> bytes:
    """A RIFF WAVE file of ``samples``: 16-bit little-endian PCM, one channel."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return buffer.getvalue()


def wav_samples(data: bytes, *, rate: int = RATE) -> Samples:
    """The samples of a 16-bit mono WAV file at ``rate`` Hz; ``ValueError`` naming what differs."""
    with wave.open(io.BytesIO(data), "rb") as source:
        shape = (source.getnchannels(), source.getsampwidth(), source.getframerate())
        if shape != (1, 2, rate):
            raise ValueError(
                f"WAV is {shape[0]} channel(s), {8 * shape[1]}-bit, {shape[2]} Hz; "
                f"expected 1 channel, 16-bit, {rate} Hz"
            )
        frames = source.readframes(source.getnframes())
    return np.frombuffer(frames, dtype="<i2").astype(np.int16)


def audible(samples: Samples) -> Samples:
    """The 20 ms frames of ``samples`` louder than ``SILENCE_RMS``, joined: a recording's
    leading and trailing silence (before media flowed, after it stopped) left out."""
    count = len(samples) // FRAME
    frames = samples[: count * FRAME].astype(np.float64).reshape(count, FRAME)
    loud = np.sqrt(np.mean(frames * frames, axis=1)) >= SILENCE_RMS
    kept: Samples = samples[: count * FRAME].reshape(count, FRAME)[loud].reshape(-1)
    return kept
