"""Tenants built in code for the model's tests (DOMAIN.md's own examples, made concrete)."""

from __future__ import annotations

from typing import Any

from harness.guide import Guide, Settings, Tenant


def guide(extensions: list[str], *, site_digits: int = 2, lines: tuple[str, ...] = ()) -> Guide:
    """A guide with one terminal per full 内線番号 (拠点番号 = the first ``site_digits``)."""
    return Guide.model_validate(
        {
            "お客様情報": {"ご注文内容": "新設", "内線サーバアドレス": "01234abc.smart-pbx.jp"},
            "管理者アカウント": {"ログインID": "adm01234abc", "パスワード": "Adm1nPass01"},
            "内線番号情報1": [
                {
                    "No": no,
                    "拠点番号": ext[:site_digits],
                    "端末番号": ext[site_digits:],
                    "端末ID": f"abcde{ext}",
                    "パスワード": "Password",
                    "端末種別": "スマートフォン",
                }
                for no, ext in enumerate(extensions, start=1)
            ],
            "外線番号情報": [
                {"No": no, "外線番号": line, "種別": "IP Voice for SmartPBX"}
                for no, line in enumerate(lines, start=1)
            ],
        }
    )


EXTENSIONS = ["20200", "20201", "20202", "20203", "20204", "21300", "21301"]
LINES = ("0312345678", "0312345679")


def tenant(settings: dict[str, Any] | None = None, *, name: str = "test") -> Tenant:
    """The test tenant: 拠点 20 (200–204) and 拠点 21 (300, 301), two external lines."""
    return Tenant(
        name=name,
        guide=guide(EXTENSIONS, lines=LINES),
        settings=Settings.model_validate(settings or {}),
    )
