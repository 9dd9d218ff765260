"""Screenshots of the generated reports for docs/: the Allure report and the compliance matrix.

Run after `make run`:  .venv/bin/python scripts/report_screenshots.py [--reports reports]
Writes docs/screenshots/report-allure.png and docs/screenshots/report-compliance.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.web.browser import BrowserOptions, open_browser

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", default=str(ROOT / "reports"))
    args = parser.parse_args()
    reports = Path(args.reports)
    out = ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with open_browser(BrowserOptions()) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto((reports / "allure-report" / "index.html").resolve().as_uri())
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(1500)  # the report's app renders after load; screenshot only
        page.screenshot(path=str(out / "report-allure.png"))
        page.goto((reports / "compliance.html").resolve().as_uri())
        page.screenshot(path=str(out / "report-compliance.png"), full_page=False)
    print(f"wrote {out / 'report-allure.png'} and {out / 'report-compliance.png'}")


if __name__ == "__main__":
    main()
