"""Sphinx extension: the instructors' tables, generated from the book itself.

Every ``{exercise}`` carries its metadata as classes (documented in CONTRIBUTING.md)::

    ```{exercise} Title
    :label: ch5-ex-rate
    :class: type-code difficulty-2 minutes-20 autograded
    ```

* ``type-proof`` | ``type-computation`` | ``type-code`` | ``type-concept``: exactly one;
* ``difficulty-1`` | ``difficulty-2`` | ``difficulty-3``: exactly one;
* ``minutes-N``: exactly one, the minutes a student needs;
* ``autograded``: optional, the exercise has an autograder test.

The build stops with a list of the exercises whose metadata is missing or malformed, or that
have no title. Two directives turn what was read into tables, with the numbers the site shows
("Exercise 5.2"), on every build:

* ``{exercise-table}``: one row per exercise of the book;
* ``{chapter-times}``: one row per chapter (the page ``chNN_*`` with its sub-pages in ``chNN/``):
  prose words, reading time (words / :data:`WORDS_PER_MINUTE`, rounded up to 5 minutes), number
  of exercises and the sum of their minutes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective
from sphinx_exercise.nodes import (
    exercise_enumerable_node,
    exercise_node,
    exercise_subtitle,
    solution_node,
    solution_start_node,
)

#: Reading speed for technical prose with mathematics (words per minute).
WORDS_PER_MINUTE = 200  # the rate the chapter openings use
TYPES = {"proof": "proof/derivation", "computation": "computation", "code": "code", "concept": "concept"}
#: A chapter's main page is ``book/chNN_topic``; its sub-pages live in ``book/chNN/``.
CHAPTER = re.compile(r"(?:^|/)ch(\d+)(?:_[^/]*$|/)")
#: Text inside these nodes is not prose to read (code, outputs, formulas, exercises, solutions).
SKIPPED = (
    nodes.literal_block,
    nodes.raw,
    nodes.math_block,
    nodes.comment,
    nodes.image,
    exercise_enumerable_node,
    exercise_node,
    solution_node,
    solution_start_node,
)


@dataclass
class Exercise:
    """One exercise as read from the source, with its metadata parsed from its classes."""

    docname: str
    label: str
    title: str
    line: int | None
    kind: str = ""
    difficulty: int = 0
    minutes: int = 0
    autograded: bool = False
    problems: list[str] = field(default_factory=list)


def parse_metadata(exercise: Exercise, classes: list[str]) -> Exercise:
    """Fill ``kind``, ``difficulty``, ``minutes`` and ``autograded`` from the node's classes.

    Anything missing, repeated or unknown is recorded in ``exercise.problems``.

    >>> classes = ["exercise", "type-code", "difficulty-2", "minutes-20"]
    >>> e = parse_metadata(Exercise("d", "x", "T", 1), classes)
    >>> (e.kind, e.difficulty, e.minutes, e.autograded, e.problems)
    ('code', 2, 20, False, [])
    >>> parse_metadata(Exercise("d", "x", "T", 1), ["difficulty-4"]).problems
    ['no type-* class', 'no minutes-N class', 'difficulty-4 is not difficulty-1, -2 or -3']
    """
    found: dict[str, list[str]] = {"type": [], "difficulty": [], "minutes": []}
    for name in classes:
        if name == "autograded":
            exercise.autograded = True
        elif "-" in name and name.split("-", 1)[0] in found:
            key, value = name.split("-", 1)
            found[key].append(value)
    for key, values in found.items():
        if not values:
            exercise.problems.append(f"no {key}-{'N' if key == 'minutes' else '*'} class")
        elif len(values) > 1:
            exercise.problems.append(f"{len(values)} {key}-* classes")
    if len(found["type"]) == 1:
        if found["type"][0] in TYPES:
            exercise.kind = found["type"][0]
        else:
            exercise.problems.append(f"type-{found['type'][0]} is not one of type-{', type-'.join(TYPES)}")
    if len(found["difficulty"]) == 1:
        if found["difficulty"][0] in {"1", "2", "3"}:
            exercise.difficulty = int(found["difficulty"][0])
        else:
            exercise.problems.append(f"difficulty-{found['difficulty'][0]} is not difficulty-1, -2 or -3")
    if len(found["minutes"]) == 1:
        value = found["minutes"][0]
        if value.isdigit() and int(value) > 0:
            exercise.minutes = int(value)
        else:
            exercise.problems.append(f"minutes-{value} is not a positive whole number of minutes")
    if not exercise.title:
        exercise.problems.append("no title (write it after {exercise})")
    return exercise


def reading_minutes(words: int) -> int:
    """Minutes to read ``words`` words of prose, rounded up to a multiple of 5.

    >>> reading_minutes(0), reading_minutes(1), reading_minutes(2000), reading_minutes(2001)
    (0, 5, 10, 15)
    """
    return 5 * math.ceil(words / WORDS_PER_MINUTE / 5)


def _prose_words(document: nodes.document) -> int:
    count = 0
    for text in document.findall(nodes.Text):
        parent = text.parent
        skip = False
        while parent is not None:
            if isinstance(parent, SKIPPED):
                skip = True
                break
            parent = parent.parent
        if skip:
            continue
        if isinstance(text.parent, nodes.math):
            count += 1  # an inline formula reads like a word
        else:
            count += len(text.astext().split())
    return count


def _read(app: Sphinx, document: nodes.document) -> None:
    env = app.env
    docname = env.docname
    exercises = []
    for node in document.findall(lambda n: isinstance(n, exercise_enumerable_node | exercise_node)):
        subtitles = list(node.findall(exercise_subtitle))
        title = subtitles[0].astext().strip() if subtitles else ""
        exercise = Exercise(docname, node.get("label", ""), title, node.line)
        exercises.append(parse_metadata(exercise, list(node.get("classes", []))))
    env.descent_exercises[docname] = exercises
    if CHAPTER.search(docname):
        env.descent_words[docname] = _prose_words(document)


def _init(app: Sphinx) -> None:
    for name in ("descent_exercises", "descent_words", "descent_table_docs"):
        if not hasattr(app.env, name):
            setattr(app.env, name, {})


def _purge(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    for name in ("descent_exercises", "descent_words", "descent_table_docs"):
        getattr(env, name, {}).pop(docname, None)


def _merge(app: Sphinx, env: BuildEnvironment, docnames: set[str], other: BuildEnvironment) -> None:
    for name in ("descent_exercises", "descent_words", "descent_table_docs"):
        ours = getattr(env, name)
        for docname, value in getattr(other, name, {}).items():
            if docname in docnames:
                ours[docname] = value


def _check(app: Sphinx, env: BuildEnvironment) -> None:
    """Stop the build when an exercise lacks its metadata: the tables would be wrong."""
    bad = [
        f"  {env.doc2path(e.docname)}:{e.line or '?'} exercise {e.label!r}: {'; '.join(e.problems)}"
        for docname in sorted(env.descent_exercises)
        for e in env.descent_exercises[docname]
        if e.problems
    ]
    if bad:
        raise ExtensionError(
            "exercises without complete metadata (see CONTRIBUTING.md, 'Adding a chapter'):\n"
            + "\n".join(bad)
        )


def _outdated(app: Sphinx, env: BuildEnvironment, added: set, changed: set, removed: set) -> list[str]:
    """The pages with tables are rebuilt whenever any page changes."""
    if added or changed or removed:
        return [d for d in env.descent_table_docs if d not in changed]
    return []


class TablePlaceholder(nodes.General, nodes.Element):
    """Replaced by a table once the exercises are numbered."""


class _TableDirective(SphinxDirective):
    has_content = False
    kind = ""

    def run(self) -> list[nodes.Node]:
        self.env.descent_table_docs[self.env.docname] = True
        return [TablePlaceholder(kind=self.kind)]


class ExerciseTableDirective(_TableDirective):
    kind = "exercises"


class ChapterTimesDirective(_TableDirective):
    kind = "chapters"


def _table(headers: list[str], rows: list[list[nodes.Node | str]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["descent-generated-table"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    body = nodes.tbody()
    group += body
    for section, cells_list in ((head, [headers]), (body, rows)):
        for cells in cells_list:
            row = nodes.row()
            for cell in cells:
                entry = nodes.entry()
                entry += nodes.paragraph("", "", cell if isinstance(cell, nodes.Node) else nodes.Text(cell))
                row += entry
            section += row
    return table


def _link(app: Sphinx, fromdocname: str, docname: str, anchor: str, text: str) -> nodes.reference:
    if app.builder.name == "singlehtml":
        uri = f"#{anchor}" if anchor else f"#document-{docname}"
    else:
        uri = app.builder.get_relative_uri(fromdocname, docname) + (f"#{anchor}" if anchor else "")
    return nodes.reference("", text, internal=True, refuri=uri)


def chapter_of(docname: str) -> int | None:
    """The chapter a page belongs to: its main page or one of its sub-pages.

    >>> chapter_of("book/ch03_hard_landscapes"), chapter_of("book/ch03/ripples"), chapter_of("book/intro")
    (3, 3, None)
    """
    match = CHAPTER.search(docname)
    return int(match.group(1)) if match else None


def _chapters(env: BuildEnvironment) -> list[tuple[str, list[str]]]:
    """Each chapter's main page with all its pages (main page first), in the order of the toc."""
    order = {name: i for i, name in enumerate(_toc_order(env))}
    found = set(env.descent_words) | {d for d, ex in env.descent_exercises.items() if ex}
    pages = sorted(found, key=lambda d: (order.get(d, len(order)), d))
    groups: dict[int | str, list[str]] = {}
    for docname in pages:
        groups.setdefault(chapter_of(docname) or docname, []).append(docname)
    chapters = []
    for members in groups.values():
        main = next((d for d in members if re.match(r"ch\d+_", PurePosixPath(d).name)), members[0])
        chapters.append((main, [main] + [d for d in members if d != main]))
    return sorted(chapters, key=lambda c: (order.get(c[0], len(order)), c[0]))


def _toc_order(env: BuildEnvironment) -> list[str]:
    seen: list[str] = []

    def walk(docname: str) -> None:
        if docname in seen:
            return
        seen.append(docname)
        for child in env.toctree_includes.get(docname, []):
            walk(child)

    walk(env.config.root_doc)
    return seen


def _number(env: BuildEnvironment, docname: str, label: str) -> str:
    numbers = env.toc_fignumbers.get(docname, {}).get("exercise", {}).get(label)
    return ".".join(map(str, numbers)) if numbers else "–"


def _chapter_number(env: BuildEnvironment, docname: str) -> str:
    numbers = env.toc_secnumbers.get(docname, {}).get("")
    return ".".join(map(str, numbers)) if numbers else ""


def _resolve(app: Sphinx, doctree: nodes.document, fromdocname: str) -> None:
    env = app.env
    for placeholder in list(doctree.findall(TablePlaceholder)):
        chapters = _chapters(env)
        if placeholder["kind"] == "exercises":
            rows = []
            for main, members in chapters:
                for e in (e for docname in members for e in env.descent_exercises.get(docname, [])):
                    docname = e.docname
                    number = _number(env, docname, e.label)
                    rows.append([
                        _link(app, fromdocname, main, "", _chapter_number(env, main)),
                        _link(app, fromdocname, docname, e.label, f"Exercise {number}"),
                        e.title,
                        TYPES[e.kind],
                        "●" * e.difficulty,
                        str(e.minutes),
                        "yes" if e.autograded else "no",
                    ])
            table = _table(
                ["Chapter", "Exercise", "Title", "Type", "Difficulty", "Minutes", "Autograded"],
                rows,
                [6, 10, 40, 14, 8, 7, 9],
            )
        else:
            rows = []
            totals = [0, 0, 0, 0]
            for main, members in chapters:
                words = sum(env.descent_words.get(d, 0) for d in members)
                exercises = [e for d in members for e in env.descent_exercises.get(d, [])]
                minutes = sum(e.minutes for e in exercises)
                graded = sum(e.autograded for e in exercises)
                number = _chapter_number(env, main)
                title = env.titles[main].astext() if main in env.titles else main
                rows.append([
                    _link(app, fromdocname, main, "", f"{number}. {title}" if number else title),
                    f"{words:,}",
                    str(reading_minutes(words)),
                    str(len(exercises)),
                    str(minutes),
                    str(graded),
                ])
                for i, value in enumerate((words, reading_minutes(words), len(exercises), minutes)):
                    totals[i] += value
            rows.append([nodes.strong("", "Total"), f"{totals[0]:,}", str(totals[1]),
                         str(totals[2]), str(totals[3]),
                         str(sum(e.autograded for _, members in chapters for d in members
                                 for e in env.descent_exercises.get(d, [])))])
            table = _table(
                ["Chapter", "Words of prose", "Reading (min)", "Exercises", "Exercise time (min)",
                 "Autograded"],
                rows,
                [40, 12, 10, 10, 14, 10],
            )
        placeholder.replace_self(table)


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx_exercise")
    app.add_node(TablePlaceholder)
    app.add_directive("exercise-table", ExerciseTableDirective)
    app.add_directive("chapter-times", ChapterTimesDirective)
    app.connect("builder-inited", _init)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("doctree-read", _read, priority=600)
    app.connect("env-check-consistency", _check)
    app.connect("env-get-outdated", _outdated)
    app.connect("doctree-resolved", _resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
