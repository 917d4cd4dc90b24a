"""Print built Descent websites into PDFs: ``python book/_ext/print_pdf.py SITE OUT.pdf [SITE OUT.pdf ...]``.

Every page of the table of contents (``_toc.yml``), in its order, is opened in Debian's
Chromium (driven by Playwright, served from 127.0.0.1 so that nothing is fetched from another
host), left to load its fonts and draw its sliders (each shows its first figure, and the print style
sheet adds the address where it can be moved), has its folded solutions opened, and is printed to
PDF; a page whose sliders do not all show their figure is loaded again, and the second time
stops the printing; ``pdfunite`` (poppler-utils) joins the pages into ``OUT.pdf``. ``make pdf`` prints
the full site (``_build/html``) and the student site (``_build/student-html``) in one run: one
browser prints the pages of both, ``--jobs`` at a time, so neither waits for the other's last page.

While it prints, it holds an exclusive lock on ``.printing`` in each output's folder (``PRINTING``)
and the outputs of an earlier run are gone; each PDF appears whole, at the end. So a reader of the
PDFs that started beside it (``tests/test_pdf.py`` in ``make test-all``) waits for the lock and
never reads a stale or half-written PDF.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
#: Held (``flock``, exclusive) in each output's folder while the PDFs are printed.
PRINTING = ".printing"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: Resolves once the fonts have loaded (the formulas come typeset) and every slider shows its
#: figure (or after ``waitMs``), with whether every slider does.
SETTLE = """async (waitMs) => {
  await document.fonts.ready;
  const views = () => document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]');
  const shown = (img) => img.complete && img.naturalWidth > 0;
  const drawn = () => [...views()].every(
    (s) => [...s.parentElement.querySelectorAll('.widget-subarea img')].some(shown));
  for (const end = Date.now() + waitMs; Date.now() < end && !drawn();) {
    await new Promise(r => setTimeout(r, 100));
  }
  window.dispatchEvent(new Event('beforeprint'));
  document.querySelectorAll('.admonition.toggle.toggle-hidden button.toggle-button').forEach(b => b.click());
  await new Promise(r => setTimeout(r, 300));
  return drawn();
}"""
#: How long a page's sliders are given to show their figures, in seconds.
SLIDER_WAIT_S = 20
#: Times a page whose sliders do not all show their figure is loaded before the printing fails.
LOADS = 2


def toc_pages(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """The documents of a Jupyter Book table of contents, in reading order.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "_toc.yml"
    >>> toc = "root: intro\\nparts:\\n- chapters:\\n  - file: a\\n    sections:\\n    - file: b\\n"
    >>> _ = path.write_text(toc)
    >>> toc_pages(path)
    ['intro', 'a', 'b']
    """
    toc = yaml.safe_load(toc_path.read_text(encoding="utf-8"))
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []))
    walk(toc.get("chapters", []))
    return pages


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


async def _print_pages(jobs_list: list[tuple[str, str, Path]], chromium: str, jobs: int) -> list[Path]:
    """Print each (base address, page, part file) ``jobs`` at a time in one browser."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        # every page in one context, as a reader's tabs: the site's scripts are fetched and
        # compiled once, not once a page
        context = await browser.new_context(viewport={"width": 1100, "height": 1400})
        slots = asyncio.Semaphore(jobs)

        async def one(base: str, name: str, part: Path) -> Path:
            async with slots:
                for load in range(1, LOADS + 1):
                    tab = await context.new_page()
                    errors: list[str] = []
                    tab.on("pageerror", lambda error, seen=errors: seen.append(str(error)))
                    await tab.goto(f"{base}/{name}.html", wait_until="networkidle")
                    if await tab.evaluate(SETTLE, 1000 * SLIDER_WAIT_S):
                        break
                    await tab.close()
                    print(f"warning: a slider on {name} did not show its figure (load {load} of {LOADS}); "
                          f"script errors: {errors or 'none'}", file=sys.stderr)
                else:
                    raise SystemExit(f"a slider on {name} did not show its figure in {LOADS} loads: "
                                     "the PDF would print without it")
                await tab.pdf(path=str(part), format="A4", print_background=True,
                              margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"})
                await tab.close()
                return part

        parts = await asyncio.gather(*(one(*job) for job in jobs_list))
        await browser.close()
    return list(parts)


def _serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@contextlib.contextmanager
def printing(outs: list[Path]):
    """Hold the ``PRINTING`` lock of each output's folder, with the old outputs removed."""
    with contextlib.ExitStack() as stack:
        for folder in sorted({out.parent for out in outs}):
            folder.mkdir(parents=True, exist_ok=True)
            lock = stack.enter_context((folder / PRINTING).open("w"))
            fcntl.flock(lock, fcntl.LOCK_EX)
        for out in outs:
            out.unlink(missing_ok=True)
        yield


def print_sites(sites: list[tuple[Path, Path]], chromium: str, jobs: int = 2) -> None:
    """Print every page of each ``(site, out)`` in the order of the toc, ``jobs`` pages at a time
    over all the sites, and join each site's pages into its ``out``."""
    with printing([out for _, out in sites]):
        _print_sites(sites, chromium, jobs)


def _print_sites(sites: list[tuple[Path, Path]], chromium: str, jobs: int) -> None:
    pages = {site: [page for page in toc_pages() if (site / f"{page}.html").is_file()] for site, _ in sites}
    for site, found in pages.items():
        if not found:
            raise SystemExit(f"no pages of _toc.yml found in {site}: build the site first")
    servers = {site: _serve(site) for site, _ in sites}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            work = [(servers[site][1], name, Path(tmp) / f"{n}-{i:03d}.pdf")
                    for n, (site, _) in enumerate(sites) for i, name in enumerate(pages[site])]
            parts = asyncio.run(_print_pages(work, chromium, jobs))
            for n, (_, out) in enumerate(sites):
                out.parent.mkdir(parents=True, exist_ok=True)
                own = [part for part in parts if part.name.startswith(f"{n}-")]
                whole = out.with_name(f"{out.name}.part")  # then renamed: the PDF appears whole
                subprocess.run(["pdfunite", *map(str, own), str(whole)], check=True)
                os.replace(whole, out)
                print(f"{out}: {len(own)} pages of the site")
    finally:
        for httpd, _ in servers.values():
            httpd.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", type=Path, nargs="+", metavar="SITE OUT",
                        help="a built site (e.g. _build/html) and the PDF to write, once or more")
    parser.add_argument("--jobs", type=int, default=2, help="pages printed at the same time (default 2)")
    args = parser.parse_args()
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    needed = [("chromium (apt-get install chromium)", Path(chromium).is_file()),
              ("pdfunite (apt-get install poppler-utils)", shutil.which("pdfunite"))]
    missing = [tool for tool, found in needed if not found]
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("playwright (pip install -r tests/requirements.txt)")
    if missing:
        raise SystemExit("cannot print the PDF, missing: " + ", ".join(missing))
    if len(args.pairs) % 2:
        parser.error("give a site and its PDF, for each site to print")
    pairs = [(site.resolve(), out) for site, out in zip(args.pairs[::2], args.pairs[1::2], strict=True)]
    print_sites(pairs, chromium, args.jobs)


if __name__ == "__main__":
    main()
