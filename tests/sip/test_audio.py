"""WAV to and from bytes (16-bit mono, stdlib ``wave``) and ``audible``: what recordings
(baresip's, the simulator's voicemail) are judged with."""

from __future__ import annotations

import numpy as np
import pytest

from harness.sip import audio


def test_wav_round_trip_keeps_every_sample() -> None:
    samples = audio.tone(1000.0, start=0, count=1600)

    data = audio.wav_bytes(samples)

    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert len(data) == 44 + 2 * len(samples)
    assert np.array_equal(audio.wav_samples(data), samples)


def test_a_wav_of_another_shape_is_refused_naming_it() -> None:
    stereo_16k = audio.wav_bytes(np.zeros(10, dtype=np.int16), rate=16000)

    with pytest.raises(ValueError, match="16000 Hz; expected 1 channel, 16-bit, 8000 Hz"):
        audio.wav_samples(stereo_16k)


def test_audible_drops_silent_frames_and_keeps_the_tone() -> None:
    silence = np.zeros(audio.FRAME * 10, dtype=np.int16)
    tone = audio.tone(2450.0, start=0, count=audio.FRAME * 5)
    recording = np.concatenate([silence, tone, silence, tone[:7]])

    kept = audio.audible(recording)

    assert len(kept) == audio.FRAME * 5
    hz = audio.dominant_frequency(kept)
    assert hz is not None and abs(hz - 2450.0) < 1
    assert len(audio.audible(silence)) == 0
