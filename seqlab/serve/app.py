"""The HTTP API of ``seqlab serve``: a FastAPI app around an ONNX export's ``Client``.

    GET  /health     {"status": "ok"}
    GET  /metadata   task, labels (classes / tags), the graphs' inputs, the limits
    POST /predict    {"inputs": [...]} -> {"outputs": [...]}: classify (texts or series),
                     tag (sentences), forecast (histories), seq2seq (sources)
    POST /generate   {"prompt": "...", "max_tokens": 50} -> streamed JSON lines, one
                     {"token": ...} per generated token, then {"text": ...} (greedy)

Requests are bounded (``Limits``); a bad request gets a 4xx whose body is
``{"error": "one sentence"}``. Items of concurrent /predict requests run together
(``Batcher``), grouped by length.
"""

import json
from dataclasses import asdict, dataclass

from seqlab.serve.batching import Batcher


@dataclass
class Limits:
    max_items: int = 64          # inputs in one /predict request
    max_length: int = 512        # tokens / characters / values of one input
    max_tokens: int = 256        # tokens one /generate request may ask for
    max_body: int = 1 << 20      # bytes of a request body
    max_batch: int = 64          # items run together (1: one at a time)
    max_wait_ms: float = 5.0     # how long an item waits for others


class BadRequest(Exception):
    """A client mistake: (HTTP status, one sentence)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


def _check_input(client, x, i: int, limits: Limits):
    """One /predict input, validated for the run's task; returns it normalised."""
    task, meta = client.task, client.meta
    where = f"inputs[{i}]"
    if task in ("seq2seq",) or (task == "classify" and meta["text"]) or task == "tag":
        if task == "tag" and isinstance(x, list):
            if not x or not all(isinstance(w, str) and w for w in x):
                raise BadRequest(422, f"{where} must be a sentence: a string or a non-empty "
                                      f"list of words.")
            x = " ".join(x)
        if not isinstance(x, str) or not x.strip():
            raise BadRequest(422, f"{where} must be a non-empty string, got "
                                  f"{type(x).__name__}.")
        if len(x) > limits.max_length:
            raise BadRequest(413, f"{where} has {len(x)} characters; the limit is "
                                  f"{limits.max_length}.")
        return x
    if not isinstance(x, list) or not x or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v == v
            and abs(v) != float("inf") for v in x):
        raise BadRequest(422, f"{where} must be a non-empty list of finite numbers.")
    if len(x) > limits.max_length:
        raise BadRequest(413, f"{where} has {len(x)} values; the limit is "
                              f"{limits.max_length}.")
    if task == "forecast":
        need = meta["window"] + (meta["period"] if meta["difference"] else 0)
        if len(x) < need:
            raise BadRequest(422, f"{where} has {len(x)} values; a forecast needs at "
                                  f"least {need} (window + season).")
        if meta["log"] and min(x) <= 0:
            raise BadRequest(422, f"{where} has values <= 0; this run forecasts the log.")
    return x


def _length(x) -> int:
    return len(x.split()) if isinstance(x, str) else len(x)


def make_app(client, limits: Limits = Limits()):
    """The FastAPI app serving ``client`` (a ``seqlab.export.client.Client``)."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, StreamingResponse
    from starlette.exceptions import HTTPException

    app = FastAPI(title="seqlab serve", docs_url=None, redoc_url=None)
    batcher = Batcher(client.predict, max_batch=limits.max_batch,
                      max_wait=limits.max_wait_ms / 1000,
                      bucket=lambda x: min(_length(x) // 16, 32))
    app.state.batcher = batcher

    def error(status: int, reason: str):
        return JSONResponse({"error": reason}, status_code=status)

    @app.exception_handler(BadRequest)
    async def _bad(request, err: BadRequest):
        return error(err.status, err.reason)

    @app.exception_handler(HTTPException)
    async def _http(request, err: HTTPException):
        reason = {404: "no such endpoint; see GET /metadata.",
                  405: "method not allowed on this endpoint."}.get(err.status_code,
                                                                   str(err.detail))
        return error(err.status_code, reason)

    @app.exception_handler(Exception)
    async def _failed(request, err: Exception):  # a server fault: one line, no traceback
        first = (str(err).splitlines() or [type(err).__name__])[0][:200]
        return error(500, f"the model failed on this request ({type(err).__name__}: {first}).")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, err):
        return error(422, "the request does not match the endpoint's parameters.")

    async def body(request: Request) -> dict:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > limits.max_body:
            raise BadRequest(413, f"the body has {size} bytes; the limit is "
                                  f"{limits.max_body}.")
        raw = await request.body()
        if len(raw) > limits.max_body:
            raise BadRequest(413, f"the body is over {limits.max_body} bytes.")
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise BadRequest(400, "the body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise BadRequest(422, "the body must be a JSON object.")
        return data

    @app.get("/health")
    async def health():
        return {"status": "ok"}

    @app.get("/metadata")
    async def metadata():
        m = client.meta
        labels = m.get("classes") or m.get("tags")
        return {"task": client.task, "labels": labels,
                "inputs": {name: g["inputs"] for name, g in m["graphs"].items()},
                "limits": asdict(limits), "run": m.get("run")}

    @app.post("/predict")
    async def predict(request: Request):
        if client.task == "generate":
            raise BadRequest(400, "this run is a language model: use POST /generate.")
        data = await body(request)
        inputs = data.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            raise BadRequest(422, 'the body needs "inputs": a non-empty list.')
        if len(inputs) > limits.max_items:
            raise BadRequest(413, f"{len(inputs)} inputs in one request; the limit is "
                                  f"{limits.max_items}.")
        inputs = [_check_input(client, x, i, limits) for i, x in enumerate(inputs)]
        outputs = await batcher.submit(inputs)
        return {"outputs": outputs}

    @app.post("/generate")
    async def generate(request: Request):
        if client.task != "generate":
            raise BadRequest(400, f"this run is a {client.task} model: use POST /predict.")
        data = await body(request)
        prompt, n = data.get("prompt"), data.get("max_tokens", 50)
        if not isinstance(prompt, str) or not prompt:
            raise BadRequest(422, '"prompt" must be a non-empty string.')
        if len(prompt) > limits.max_length:
            raise BadRequest(413, f"the prompt has {len(prompt)} characters; the limit is "
                                  f"{limits.max_length}.")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= limits.max_tokens:
            raise BadRequest(422, f'"max_tokens" must be an integer from 1 to '
                                  f'{limits.max_tokens}, got {n!r}.')
        tok = client.tokenizers["tokenizer"]
        ids = tok.encode(prompt)
        if not ids:
            raise BadRequest(422, "the prompt has no token the model knows.")

        def lines():
            import queue
            import threading
            q: queue.Queue = queue.Queue()
            worker = threading.Thread(
                target=lambda: (client.generate_ids(ids, n, stream=q.put), q.put(None)),
                daemon=True)
            worker.start()
            out = []
            while (i := q.get()) is not None:
                out.append(i)
                yield json.dumps({"token": tok.decode([i])}) + "\n"
            yield json.dumps({"text": tok.decode(ids + out)}) + "\n"

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    return app


__all__ = ["make_app", "Limits", "BadRequest"]
