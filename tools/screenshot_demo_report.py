"""Regenerate ``docs/demo-report.png`` (and ``docs/demo-report-detail.png``) from the demo's HTML report.

Runs ``pharmcheck demo --report html=…`` (the bundled sample sites, offline), opens the report
in headless Chromium (Debian's ``chromium`` via playwright) and takes two screenshots: the
summary and table, and the detail of the first rogue site. Look at them before committing.

Usage: ``python tools/screenshot_demo_report.py [--out docs] [--keep-html FILE]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--keep-html", type=Path, help="also keep the HTML report here")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "demo.html"
        subprocess.run([sys.executable, "-m", "pharmcheck", "demo", "--report", f"html={html}"],
                       check=True, stdout=subprocess.DEVNULL)
        if args.keep_html:
            shutil.copyfile(html, args.keep_html)
        args.out.mkdir(parents=True, exist_ok=True)
        exe = shutil.which("chromium")
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=exe, args=FLAGS) if exe else pw.chromium.launch(args=FLAGS)
            page = b.new_page(viewport={"width": 1280, "height": 1040}, device_scale_factor=1)
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-ready='1']")
            page.screenshot(path=str(args.out / "demo-report.png"))
            page.click("#rows tr[data-verdict=rogue] >> nth=0")
            page.wait_for_selector("#detail[data-n]")
            x, y, w = page.eval_on_selector(
                "#detail",
                "e => { const r = e.getBoundingClientRect();"
                " return [r.left + scrollX, r.top + scrollY, r.width]; }",
            )
            page.screenshot(path=str(args.out / "demo-report-detail.png"), full_page=True,
                            clip={"x": x, "y": y, "width": w, "height": 900})
            b.close()
    print(f"wrote {args.out / 'demo-report.png'} and {args.out / 'demo-report-detail.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
