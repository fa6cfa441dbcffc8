"""The model layer (zimage_site/model.py): pydantic's errors read as the site's own, with the
file, the line from the YAML loader, the key and the fix."""

from __future__ import annotations

import pytest

from zimage_site.config import SiteFile
from zimage_site.content import FrontMatter
from zimage_site.data import FactsFile
from zimage_site.errors import SiteError
from zimage_site.model import validate
from zimage_site.yamlfile import parse_yaml


def problems(text: str, model, file: str = "f.yaml"):
    data, lines = parse_yaml(text, file)
    with pytest.raises(SiteError) as info:
        validate(data, model, file, lines)
    return info.value.problems


def by_key(found):
    return {p.key: p for p in found}


def test_types_are_strict_and_a_null_is_missing():
    found = by_key(problems("id: intro\norder: true\ntitle:\nlayout: 5\n", FrontMatter))
    assert (found["order"].line, found["order"].message) == (2, "expected a whole number, got true or false")
    assert (found["title"].line, found["title"].message) == (3, "missing value")
    assert found["layout"].message == "expected a string, got a whole number"
    assert set(found) == {"order", "title", "layout"}


def test_an_unknown_key_lists_the_known_ones_and_the_closest():
    (problem,) = problems("id: intro\norder: 1\ntitle: T\ntitel: U\n", FrontMatter)
    assert (problem.key, problem.line, problem.message) == ("titel", 4, "unknown key")
    assert problem.fix == ("remove it or correct the spelling; known keys here: id, order, title, nav, "
                           "description, layout; did you mean title?")


def test_a_choice_and_a_rule_give_their_own_message_and_fix():
    found = by_key(problems("id: Intro\norder: 1\ntitle: T\nlayout: wide\n", FrontMatter))
    assert found["layout"].message == "'wide' is not one of: section, hero"
    assert found["layout"].fix == "write one of: section, hero"
    assert found["id"].message == "'Intro' is not a valid id"
    assert found["id"].fix.startswith("use lowercase letters")


FACTS = """\
sources:
  a: {title: {zh: 甲, en: 8}, url: "https://a.example/"}
facts:
  f: {value: [1], source: a, verdict: verified}
"""


def test_a_wrong_text_in_a_mapping_of_texts_is_named_by_its_language():
    found = by_key(problems(FACTS, FactsFile, "content/data/facts.yaml"))
    assert (found["sources.a.title.en"].line, found["sources.a.title.en"].message) == (
        2, "expected a string, got a whole number")
    # a value of several types is one problem, at its key
    assert found["facts.f.value"].message == "expected a whole number or a number or a string, got a list"
    assert set(found) == {"sources.a.title.en", "facts.f.value"}


def test_a_key_that_is_not_text_and_a_top_that_is_not_a_mapping():
    found = by_key(problems("base_url: 1\nlanguages:\n  7: {}\n", SiteFile))
    assert (found["languages.7"].line, found["languages.7"].message) == (3, "the key 7 is a whole number, not text")
    assert found["languages.7"].fix == 'put the key in quotes: "7":'
    assert (found["model"].line, found["model"].message) == (1, "missing value")  # a missing key: the file's line
    (problem,) = problems("- a\n- b\n", FrontMatter)
    assert (problem.line, problem.message) == (1, "expected a mapping of keys at the top of the file, got a list")


def test_the_models_of_the_real_site_survive_the_parts_cache():
    """The parts cache stores models by their fields and reads them back without validating."""
    import json
    from pathlib import Path

    from zimage_site.cache import decode, encode
    from zimage_site.config import load_config
    from zimage_site.data import load_data
    from zimage_site.images.manifest import load_manifest

    root = Path(__file__).resolve().parent.parent
    for value in (load_config(root), load_data(root), load_manifest(root)):
        again = decode(json.loads(json.dumps(encode(value), ensure_ascii=False)))
        assert again == value
