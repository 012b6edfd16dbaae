"""``seqlab serve``: a run (or an ONNX export folder) over HTTP with FastAPI + uvicorn
(the optional extra ``seqlab[serve]``), on onnxruntime (``seqlab[export]``).

    app.py        the endpoints (/predict, /generate, /health, /metadata) and their limits
    batching.py   dynamic batching of concurrent requests by length bucket

    >>> from seqlab.serve import Limits
    >>> Limits().max_items
    64
"""
from __future__ import annotations

from pathlib import Path

from seqlab.errors import SeqlabError
from seqlab.serve.app import Limits, make_app


def load_client(path):
    """A ``Client`` for an ONNX export folder, or for a run folder (exported first, to
    RUN/export/onnx)."""
    try:
        from seqlab.export.client import Client
        import onnxruntime  # noqa: F401
    except ImportError:
        raise SeqlabError("serving needs onnxruntime: pip install 'seqlab[export,serve]'.") \
            from None
    path = Path(path)
    if not (path / "metadata.json").is_file():
        from seqlab.export import export_run
        path = export_run(path, "onnx")
    return Client(path)


def serve(run, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits()) -> None:
    """Serve ``run`` on http://host:port until interrupted (loopback unless told)."""
    try:
        import uvicorn
    except ImportError:
        raise SeqlabError("seqlab serve needs FastAPI and uvicorn: pip install "
                          "'seqlab[export,serve]'.") from None
    app = make_app(load_client(run), limits)
    print(f"serving {run} on http://{host}:{port} (POST /predict, POST /generate, "
          f"GET /health, GET /metadata)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


__all__ = ["serve", "make_app", "Limits", "load_client"]
