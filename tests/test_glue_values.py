"""The glued-value dump that guards refactors: it reads a build's values and finds every change."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("glue_values", ROOT / "book" / "_ext" / "glue_values.py")
glue_values = importlib.util.module_from_spec(spec)
spec.loader.exec_module(glue_values)


def _glue(value: str) -> dict:
    return {"output_type": "display_data", "data": {"text/plain": value},
            "metadata": {"scrapbook": {"name": "x"}}}


def test_dump_reads_every_page_of_a_build(tmp_path):
    (tmp_path / "book" / "ch03").mkdir(parents=True)
    (tmp_path / "book" / "ch01.glue.json").write_text(json.dumps({"a": _glue("1.5"), "b": _glue("22")}))
    (tmp_path / "book" / "ch03" / "cliffs.glue.json").write_text(json.dumps({"c": _glue("'x'")}))
    dump = glue_values.from_build(tmp_path)
    assert dump == {"book/ch01": {"a": "1.5", "b": "22"}, "book/ch03/cliffs": {"c": "'x'"}}


def test_compare_finds_a_changed_last_digit_and_missing_pages_and_names():
    before = {"p": {"a": "0.30000000000000004", "b": "1"}, "q": {"c": "2"}}
    assert glue_values.compare(before, before) == []
    after = {"p": {"a": "0.3", "d": "4"}, "r": {}}
    lines = glue_values.compare(before, after)
    assert "p a: 0.30000000000000004 -> 0.3" in lines
    assert "p b: 1 -> (absent)" in lines and "p d: (absent) -> 4" in lines
    assert "q: missing after" in lines and "r: new page" in lines


def test_main_exits_nonzero_on_a_difference(tmp_path, capsys):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps({"p": {"x": "1"}}))
    b.write_text(json.dumps({"p": {"x": "2"}}))
    assert glue_values.main(["compare", str(a), str(a)]) == 0
    assert glue_values.main(["compare", str(a), str(b)]) == 1
    assert "1 differences" in capsys.readouterr().out
