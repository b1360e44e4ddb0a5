"""Turning DOT source into pictures wherever people are: ``dot``, else pygraphviz, else text.

Graphviz proper (the ``dot`` program) is tried first. When it is missing, pygraphviz is used:
its wheels bundle Graphviz, so ``pip install 'microgradnn[render]'`` is enough to render. When
both are missing, saving to SVG/PNG raises :class:`RenderError` naming both fixes, while
*displaying* a drawing (Jupyter) never raises: it shows the DOT source with a one-line hint.
"""

from __future__ import annotations

import base64
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, Union

import graphviz

from microgradnn.checks import check_path
from microgradnn.fileio import write_atomic

__all__ = [
    "GraphvizMissingError",
    "RenderError",
    "INSTALL_HINT",
    "render",
    "render_png",
    "render_svg",
    "save",
    "PNG_SCALE",
    "SAVE_FORMATS",
]

#: File suffix -> what :func:`save` writes.
SAVE_FORMATS: dict[str, str] = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}

#: The two ways to make rendering work, in one line.
INSTALL_HINT = (
    "install Graphviz (e.g. `apt-get install graphviz`, `brew install graphviz` or "
    "`conda install graphviz`) or run `pip install 'microgradnn[render]'` "
    "(pygraphviz, which bundles Graphviz)"
)


class RenderError(RuntimeError):
    """A drawing could not be rendered to an image: no Graphviz, or Graphviz rejected it."""


class GraphvizMissingError(RenderError):
    """Neither the ``dot`` program nor pygraphviz is available."""


class _HasSource(Protocol):
    @property
    def source(self) -> str: ...


Drawable = Union[_HasSource, str]  # noqa: UP007 - runtime alias for Python 3.10


def _source_of(drawing: Drawable) -> str:
    if isinstance(drawing, str):
        return drawing
    source = getattr(drawing, "source", None)
    if not isinstance(source, str):
        raise TypeError(
            f"expected a drawing (e.g. from draw_dot) or DOT source text, got {type(drawing).__name__}"
        )
    return source


def render(drawing: Drawable, format: str = "svg") -> bytes:
    """The drawing rendered as ``format`` ('svg' or 'png') bytes: by ``dot``, else pygraphviz.

    Raises :class:`RenderError` if neither is available or Graphviz rejects the source.
    """
    if format not in ("svg", "png"):
        raise ValueError(f"render: format must be 'svg' or 'png', got {format!r}")
    source = _source_of(drawing)
    data = source.encode("utf-8")
    try:
        return graphviz.pipe("dot", format, data, quiet=True)
    except graphviz.ExecutableNotFound:
        pass  # no `dot` program: try the Graphviz bundled with pygraphviz
    except graphviz.CalledProcessError as exc:
        detail = _first_line(exc.stderr) or f"exit status {exc.returncode}"
        raise RenderError(f"Graphviz `dot` could not draw this graph: {detail}") from exc
    try:
        import pygraphviz
    except ImportError:
        raise GraphvizMissingError(
            f"cannot render {format.upper()}: Graphviz is not available (no `dot` program on PATH and "
            f"pygraphviz is not installed); to fix it, {INSTALL_HINT}. Saving as .dot needs neither."
        ) from None
    return _render_with_pygraphviz(pygraphviz, source, format)


def render_svg(drawing: Drawable) -> str:
    """The drawing as SVG text (see :func:`render`)."""
    return render(drawing, "svg").decode("utf-8")


def save(drawing: Drawable, path: str | os.PathLike[str]) -> Path:
    """Write the drawing to ``path``; the suffix chooses the format: .svg, .png or .dot (.gv).

    SVG and PNG are rendered as by :func:`render`; .dot writes the DOT source and needs no
    Graphviz. The file is replaced atomically (:func:`microgradnn.fileio.write_atomic`): if
    anything fails, the old file is unchanged. Returns the path written.
    """
    path = Path(check_path("save(path)", path))
    kind = SAVE_FORMATS.get(path.suffix.lower())
    if kind is None:
        shown = repr(path.suffix) if path.suffix else "no suffix"
        raise ValueError(
            f"save: cannot tell the format of {str(path)!r} ({shown}); use a .svg, .png or .dot file"
        )
    # Render first, so that a failure leaves no empty or partial file behind.
    data = _source_of(drawing).encode("utf-8") if kind == "dot" else render(drawing, kind)
    write_atomic(path, data, name="save(path)")
    return path


#: Pixels per CSS pixel of the PNG shown beside the SVG: sharp on high-density ("retina") screens.
PNG_SCALE = 2.0
# A bound on the PNG's longer side, in pixels: a drawing of thousands of nodes (max_nodes=None)
# gets a coarser PNG rather than one of hundreds of megapixels (cairo refuses beyond 32,767).
_PNG_MAX_SIDE = 12_000
# At most this many pixels in the PNG of a fitted picture (2x of 1,600 × 940 CSS px).
_PNG_MAX_PIXELS = 6_000_000
# The widest output area a fitted picture is drawn for (CSS px): a wide notebook on a large screen.
_FITTED_WIDTH_MAX = 1_600
# The opening of a DOT graph, up to its first brace: where the PNG's resolution is set.
_GRAPH_OPENING = re.compile(r"^\s*(?:strict\s+)?(?:di)?graph\b[^{]*\{", re.M)


def render_png(drawing: Drawable, scale: float = PNG_SCALE) -> bytes:
    """The drawing as PNG bytes with ``scale`` pixels per CSS pixel of its natural size.

    Graphviz sizes pictures in points (1/72 inch) and by default draws PNGs at 96 dpi, one
    pixel per CSS pixel; ``scale=2`` draws it at 192 dpi. Same fallbacks as :func:`render`.
    """
    if not (isinstance(scale, (int, float)) and 0 < scale <= 8):
        raise ValueError(f"render_png(scale) must be a number in (0, 8], got {scale!r}")
    source = _source_of(drawing)
    opening = _GRAPH_OPENING.search(source)
    if opening is not None and scale != 1:
        # A graph attribute set first: any dpi the drawing sets itself comes later and wins.
        source = f"{source[: opening.end()]}\n\tdpi={96 * scale:g}\n{source[opening.end() :]}"
    return render(source, "png")


def natural_size(svg: str) -> tuple[float, float] | None:
    """The CSS pixel size (width, height) of Graphviz's SVG (it writes points: 1 pt = 4/3 px)."""
    match = _SVG_TAG.search(svg)
    if match is None:
        return None
    size = []
    for name in ("width", "height"):
        found = re.search(rf'\b{name}="([\d.]+)(pt|px)?"', match.group(0))
        if found is None:
            return None
        size.append(float(found.group(1)) * (4 / 3 if found.group(2) in (None, "pt") else 1))
    return size[0], size[1]


Bundle = tuple[dict[str, str], dict[str, Any]]


def display_bundle(drawing: Drawable, fit: bool = True) -> Bundle:
    """What Jupyter shows for a drawing: (data, metadata) of a display, or its DOT source and a hint.

    When the picture can be rendered, the data holds it three ways, so that every front-end
    shows it, no wider than its output area (``fit``, never enlarged):

    - ``text/html``: an ``<img>`` of the SVG, ``max-width:100%``; a click shows it at natural
      size (scrolling sideways) and another fits it again. JupyterLab and Notebook 7 show it in
      trusted and untrusted notebooks alike (they refuse an ``image/svg+xml`` output of a
      notebook not trusted yet, as a reader first opens a committed one, and show a trusted
      one at its natural size); VS Code and nbconvert's HTML pages use it too.
    - ``image/png``, drawn at :data:`PNG_SCALE` × (for pictures up to 1,600 px wide and 6
      megapixels at 2×; larger ones are shown shrunk, so fewer pixels do) with its natural CSS
      width in the metadata:
      for front-ends that show no HTML or SVG. JupyterLab fits such an image to the output area.
    - ``image/svg+xml``: for front-ends that take SVG but no HTML.

    ``fit=False`` shows the picture at its natural size. Never raises: a notebook cell must not
    fail because Graphviz is missing.
    """
    try:
        source = _source_of(drawing)
    except Exception as exc:  # noqa: BLE001 - display must never raise
        return {"text/plain": f"(cannot display this drawing: {exc})"}, {}
    try:
        svg = render_svg(source)
    except GraphvizMissingError:
        hint = f"(Graphviz is not available, so here is the DOT source; to see the picture, {INSTALL_HINT})"
        return {"text/plain": f"{hint}\n{source}"}, {}
    except RenderError as exc:
        hint = f"({exc}; here is the DOT source)"
        return {"text/plain": f"{hint}\n{source}"}, {}
    except Exception as exc:  # noqa: BLE001 - display must never raise
        hint = f"(could not render the picture: {type(exc).__name__}: {exc}; here is the DOT source)"
        return {"text/plain": f"{hint}\n{source}"}, {}
    size = natural_size(svg)
    data = {"text/html": _html(svg, size, fit), "image/svg+xml": fit_to_width(svg) if fit else svg}
    metadata: dict[str, Any] = {}
    scale = PNG_SCALE
    if size is not None:
        # Fitted, a picture is never shown wider than an output area: 2 pixels per CSS pixel
        # of the widest one are enough, and keep a stored notebook small.
        widest = _FITTED_WIDTH_MAX if fit else _PNG_MAX_SIDE / PNG_SCALE
        scale = min(PNG_SCALE, PNG_SCALE * widest / max(size[0], 1.0), _PNG_MAX_SIDE / max(*size, 1.0))
        # A tall picture (a network drawn top to bottom) is shown shrunk too: a bound on its
        # pixels keeps a stored notebook from growing by megabytes per drawing.
        if fit:
            scale = min(scale, (_PNG_MAX_PIXELS / max(size[0] * size[1], 1.0)) ** 0.5)
    try:
        data["image/png"] = base64.b64encode(render_png(source, scale)).decode("ascii")
    except Exception:  # noqa: BLE001 - the SVG and HTML still show; a PNG is a bonus
        pass
    else:
        png_meta: dict[str, Any] = {} if size is None else {"width": round(size[0])}
        if not fit:
            png_meta["unconfined"] = True
        if png_meta:
            metadata["image/png"] = png_meta
    return data, metadata


# Clicking the picture switches between fitted to the output area and natural size; the box
# around it scrolls sideways at natural size, so the page itself never becomes wider.
_TOGGLE = (
    "var s=this.style;s.maxWidth=s.maxWidth==='none'?'100%':'none';"
    "s.cursor=s.maxWidth==='none'?'zoom-out':'zoom-in'"
)


def _html(svg: str, size: tuple[float, float] | None, fit: bool) -> str:
    """The picture as an HTML fragment: an ``<img>`` of the SVG (see :func:`display_bundle`).

    An image, not the SVG inline: JupyterLab shows the HTML of a notebook not trusted yet
    after removing what could run code, which takes inline SVG with it but keeps an image.
    Its ``width`` is the natural size, ``max-width:100%`` shrinks it to the output area.
    """
    source = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    width = "" if size is None else f' width="{round(size[0])}"'
    style = "max-width:100%;height:auto;cursor:" + ("zoom-in" if fit else "zoom-out")
    style = style if fit else style.replace("100%", "none")
    return (
        f'<div style="overflow-x:auto;max-width:100%"><img src="data:image/svg+xml;base64,{source}"{width} '
        f'style="{style}" onclick="{_TOGGLE}" alt="computation graph" '
        'title="click: natural size / fit to the page"></div>'
    )


# The opening <svg ...> tag of Graphviz's output (its attributes span several lines).
_SVG_TAG = re.compile(r"<svg\b[^>]*>")


def fit_to_width(svg: str) -> str:
    """The SVG, made to shrink to the width of a notebook's output area (never to grow).

    Graphviz sizes a picture in points; a network's graph is 1,000 pt wide or more, wider than
    a laptop's notebook, which then cuts it off. ``max-width:100%; height:auto`` scales it down
    with its proportions (the viewBox keeps the drawing whole) where the SVG is placed in the
    page itself; small pictures keep their size. Only what Jupyter displays is changed: files
    written by `save` keep the natural size.
    """
    match = _SVG_TAG.search(svg)
    if match is None:
        return svg
    tag = match.group(0)
    fitted = tag[:4] + ' style="max-width:100%;height:auto"' + tag[4:]
    return svg[: match.start()] + fitted + svg[match.end() :]


def _first_line(text: bytes | str | None) -> str:
    if not text:
        return ""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[:3])


def _render_with_pygraphviz(pygraphviz: object, source: str, format: str) -> bytes:
    with _captured_stderr_fd() as captured:
        try:
            graph = pygraphviz.AGraph(string=source)  # type: ignore[attr-defined]
            return graph.draw(format=format, prog="dot")
        except Exception as exc:  # pygraphviz raises several types (ValueError, IOError, ...)
            detail = _first_line(captured()) or f"{type(exc).__name__}: {exc}"
            raise RenderError(f"pygraphviz could not draw this graph: {detail}") from exc


@contextmanager
def _captured_stderr_fd() -> Iterator:
    """Send the C-level stderr (file descriptor 2) to a temporary file for the duration.

    The Graphviz bundled with pygraphviz loads Fontconfig, which may print harmless warnings
    about the system's font configuration straight to file descriptor 2; they are kept out of
    the user's terminal or notebook, but shown if drawing fails.
    """
    with tempfile.TemporaryFile() as sink:
        try:
            saved = os.dup(2)
        except OSError:  # no file descriptor 2 (some embedded interpreters): nothing to hide
            yield lambda: b""
            return
        try:
            os.dup2(sink.fileno(), 2)
            yield lambda: (sink.seek(0), sink.read())[1]
        finally:
            os.dup2(saved, 2)
            os.close(saved)
