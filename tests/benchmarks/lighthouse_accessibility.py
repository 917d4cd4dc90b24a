"""Lighthouse's accessibility score of the built site on a phone (printed; exit status 1 below 100).

    make lighthouse        # installs Lighthouse (npm) into tests/_vendor, then runs this
    .venv/bin/python tests/benchmarks/lighthouse_accessibility.py [SITE] [PAGE ...]

Serves SITE (default ``_build/html``) on a local port and runs Lighthouse's accessibility category
with its mobile settings (a 412 x 823 screen, touch, 2.625 device pixels per CSS px) in Debian's
headless Chromium on each PAGE (default: the introduction and chapters 2, 5 and 13, the pages
with the most formulas and sliders). Prints each page's score and every audit that failed, with
the elements Lighthouse names. Slow (about 20 s a page), so `make test` leaves it to its own
target.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIGHTHOUSE = ROOT / "tests" / "_vendor" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
PAGES = ["book/intro.html", "book/ch02_second_derivative.html", "book/ch05_momentum.html",
         "book/ch13_adam_family.html"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_args: object) -> None:
        pass


def audit(url: str, report: Path) -> dict:
    """Lighthouse's JSON report of ``url``, accessibility only, mobile."""
    subprocess.run(
        [str(LIGHTHOUSE), url, "--only-categories=accessibility", "--form-factor=mobile",
         "--chrome-flags=--headless=new --no-sandbox", "--output=json",
         f"--output-path={report}", "--quiet"],
        check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300,
    )
    return json.loads(report.read_text())


def failures(result: dict) -> list[str]:
    """The accessibility audits that count towards the score and failed, with their elements."""
    counted = {ref["id"] for ref in result["categories"]["accessibility"]["auditRefs"] if ref["weight"] > 0}
    lines = []
    for name in sorted(counted):
        found = result["audits"][name]
        if found.get("score") is not None and found["score"] < 1:
            items = found.get("details", {}).get("items", [])
            nodes = [item.get("node", {}).get("snippet", "") for item in items][:3]
            lines.append(f"{name}: {found['title']} {nodes}")
    return lines


def main(argv: list[str]) -> int:
    site = Path(argv[0]) if argv else ROOT / "_build" / "html"
    pages = argv[1:] or PAGES
    if not LIGHTHOUSE.exists():
        print(f"no Lighthouse at {LIGHTHOUSE}: run `make lighthouse`", file=sys.stderr)
        return 2
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    worst = 100
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    with tempfile.TemporaryDirectory() as scratch, ThreadPoolExecutor(max_workers=2) as pool:
        # two audits at a time (accessibility is not timed, so running two does not change it)
        results = pool.map(lambda n_page: audit(f"{base}/{n_page[1]}", Path(scratch) / f"{n_page[0]}.json"),
                           enumerate(pages))
        for page, result in zip(pages, results, strict=True):
            score = round(100 * result["categories"]["accessibility"]["score"])
            worst = min(worst, score)
            print(f"{page}: accessibility {score}")
            for line in failures(result):
                print(f"    {line}")
    httpd.shutdown()
    print(f"Lighthouse {result['lighthouseVersion']}, mobile; lowest score {worst}")
    return 0 if worst == 100 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
