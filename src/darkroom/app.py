"""The web app and REST API: upload, enhance (optionally a region), compare, download.

One FastAPI server, localhost by default, nothing fetched from the internet (the page is
self-contained: no CDN, no analytics, no update checks).  Enhancements run one at a time in a
worker thread; up to ``queue_size`` requests wait their turn, and beyond that the server answers
``503`` with a ``Retry-After`` header instead of dropping or overloading.

REST:
    ``POST /api/enhance``  multipart ``file`` (+ ``model``, ``roi`` "X,Y,W,H", ``format``,
                           ``exposure`` "auto" or "keep", ``ensemble`` "auto", 1, 2, 4 or 8) -> the image
    ``POST /api/jobs``     same fields -> ``{"id"}``; ``GET /api/jobs/{id}`` -> status, progress and advice
                           (a note such as "this looks low-key and was brightened", or null);
    ``GET /api/jobs/{id}/result`` -> the image; ``GET /api/jobs/{id}/preview/{before|after}`` -> PNG
    ``POST /api/preview``  multipart ``file`` -> a PNG preview (for formats browsers cannot show)
    ``GET /api/models``, ``GET /health``
"""

from __future__ import annotations

import io as _io
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from fastapi import Depends, FastAPI, File, Form, HTTPException, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".tiff": "image/tiff"}
PREVIEW_SIDE = 1600


@dataclass
class Job:
    """One enhancement request and what became of it."""

    id: str
    filename: str
    status: str = "queued"  # queued -> running -> done | failed
    progress: float = 0.0
    error: str | None = None
    advice: str | None = None  # a note for the person (darkroom.advice), once done
    result: bytes | None = None
    suffix: str = ".png"
    before: np.ndarray | None = None
    after: np.ndarray | None = None
    created: float = field(default_factory=time.time)


class Busy(Exception):
    """The queue is full; the client should retry later."""


class JobQueue:
    """A single worker thread with a bounded number of waiting jobs; finished jobs are kept
    for ``keep_seconds`` (at most ``keep`` of them) so their results can be downloaded."""

    def __init__(self, queue_size: int, keep: int = 32, keep_seconds: float = 3600) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="darkroom-enhance")
        self.slots = threading.BoundedSemaphore(queue_size + 1)
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.keep, self.keep_seconds = keep, keep_seconds

    def pending(self) -> int:
        with self.lock:
            return sum(j.status in ("queued", "running") for j in self.jobs.values())

    def submit(self, job: Job, work) -> Job:
        if not self.slots.acquire(blocking=False):
            raise Busy()
        with self.lock:
            self._forget_old()
            self.jobs[job.id] = job

        def run() -> None:
            job.status = "running"
            try:
                work(job)
                job.status, job.progress = "done", 1.0
            except Exception as e:  # reported to the client, never crashes the worker
                job.status, job.error = "failed", str(e)
            finally:
                self.slots.release()

        self.pool.submit(run)
        return job

    def _forget_old(self) -> None:
        done = sorted((j for j in self.jobs.values() if j.status in ("done", "failed")), key=lambda j: j.created)
        now = time.time()
        for j in done[: max(0, len(done) - self.keep)] + [j for j in done if now - j.created > self.keep_seconds]:
            self.jobs.pop(j.id, None)


def _preview_png(arr: np.ndarray) -> bytes:
    from PIL import Image

    from .io import to_uint

    img = Image.fromarray(to_uint(arr, 8))
    img.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    buf = _io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def create_app(
    *,
    max_upload_mb: float = 50,
    max_pixels: int = 50_000_000,
    queue_size: int = 8,
    models: list[str] | None = None,
    weights_dir: Path | None = None,
):
    """Build the FastAPI app (see the module docstring).  ``models`` limits which shipped
    models may be asked for (default: all in ``weights_dir``, the package's own by default);
    clients name models, never paths."""
    from .advice import keep_exposure_advice
    from .checkpoint import WEIGHTS_DIR, read_card
    from .engine import ENSEMBLE_CHOICES, EXPOSURES, enhance, load_enhancer, parse_roi
    from .io import ImageError, encode_image, output_suffix, read_image_with_info

    weights_dir = Path(weights_dir or WEIGHTS_DIR)
    shipped = {p.stem: read_card(p.with_suffix(".json")) for p in sorted(weights_dir.glob("*.safetensors"))}
    allowed = [m for m in (models or list(shipped)) if m in shipped and read_card_kind(shipped[m]) == "image"]
    default_model = "lumen" if "lumen" in allowed else (allowed[0] if allowed else "lumen")
    limit = int(max_upload_mb * 2**20)
    queue = JobQueue(queue_size)
    app = FastAPI(title="darkroom", docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json")

    async def read_upload(file: UploadFile) -> bytes:
        data = await file.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(413, f"{file.filename}: upload is over the {max_upload_mb:g} MB limit")
        if not data:
            raise HTTPException(400, f"{file.filename}: empty upload")
        return data

    def decode(data: bytes, name: str):
        try:
            return read_image_with_info(data, name=name, max_pixels=max_pixels)
        except ImageError as e:
            raise HTTPException(400, str(e)) from None

    def make_job(
        data: bytes,
        name: str,
        model: str,
        roi: str | None,
        fmt: str | None,
        exposure: str = "auto",
        ensemble: str = "auto",
    ) -> tuple[Job, callable]:
        if model not in allowed:
            raise HTTPException(400, f"unknown model {model!r}; choose from {', '.join(allowed) or 'none shipped'}")
        if exposure not in EXPOSURES:
            raise HTTPException(400, f"unknown exposure {exposure!r}; choose from {', '.join(EXPOSURES)}")
        if ensemble not in ENSEMBLE_CHOICES:
            raise HTTPException(400, f"unknown ensemble {ensemble!r}; choose from {', '.join(ENSEMBLE_CHOICES)}")
        try:
            region = parse_roi(roi) if roi else None
            suffix = output_suffix(fmt) if fmt else _default_suffix(name)
        except ValueError as e:
            raise HTTPException(400, str(e)) from None
        image, info = decode(data, name)
        job = Job(uuid.uuid4().hex, name, suffix=suffix)

        def work(job: Job) -> None:
            enhancer = load_enhancer(str(weights_dir / f"{model}.safetensors"))
            out = enhance(
                image,
                enhancer,
                roi=region,
                exposure=exposure,
                ensemble=ensemble,
                progress=lambda d, t: setattr(job, "progress", 0.95 * d / t),
            )
            depth = 16 if info.bit_depth == 16 and suffix in (".png", ".tiff") else 8
            job.result = encode_image(out, suffix, bit_depth=depth, exif=info.exif, icc_profile=info.icc_profile)
            job.before, job.after = image, out
            if exposure == "auto":
                job.advice = keep_exposure_advice(name, image, out, 'Exposure: "keep as it is"')

        return job, work

    def submit(job: Job, work) -> Job:
        try:
            return queue.submit(job, work)
        except Busy:
            raise HTTPException(
                503, "busy: the queue is full, try again shortly", headers={"Retry-After": "5"}
            ) from None

    def download_name(job: Job) -> str:
        return f"{Path(job.filename).stem or 'image'}-enhanced{job.suffix}"

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "pending": queue.pending(), "queue_size": queue_size, "models": allowed}

    @app.get("/api/models")
    def list_models() -> list[dict]:
        return [
            {"name": n, "arch": shipped[n]["arch"], "default": n == default_model, **shipped[n]["card"]}
            for n in allowed
        ]

    async def queue_upload(
        file: UploadFile = File(...),
        model: str = Form(default_model),
        roi: str | None = Form(None),
        format: str | None = Form(None),
        exposure: str = Form("auto"),
        ensemble: str = Form("auto"),
    ) -> Job:
        """The uploaded photo and its form fields, checked, decoded and queued as a job (shared by
        both enhance endpoints as a FastAPI dependency)."""
        job, work = await run_in_threadpool(
            make_job, await read_upload(file), file.filename or "upload", model, roi, format, exposure, ensemble
        )  # decoding a large photo must not block the event loop
        return submit(job, work)

    @app.post("/api/enhance")
    async def enhance_now(job: Job = Depends(queue_upload)):
        import asyncio

        while job.status in ("queued", "running"):
            await asyncio.sleep(0.05)
        if job.status == "failed":
            raise HTTPException(500, f"{job.filename}: {job.error}")
        return Response(
            job.result,
            media_type=MEDIA_TYPES[job.suffix],
            headers={"Content-Disposition": f'attachment; filename="{download_name(job)}"'},
        )

    @app.post("/api/jobs", status_code=202)
    async def create_job(job: Job = Depends(queue_upload)) -> dict:
        return {"id": job.id}

    def get_job(job_id: str) -> Job:
        job = queue.jobs.get(job_id)
        if job is None:
            raise HTTPException(404, "no such job (finished jobs are kept for an hour)")
        return job

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str) -> dict:
        j = get_job(job_id)
        return {
            "id": j.id,
            "status": j.status,
            "progress": round(j.progress, 3),
            "error": j.error,
            "advice": j.advice,
            "filename": download_name(j),
        }

    @app.get("/api/jobs/{job_id}/result")
    def job_result(job_id: str):
        j = get_job(job_id)
        if j.status != "done":
            raise HTTPException(409, f"job is {j.status}")
        return Response(
            j.result,
            media_type=MEDIA_TYPES[j.suffix],
            headers={"Content-Disposition": f'attachment; filename="{download_name(j)}"'},
        )

    @app.get("/api/jobs/{job_id}/preview/{which}")
    def job_preview(job_id: str, which: str):
        j = get_job(job_id)
        if which not in ("before", "after") or j.status != "done":
            raise HTTPException(404, "preview not available")
        return Response(_preview_png(j.before if which == "before" else j.after), media_type="image/png")

    @app.post("/api/preview")
    async def preview(file: UploadFile = File(...)):
        image, _ = decode(await read_upload(file), file.filename or "upload")
        h, w = image.shape[:2]
        return Response(
            _preview_png(image), media_type="image/png", headers={"X-Image-Width": str(w), "X-Image-Height": str(h)}
        )

    @app.get("/")
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    app.state.queue = queue
    return app


def read_card_kind(card: dict) -> str:
    from .models import get_spec

    return get_spec(card["arch"]).kind


def _default_suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    return (
        {".jpeg": ".jpg", ".tif": ".tiff"}.get(suffix, suffix)
        if suffix in (".png", ".jpg", ".jpeg", ".tif", ".tiff")
        else ".png"
    )


def serve(host: str = "127.0.0.1", port: int = 8000, **kwargs) -> None:
    """Run the app with uvicorn (blocking)."""
    import uvicorn

    uvicorn.run(create_app(**kwargs), host=host, port=port, log_level="info")
