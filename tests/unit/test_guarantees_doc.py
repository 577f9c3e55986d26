"""docs/guarantees.md names real tests: every `file::test` it cites exists."""

import re

from devtools.template import REPO_ROOT

DOC = REPO_ROOT / "docs" / "guarantees.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_test_cited_by_the_guarantees_exists() -> None:
    references = REFERENCE.findall(DOC.read_text())
    assert references

    missing = [
        f"{path}::{name}" if name else path
        for path, name in references
        if not (REPO_ROOT / path).is_file()
        or (name and not re.search(rf"^def {name}\(", (REPO_ROOT / path).read_text(), re.MULTILINE))
    ]

    assert missing == []
