"""P.7 【Arcstar Smart PBX (Flexible InterConnect接続オプション)】(端末ご利用者向け), as flows.

For a tenant whose お客様情報 has a 内線サーバアドレス(UNO接続) (NotApplicable otherwise), each
app is first set up as its own page says (P.3 / P.4 / P.5, the prepare part), then:

- Android / iPhone 【Step1】: 設定 → 「アプリの設定」 → 「Flexible InterConnect接続設定」 →
  「SIPサーバ」 = the UNO address; off any registered Wi-Fi the app keeps registering through the
  internet address (内線サーバアドレス);
- Android / iPhone 【Step2】: 「Wi-Fi登録」 → 「追加」 / 「ネットワーク追加」 → ネットワーク名; on
  that Wi-Fi the app registers through the UNO address, on another network through the internet
  address (DOMAIN.md "Terminal apps", the switching rule (A));
- Windows PC 【Step1】: 設定一覧 → 「Flexible InterConnect接続設定」, 接続モード
  「Flexible InterConnectモード」 and 「SIPサーバ」 = the UNO address: everything goes through
  UNO; back in 「通常モード」 through the internet address.

Which address the app picks is the app model's rule (a wrong pick is a harness defect); that the
target accepts the registration through each address is the check.
"""

from __future__ import annotations

from harness.errors import HarnessError
from harness.flows.app import VirtualApp
from harness.flows.app_steps import enter_from_guide, expect_callable, record_screen, run_app
from harness.flows.applicability import NotApplicable
from harness.flows.context import FlowContext
from harness.flows.step import flow, manual_step
from harness.sip.app import ConnectionMode, Network, Platform, Route
from harness.sip.app_screens import APP_SETTINGS, FIC, SETTINGS, SETTINGS_LIST, WIFI

SECTION = "P.7"

#: The Wi-Fi network registered in Wi-Fi登録 (the office where UNO reaches the service), and
#: another one that is not registered.
OFFICE_WIFI = "office-wifi"
OTHER_WIFI = "cafe-wifi"


def uno_address(ctx: FlowContext) -> str:
    """The tenant's 内線サーバアドレス(UNO接続); NotApplicable when お客様情報 has none."""
    address = ctx.tenant.guide.customer.uno_address
    if address is None:
        raise NotApplicable(
            "お客様情報 has no 内線サーバアドレス(UNO接続): the tenant has no Flexible "
            "InterConnect接続オプション"
        )
    return address


def expect_route(app: VirtualApp, route: Route, *, what: str) -> None:
    """The app picked ``route`` (harness defect otherwise) and the target accepted it."""
    if app.route() is not route:
        raise HarnessError(f"{app.name}: {what}: the app picked {app.route()}, not {route}")
    expect_callable(app, what=f"{what}, through the {route.value} address {app.server()}")


def set_up_account(ctx: FlowContext, app: VirtualApp) -> None:
    """Prepare: the app set up and callable as its own page says (P.3 / P.4 / P.5), on the
    screen that shows the status."""
    paths = {
        Platform.ANDROID: (("設定画面へ",), ("保存", "OK")),
        Platform.IPHONE: (("設定", "アカウント設定"), ("保存", "キーボード")),
        Platform.WINDOWS: (("設定", "アカウント設定"), ("キーパッド",)),
    }
    to_account, apply = paths[app.platform]
    app.go(*to_account)
    enter_from_guide(app)
    app.go(*apply)
    expect_callable(app, what=f"{app.platform} app set up before Flexible InterConnect")


def _fic_screen(app: VirtualApp) -> None:
    """設定 → 「アプリの設定」 → 「Flexible InterConnect接続設定」 (P.7 ①–②)."""
    app.tap("設定")
    if app.screen().name not in (SETTINGS, SETTINGS_LIST):
        raise HarnessError(f"{app.name}: 設定 led to {app.screen().name}")
    app.go("アプリの設定", "Flexible InterConnect接続設定")
    if app.screen().name != FIC:
        raise HarnessError(f"{app.name}: expected {FIC} after {APP_SETTINGS}")


def _leave_fic(app: VirtualApp) -> None:
    """Leave Flexible InterConnect接続設定; the app applies it and registers again."""
    app.tap(app.screen().applies[0])
    app.wait_settled()


def sip_server_step(ctx: FlowContext, app: VirtualApp) -> None:
    """【Step1】: 「SIPサーバ」 = the UNO address; off a registered Wi-Fi: internet address."""
    address = uno_address(ctx)
    _fic_screen(app)
    app.enter_uno_server(address)
    record_screen(ctx, app, "Flexible InterConnect接続設定 › SIPサーバ")
    _leave_fic(app)
    expect_route(app, Route.INTERNET, what="P.7 【Step1】 on 3G/LTE (no Wi-Fi registered)")
    record_screen(ctx, app, "3G/LTE")


def wifi_step(ctx: FlowContext, app: VirtualApp) -> None:
    """【Step2】: Wi-Fi登録 of the office network; there UNO, elsewhere the internet address."""
    _fic_screen(app)
    app.tap("Wi-Fi登録")
    if app.screen().name != WIFI:
        raise HarnessError(f"{app.name}: Wi-Fi登録 led to {app.screen().name}")
    app.add_wifi(OFFICE_WIFI)
    record_screen(ctx, app, "Wi-Fi登録 › ネットワーク名")
    app.tap("OK")
    _leave_fic(app)
    app.move_to(Network.wifi(OFFICE_WIFI))
    expect_route(app, Route.UNO, what=f"P.7 【Step2】 on the registered Wi-Fi {OFFICE_WIFI}")
    record_screen(ctx, app, f"Wi-Fi {OFFICE_WIFI}")
    app.move_to(Network.wifi(OTHER_WIFI))
    expect_route(app, Route.INTERNET, what=f"P.7 【Step2】 on another Wi-Fi {OTHER_WIFI}")
    record_screen(ctx, app, f"Wi-Fi {OTHER_WIFI}")
    app.move_to(Network.cellular())
    expect_route(app, Route.INTERNET, what="P.7 【Step2】 on 3G/LTE")


@manual_step("P7-android-S1")
def android_sip_server(ctx: FlowContext, app: VirtualApp) -> None:
    """android版【Step1】 SIPサーバの設定."""
    sip_server_step(ctx, app)


@manual_step("P7-android-S2")
def android_wifi(ctx: FlowContext, app: VirtualApp) -> None:
    """android版【Step2】 Wi-Fiの登録 (「追加」 → ネットワーク名 → 「OK」)."""
    wifi_step(ctx, app)


@manual_step("P7-iphone-S1")
def iphone_sip_server(ctx: FlowContext, app: VirtualApp) -> None:
    """iPhone版【Step1】 SIPサーバの設定 (内線サーバアドレス(UNO接続))."""
    sip_server_step(ctx, app)


@manual_step("P7-iphone-S2")
def iphone_wifi(ctx: FlowContext, app: VirtualApp) -> None:
    """iPhone版【Step2】 Wi-Fiの登録 (「ネットワーク追加」 → ネットワーク名)."""
    wifi_step(ctx, app)


@manual_step("P7-windows-S1")
def windows_connection_mode(ctx: FlowContext, app: VirtualApp) -> None:
    """Windows PC版【Step1】: 接続モード 「Flexible InterConnectモード」 and 「SIPサーバ」 = the
    UNO address → registers through UNO; 「通常モード」 → through the internet address."""
    address = uno_address(ctx)
    app.go("設定", "Flexible InterConnect接続設定")
    app.set_connection_mode(ConnectionMode.FLEXIBLE_INTERCONNECT)
    app.enter_uno_server(address)
    record_screen(ctx, app, "Flexible InterConnect接続設定")
    _leave_fic(app)
    expect_route(app, Route.UNO, what="P.7 Windows 「Flexible InterConnectモード」")
    record_screen(ctx, app, "Flexible InterConnectモード")
    app.go("設定", "Flexible InterConnect接続設定")
    app.set_connection_mode(ConnectionMode.NORMAL)
    _leave_fic(app)
    expect_route(app, Route.INTERNET, what="P.7 Windows 「通常モード」")
    record_screen(ctx, app, "通常モード")


@flow(
    "P.7 Android: Flexible InterConnect",
    section=SECTION,
    steps=("P7-android-S1", "P7-android-S2"),
    requirement="With the UNO address and a registered Wi-Fi, the Android app registers "
    "through UNO on that Wi-Fi and through the internet address elsewhere; both are accepted.",
)
def android_fic(ctx: FlowContext) -> None:
    uno_address(ctx)
    run_app(ctx, Platform.ANDROID, set_up_account, android_sip_server, android_wifi)


@flow(
    "P.7 iPhone: Flexible InterConnect",
    section=SECTION,
    steps=("P7-iphone-S1", "P7-iphone-S2"),
    requirement="With the UNO address and a registered Wi-Fi, the iPhone app registers "
    "through UNO on that Wi-Fi and through the internet address elsewhere; both are accepted.",
)
def iphone_fic(ctx: FlowContext) -> None:
    uno_address(ctx)
    run_app(ctx, Platform.IPHONE, set_up_account, iphone_sip_server, iphone_wifi)


@flow(
    "P.7 Windows PC: 接続モード",
    section=SECTION,
    steps=("P7-windows-S1",),
    requirement="In 「Flexible InterConnectモード」 the Windows PC app registers through the UNO "
    "address, in 「通常モード」 through the internet address; both are accepted.",
)
def windows_fic(ctx: FlowContext) -> None:
    uno_address(ctx)
    run_app(ctx, Platform.WINDOWS, set_up_account, windows_connection_mode)
