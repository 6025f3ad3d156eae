"""The docs spell values as the code reads them: an outlet's lean as an import file writes it."""

import re
from pathlib import Path

import pytest

from articles.models import Source

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / ".env.example", *sorted((ROOT / "docs").glob("*.md"))]
QUOTED = re.compile(r'"[^"]*"|“[^”]*”')  # the form's labels and the messages editors see, quoted


def test_the_editors_guide_lists_every_lean_as_an_import_file_spells_it():
    guide = (ROOT / "docs" / "editors.md").read_text(encoding="utf-8")
    for lean in Source.Lean.values:
        assert f"`{lean}`" in guide, lean


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_no_doc_writes_a_lean_value_in_words(doc):
    text = QUOTED.sub("", doc.read_text(encoding="utf-8"))
    assert re.findall(r"\blean[ -](?:left|right)\b", text, re.I) == []
