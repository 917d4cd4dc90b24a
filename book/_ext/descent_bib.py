"""Sphinx extension: author-year citations for the Descent book.

In the text, ``{cite:p}`kingma2015adam``` reads "(Kingma and Ba, 2015)" and ``{cite:t}`...```
reads "Kingma and Ba (2015)" (referencing style ``author_year_round``). On the references page
each entry is labelled the same way and the list is sorted by author, year and title
(formatting style ``descent``). ``_config.yml`` selects both.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pybtex.plugin
import sphinxcontrib.bibtex.plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle as AuthorYearTitleSorting
from sphinx.application import Sphinx
from sphinxcontrib.bibtex.style.referencing import BracketStyle
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle


def _round() -> BracketStyle:
    return BracketStyle(left="(", right=")", sep="; ")


@dataclass
class RoundAuthorYearReferenceStyle(AuthorYearReferenceStyle):
    """Author-year citations in round brackets, several separated by semicolons."""

    bracket_parenthetical: BracketStyle = field(default_factory=_round)
    bracket_textual: BracketStyle = field(default_factory=_round)
    bracket_author: BracketStyle = field(default_factory=_round)
    bracket_label: BracketStyle = field(default_factory=_round)
    bracket_year: BracketStyle = field(default_factory=_round)


def _fallback_name(entry: Any) -> str:
    """What stands for the author of an entry that has none: its ``key`` field or its title."""
    return str(entry.fields.get("key") or entry.fields.get("title", entry.key))


def _author_label(entry: Any) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [" ".join(p.prelast_names + p.last_names).replace("{", "").replace("}", "")
             for p in persons]
    if not names:
        return _fallback_name(entry)
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels such as "Kingma and Ba, 2015"; equal labels get a, b, ... after the year."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        entries = list(sorted_entries)
        labels = [f"{_author_label(e)}, {e.fields.get('year', 'n.d.')}" for e in entries]
        counts = Counter(labels)
        seen: Counter[str] = Counter()
        for label in labels:
            if counts[label] > 1:
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label]]
                seen[label] += 1
            else:
                yield label


class AuthorYearTitleWithFallback(AuthorYearTitleSorting):
    """Sort by author, year, title; an entry without author sorts by its key field or title."""

    def sorting_key(self, entry: Any) -> tuple[str, str, str]:
        author, year, title = super().sorting_key(entry)
        author = author.replace("{", "").replace("}", "")
        return (author or _fallback_name(entry).lower(), year, title.lower())


class DescentStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries with author-year labels, sorted by author and year."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = AuthorYearTitleWithFallback


pybtex.plugin.register_plugin("pybtex.style.formatting", "descent", DescentStyle)
sphinxcontrib.bibtex.plugin.register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_round", RoundAuthorYearReferenceStyle
)


def setup(app: Sphinx) -> dict:
    """Nothing to connect: importing this module registers the two styles."""
    return {"parallel_read_safe": True, "parallel_write_safe": True}
