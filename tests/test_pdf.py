"""The printable books (``make pdf``): every page, figure, exercise and slider note is there, no
raw markup shows, and solutions are in the full edition only.

Reads ``_build/pdf/descent.pdf`` and ``_build/pdf/descent-student.pdf`` (``make test-slow`` and
``make test-all`` print them where Chromium is installed) with poppler-utils (``pdftotext``,
``pdfimages``, ``pdftoppm``); skips when either is missing. Counts are compared with the websites
they were printed from. In ``make test-all`` the PDFs are printed beside pytest's run: these
checks wait (at most ``PRINTING_WAIT_S``) until the printer lets go of its lock
(``book/_ext/print_pdf.py``), and conftest.py hands them out after the longest parts.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
import zlib
from html import unescape
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
#: The builds to check (`make test` writes _build; DESCENT_BUILD_DIR names another).
BUILD = Path(os.environ.get("DESCENT_BUILD_DIR", ROOT / "_build"))
PDFS = {"full": BUILD / "pdf" / "descent.pdf", "student": BUILD / "pdf" / "descent-student.pdf"}
SITES = {"full": BUILD / "html", "student": BUILD / "student-html"}
RAW_MARKUP = ["{glue", "```", ":::", "{exercise", "{solution", ":label:", ":class:", "{prf:", "{doc}",
              "{numref}", "{ref}", "{math}", "{cite", "$$", "\\(", "\\[", "\\begin{"]
# The PDFs' text is extracted once per module (its fixtures); the file is one unit of
# conftest.py's work_unit, so under pytest-xdist its checks stay on one worker.
#: How long the checks wait for PDFs being printed beside them (two sites take about 2.5 minutes).
PRINTING_WAIT_S = 900

for _tool in ("pdftotext", "pdfimages", "pdftoppm", "pdfinfo"):
    if shutil.which(_tool) is None:
        pytest.skip(f"{_tool} is missing: apt-get install poppler-utils (CI does)", allow_module_level=True)


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def wait_for_the_printer(folder: Path, timeout: float = PRINTING_WAIT_S) -> None:
    """Return once no ``print_pdf.py`` holds the lock of ``folder`` (at once if none ever did)."""
    lock_path = folder / ".printing"
    if not lock_path.is_file():
        return
    deadline = time.monotonic() + timeout
    with lock_path.open() as lock:
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the PDFs in {folder} were still being printed after {timeout:g} s")
                time.sleep(1)
            else:
                fcntl.flock(lock, fcntl.LOCK_UN)
                return


@pytest.fixture(scope="module", params=["full", "student"])
def edition(request) -> tuple[str, Path, Path]:
    pdf, site = PDFS[request.param], SITES[request.param]
    wait_for_the_printer(pdf.parent)
    if not pdf.is_file() or not (site / "index.html").is_file():
        pytest.skip(f"no {pdf.name} or no site at {site}: run `make pdf` (needs Chromium)")
    return request.param, pdf, site


@pytest.fixture(scope="module")
def pages(edition) -> list[str]:
    """The text of every page of the PDF."""
    return _run("pdftotext", "-layout", str(edition[1]), "-").split("\f")[:-1]


def _chapter_pages(site: Path) -> list[Path]:
    """The chapter pages and their sub-pages (``book/chNN_topic.html``, ``book/chNN/*.html``)."""
    return sorted([*site.glob("book/ch*.html"), *site.glob("book/ch*/**/*.html")])


def test_page_count(edition, pages):
    name, pdf, site = edition
    count = int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(pdf)), re.M).group(1))
    assert count == len(pages)
    printed = len(list(site.glob("book/**/*.html"))) + 1  # every page of the book, and the intro
    words = sum(len(page.split()) for page in pages)
    assert count >= printed, f"{count} PDF pages for {printed} web pages"
    assert words / count > 100, "most pages are nearly empty"
    if name == "student":
        full = int(re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(PDFS["full"])), re.M).group(1))
        assert count < full, "the student edition should be shorter than the one with solutions"


def _literal_text(site: Path) -> str:
    """The code shown as code on the site (``<pre>``, ``<code>``): it may show markup on purpose."""
    chunks = []
    for page in [site / "index.html", *site.glob("book/**/*.html")]:
        html = page.read_text(encoding="utf-8")
        for match in re.finditer(r"<(pre|code)\b[^>]*>(.*?)</\1>", html, re.S):
            chunks.append(unescape(re.sub(r"<[^>]+>", "", match.group(2))))
    return "\n".join(chunks)


def test_no_raw_markup(edition, pages):
    """Markup shows only where the site shows it as code (the authors' notes in the instructors' part)."""
    literal = _literal_text(edition[2])
    text = "\n".join(pages)
    for markup in RAW_MARKUP:
        shown, allowed = text.count(markup), literal.count(markup)
        if shown > allowed:
            page = next(i for i, p in enumerate(pages, start=1) if markup in p)
            pytest.fail(f"{markup!r} shows {shown} times, {allowed} of them in code; first on page {page}")


def test_every_exercise_and_only_the_right_solutions(edition, pages):
    name, _, site = edition
    text = "\n".join(pages)
    on_site = set()
    for page in _chapter_pages(site):
        on_site |= set(re.findall(r'caption-number">Exercise (\d+\.\d+) <', page.read_text(encoding="utf-8")))
    in_pdf = set(re.findall(r"(?<!Solution to )Exercise (\d+\.\d+) \(", text))
    assert on_site and in_pdf == on_site, on_site ^ in_pdf
    solutions = set(re.findall(r"Solution to Exercise (\d+\.\d+)", text))
    if name == "full":
        assert solutions == on_site, "every exercise's solution is printed, unfolded"
    else:
        assert not solutions


def test_every_slider_prints_a_figure_and_its_note(edition, pages):
    _, _, site = edition
    sliders = sum(p.read_text(encoding="utf-8").count("widget-view+json") for p in _chapter_pages(site))
    notes = sum(page.count("Interactive figure: move the slider at") for page in pages)
    assert sliders >= len(list(site.glob("book/ch*.html"))) and notes == sliders


def test_figures_are_in_place(edition, pages):
    """Every figure of the site is a colour image in the PDF, and its page is not blank there."""
    _, pdf, site = edition
    figures = sum(len(re.findall(r'<img [^>]*src="(?:\.\./)+_images/', p.read_text(encoding="utf-8")))
                  for p in _chapter_pages(site))
    sliders = sum(p.read_text(encoding="utf-8").count("widget-view+json") for p in _chapter_pages(site))
    listing = _run("pdfimages", "-list", str(pdf)).splitlines()[2:]
    colour = [row.split() for row in listing if row.split()[5] in {"icc", "rgb"}]
    large = [int(row[0]) for row in colour if int(row[3]) >= 200 and int(row[4]) >= 100]
    assert len(large) >= figures + sliders, f"{len(large)} figures printed, {figures + sliders} on the site"
    with tempfile.TemporaryDirectory() as tmp:
        for page in sorted(set(large)):
            _run("pdftoppm", "-r", "30", "-gray", "-f", str(page), "-l", str(page), "-png", str(pdf),
                 f"{tmp}/p")
        rendered = sorted(Path(tmp).glob("p-*.png"))
        assert len(rendered) == len(set(large))
        for path in rendered:
            histogram = Image.open(path).convert("L").histogram()
            inked = sum(histogram[:245]) / sum(histogram)
            assert inked > 0.02, f"{path.name}: a page that holds a figure is nearly white ({inked:.1%})"


#: Characters of the CJK Unified Ideographs block (the Chinese titles and names of the sources).
CJK = re.compile(r"[\u3400-\u9fff]")


def _mapped_characters(pdf: Path) -> set[str]:
    """Every character that an embedded font's ToUnicode map gives a glyph for: the characters
    the PDF can draw (a character printed as an empty box has no glyph of its own to map)."""
    data = pdf.read_bytes()
    mapped: set[str] = set()
    for match in re.finditer(rb"stream\r?\n", data):
        end = data.find(b"endstream", match.end())
        try:
            stream = zlib.decompress(data[match.end():end])
        except zlib.error:
            continue
        if b"beginbf" not in stream:
            continue
        text = stream.decode("latin-1")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", text, re.S):
            for _, target in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block):
                mapped.add(bytes.fromhex(target).decode("utf-16-be", "replace"))
        for block in re.findall(r"beginbfrange(.*?)endbfrange", text, re.S):
            ranges = re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>", block)
            for low, high, target in ranges:
                first = int(target, 16)
                mapped.update(chr(first + i) for i in range(int(high, 16) - int(low, 16) + 1))
    return mapped


def test_chinese_titles_print_in_an_embedded_font(edition, pages):
    """The references' Chinese titles and names are drawn by an embedded font, not as empty boxes.

    A text check alone would pass with boxes (the text layer keeps the characters), so this asks
    ``pdffonts`` for the fonts of every page that has Chinese text (all embedded) and reads the
    fonts' ToUnicode maps for the characters themselves.
    Measured 2026-12-06 on the references page: 36 of its 41 distinct characters are in an
    embedded font's map, the other five in ActualText.
    Needs a CJK font where the PDF is printed (Debian's fonts-noto-cjk, which .ci/run installs;
    descent-print.css names it).
    """
    _, pdf, _ = edition
    chinese = {number: set(CJK.findall(text)) for number, text in enumerate(pages, start=1)}
    chinese = {number: chars for number, chars in chinese.items() if chars}
    assert chinese, "no page of the PDF has the sources' Chinese titles"
    if "Noto Sans CJK" not in _run("fc-list"):
        pytest.fail("no CJK font is installed: apt-get install fonts-noto-cjk (.ci/run does), then make pdf")
    for number in chinese:
        rows = _run("pdffonts", "-f", str(number), "-l", str(number), str(pdf)).splitlines()[2:]
        assert rows, f"page {number} has Chinese text and no font"
        not_embedded = [row for row in rows if row.split()[-5] != "yes"]
        assert not not_embedded, f"page {number}: fonts not embedded: {not_embedded}"
    # Chromium writes a few characters (小, 鱼, ... whose glyph a CJK radical shares) as
    # ActualText beside the glyph instead of in the font's map; a missing font maps none at all.
    wanted = set().union(*chinese.values())
    drawn = wanted & _mapped_characters(pdf)
    assert len(drawn) >= 0.8 * len(wanted), (
        f"embedded fonts draw only {len(drawn)} of the {len(wanted)} Chinese characters: "
        f"missing {''.join(sorted(wanted - drawn))}")


def test_the_checks_wait_for_the_printer(tmp_path: Path) -> None:
    """While ``print_pdf.py`` holds the lock, the checks wait; past the timeout, they fail."""
    import sys

    (tmp_path / ".printing").touch()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"lock = open({str(tmp_path / '.printing')!r}, 'w'); fcntl.flock(lock, fcntl.LOCK_EX)\n"
        "print('locked', flush=True); time.sleep(2)")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    locked_at = time.monotonic()
    with pytest.raises(pytest.fail.Exception, match="still being printed"):
        wait_for_the_printer(tmp_path, timeout=0.5)
    wait_for_the_printer(tmp_path)
    assert time.monotonic() - locked_at > 1.5, "returned while the printer still held the lock"
    holder.wait()
    wait_for_the_printer(tmp_path / "never-printed")  # no lock file: nothing to wait for


def test_a_slider_that_never_shows_its_figure_stops_the_printing(tmp_path: Path, monkeypatch) -> None:
    """A page whose slider shows no figure is loaded again, then the printing fails, naming the
    page, and writes no PDF: a book printed without one of its figures is not a PDF to hand out."""
    import sys

    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    import print_pdf

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        pytest.skip("no Chromium: apt-get install chromium (CI does)")
    site = tmp_path / "site"
    (site / "book").mkdir(parents=True)
    # the first page of the toc, with a slider's view and no widget manager to draw it
    (site / "book" / "intro.html").write_text(
        '<!DOCTYPE html><html lang="en"><title>Intro</title><body><div>'
        '<script type="application/vnd.jupyter.widget-view+json">{"model_id": "x"}</script>'
        "</div></body></html>", encoding="utf-8")
    monkeypatch.setattr(print_pdf, "SLIDER_WAIT_S", 0.3)
    out = tmp_path / "out" / "book.pdf"
    with pytest.raises(SystemExit, match=r"a slider on book/intro did not show its figure in 2 loads"):
        print_pdf.print_sites([(site, out)], chromium, jobs=1)
    assert not out.exists()
