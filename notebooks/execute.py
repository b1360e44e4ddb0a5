"""Re-execute the committed notebooks in place, so that their stored outputs match the code.

    python notebooks/execute.py                 # every notebook in this folder
    python notebooks/execute.py 02 05_classification.ipynb   # some, by number or name

Each notebook runs top to bottom in a fresh ``python3`` kernel (the environment running this
script must have the extras the notebooks name, e.g. ``pip install -e '.[dev]'``), with this
folder as its working directory. The kernelspec stays ``python3``. A notebook that raises is
left unchanged and the script exits with status 1 after trying the others.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

FOLDER = Path(__file__).resolve().parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _chosen(arguments: list[str]) -> list[Path]:
    every = sorted(FOLDER.glob("*.ipynb"))
    if not arguments:
        return every
    chosen = []
    for argument in arguments:
        found = [p for p in every if p.name == argument or p.name.startswith(argument.rstrip("_") + "_")]
        if len(found) != 1:
            raise SystemExit(
                f"execute.py: {argument!r} names {len(found)} notebooks in {FOLDER.name}/; "
                "give a number or a name"
            )
        chosen += found
    return chosen


def _write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename: never a half-written notebook."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main(arguments: list[str]) -> int:
    import nbclient
    import nbformat

    failed = []
    for path in _chosen(arguments):
        start = time.perf_counter()
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata["kernelspec"] = dict(KERNELSPEC)
        client = nbclient.NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(FOLDER)}}
        )
        try:
            client.execute()
        except Exception as exc:  # report it, keep the stored notebook, go on with the others
            failed.append(path.name)
            print(f"{path.name}: FAILED, left unchanged: {type(exc).__name__}: {str(exc)[-500:]}", flush=True)
            continue
        notebook.metadata["kernelspec"] = dict(KERNELSPEC)
        _write_atomically(path, nbformat.writes(notebook) + "\n")
        print(f"{path.name}: executed in {time.perf_counter() - start:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
