"""How nodes, numbers and local-derivative formulas are written, once for every consumer.

`explain`, `draw`, the HTML stepper and the CLI all name nodes and print numbers through here, so
the same node reads the same everywhere. Formulas come from the engine's rule table (`RULES`).
One writer (`expression`, `written_names`, the formulas) serves text and LaTeX: a `Dialect` says
what differs (the rule's template to read, parentheses, how numbers and labels are written), on
one precedence scale (`ATOM`, `NEGATIVE`, each rule's `precedence`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple

from microgradx.engine import RULES, Value, topological_order
from microgradx.rules import ATOM, Rule, latex_function

__all__ = [
    "ATOM",
    "LATEX",
    "MAX_EXPRESSION",
    "NEGATIVE",
    "OP_GLYPH",
    "TEXT",
    "Dialect",
    "derivative_name",
    "expression",
    "factor",
    "fmt",
    "json_number",
    "latex_escape",
    "latex_formula",
    "latex_from_text",
    "latex_names",
    "latex_number",
    "latex_operand",
    "local_formula",
    "node_names",
    "number_written",
    "one_line",
    "parenthesize",
    "superscript",
    "written_names",
]

# How each op is written (its text, LaTeX, glyph, precedence, name) is declared in its rule.
NEGATIVE = RULES["neg"].precedence
"""The precedence of a negative number: it binds like unary minus, (-0.4)² but 0.5·-0.4."""

_SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPERSCRIPT = str.maketrans("0123456789-", _SUPERSCRIPT_DIGITS + "⁻")


def superscript(exponent: float) -> str | None:
    """A whole-number exponent from -99 to 99 as superscript digits (``²``, ``⁻¹``), else None."""
    if exponent != exponent or not exponent.is_integer() or abs(exponent) > 99:  # (nan, inf, 0.5)
        return None
    return str(int(exponent)).translate(_SUPERSCRIPT)


# σ², 2.5e-7: a superscript after them would read as theirs
_RUNS_INTO = re.compile(f"[{_SUPERSCRIPT_DIGITS}]$|\\de[-−+]?\\d")


def _superscript_base(name: str, parenthesized: str) -> str:
    """A power's base as written before a superscript: `parenthesized`, or ``(σ²)`` and ``(1e20)``."""
    return f"({name})" if parenthesized == name and _RUNS_INTO.search(name) else parenthesized


def _constant_exponent(node: Value) -> float | None:
    """The exponent of a power ``a ** 2`` whose exponent is an unlabelled constant, else None."""
    if node.op != "**":
        return None
    exponent = node.parents[1]
    return None if exponent.parents or exponent.label else exponent.data


class _Glyphs(Mapping[str, str]):
    """Each op's glyph, read from `RULES` at each use (an op of your own, `custom_op`, joins later)."""

    def __getitem__(self, op: str) -> str:
        return RULES[op].glyph

    def __iter__(self) -> Iterator[str]:
        return iter(RULES)

    def __len__(self) -> int:
        return len(RULES)


OP_GLYPH: Mapping[str, str] = _Glyphs()
"""How each operation is written inside its circle in a picture (`draw`, the HTML stepper), from
its rule; ops whose operands' order matters name them a, b."""

MAX_EXPRESSION = 24
"""An unlabelled node is named by its expression up to this many characters, else by op and index."""


def fmt(x: float, digits: int = 4) -> str:
    """A number in at most `digits` significant digits: ``0.1040``-style, compact, no ``-0``.

    The one rule for numbers everywhere (reports, the CLI, pages, docs): an ASCII minus, so that a
    number copied from any output pastes back into Python and parses with ``float()``. Formulas
    keep the typographic minus of the math (``1−tanh²(z)``, ``ŷ − y``): they are read, not pasted.
    """
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        text = "inf" if x > 0 else "-inf"
    elif x == 0.0:
        return "0"
    else:
        text = f"{x:.{digits}g}"
        if "e" in text:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
    return text




_PLAIN = re.compile(f"[^\\W\\d]\\w*(?<![{_SUPERSCRIPT_DIGITS}])")
"""A name that reads unambiguously after d or ∂ (``w``, ``ŷ``, ``w1``, ``loss``)."""


def _generated(name: str) -> bool:
    """Whether `name` is an op-and-index name `node_names` gives a long expression (``dmul3`` misreads)."""
    word = name.rstrip("0123456789")
    return word != name and any(rule.name == word for rule in RULES.values())


def derivative_name(name: str) -> str:
    """A node name as it reads after ∂ or d: anything but a plain name gets parentheses.

    ``∂E/∂w`` but ``∂(ŷ − y)/∂ŷ``, ``∂(σ(z))/∂z`` and ``d(mul3)``: the one rule that `explain`,
    `draw` and the HTML stepper write derivatives by.
    """
    return name if _PLAIN.fullmatch(name) and not _generated(name) else f"({name})"


_BINDS_OPERANDS = "+·/^ " + _SUPERSCRIPT_DIGITS + "⁻"  # characters that make a name compound


def parenthesize(name: str) -> str:
    """`name` as it must appear beside an operator: a compound expression gets parentheses.

    ``parenthesize("ŷ − y")`` is ``"(ŷ − y)"`` while ``"σ(z)"`` and ``"|a|"`` stay as they are, so a
    formula such as ``∂(ŷ − y)/∂ŷ`` reads unambiguously. `latex_operand` does the same for LaTeX.
    """
    depth = 0
    for i, ch in enumerate(name):
        if ch in "(|":
            depth += 1 if ch == "(" or name.count("|", 0, i) % 2 == 0 else -1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and (ch in _BINDS_OPERANDS or (ch in "−-" and i == 0)):
            return f"({name})"
    return name




# --- LaTeX: names and numbers for math mode -------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": "\\backslash{}",
    "{": "\\{",
    "}": "\\}",
    "$": "\\$",
    "&": "\\&",
    "#": "\\#",
    "_": "\\_",
    "%": "\\%",
    "~": "\\text{\\textasciitilde}",
    "^": "\\text{\\textasciicircum}",
    "−": "-",
    "·": "\\cdot{}",
    "²": "^{2}",
    "³": "^{3}",
}
_LATEX_ACCENT = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot", "\u0308": "ddot"}
_GREEK_CAPITALS = {"GAMMA", "DELTA", "THETA", "LAMBDA", "XI", "PI", "SIGMA", "UPSILON", "PHI", "PSI", "OMEGA"}


def _latex_char(ch: str) -> str:
    if ch in _LATEX_SPECIAL:
        return _LATEX_SPECIAL[ch]
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK SMALL LETTER ") and " " not in name[19:]:
        letter = name[19:].lower()
        return "o" if letter == "omicron" else f"\\{'varsigma' if letter == 'final' else letter}{{}}"
    if name.startswith("GREEK CAPITAL LETTER ") and name[21:] in _GREEK_CAPITALS:
        return f"\\{name[21:].capitalize()}{{}}"
    return ch


def latex_escape(label: str) -> str:
    """A user's label as LaTeX math: specials escaped, Greek letters and accents (ŷ) as macros.

    A one-letter label stays italic (``\\hat{y}``, ``w``), a letter with digits gets a subscript
    (``w_{1}``), anything longer is set upright (``\\mathrm{loss}``).
    """
    letters: list[str] = []  # one entry per base character, its accents applied
    for ch in unicodedata.normalize("NFD", label):
        if ch in _LATEX_ACCENT and letters:
            letters[-1] = f"\\{_LATEX_ACCENT[ch]}{{{letters[-1]}}}"
        else:
            letters.append(_latex_char(ch))
    if len(letters) == 1:
        return letters[0]
    match = re.fullmatch(r"([A-Za-z])(\d+)", label)
    if match:
        return f"{match.group(1)}_{{{match.group(2)}}}"
    return f"\\mathrm{{{''.join(letters)}}}"


def latex_number(x: float, digits: int = 4) -> str:
    """A number as `fmt` writes it, in LaTeX: ``-0.25``, ``1.5 \\times 10^{-7}``, ``\\infty``."""
    text = fmt(x, digits)
    if text.endswith("inf"):
        return text.replace("inf", "\\infty")
    if text == "nan":
        return "\\mathrm{NaN}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa} \\times 10^{{{exponent}}}"
    return text


def latex_operand(name: str, *, factor: bool = False) -> str:
    """A LaTeX name as it must appear beside an operator: compound expressions get parentheses.

    With `factor`, the name is a factor of a product and only sums, differences and negatives
    need parentheses (``x^{2}`` and ``a \\cdot b`` do not).
    """
    depth = 0
    for i, ch in enumerate(name):
        if ch in "{}" and name[i - 1 : i] == "\\":  # a label's own brace, \{ or \}: not a group
            continue
        if ch in "({[" or name.startswith("\\left", i):
            depth += 1
        elif ch in ")}]" or name.startswith("\\right", i):
            depth -= 1
        elif (ch == "-" and i == 0) or (
            depth == 0 and (name.startswith((" + ", " - "), i) if factor else ch in " ^")
        ):
            return f"\\left({name}\\right)"
    return name


# --- the one expression writer, in two dialects ---------------------------------------------------


def _text_power(base: str, name: str, exponent: float) -> str:
    """``base`` (``name`` as written beside an operator) to a constant `exponent`, in text: x², d^0.5."""
    small = superscript(exponent)
    return f"{_superscript_base(name, base)}{small}" if small else f"{base}^{fmt(exponent)}"


class Dialect(NamedTuple):
    """How the one expression writer writes in one notation: `TEXT` for reading, `LATEX` for math.

    The rules hold a template per dialect (`Rule.text` and `Rule.latex` for the expression,
    `Rule.formulas` and `Rule.latex_formulas` for the local derivatives); everything else that
    differs between the two is here, so names, expressions and formulas are written by one code path.
    """

    template: str  # the rule's attribute holding how its op is written: "text" or "latex"
    open: str  # the parentheses an operand gets when its precedence needs them
    close: str
    number: Callable[[float], str]  # a constant: fmt or latex_number
    label: Callable[[str], str]  # a user's label: as it is, or latex_escape
    generated: Callable[[str], str]  # an op-and-index name (``mul3``)
    repeat: str  # before the count of a repeated name: ``loss#2``
    operand: Callable[[str], str]  # a name beside an operator in a formula: parenthesize, latex_operand
    enclosing: tuple[str, ...]  # pairs inside which a formula's placeholder alone needs no parentheses
    times: str  # the product sign of a worked-out power's derivative, 2·x
    power: Callable[[str, str, float], str]  # (base beside an operator, name, constant exponent)
    base: Callable[[str], str]  # a power's base, after `operand`: LaTeX's σ² needs \left( \right)
    superscripts: bool  # a whole constant exponent is written as superscript digits (x²)
    braced_exponent: bool  # an exponent sits in braces and needs no parentheses

    def formula(self, rule: Rule, index: int) -> str:
        """The rule's formula for ∂out/∂(operand `index`) in this dialect, still over its placeholders."""
        if self.template == "text":
            return rule.formulas[index]
        if rule.latex_formulas:
            return rule.latex_formulas[index]
        return latex_from_text(rule.formulas[index])  # a rule made without LaTeX formulas


TEXT = Dialect(
    template="text", open="(", close=")", number=fmt, label=str, generated=str, repeat="#",
    operand=parenthesize, enclosing=("()",), times="·", power=_text_power, base=str, superscripts=True,
    braced_exponent=False,
)
"""Text for reading: ``(ŷ − y)²``, ``σ(z)·(1−σ(z))``."""


def _latex_power_base(base: str) -> str:
    """A power's base in LaTeX: one with a superscript of its own (a label σ²) gets parentheses,
    so that two exponents never stack (``\\left(\\mathrm{\\sigma{}^{2}}\\right)^{-0.5}``)."""
    return f"\\left({base}\\right)" if base.startswith("\\mathrm{") and "^" in base else base


LATEX = Dialect(
    template="latex", open="\\left(", close="\\right)", number=latex_number, label=latex_escape,
    generated=lambda name: f"\\mathrm{{{name}}}", repeat="\\#", operand=latex_operand, enclosing=("()", "{}"),
    times=" \\cdot ",
    power=lambda base, name, exponent: f"{base}^{{{latex_number(exponent)}}}", base=_latex_power_base,
    superscripts=False, braced_exponent=True,
)
"""LaTeX math: ``\\left(\\hat{y} - y\\right)^{2}``, ``\\sigma(z) \\cdot (1 - \\sigma(z))``."""


def number_written(x: float) -> tuple[str, int]:
    """A number as `fmt` writes it, with its precedence: a negative one binds like unary minus."""
    text = fmt(x)
    return text, (NEGATIVE if text.startswith("-") else ATOM)


def expression(
    node: Value, names: Mapping[Value, tuple[str, int]], dialect: Dialect = TEXT
) -> tuple[str, int]:
    """Write `node` as an expression of its parents' names; returns (text, precedence).

    `names` maps each parent to its own (text, precedence), so parentheses are added only where the
    precedences need them (``(ŷ − y)²``, not ``((ŷ − y))^(2)``); `written_names` builds on it.
    """
    op = node.op
    parents = [names[p] for p in node.parents]
    rule = RULES[op]
    prec = rule.precedence

    def wrap(text: str, precedence: int, needed: int) -> str:
        return f"{dialect.open}{text}{dialect.close}" if precedence < needed else text

    exponent = _constant_exponent(node) if dialect.superscripts else None
    power = None if exponent is None else superscript(exponent)
    if power is not None:  # x², (ŷ − y)², σ(z)⁻¹; the constant stays a node of its own
        (a, pa), _ = parents
        return f"{_superscript_base(a, wrap(a, pa, prec + 1))}{power}", prec
    template = getattr(rule, dialect.template)
    if prec == ATOM:  # a call, op(a) or op(a, b): its parentheses are its own
        return _written(template, *(text for text, _ in parents)), ATOM
    if len(parents) == 2:
        (a, pa), (b, pb) = parents
        if op == "**":  # right-associative: parentheses on the left at equal precedence
            left = wrap(a, pa, prec + 1)
            right = b if dialect.braced_exponent else wrap(b, pb, prec)
        else:  # left-associative: an ordered operator needs them on the right at equal precedence
            left = wrap(a, pa, prec)
            right = wrap(b, pb, prec + 1 if rule.ordered else prec)
        return _written(template, left, right), prec
    ((a, pa),) = parents
    return _written(template, wrap(a, pa, prec + 1)), prec  # a prefix operator: −a


_PLACEHOLDER = re.compile(r"\{(a|b|out)\}")


def _written(template: str, a: str, b: str = "") -> str:
    """A rule's `text` or `latex` template with the operands written in (in one pass)."""
    return _PLACEHOLDER.sub(lambda m: a if m.group(1) == "a" else b, template)


def written_names(
    root: Value,
    max_expression: int = MAX_EXPRESSION,
    dialect: Dialect = TEXT,
    *,
    forward: Sequence[Value] | None = None,
) -> dict[Value, tuple[str, int]]:
    """Every node of `root`'s graph with its name (`node_names`) and that name's precedence.

    A name that is an expression (``ŷ − y``) binds like its operator, so a consumer writing it
    beside another keeps ``(ŷ − y)²``; labels, generated names (``mul3``) and repeats are atoms. The
    choices are made on the text, so the `LATEX` dialect names the same nodes the same way.
    `forward` is the graph's nodes operands first, where the caller has walked it already (a
    `graph.snapshot`), so it is not walked again.
    """
    if forward is None:
        forward = topological_order(root)[::-1]
    text_of: dict[Value, tuple[str, int]] = {}
    written: dict[Value, tuple[str, int]] = {}
    taken: dict[str, int] = {}
    counters: dict[str, int] = {}
    for node in forward:
        out_prec = None  # the LaTeX name's own precedence, where it differs from the text's
        if node.label:
            text, prec = node.label, ATOM
            out = dialect.label(node.label)
            if text[-1] in _SUPERSCRIPT_DIGITS:  # σ² binds as a power: (σ²)^0.5, not σ²^0.5
                prec = RULES["**"].precedence
            if dialect is not TEXT and "^" in out:  # \mathrm{\sigma{}^{2}}: the same, in LaTeX
                out_prec = RULES["**"].precedence
        elif not node.parents:
            text, prec = number_written(node.data)
            out = dialect.number(node.data)
            if dialect is not TEXT and "\\times" in out:  # 1 \times 10^{20} is a product: (…)^{x}
                out_prec = RULES["*"].precedence
        else:
            text, prec = expression(node, text_of)
            if len(text) > max_expression:
                word = RULES[node.op].name
                counters[word] = counters.get(word, 0) + 1
                text, prec = f"{word}{counters[word]}", ATOM
                out = dialect.generated(text)
            else:
                out = text if dialect is TEXT else expression(node, written, dialect)[0]
        seen = taken.get(text, 0)
        taken[text] = seen + 1
        if seen and (node.label or node.parents):
            text, prec = f"{text}#{seen + 1}", ATOM
            out = f"{out}{dialect.repeat}{seen + 1}"
        text_of[node] = (text, prec)
        written[node] = (out, prec if out_prec is None else out_prec)
    return written


def node_names(root: Value, max_expression: int = MAX_EXPRESSION) -> dict[Value, str]:
    """A readable name for every node of `root`'s graph.

    A label is used as it is; an unlabelled constant is its number; an unlabelled result is its
    expression in its operands' names (``yhat − y``) while that stays short, else its op and an
    index in forward order (``mul3``). A repeated label or expression gets ``#2``, ``#3``, ...;
    equal constants share their number (``x·2 + x·2`` has two ``2``).
    """
    return {node: name for node, (name, _) in written_names(root, max_expression).items()}


def latex_names(root: Value, max_expression: int = MAX_EXPRESSION) -> dict[Value, str]:
    """`node_names` in LaTeX: the same choices (label, number, short expression or ``mul3``), as math."""
    return {node: name for node, (name, _) in written_names(root, max_expression, LATEX).items()}


def _fill(template: str, raw: dict[str, str], dialect: Dialect) -> str:
    """Put names into a rule's formula; a name alone inside (…) (or LaTeX's {…}) needs no more."""

    def substitute(match: re.Match[str]) -> str:
        name = raw[match.group(1)]
        start, end = match.span()
        around = template[start - 1 : start] + template[end : end + 1]
        alone = (start == 0 and end == len(template)) or around in dialect.enclosing
        if alone:
            return name
        operand = dialect.operand(name)
        return dialect.base(operand) if template[end : end + 1] == "^" else operand

    return _PLACEHOLDER.sub(substitute, template)


def _formula(node: Value, index: int, names: Mapping[Value, str], dialect: Dialect) -> str:
    """∂node/∂(its operand `index`) in `dialect`: the rule's formula filled with `names`."""
    parents = node.parents
    exponent = _constant_exponent(node)
    if exponent is not None and index == 0:  # worked out: ∂(d²)/∂d reads 2·d
        name = names[parents[0]]
        a = dialect.operand(name)
        lowered = exponent - 1.0
        if lowered == 0.0:
            return dialect.number(exponent)
        power = a if lowered == 1.0 else dialect.power(dialect.base(a), name, lowered)
        return power if exponent == 1.0 else f"{dialect.number(exponent)}{dialect.times}{power}"
    raw = {"a": names[parents[0]], "b": names[parents[-1]], "out": names[node]}
    return _fill(dialect.formula(RULES[node.op], index), raw, dialect)


def local_formula(node: Value, index: int, names: Mapping[Value, str]) -> str:
    """The local derivative ∂node/∂(its operand `index`) as a formula in node names.

    The formula is the engine's own (`RULES[node.op].formulas`), with a constant exponent
    worked out so that ``∂(d²)/∂d`` reads ``2·d``.
    """
    return _formula(node, index, names, TEXT)


def latex_formula(node: Value, index: int, names: Mapping[Value, str]) -> str:
    """`local_formula` in LaTeX: the rule's `latex_formulas`, filled in `latex_names` the same way."""
    return _formula(node, index, names, LATEX)


_FORMULA_TOKEN = re.compile(
    r"[A-Za-z]{2,}|\{(?:a|b|out)\}|\d+(?:\.\d+)?(?:e[-−+]?\d+)?|[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+|.", re.DOTALL
)  # a function's name, a placeholder, a number (2, 0.5, 1e-3), a superscript (⁻²), any one character
_FROM_SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
_FORMULA_SYMBOL = {"·": " \\cdot ", "√": "\\surd{}", "′": "'", "π": "\\pi{}"}


def latex_from_text(formula: str) -> str:
    """A text formula (over ``{a}``, ``{b}``, ``{out}``) as LaTeX math, symbol by symbol.

    For an op of your own (`custom_op`'s `formula`): a word of two or more letters is a function
    (``\\exp``, ``\\operatorname{sign}``); Greek letters, ``·``, ``−``, ``²`` and ``√`` are their LaTeX;
    a power's exponent (``^{b}``, ``^2``, ``^(…)``) goes in braces; other specials are escaped.
    Placeholders stay, to be filled as the rules' own LaTeX formulas are.
    """
    tokens = _FORMULA_TOKEN.findall(formula)
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        exponent = _exponent(tokens, i + 1) if token == "^" else None
        if exponent is not None:  # a^{b}, a^2, a^(b−1): the exponent in braces
            inside, i = exponent
            out.append(f"^{{{latex_from_text(inside)}}}")
            continue
        if token.startswith("{") or token.isdecimal():
            out.append(token)
        elif token[0] in "⁻⁰¹²³⁴⁵⁶⁷⁸⁹":  # x⁻² is x^{-2}
            out.append(f"^{{{token.translate(_FROM_SUPERSCRIPT)}}}")
        elif token[0] in "0123456789":  # 0.5 as it is; 1e-3 as 1 \times 10^{-3}
            out.append(latex_number(float(token.replace("−", "-"))) if "e" in token else token)
        elif len(token) > 1:
            out.append(latex_function(token))
        elif token in "−-":
            out.append(" - " if out and not out[-1].endswith(("(", "{", "[")) else "-")
        else:
            out.append(_FORMULA_SYMBOL.get(token) or _latex_char(token))
        i += 1
    return "".join(out)


def _exponent(tokens: list[str], start: int) -> tuple[str, int] | None:
    """The exponent after a ``^`` at `start` (one token with its sign, or a parenthesized group
    without its parentheses) and where the formula goes on; None when there is none (a lone or
    unclosed ^)."""
    if start >= len(tokens):
        return None
    if tokens[start] in ("-", "−") and start + 1 < len(tokens) and tokens[start + 1] != "(":
        return tokens[start] + tokens[start + 1], start + 2  # x^-2.5, 2^-{a}
    if tokens[start] != "(":
        return tokens[start], start + 1
    depth, end = 0, start
    while end < len(tokens):
        depth += (tokens[end] == "(") - (tokens[end] == ")")
        end += 1
        if depth == 0:
            return "".join(tokens[start + 1 : end - 1]), end
    return None


def factor(text: str) -> str:
    """A number as `fmt` writes it (or a formula), as the right-hand factor of a product: one that
    starts with a minus gets parentheses, ``0.5 · (-0.25)``, as the pages and the widget write it."""
    return f"({text})" if text.startswith("-") else text


def one_line(text: str) -> str:
    """`text` for one line of output: newlines, tabs and other control characters escaped (``\\n``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def json_number(x: float) -> float | str:
    """A float as JSON can carry it: finite numbers unchanged, ``inf``/``-inf``/``nan`` as strings.

    JSON has no infinities or NaN (``json.dumps(..., allow_nan=False)`` refuses them), so every
    ``to_dict`` in microgradx writes them as the strings ``"inf"``, ``"-inf"`` and ``"nan"``.
    """
    if math.isfinite(x):
        return x
    if math.isnan(x):
        return "nan"
    return "inf" if x > 0 else "-inf"
