"""mkdocs hook: the pages the docs link to that microgradx itself writes, made at build time.

The sigmoid neuron's step-through page (``sigmoid_neuron.html``, linked from the API page and the
question "from gradient to update") is `microgradx.to_html`'s output for the neuron the API page
shows, so it is written here from the package rather than kept as a copy in the repository.
"""

from __future__ import annotations

from mkdocs.structure.files import File


def sigmoid_neuron_page() -> str:
    """The page of the API page's example: E = ½(σ(w·x) − y)² at w = 0.3, x = 1, y = 1, lr = 0.5."""
    import microgradx as mg

    w, x, y = mg.Value(0.3, "w"), mg.Value(1.0, "x"), mg.Value(1.0, "y")
    z = w * x
    z.label = "z"
    yhat = z.sigmoid()
    yhat.label = "ŷ"
    E = 0.5 * (yhat - y) ** 2
    E.label = "E"
    return mg.to_html(E, highlight=w, lr=0.5, title="The sigmoid neuron  E = ½(σ(w·x) − y)²")


def on_files(files, config):  # type: ignore[no-untyped-def]
    """Add the generated pages to the site, so that links to them are checked like any other."""
    files.append(File.generated(config, "sigmoid_neuron.html", content=sigmoid_neuron_page()))
    return files
