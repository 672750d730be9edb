"""A generated corpus of answer styles: generated instances' optimal plans written in the styles that
chat and reasoning models use, composed from style atoms (step markers, emphasis, action forms,
per-step notes, state lines, preambles and conclusions, summaries, drafts and corrections, <think>
blocks, JSON, prose, delimiters), with hypothesis choosing the combination. Every composition a
careful reader reads unambiguously must give exactly the intended plan; the few a reader would call
ambiguous are listed in AMBIGUOUS with the reason, and the extractor must say so in `skipped`."""

import functools
import json
from dataclasses import dataclass, replace

from hypothesis import given, settings
from hypothesis import strategies as st

from planbench_scale import domains
from planbench_scale.domains import vocabulary_of
from planbench_scale.records import Outcome
from planbench_scale.text.extract import extract
from planbench_scale.text.prompts import load_template, object_phrase, phrase

from test_extract import _action_text

SOURCES = [("blocksworld", None, "default"), ("blocksworld", None, "configs/blocksworld.yaml"),
           ("mystery", None, "default"), ("mystery", None, "configs/mystery_blocksworld.yaml"),
           ("randomized", None, "default"),
           ("randomized", "planbench-randomized", "obfuscated_randomized_blocksworld"),
           ("logistics", None, "default"), ("logistics", None, "logistics"),
           ("mystery-logistics", None, "default"), ("randomized-logistics", None, "default")]
"""(domain, vocabulary if not the generated one, templates): PlanBench's configs are read from ../shared
or shipped ("logistics")."""
SIZES = {"logistics": (6, 12), "mystery-logistics": (6, 12), "randomized-logistics": (6, 12)}
"""Objects per generated instance, where not Blocksworld's 3-6."""


@functools.lru_cache(maxsize=None)
def generated(domain: str, vocabulary: str | None) -> tuple:
    instances = domains.get(domain).generate(sizes=SIZES.get(domain, (3, 6)), steps=(2, 10),
                                             per_step=1 if domain in SIZES else 2, seed=7)
    return tuple(replace(i, vocabulary=vocabulary) if vocabulary else i for i in instances)


def templates_name(planbench, source: str) -> str:
    if source == "default":
        return source
    return f"planbench:{planbench / source}" if "/" in source else f"planbench:{source}"


@dataclass(frozen=True)
class Case:
    """One instance and how its actions read."""

    instance: object
    templates: str
    template: object
    vocab: object

    def __repr__(self) -> str:
        return f"Case({self.instance.id}, {self.instance.vocabulary}, {self.templates.rsplit('/', 1)[-1]})"

    def words(self, action) -> str:
        """The template's wording: "unstack the red block from on top of the blue block"."""
        return phrase(self.template, self.vocab, action)

    def short(self, action) -> str:
        """Short wording: the template's phrase with objects written short ("unstack red from blue")."""
        return _action_text(self.template, self.vocab, action, _short_object)

    def call(self, action) -> str:
        """A function call: "unstack(red, blue)"."""
        objects = ", ".join(_short_object(object_phrase(self.template, self.vocab, o)).replace(" ", "_")
                            for o in action[1:])
        return f"{self.vocab.own(action[0]).replace('-', '_')}({objects})"

    def pddl(self, action) -> str:
        return self.vocab.fact(action)

    def fact(self, fact) -> str:
        return phrase(self.template, self.vocab, fact)

    def first_fact(self) -> str:
        """The first initial fact the prompt states (Logistics leaves its type facts out)."""
        return next(text for text in map(self.fact, self.instance.init) if text)

    def expected(self, plan) -> tuple:
        return tuple(self.vocab.fact(a) for a in plan)


def _short_object(text: str) -> str:
    text = text.removeprefix("the ")
    return text.removesuffix(" block") if text.endswith(" block") and " " in text else text


FORMS = ["words", "short", "call", "pddl"]
EMPHASIS = {"plain": "{}", "bold": "**{}**", "code": "`{}`", "bold code": "**`{}`**"}
MARKERS = {"numbered": "{i}. ", "paren": "{i}) ", "step": "Step {i}: ", "bold step": "**Step {i}:** ",
           "heading": "### Step {i}: ", "heading line": "### Step {i}\n", "bullet": "- ", "bare": "",
           "action": "Action {i}: ", "bold number": "**{i}.** ", "colon": "{i}: "}
NOTE_WORDS = ["Explanation", "Reason", "Justification", "Effect", "Note", "Why", "Result", "Preconditions"]
PREAMBLES = ["", "Here is the plan:\n\n", "To achieve your goal, you can follow this plan:\n\n",
             "Let's solve this step by step.\n\n", "## Plan\n\n"]
CONCLUSIONS = ["", "\n\nThis plan reaches the goal.", "\n\nAfter these steps, every goal condition holds.\n"]


@st.composite
def cases(draw, planbench):
    domain, vocabulary, source = draw(st.sampled_from(SOURCES))
    instance = draw(st.sampled_from(generated(domain, vocabulary)))
    templates = templates_name(planbench, source)
    template = load_template(templates, instance.domain)
    return Case(instance, templates, template, vocabulary_of(instance))


@st.composite
def step_lists(draw, case: Case, plan):
    """A list of steps: marker, emphasis, action form, and notes or state lines under each step."""
    form, emphasis = draw(st.sampled_from(FORMS)), EMPHASIS[draw(st.sampled_from(sorted(EMPHASIS)))]
    marker = MARKERS[draw(st.sampled_from(sorted(MARKERS)))]
    notes = draw(st.sampled_from(["none", "note", "state", "action bullet"]))
    word = draw(st.sampled_from(NOTE_WORDS))
    fact = case.first_fact()
    retracted = draw(st.integers(0, len(plan))) if draw(st.booleans()) else None
    lines = []
    for i, action in enumerate(plan, 1):
        text = getattr(case, form)(action)
        text = text[0].upper() + text[1:] if draw(st.booleans()) else text
        if i == retracted:  # a wrong step taken back on the next line, then the right one
            lines += [marker.format(i=i) + case.words(_other(case, action)), "Wait, that does not work."]
        lines.append(marker.format(i=i) + emphasis.format(text) + draw(st.sampled_from(["", ":", "."])))
        if notes == "note":
            lines.append(f"   - **{word}**: this is allowed because {fact}.")
        elif notes == "state":
            lines.append(f"   State after step {i}: {fact}.")
        elif notes == "action bullet" and marker.strip():
            lines += [f"   - **Action**: `{case.call(action)}`", f"   - **{word}**: {fact}."]
        if notes != "none" and draw(st.booleans()):
            lines.append("")
    return "\n".join(lines)


def table(case: Case, plan, form: str) -> str:
    rows = "".join(f"| {i} | {getattr(case, form)(a)} | done |\n" for i, a in enumerate(plan, 1))
    return "| Step | Action | Result |\n|---|---|---|\n" + rows


def as_json(case: Case, plan, form: str) -> str:
    return json.dumps({"plan": [getattr(case, form)(a) for a in plan]}, indent=2)


def prose(case: Case, plan, form: str) -> str:
    words = ["First"] + ["Then"] * (len(plan) - 2) + ["Finally"]
    words[1:len(plan) - 1] = [["Then", "Next", "After that"][i % 3] for i in range(len(plan) - 2)]
    return "To solve this, " + " ".join(f"{w.lower() if i == 0 else w}, I {getattr(case, form)(a)}."
                                        for i, (w, a) in enumerate(zip(words, plan)))


@st.composite
def statements(draw, case: Case, plan):
    """One statement of a plan in any layout."""
    layouts = ["list", "list", "list", "table", "json", "one line"] + (["prose"] if len(plan) > 1 else [])
    layout = draw(st.sampled_from(layouts))
    if layout == "list":
        return draw(step_lists(case, plan))
    form = draw(st.sampled_from(FORMS if layout in ("table", "json") else ["words", "short"]))
    if layout == "table":
        return table(case, plan, form)
    if layout == "json":
        return as_json(case, plan, form)
    if layout == "prose":
        return prose(case, plan, form)
    return "Plan: " + " ".join(f"{i}. {getattr(case, form)(a)}" for i, a in enumerate(plan, 1))


def delimited(draw, text: str) -> str:
    wrap = draw(st.sampled_from(["none", "plan block", "fence"]))
    if wrap == "plan block":
        return f"[PLAN]\n{text}\n[PLAN END]"
    return f"```\n{text}\n```" if wrap == "fence" else text


def summary(case: Case, plan, heading: str) -> str:
    return f"\n\n{heading}\n" + "\n".join(f"{i}. `{case.call(a)}`" for i, a in enumerate(plan, 1))


def a_draft(case: Case, plan) -> list:
    """A wrong draft: the plan with its last step replaced by another action of the problem."""
    others = [a for a in case.instance.optimal_plan + _extra_actions(case) if a not in plan[-2:]]
    return list(plan[:-1]) + [others[0]]


def _other(case: Case, action) -> tuple:
    return next(a for a in case.instance.optimal_plan + _extra_actions(case) if a != action)


def _extra_actions(case: Case) -> tuple:
    return tuple(("pick-up", o) for o in case.instance.objects)


@st.composite
def answers(draw, planbench):
    """(case, answer text, intended plan) for an unambiguous composition of style atoms."""
    case = draw(cases(planbench))
    plan = case.instance.optimal_plan
    body = delimited(draw, draw(statements(case, plan)))
    ending = draw(st.sampled_from(["conclusion", "summary", "final answer", "explanation section"]))
    if ending == "conclusion":
        body += draw(st.sampled_from(CONCLUSIONS))
    elif ending == "summary":
        body += summary(case, plan, draw(st.sampled_from(["**Plan Summary**:", "### Summary of the plan",
                                                          "**Actions in the plan:**"])))
    elif ending == "final answer":
        body += summary(case, plan, "Final answer:")
    else:
        body += f"\n\n**Explanation:**\n- {case.words(plan[0])} comes first, because {case.first_fact()}."
    text = draw(st.sampled_from(PREAMBLES)) + body
    before = draw(st.sampled_from(["none", "draft", "think"]))
    if before == "draft":
        draft = "\n".join(f"{i}. {case.words(a)}" for i, a in enumerate(a_draft(case, plan), 1))
        text = f"Draft plan:\n{draft}\n\nWait, this draft does not reach the goal.\n\nFinal plan:\n{text}"
    elif before == "think":
        draft = "\n".join(case.words(a) for a in a_draft(case, plan))
        text = f"<think>\nMaybe this:\n{draft}\nNo, the last step is wrong.\n</think>\n{text}"
    return case, text, plan


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_every_unambiguous_composition_of_style_atoms_reads_as_the_intended_plan(planbench, data):
    case, text, plan = data.draw(answers(planbench))
    extraction = extract(text, case.instance, case.templates)
    assert extraction.outcome == Outcome.PLAN, text
    assert extraction.actions == case.expected(plan), text


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_plan_withdrawn_as_no_valid_plan_reads_as_no_plan(planbench, data):
    case = data.draw(cases(planbench))
    plan = case.instance.optimal_plan
    statement = data.draw(statements(case, plan))
    ending = data.draw(st.sampled_from(["Checking it again, step 1 fails: there is no valid plan for this goal.",
                                        "On reflection, the goal is impossible to reach, so I cannot give a plan."]))
    extraction = extract(f"{statement}\n\n{ending}", case.instance, case.templates)
    assert extraction.outcome == Outcome.NO_PLAN and extraction.actions == ()


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_a_valid_draft_replaced_by_a_different_final_plan_reads_as_the_final_plan(planbench, data):
    case = data.draw(cases(planbench))
    plan = case.instance.optimal_plan
    final = a_draft(case, plan) if data.draw(st.booleans()) else list(plan[:-1])
    draft = data.draw(step_lists(case, plan))
    heading = data.draw(st.sampled_from(["Final plan:", "**Final answer:**", "So the final plan is:",
                                         "### Corrected plan"]))
    text = f"{draft}\n\nHmm, let me change the ending.\n\n{heading}\n{data.draw(statements(case, final))}"
    extraction = extract(text, case.instance, case.templates)
    assert extraction.actions == case.expected(final), text
    assert any(s.why == "another statement of the plan was preferred" for s in extraction.skipped)


def _two_plans(case: Case, plan) -> str:
    draft = a_draft(case, plan)
    return ("[PLAN]\n" + "\n".join(case.words(a) for a in draft) + "\n[PLAN END]\n\nOr:\n\n[PLAN]\n"
            + "\n".join(case.words(a) for a in plan) + "\n[PLAN END]")


def _summary_differs(case: Case, plan) -> str:
    steps = "\n".join(f"{i}. **{case.words(a)}**" for i, a in enumerate(plan, 1))
    return steps + summary(case, a_draft(case, plan), "**Plan Summary**:")


def _abbreviation_clash(case: Case, plan) -> str:
    first, second = case.instance.objects[:2]
    legend = (f"Let Q be {object_phrase(case.template, case.vocab, first)} and "
              f"let Q be {object_phrase(case.template, case.vocab, second)}.\n")
    named = object_phrase(case.template, case.vocab, plan[0][1])
    step = _action_text(case.template, case.vocab, plan[0], lambda p: "Q" if p == named else _short_object(p))
    return legend + "\n".join(f"{i}. {case.short(a)}" for i, a in enumerate(plan, 1)) + "\n" + \
        f"{len(plan) + 1}. {step}"


AMBIGUOUS = {
    "two delimited plans, no final one": (
        _two_plans, "two complete [PLAN] blocks with an 'Or:' between them: either may be meant; the last is "
                    "read and the other is listed as not chosen",
        "another statement of the plan was preferred"),
    "a summary that differs from the steps": (
        _summary_differs, "the steps and their summary disagree: the summary (the later complete statement) is "
                          "read and the steps are listed as not chosen",
        "another statement of the plan was preferred"),
    "an abbreviation defined twice": (
        _abbreviation_clash, "'Q' is defined as two objects: the step that uses it cannot be read",
        "the abbreviation 'Q' is defined ambiguously"),
}
"""Compositions a careful reader calls ambiguous: (answer builder, why, what `skipped` must say)."""


@settings(max_examples=60, deadline=None)
@given(st.data(), st.sampled_from(sorted(AMBIGUOUS)))
def test_ambiguous_compositions_are_reported_in_skipped(planbench, data, name):
    case = data.draw(cases(planbench))
    build, _, why = AMBIGUOUS[name]
    extraction = extract(build(case, case.instance.optimal_plan), case.instance, case.templates)
    assert any(why in s.why for s in extraction.skipped), (name, extraction)


FRAGMENTS = ["[PLAN]", "[PLAN END]", "[STATEMENT]", "```", "<think>", "</think>", "1. ", "Step 2: ", "### Step 3",
             "   - **Explanation**: ", "**Plan Summary**:", "Final plan:", "Corrected 2, 3 and 9999 steps:",
             "Corrected 5-1 steps:", "Wait, that does not work.", "first, ", "Then, ", "and then ", "is not possible, so ",
             "there is no valid plan", "the goal is impossible", '{"plan": ["', '", "', '"]}', "| 1 | ", " |", "(", ")",
             "Let Q be ", "\n", "\n\n", "\t", "\x00", "\ufffd", "ｍ", "é", "**", "`"]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_mix_of_style_fragments_and_actions_gives_one_outcome(planbench, data):
    case = data.draw(cases(planbench))
    words = [getattr(case, form)(a) for a in case.instance.optimal_plan for form in FORMS]
    pieces = data.draw(st.lists(st.sampled_from(FRAGMENTS + words) | st.text(max_size=8), max_size=60))
    extraction = extract("".join(pieces), case.instance, case.templates)
    assert extraction.outcome in Outcome
    assert all(action.startswith("(") for action in extraction.actions)
