"""No typed numbers: a number in a page's prose is computed and glued, not typed.

A digit in a Markdown cell (or a Markdown page) counts as *typed* unless it is

- inside a glue role (``{glue:text}`name```), math (``$...$``, ``$$...$$``), inline code or a
  code block, a cross-reference or citation role, a link target, or a directive's option line;
- a year (1800-2049 not followed by a unit such as "steps");
- a reference to a chapter, section, part, figure, equation, theorem, proposition, exercise,
  page or week ("chapter 4", "section 7.1", "Exercise 12.2"), or a numbered-list marker;
- matched by an entry of ``ALLOWED`` below, each of which says why it is not a claim.

Pages that still hold typed numbers have a budget in ``BUDGET``: the test fails when a page holds
more (a new typed number) and when it holds fewer (lower the budget, so the gain is kept). A page
without an entry must hold none. Issue 18 asks for every budget to reach zero.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

#: Numbers that are not claims about a computation, each with the reason it may be typed.
ALLOWED: list[tuple[str, str]] = [
    (r"About \d+ minutes to read, \d+ more for the exercises",
     "the reading-time estimate that opens each chapter: a rounded author's estimate, "
     "not a result of the page's code"),
    (r"\b\d+(?:\.\d+)?[–-]D\b", "dimension words such as 1-D or 2-D"),
    (r"\b\d+(?:st|nd|rd|th)\s+percentiles?\b",
     "the name of a quantile (the 95th percentile): it says which statistic the code computes, "
     "a definition like a symbol, not a result"),
    (r"recommend\s+a\s+step\s+size\s+3\s+to\s+10\s+times\s+smaller\s+than\s+AdamW's\s+and\s+a\s+"
     r"weight\s+decay\s+3\s+to\s+10\s+times\s+larger",
     "ch13 quotes the Lion paper's recommendation (Chen et al., 2023, cited beside it): a "
     "practice reported by the source, not a result the page's code could compute"),
]

#: Pages whose numbers are decisions, not results of a computation, each with the reason.
DECISION_PAGES: dict[str, str] = {
    "instructors/rubrics": "points per exercise and what earns them: grading decisions an "
                           "instructor sets and may change, not claims a notebook could compute",
    "instructors/assessment": "weights, weeks and points of the assessment plan: decisions an "
                              "instructor sets, not claims a notebook could compute",
    "instructors/syllabus": "weeks, session lengths and which chapter goes in which week: a "
                            "course plan an instructor sets, not claims a notebook could compute "
                            "(the reading and exercise times are computed: the chapter-times table)",
}

#: Typed numbers still on the pages written before issue 18's test (a ratchet: only down).
BUDGET: dict[str, int] = {
    "ch01_step_too_far": 5,
    "ch02_second_derivative": 19,
    "ch03_hard_landscapes": 7,
    "ch04_stochastic_descent": 3,
    "ch05_momentum": 34,
    "ch06_nesterov": 14,
    "ch07_adagrad_rmsprop": 35,
    "ch08_adam": 39,
    "ch09_newton": 27,
    "ch10_showdown": 31,
    "ch03/products": 8,
    "ch03/ripples": 8,
    "ch04/minibatch_noise": 20,
    "ch04/neuron": 12,
    "ch04/schedules_line_search": 22,
    "notation": 7,
    "prerequisites": 4,
    "instructors/index": 4,
    "instructors/objectives": 1,
}


def pages() -> list[Path]:
    """Every page of the book: the chapters and their sub-pages, and the Markdown pages."""
    found = sorted(BOOK.glob("*.ipynb")) + sorted(BOOK.glob("ch*/*.ipynb"))
    found += sorted(BOOK.glob("*.md")) + sorted(BOOK.glob("instructors/*.md"))
    return [p for p in found if p.relative_to(BOOK).with_suffix("").as_posix() not in DECISION_PAGES]


def markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text())["cells"]
        return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text()


FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$")
FENCE_LINE = re.compile(r"^\s*(`{3,}|:{3,}).*$", re.M)
OPTION_LINE = re.compile(r"^\s*:[\w-]+:.*$", re.M)
ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")
DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
INLINE_MATH = re.compile(r"\$[^$\n]*(?:\n[^$\n]*)*?\$")
INLINE_CODE = re.compile(r"(`+)(?!`).*?(?<!`)\1", re.S)
LINK_TARGET = re.compile(r"\]\([^)]*\)")
COMMENT = re.compile(r"<!--.*?-->", re.S)
LABEL = re.compile(r"^\s*\(\S+\)=\s*$", re.M)
LIST_MARKER = re.compile(r"^\s*\d+\.\s", re.M)
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}.*$", re.M)
REFERENCE = re.compile(
    r"\b(?:[Cc]hapters?|[Ss]ections?|§|[Pp]arts?|[Ff]igures?|[Ee]quations?|[Tt]heorems?|"
    r"[Pp]ropositions?|[Ee]xercises?|[Pp]ages?|[Ww]eeks?)\s+\d+(?:\.\d+)*"
    r"(?:\s*(?:–|-|to|and|,)\s*\d+(?:\.\d+)*)*"
)
YEAR = re.compile(r"\b(?:18\d\d|19\d\d|20[0-4]\d)\b(?![,\d]|\s+(?:steps|runs|images|epochs))")
NUMBER = re.compile(r"(?<![\w.])\d(?:[\d,.\u202f\u2009]*\d)?")


def without_code_blocks(markdown: str) -> str:
    """The Markdown with the lines of its code blocks blanked, fence by fence.

    A fence opens a code block unless it opens a directive (```` ```{name} ````, ``:::``), whose
    body is prose; a fence closes the block or directive it matches (same character, at least as
    long, nothing after it). A regular expression cannot tell an opening fence from a closing
    one, and taking the closing fence of a directive for an opening one hides the prose up to the
    next fence.
    """
    lines, open_fences = [], []  # (fence, is code) of each open block, innermost last
    for line in markdown.split("\n"):
        fence = FENCE.match(line)
        in_code = bool(open_fences) and open_fences[-1][1]
        if fence:
            marks, rest = fence.group(1), fence.group(2).strip()
            if open_fences and not rest and marks[0] == open_fences[-1][0][0] \
                    and len(marks) >= len(open_fences[-1][0]):
                open_fences.pop()
                lines.append("")
                continue
            if not in_code:
                open_fences.append((marks, marks[0] != ":" and not rest.startswith("{")))
                lines.append("")
                continue
        lines.append("" if in_code else line)
    return "\n".join(lines)


def typed_numbers(markdown: str) -> list[str]:
    """The typed numbers of a page's Markdown, each with a little context."""
    text = without_code_blocks(COMMENT.sub(" ", markdown))
    for pattern in (FENCE_LINE, OPTION_LINE, LABEL, ROLE, DISPLAY_MATH, INLINE_MATH,
                    INLINE_CODE, LINK_TARGET, TABLE_RULE, LIST_MARKER, REFERENCE, YEAR):
        text = pattern.sub(" ", text)
    for pattern, _why in ALLOWED:
        text = re.sub(pattern, " ", text)
    return [re.sub(r"\s+", " ", text[max(0, m.start() - 30):m.end() + 20])
            for m in NUMBER.finditer(text)]


def page_name(path: Path) -> str:
    return path.relative_to(BOOK).with_suffix("").as_posix()


@pytest.mark.parametrize("path", pages(), ids=page_name)
def test_no_new_typed_numbers(path):
    found = typed_numbers(markdown_of(path))
    budget = BUDGET.get(page_name(path), 0)
    listing = "\n".join(found)
    assert len(found) <= budget, (
        f"{page_name(path)} has {len(found)} typed numbers (budget {budget}): glue them, or put "
        f"a definition in math, or allow one with a reason:\n{listing}"
    )
    assert len(found) == budget, (
        f"{page_name(path)} has {len(found)} typed numbers, fewer than its budget {budget}: "
        "lower BUDGET so the gain is kept"
    )


def test_the_scanner_finds_what_it_should():
    assert typed_numbers("The run ends 2.6e70 above, after 2,442 steps.") != []
    assert len(typed_numbers("θ has 2,442 entries")) == 1
    assert typed_numbers("ends {glue:text}`x:.2f` above, $\\eta = 0.05$, `lr=0.1`") == []
    assert typed_numbers("see chapter 4, Exercise 12.2 and section 7.1; since 2015") == []
    assert typed_numbers("About 14 minutes to read, 60 more for the exercises.") == []
    assert len(typed_numbers("for 2000 steps")) == 1
    assert typed_numbers("the 95th percentile and the 5th\npercentile") == []
    directive_then_prose = "```{solution-end}\n```\n\nTrain for 20 epochs.\n\n```python\nx = 3\n```"
    assert len(typed_numbers(directive_then_prose)) == 1


def test_every_allowance_says_why():
    for page, why in DECISION_PAGES.items():
        assert (BOOK / f"{page}.md").is_file() and len(why.split()) >= 3, page
    for pattern, why in ALLOWED:
        re.compile(pattern)
        assert len(why.split()) >= 3, pattern
