"""CITATION.cff follows the Citation File Format 1.2.0 and agrees with the repository's licenses.

The schema is the official CFF 1.2.0 JSON schema (CC BY 4.0, by the Citation File Format authors),
copied unchanged from the ``cffconvert`` 2.0.0 package (``cffconvert/schemas/1.2.0/schema.json``)
into ``tests/data/``: installing cffconvert itself would downgrade ``jsonschema`` below what
Jupyter needs, so the test validates with ``jsonschema``, as ``cffconvert --validate`` does.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "tests" / "data" / "cff-schema-1.2.0.json").read_text(encoding="utf-8"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def citation() -> dict:
    # CFF dates must stay strings for the schema: load with the base loader (no date objects).
    return yaml.load((ROOT / "CITATION.cff").read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def test_schema_is_the_official_cff_1_2_0_schema():
    assert SCHEMA["$id"] == "https://citation-file-format.github.io/1.2.0/schema.json"
    jsonschema.Draft7Validator.check_schema(SCHEMA)


def test_citation_file_is_valid(citation):
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in _validator().iter_errors(citation)]
    assert not errors, "CITATION.cff does not follow CFF 1.2.0:\n" + "\n".join(errors)


def test_validator_rejects_a_broken_copy(citation):
    """The validation above can fail: a copy without authors, or with an unknown license, is refused."""
    for key, value in [("authors", None), ("license", ["NOT-A-LICENSE"]), ("cff-version", "9.9")]:
        broken = copy.deepcopy(citation)
        if value is None:
            del broken[key]
        else:
            broken[key] = value
        assert not _validator().is_valid(broken), key


def test_citation_names_the_book_its_licenses_and_repository(citation):
    assert citation["title"] == CONFIG["title"]
    assert citation["repository-code"] == CONFIG["repository"]["url"]
    assert [author["name"] for author in citation["authors"]] == [CONFIG["author"]]
    assert set(citation["license"]) == {"MIT", "CC-BY-4.0"}
    assert "MIT License" in (ROOT / "LICENSE").read_text(encoding="utf-8")
    content = (ROOT / "LICENSE-CONTENT").read_text(encoding="utf-8")
    assert "Creative Commons Attribution 4.0 International" in content
    assert "Section 8 – Interpretation." in content, "the CC BY 4.0 legal code is incomplete"
