"""How nodes, numbers and local-derivative formulas are written, once for every consumer.

`explain`, `draw`, the HTML stepper and the CLI all name nodes and print numbers through here, so
the same node reads the same everywhere. Formulas come from the engine's rule table (`RULES`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Mapping

from microgradx.engine import RULES, Value, topological_order
from microgradx.rules import latex_function

__all__ = [
    "OP_GLYPH",
    "derivative_name",
    "expression",
    "fmt",
    "json_number",
    "latex_escape",
    "latex_formula",
    "latex_names",
    "latex_number",
    "latex_operand",
    "local_formula",
    "node_names",
    "one_line",
    "parenthesize",
    "superscript",
]

# How each op is written (its text, LaTeX, glyph, precedence, name) is declared in its rule.
_ATOM = 9  # precedence of a name, number or call: never needs parentheses

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


def _wrap(text: str, precedence: int, needed: int) -> str:
    return f"({text})" if precedence < needed else text


def expression(node: Value, names: dict[Value, tuple[str, int]]) -> tuple[str, int]:
    """Write `node` as an expression of its parents' names; returns (text, precedence).

    `names` maps each parent to its own (text, precedence), so parentheses are added only where the
    precedences need them (``(ŷ − y)²``, not ``((ŷ − y))^(2)``); `node_names` builds on it.
    """
    op = node.op
    parents = [names[p] for p in node.parents]
    exponent = _constant_exponent(node)
    power = None if exponent is None else superscript(exponent)
    if power is not None:  # x², (ŷ − y)², σ(z)⁻¹; the constant stays a node of its own
        (a, pa), _ = parents
        prec = RULES["**"].precedence
        return f"{_superscript_base(a, _wrap(a, pa, prec + 1))}{power}", prec
    rule = RULES[op]
    prec = rule.precedence
    if prec == _ATOM:  # a call, op(a) or op(a, b): its parentheses are its own
        return _written(rule.text, *(text for text, _ in parents)), _ATOM
    if len(parents) == 2:
        (a, pa), (b, pb) = parents
        # Left-associative operators need parentheses on the right at equal precedence; ^ on the left.
        left = _wrap(a, pa, prec + (1 if op == "**" else 0))
        right = _wrap(b, pb, prec + (0 if op == "**" else 1) if rule.ordered else prec)
        return _written(rule.text, left, right), prec
    ((a, pa),) = parents
    return _written(rule.text, _wrap(a, pa, prec + 1)), prec  # a prefix operator: −a


def _written(template: str, a: str, b: str = "") -> str:
    """A rule's `text` or `latex` template with the operands written in (in one pass)."""
    return _PLACEHOLDER.sub(lambda m: a if m.group(1) == "a" else b, template)


def node_names(root: Value, max_expression: int = MAX_EXPRESSION) -> dict[Value, str]:
    """A readable, unique name for every node of `root`'s graph.

    A label is used as it is; an unlabelled constant is its number; an unlabelled result is its
    expression in its operands' names (``yhat − y``) while that stays short, else its op and an
    index in forward order (``mul3``). Names are unique: a repeat gets ``#2``, ``#3``, ...
    """
    return _names(root, max_expression, latex=False)


def _names(root: Value, max_expression: int, latex: bool) -> dict[Value, str]:
    """`node_names`, or with `latex` the same choices written as LaTeX math (`latex_names`)."""
    forward = topological_order(root)[::-1]
    written: dict[Value, tuple[str, int]] = {}
    tex: dict[Value, tuple[str, int]] = {}
    taken: dict[str, int] = {}
    counters: dict[str, int] = {}
    for node in forward:
        if node.label:
            text, prec = node.label, _ATOM
            if latex:
                tex[node] = latex_escape(node.label), _ATOM
        elif not node.parents:
            text, prec = fmt(node.data), _ATOM if node.data >= 0 else 3
            if latex:
                tex[node] = latex_number(node.data), prec
        else:
            text, prec = expression(node, written)
            if len(text) > max_expression:
                word = RULES[node.op].name
                counters[word] = counters.get(word, 0) + 1
                text, prec = f"{word}{counters[word]}", _ATOM
                if latex:
                    tex[node] = f"\\mathrm{{{text}}}", _ATOM
            elif latex:
                tex[node] = _latex_expression(node, tex)
        seen = taken.get(text, 0)
        taken[text] = seen + 1
        if seen and (node.label or node.parents):
            text, prec = f"{text}#{seen + 1}", _ATOM
            if latex:
                tex[node] = f"{tex[node][0]}\\#{seen + 1}", _ATOM
        written[node] = (text, prec)
    chosen = tex if latex else written
    return {node: name for node, (name, _) in chosen.items()}


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


_PLACEHOLDER = re.compile(r"\{(a|b|out)\}")


def _fill(template: str, raw: dict[str, str]) -> str:
    """Put names into a rule's formula; a name alone inside a call's parentheses needs no more."""

    def substitute(match: re.Match[str]) -> str:
        name = raw[match.group(1)]
        start, end = match.span()
        whole = start == 0 and end == len(template)
        alone = whole or (template[start - 1 : start] == "(" and template[end : end + 1] == ")")
        return name if alone else parenthesize(name)

    return _PLACEHOLDER.sub(substitute, template)


def local_formula(node: Value, index: int, names: dict[Value, str]) -> str:
    """The local derivative ∂node/∂(its operand `index`) as a formula in node names.

    The formula is the engine's own (`RULES[node.op].formulas`), with a constant exponent
    worked out so that ``∂(d²)/∂d`` reads ``2·d``.
    """
    parents = node.parents
    exponent = _constant_exponent(node)
    if exponent is not None and index == 0:
        a = parenthesize(names[parents[0]])
        lowered = exponent - 1.0
        if lowered == 0.0:
            return fmt(exponent)
        small = superscript(lowered)
        if lowered == 1.0:
            power = a
        elif small:
            power = f"{_superscript_base(names[parents[0]], a)}{small}"
        else:
            power = f"{a}^{fmt(lowered)}"
        return power if exponent == 1.0 else f"{fmt(exponent)}·{power}"
    raw = {"a": names[parents[0]], "b": names[parents[-1]], "out": names[node]}
    return _fill(RULES[node.op].formulas[index], raw)


# --- LaTeX: the same names and formulas, written for math mode ----------------------------------

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
    text = fmt(x, digits).replace("−", "-")
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
        if ch in "({[" or name.startswith("\\left", i):
            depth += 1
        elif ch in ")}]" or name.startswith("\\right", i):
            depth -= 1
        elif (ch == "-" and i == 0) or (
            depth == 0 and (name.startswith((" + ", " - "), i) if factor else ch in " ^")
        ):
            return f"\\left({name}\\right)"
    return name


def latex_names(root: Value, max_expression: int = MAX_EXPRESSION) -> dict[Value, str]:
    """`node_names` in LaTeX: the same choices (label, number, short expression or ``mul3``), as math."""
    return _names(root, max_expression, latex=True)


def _latex_wrap(text: str, precedence: int, needed: int) -> str:
    return f"\\left({text}\\right)" if precedence < needed else text


def _latex_expression(node: Value, written: dict[Value, tuple[str, int]]) -> tuple[str, int]:
    """Like `expression`, in LaTeX; an exponent sits in braces and needs no parentheses."""
    rule = RULES[node.op]
    prec = rule.precedence
    parents = [written[p] for p in node.parents]
    if prec == _ATOM:  # a call, op(a) or op(a, b)
        return _written(rule.latex, *(text for text, _ in parents)), _ATOM
    if len(parents) == 2:
        (a, pa), (b, pb) = parents
        if node.op == "**":
            return _written(rule.latex, _latex_wrap(a, pa, prec + 1), b), prec
        right = _latex_wrap(b, pb, prec + 1 if rule.ordered else prec)
        return _written(rule.latex, _latex_wrap(a, pa, prec), right), prec
    ((a, pa),) = parents
    return _written(rule.latex, _latex_wrap(a, pa, prec + 1)), prec  # a prefix operator: -a


def _latex_template(template: str, names: dict[str, str]) -> str:
    """Translate one of the rule table's formula templates to LaTeX, filling in the operand names.

    Works on the template's own symbols (``·``, ``−``, ``²``, ``√``, ``^(…)``, ``σ``, function
    words), so the formulas still come from `RULES` alone.
    """
    out: list[str] = []
    closers: list[str] = []  # what each open parenthesis closes with: ")" or "}" for ^( … )
    pending_brace = False  # a ^ or √ directly before a placeholder wraps it in braces
    i = 0
    while i < len(template):
        match = _PLACEHOLDER.match(template, i)
        if match:
            name = names[match.group(1)]
            before = "".join(out)
            after = template[match.end() : match.end() + 1]
            alone = (
                pending_brace
                or (i == 0 and match.end() == len(template))
                or (before.endswith(("(", "{")) and after == ")")
            )
            filled = name if alone else latex_operand(name)
            out.append(f"{{{filled}}}" if pending_brace else filled)
            pending_brace = False
            i = match.end()
            continue
        ch = template[i]
        word = re.match(r"[a-z]{2,}", template[i:])  # a function's name: ln, tanh, sign, ...
        if word:
            out.append(latex_function(word.group()))
            i += len(word.group())
            continue
        if ch in "^√" and template.startswith("(", i + 1):  # a^(…) and √(…): braces, not parentheses
            out.append("^{" if ch == "^" else "\\sqrt{")
            closers.append("}")
            i += 2
            continue
        if ch in "^√":
            out.append("^" if ch == "^" else "\\sqrt")
            pending_brace = True
        elif ch == "(":
            out.append("(")
            closers.append(")")
        elif ch == ")":
            out.append(closers.pop() if closers else ")")
        elif ch == "−":
            out.append(" - " if out and not "".join(out).endswith(("(", "{")) else "-")
        elif ch in "σπ":
            out.append("\\sigma" if ch == "σ" else "\\pi ")
        elif ch == "·":
            out.append(" \\cdot ")
        elif ch == "²":
            out.append("^{2}")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def latex_formula(node: Value, index: int, names: dict[Value, str]) -> str:
    """`local_formula` in LaTeX: ∂node/∂(operand `index`) from the rule table, in `latex_names`."""
    parents = node.parents
    exponent = _constant_exponent(node)
    if exponent is not None and index == 0:
        a = latex_operand(names[parents[0]])
        lowered = exponent - 1.0
        if lowered == 0.0:
            return latex_number(exponent)
        power = a if lowered == 1.0 else f"{a}^{{{latex_number(lowered)}}}"
        return power if exponent == 1.0 else f"{latex_number(exponent)} \\cdot {power}"
    raw = {"a": names[parents[0]], "b": names[parents[-1]], "out": names[node]}
    return _latex_template(RULES[node.op].formulas[index], raw)


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
