"""The `q` search syntax, parsed here into OpenSearch query clauses on a fixed set of fields.

Nothing the caller types reaches a query parser of OpenSearch: every clause is built here as a
`term`, `terms`, `prefix`, `match` or `match_phrase` on a field this module names, so no input can
address another field (`tenant_id`, `_id`, `_index`), a script or a regular expression.

    q       := group (WS group)*                  groups are combined with AND
    group   := clause (WS ("OR" | "|") WS clause)*
    clause  := ["-"] [field ":"] value            "-" excludes what the clause matches
    field   := "event_type" | "source" | "status" | "payload" | "payload." key ("." key)*
    value   := word | word "*" | '"' phrase '"'   `*` only ends a value (a prefix)

A value without a field matches the payload's text (every word of it), or the start of the
event type or source. Keyword fields (`event_type`, `source`, `status`, `payload.<path>`) match
exact values, case-sensitive; `payload` alone is the payload's text only.
"""

import re
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ingest.core import payload_fields
from ingest.core.errors import InvalidQuery
from ingest.core.models import EventStatus

MAX_CLAUSES = 16
MAX_QUERY_DEPTH = payload_fields.MAX_DEPTH
MIN_TEXT_PREFIX = 2
KEYWORD_FIELDS = ("event_type", "source", "status")
TEXT_FIELD = "payload"
PATHS_FIELD = "payload_fields"
PATH_PREFIX = "payload."
STATUSES: tuple[str, ...] = get_args(EventStatus)
OR_WORDS = frozenset({"OR", "|"})
FIELDS_HELP = "event_type, source, status, payload, payload.<path>"

Clause = dict[str, Any]


@dataclass(frozen=True)
class Term:
    """One clause as typed: `-field:value`."""

    field: str | None
    value: str
    quoted: bool
    negated: bool

    @property
    def prefix(self) -> bool:
        return not self.quoted and self.value.endswith("*")

    @property
    def stem(self) -> str:
        return self.value[:-1] if self.prefix else self.value


@dataclass(frozen=True)
class Token:
    kind: Literal["term", "or"]
    term: Term | None = None


@dataclass(frozen=True)
class ParsedQuery:
    """`groups` are ANDed; the clauses of a group ORed. Every clause is filter context (no scoring)."""

    groups: list[list[Clause]]

    def filters(self) -> tuple[list[Clause], list[Clause]]:
        """(filter, must_not) clauses for a `bool` query."""
        must: list[Clause] = []
        must_not: list[Clause] = []
        for group in self.groups:
            if len(group) == 1 and set(group[0]) == {"bool"} and set(group[0]["bool"]) == {"must_not"}:
                must_not.extend(group[0]["bool"]["must_not"])
            elif len(group) == 1:
                must.append(group[0])
            else:
                must.append({"bool": {"should": group, "minimum_should_match": 1}})
        return must, must_not


def parse(text: str) -> ParsedQuery:
    """`q` as OpenSearch clauses; raises InvalidQuery (400) naming what is wrong."""
    tokens = _tokens(text)
    terms = [token for token in tokens if token.kind == "term"]
    if not terms:
        raise InvalidQuery("the query has no search term")
    if len(terms) > MAX_CLAUSES:
        raise InvalidQuery(f"the query has {len(terms)} terms; at most {MAX_CLAUSES}")
    groups: list[list[Clause]] = []
    after_or = False
    for token in tokens:
        if token.kind == "or":
            if not groups or after_or:
                raise InvalidQuery("OR needs a term on each side")
            after_or = True
            continue
        assert token.term is not None
        clause = _clause(token.term)
        if after_or:
            groups[-1].append(clause)
        else:
            groups.append([clause])
        after_or = False
    if after_or:
        raise InvalidQuery("OR needs a term on each side")
    return ParsedQuery(groups)


# -- tokens -----------------------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
_BARE = re.compile(r'[^\s"]+')


def _tokens(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
            continue
        term, position = _term(text, position)
        if term is None:
            tokens.append(Token("or"))
        else:
            tokens.append(Token("term", term))
    return tokens


def _term(text: str, position: int) -> tuple[Term | None, int]:
    negated = False
    if text[position] == "-":
        negated = True
        position += 1
        if position == len(text) or text[position].isspace():
            raise InvalidQuery("`-` must be followed by a term")
    if text[position] == '"':
        phrase, position = _phrase(text, position)
        return Term(None, phrase, quoted=True, negated=negated), position
    bare = _BARE.match(text, position)
    assert bare is not None
    word, position = bare.group(), bare.end()
    if not negated and word in OR_WORDS:
        _end_of_term(text, position)
        return None, position
    field, colon, value = word.partition(":")
    if not colon:
        if position < len(text) and text[position] == '"':
            raise InvalidQuery(f"a quote may only start a phrase or a value (after `{word}`)")
        return Term(None, _bare_value(word), quoted=False, negated=negated), position
    if not value:
        if position < len(text) and text[position] == '"':
            phrase, position = _phrase(text, position)
            return Term(field, phrase, quoted=True, negated=negated), position
        raise InvalidQuery(f"`{field}:` needs a value")
    if position < len(text) and text[position] == '"':
        raise InvalidQuery(f"a quote may only start a phrase or a value (after `{word}`)")
    return Term(field, _bare_value(value), quoted=False, negated=negated), position


def _phrase(text: str, position: int) -> tuple[str, int]:
    """The phrase starting at the quote at `position`: `\\"` and `\\\\` are escapes."""
    chars: list[str] = []
    index = position + 1
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            chars.append(text[index + 1])
            index += 2
            continue
        if char == '"':
            phrase = "".join(chars)
            if not phrase.strip():
                raise InvalidQuery("empty phrase")
            _end_of_term(text, index + 1)
            return phrase, index + 1
        chars.append(char)
        index += 1
    raise InvalidQuery('unbalanced quote: a phrase has no closing `"`')


def _end_of_term(text: str, position: int) -> None:
    if position < len(text) and not text[position].isspace():
        raise InvalidQuery(
            f"a space must follow a closing quote or OR (at `{text[position : position + 10]}`)"
        )


def _bare_value(word: str) -> str:
    if "(" in word or ")" in word:
        raise InvalidQuery("parentheses are not supported: terms are combined with AND, alternatives with OR")
    star = word.find("*")
    if star != -1 and star != len(word) - 1:
        raise InvalidQuery(f"`*` may only end a value (in `{word}`)")
    if word == "*":
        raise InvalidQuery("`*` needs at least one character before it")
    return word


# -- clauses ----------------------------------------------------------------------------------


def _clause(term: Term) -> Clause:
    clause = _positive(term)
    return {"bool": {"must_not": [clause]}} if term.negated else clause


def _positive(term: Term) -> Clause:
    if term.field is None:
        return _anywhere(term)
    if term.field == TEXT_FIELD:
        return _text(term)
    if term.field in KEYWORD_FIELDS:
        return _keyword(term)
    if term.field.startswith(PATH_PREFIX):
        return _path(term)
    raise InvalidQuery(
        f"unknown field `{term.field}`: fields are {FIELDS_HELP} (quote a value containing `:`)"
    )


def _anywhere(term: Term) -> Clause:
    """An unscoped word: the payload's text, or the start of the event type or source."""
    if term.quoted:
        return _text(term)
    named = [{"prefix": {field: term.stem}} for field in ("event_type", "source")]
    return {"bool": {"should": [_text(term), *named], "minimum_should_match": 1}}


def _text(term: Term) -> Clause:
    if term.quoted:
        return {"match_phrase": {TEXT_FIELD: term.value}}
    if term.prefix:
        if len(term.stem) < MIN_TEXT_PREFIX:
            raise InvalidQuery(f"a prefix in the payload text needs at least {MIN_TEXT_PREFIX} characters")
        # The payload's analyser lowercases its terms; a prefix query is not analysed.
        return {"prefix": {TEXT_FIELD: term.stem.lower()}}
    return {"match": {TEXT_FIELD: {"query": term.value, "operator": "and"}}}


def _keyword(term: Term) -> Clause:
    assert term.field is not None
    if term.field == "status" and not term.prefix and term.value not in STATUSES:
        raise InvalidQuery(f"status is one of {', '.join(STATUSES)}")
    if term.prefix:
        return {"prefix": {term.field: term.stem}}
    return {"term": {term.field: term.value}}


def _path(term: Term) -> Clause:
    assert term.field is not None
    keys = term.field[len(PATH_PREFIX) :].split(".")
    if len(keys) > payload_fields.MAX_DEPTH:
        raise InvalidQuery(
            f"field `{term.field}` is too deep: at most {payload_fields.MAX_DEPTH} keys after `payload.`"
        )
    bad = next((key for key in keys if not payload_fields.is_key(key)), None)
    if bad is not None:
        raise InvalidQuery(
            f"field `{term.field}`: a key is 1-64 letters, digits, `_`, `-`, `$` or `@` (not `{bad}`)"
        )
    path = ".".join(keys)
    if term.prefix:
        return {"prefix": {PATHS_FIELD: payload_fields.entry(path, term.stem)}}
    if term.quoted:
        return {"term": {PATHS_FIELD: payload_fields.entry(path, term.value)}}
    spellings = payload_fields.value_spellings(term.value)
    return {"terms": {PATHS_FIELD: [payload_fields.entry(path, value) for value in spellings]}}
