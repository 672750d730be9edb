"""Surface forms: how one instance's actions and objects look in text, and how a line is normalised.

A reader is built once per vocabulary, object set and template (cached). Action names are read in
the vocabulary's own spelling, with spaces, hyphens or underscores between words ("pick up",
"pick_up", "pickup"), plus the spellings the template lists as `synonyms` and its `place_verbs`
("put X on the table" / "put X on Y"). Objects are read as the prompt writes them ("the red
block", "object a", "object_0"), as bare colours, snake_case ("red_block"), PDDL names, or as
"block B" / "object B"; a lone letter only where it cannot be the article "a". An answer may
define its own abbreviations ("Let R be the red block"): `with_abbreviations` reads them.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from planbench_scale import domains
from planbench_scale.domains import Vocabulary
from planbench_scale.symbolic.ground import lifted, static_predicates
from planbench_scale.symbolic.schema import read_domain
from planbench_scale.text.prompts import load_template, object_phrase

TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*|\S")
"""Words (hyphenated words stay one) and single punctuation marks; "_" separates words."""
_LOOKALIKE = str.maketrans("аеорсухкмтвнАЕОРСУХКМТВН", "aeopcyxkmtbhAEOPCYXKMTBH")
CONNECTORS = frozenset("the object block a an from on top of onto to off and with over in into upon "
                       "using by then".split())
"""Words that may stand before and between the objects of any action."""
_LATEX = re.compile(r"\\[()\[\]]|\$+|\\(?:text|mathrm|mathit|textbf|texttt)\{([^{}]*)\}")


@dataclass(frozen=True, eq=False)
class Reader:
    """What one instance's actions and objects look like in text (hashed by identity: readers are
    built once per vocabulary, object set and template, so lines can be cached per reader)."""

    verbs: re.Pattern
    """Matches an action name at the start of a text; group v<i> is the i-th canonical action,
    group "place" a place verb."""
    actions: dict
    """Lower-case spelling with hyphens -> canonical action, for s-expressions."""
    names: dict
    """Lower-case PDDL object name or "object_<index>" -> canonical object."""
    phrases: dict
    """Object phrase as a tuple of lower-case words ("red", "block") -> canonical object."""
    letters: dict
    """Lower-case one-letter name (PDDL, or an abbreviation the answer defines) -> canonical object."""
    longest: int
    """The most words an object phrase has."""
    vocab: Vocabulary
    """The instance's vocabulary."""
    action_names: tuple
    """The canonical action (or choice) names; verb group v<i> stands for the i-th."""
    arity: dict
    """Canonical action (or choice) name -> number of objects it takes."""
    place_actions: dict
    """"table" / "object" -> the action a place verb means for that destination."""
    choices: dict
    """A verb several actions of one arity share ("load": load-truck, load-airplane) stands for a
    choice named "load-truck|load-airplane": name -> the actions (extract picks one by the objects)."""
    completable: frozenset
    """Actions whose last object only static preconditions name (drive-truck's city): a step that
    leaves it out is read one object short, and extract fills it in from the instance."""
    connectors: frozenset
    """Words that may stand before and between an action's objects: CONNECTORS and the words of
    the template's action phrases ("load {} into {} at {}": into, at)."""
    ambiguous: frozenset = frozenset()
    """Abbreviations the answer defines in conflicting ways; they are not read."""


def normalise(line: str) -> str:
    """A line in plain ASCII-like form: full-width and other compatibility forms folded (NFKC),
    Cyrillic look-alike letters as Latin ones, LaTeX math markers removed."""
    if line.isascii():
        return _LATEX.sub(lambda m: m.group(1) or " ", line) if ("\\" in line or "$" in line) else line
    line = unicodedata.normalize("NFKC", line).translate(_LOOKALIKE)
    return _LATEX.sub(lambda m: m.group(1) or " ", line)


@lru_cache(maxsize=256)
def reader_for(vocabulary: str, objects: tuple[str, ...], templates: str, domain: str) -> Reader:
    """The reader of one vocabulary, object set and template."""
    vocab = domains.get(domain).vocabulary(vocabulary)
    arity = dict(domains.get(domain).actions)
    template, default = load_template(templates, domain), load_template("default", domain)
    synonyms = {**dict(default.synonyms), **dict(template.synonyms)}
    forms = dict(template.actions)
    meanings: dict[str, list[str]] = {}  # lower-case spelling -> the actions it names
    actions, connectors = {}, set(CONNECTORS)
    for action in arity:
        own = vocab.own(action)
        spellings = {own, own.replace("-", " "), own.replace("-", ""), *synonyms.get(action, ())}
        form = forms.get(own, forms.get(action, ""))
        spellings.add(form.split("{}")[0].replace("{name}", own).strip())
        connectors.update(word.lower() for word in TOKEN.findall(" ".join(form.split("{}")[1:])))
        for spelling in (s.lower() for s in spellings if s):
            meanings.setdefault(spelling, []).append(action)
        actions.update({s.lower().replace(" ", "-"): action for s in spellings if s})
        actions.update({s.lower().replace(" ", "_"): action for s in spellings if s})
        actions[own.lower()] = action
    verbs, choices = _verb_groups(meanings, arity)
    names_of = list(verbs)
    pattern = "|".join(f"(?P<v{i}>{'|'.join(_words(s) for s in sorted(verbs[name], key=len, reverse=True))})"
                       for i, name in enumerate(names_of))
    arity = {**arity, **{name: arity[group[0]] for name, group in choices.items()}}
    place_verbs = template.place_verbs or default.place_verbs
    if place_verbs:
        pattern += f"|(?P<place>{'|'.join(map(re.escape, place_verbs))})"
    names, phrases, letters = _object_names(vocab, objects, template)
    return Reader(verbs=re.compile(rf"(?:{pattern})(?![\w-])", re.IGNORECASE), actions=actions,
                  names=names, phrases=phrases, letters=letters, longest=max(map(len, phrases)),
                  vocab=vocab, action_names=tuple(names_of), arity=arity,
                  place_actions=dict(template.place_actions or default.place_actions), choices=choices,
                  completable=_completable(domain, vocab), connectors=frozenset(connectors))


@lru_cache(maxsize=64)
def _completable(domain: str, vocab: Vocabulary) -> frozenset:
    """The canonical actions whose last parameter appears only in static preconditions, so that
    the other objects and the instance fix it."""
    schema = read_domain(domains.get(domain).domain_pddl(vocab))
    static = static_predicates(schema)
    found = set()
    for action in schema.actions:
        last = "{%d}" % (len(action.params) - 1)
        named = [atom for atom in (*action.pre, *action.add, *action.delete) if last in atom]
        if named and all(atom in action.pre and lifted(atom)[0] in static for atom in named):
            found.add(vocab.canonical(action.name))
    return frozenset(found)


def _verb_groups(meanings: dict[str, list[str]], arity: dict) -> tuple[dict, dict]:
    """(action or choice name -> its spellings, choice name -> its actions). A spelling that names
    several actions of one arity is a choice among them; of several arities, the first action."""
    verbs, choices = {}, {}
    for spelling, named in meanings.items():
        if len(named) > 1 and len({arity[a] for a in named}) == 1:
            name = "|".join(named)
            choices[name] = tuple(named)
        else:
            name = named[0]
        verbs.setdefault(name, []).append(spelling)
    return verbs, choices


def _words(spelling: str) -> str:
    """A spelling as a pattern where spaces, hyphens or underscores may stand between words."""
    return r"[\s_-]*".join(re.escape(word) for word in re.split(r"[\s_-]+", spelling))


def _object_names(vocab: Vocabulary, objects: tuple[str, ...], template) -> tuple[dict, dict, dict]:
    """Lookups: PDDL name -> object; phrase (lower-case word tuple) -> object; lone letter -> object."""
    names, phrases, letters = {}, {}, {}
    for obj in objects:
        pddl_name, index = vocab.obj(obj), vocab.index(obj)
        phrase = re.sub(r"^the\s+", "", object_phrase(template, vocab, obj), flags=re.IGNORECASE)
        spellings = {phrase, f"object_{index}", f"object {pddl_name}", f"block {pddl_name}"}
        if phrase.endswith(" block"):
            spellings.add(phrase[:-len(" block")])
        if len(pddl_name) > 1:
            spellings.add(pddl_name)
        for spelling in spellings:
            phrases[tuple(word.lower() for word in TOKEN.findall(spelling.replace("_", " ")))] = obj
        if len(pddl_name) == 1:
            letters[pddl_name.lower()] = obj
        names[pddl_name.lower()] = obj
        names[f"object_{index}"] = obj
    return names, phrases, letters


_MAY_DEFINE = re.compile(r"\b[A-Z][A-Za-z]?\d?\s*(?:=|:|->|→|be\b|stands?\b|represents?\b|denotes?\b|for\b)"
                         r"|\([A-Z][A-Za-z]?\d?\)")
_DEFINITION = (r"(?:^|[\s,;(])(?:let\s+)?[\"'`*]*(?P<short>[A-Z][A-Za-z]?\d?)[\"'`*]*\s*"
               r"(?:=|:|->|→|\bbe\b|\bstands? for\b|\brepresents?\b|\bdenotes?\b|\bfor\b)\s*(?:the\s+)?")
_NAMED_AFTER = r"(?:the\s+)?{phrase}\s*\((?P<short>[A-Z][A-Za-z]?\d?)\)"
_LISTED = r"(?:,|\band\b)\s*(?P<short>[A-Z][A-Za-z]?\d?)\s+(?:the\s+)?"


def with_abbreviations(reader: Reader, text: str) -> Reader:
    """The reader with the abbreviations the answer defines ("Let R be the red block", "the red
    block (R)", "R = red"); a short name defined for two objects, or clashing with an object's
    own letter, is ambiguous and not read."""
    if not _MAY_DEFINE.search(text):
        return reader
    defined: dict[str, set] = {}
    for words, obj in reader.phrases.items():
        if len(words) == 1 and len(words[0]) == 1:
            continue
        phrase = r"[\s_]+".join(re.escape(w) for w in words) + r"(?:\s+block)?\b"
        for pattern in (_DEFINITION + phrase, _NAMED_AFTER.format(phrase=phrase), _LISTED + phrase):
            for match in re.finditer(pattern, text[:20000], re.IGNORECASE):
                short = match.group("short")
                if short.lower() not in ("a", "i") and short[0].isupper():
                    defined.setdefault(short.lower(), set()).add(obj)
    letters, ambiguous = dict(reader.letters), set(reader.ambiguous)
    for short, objects in defined.items():
        own = reader.letters.get(short) or reader.names.get(short)
        if len(objects) > 1 or (own is not None and {own} != objects):
            letters.pop(short, None)
            ambiguous.add(short)
        else:
            letters[short] = next(iter(objects))
    if letters == reader.letters and ambiguous == reader.ambiguous:
        return reader
    return dataclasses.replace(reader, letters=letters, ambiguous=frozenset(ambiguous))
