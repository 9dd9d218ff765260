"""Screenshots of the generated reports for docs/: the compliance matrix of a tenant and an
Allure test with its steps and evidence.

Run after a run of the suite, e.g. ``smartpbx-harness run --guide fixtures/ご利用内容/sample``:

    .venv/bin/python scripts/report_screenshots.py [--reports reports] [--tenant sample]
        [--flow "P.3 Android: アプリの設定と発信"]

Writes docs/screenshots/report-compliance.png, report-allure.png (the report's overview) and
report-allure-step.png (one flow's test: its manual steps, each with its attachments).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.web.browser import BrowserOptions, open_browser

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", default=str(ROOT / "reports"))
    parser.add_argument("--tenant", default="sample")
    parser.add_argument("--flow", default="P.3 Android: アプリの設定と発信")
    args = parser.parse_args()
    reports = Path(args.reports)
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with open_browser(BrowserOptions()) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto((reports / args.tenant / "compliance.html").resolve().as_uri())
        page.screenshot(path=str(out / "report-compliance.png"))
        page.goto((reports / "allure-report" / "index.html").resolve().as_uri())
        page.wait_for_load_state("networkidle")
        page.get_by_text(args.flow, exact=True).first.wait_for()
        page.screenshot(path=str(out / "report-allure.png"))
        # One flow's test: open its group, its first story, then the test itself.
        page.get_by_text(args.flow, exact=True).first.click()
        page.get_by_text("P.3 ⑥", exact=False).first.click()  # a story: one manual step
        page.get_by_text(f"{args.tenant}: {args.flow}", exact=True).first.click()
        page.get_by_text("Set up", exact=True).first.click()  # fold the fixtures away
        step = page.get_by_text("P.3 ⑥", exact=False).last  # the step in the test's body
        step.click()  # unfold it: its screenshots / ladder attachments
        step.evaluate("e => e.scrollIntoView({block: 'start'})")
        page.mouse.wheel(0, -120)
        page.screenshot(path=str(out / "report-allure-step.png"))
    print(f"wrote report-compliance.png, report-allure.png, report-allure-step.png in {out}")


if __name__ == "__main__":
    main()
