"""DOMAIN.md "Worked timelines": each must hold exactly, through the JSON contract."""

from __future__ import annotations

from tests.model.helpers import call, ev, ring, timeline

CALLER = "20204"


def test_順次着信_200_201_202_nobody_answers() -> None:
    settings = {
        "着信グループ": [
            {"種別": "順次着信", "代表番号": "20200", "メンバー": ["20200", "20201", "20202"]}
        ]
    }
    assert timeline(settings, call(CALLER, "20200")) == {
        "events": [
            ring(0, "20200", CALLER),
            ev(20, "stop", "20200"),
            ring(20, "20201", CALLER),
            ev(40, "stop", "20201"),
            ring(40, "20202", CALLER),
            ev(60, "stop", "20202"),
            ev(60, "release", CALLER),
        ],
        "outcome": "released",
        "answered_by": None,
    }


def test_転送_on_無応答_to_external_answering_after_4s() -> None:
    settings = {
        "外線発信設定": [{"内線番号": "20201", "発信者番号": "0312345678"}],
        "不在時動作設定": {
            "20201": {
                "種別": "転送/留守番電話",
                "転送先電話番号": "09011112222",
                "転送動作": {"無応答": "転送"},
                "呼出時間": 15,
            }
        },
    }
    scenario = call(CALLER, "20201", endpoints={"09011112222": {"answer_after": 4}})
    assert timeline(settings, scenario) == {
        "events": [
            ring(0, "20201", CALLER),
            ev(15, "stop", "20201"),
            ring(15, "09011112222", "0312345678"),
            ev(19, "answer", "09011112222"),
        ],
        "outcome": "answered",
        "answered_by": "09011112222",
    }


def test_シングルナンバーリーチ_5_10_30_voicemail_nobody_answers() -> None:
    settings = {
        "外線発信設定": [{"内線番号": "20202", "発信者番号": "0312345678"}],
        "不在時動作設定": {
            "20202": {
                "種別": "シングルナンバーリーチ",
                "接続先番号1": "09011112222",
                "呼出開始時間1": 5,
                "接続先番号2": "0311112222",
                "呼出開始時間2": 10,
                "呼出終了時間": 30,
                "留守番電話": True,
            }
        },
    }
    assert timeline(settings, call(CALLER, "20202")) == {
        "events": [
            ring(0, "20202", CALLER),
            ring(5, "09011112222", "0312345678"),
            ring(10, "0311112222", "0312345678"),
            ev(30, "stop", "20202"),
            ev(30, "stop", "09011112222"),
            ev(30, "stop", "0311112222"),
            ev(30, "voicemail", "20202"),
        ],
        "outcome": "voicemail",
        "answered_by": None,
    }
