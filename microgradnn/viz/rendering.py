"""Turning DOT source into pictures wherever people are: ``dot``, else pygraphviz, else text.

Graphviz proper (the ``dot`` program) is tried first. When it is missing, pygraphviz is used:
its wheels bundle Graphviz, so ``pip install 'microgradnn[render]'`` is enough to render. When
both are missing, saving to SVG/PNG raises :class:`RenderError` naming both fixes, while
*displaying* a drawing (Jupyter) never raises: it shows the DOT source with a one-line hint.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, Union

import graphviz

from microgradnn.checks import check_path
from microgradnn.fileio import write_atomic

__all__ = [
    "GraphvizMissingError",
    "RenderError",
    "INSTALL_HINT",
    "render",
    "render_svg",
    "save",
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


def display_bundle(drawing: Drawable) -> dict[str, str]:
    """What Jupyter shows for a drawing: SVG if it can be rendered, else its DOT source and a hint.

    Never raises: a notebook cell must not fail because Graphviz is missing.
    """
    try:
        source = _source_of(drawing)
    except Exception as exc:  # noqa: BLE001 - display must never raise
        return {"text/plain": f"(cannot display this drawing: {exc})"}
    try:
        return {"image/svg+xml": fit_to_width(render_svg(source))}
    except GraphvizMissingError:
        hint = f"(Graphviz is not available, so here is the DOT source; to see the picture, {INSTALL_HINT})"
    except RenderError as exc:
        hint = f"({exc}; here is the DOT source)"
    except Exception as exc:  # noqa: BLE001 - display must never raise
        hint = f"(could not render the picture: {type(exc).__name__}: {exc}; here is the DOT source)"
    return {"text/plain": f"{hint}\n{source}"}


# The opening <svg ...> tag of Graphviz's output (its attributes span several lines).
_SVG_TAG = re.compile(r"<svg\b[^>]*>")


def fit_to_width(svg: str) -> str:
    """The SVG, made to shrink to the width of a notebook's output area (never to grow).

    Graphviz sizes a picture in points; a network's graph is 1,000 pt wide or more, wider than
    a laptop's notebook, which then cuts it off. ``max-width:100%; height:auto`` scales it down
    with its proportions (the viewBox keeps the drawing whole); small pictures keep their size.
    Only what Jupyter displays is changed: files written by `save` keep the natural size.
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
