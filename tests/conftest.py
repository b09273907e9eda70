"""Shared fixtures: small synthetic photos made on the fly (tests ship no data of their own)."""

from __future__ import annotations

import numpy as np
import pytest


def smooth_photo(h: int = 64, w: int = 80, seed: int = 0) -> np.ndarray:
    """A smooth, photo-like float32 RGB image in [0, 1] with gradients and a bright blob."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 7 + yy / 11)], axis=2)
    blob = np.exp(-(((xx - w * 0.7) ** 2 + (yy - h * 0.3) ** 2) / (0.02 * h * w)))[:, :, None]
    img = 0.15 + 0.6 * base + 0.25 * blob + 0.02 * rng.standard_normal((h, w, 3))
    return np.clip(img, 0, 1).astype(np.float32)


def graded_scene(
    seed: int = 0, size: int = 128, low: float = 0.05, high: float = 0.6, noise: float = 0.02
) -> np.ndarray:
    """A square float32 RGB photo whose brightness runs from ``low`` to ``high`` across its width, with
    Gaussian texture of std ``noise``, clipped to [0, 1]: one brightness per column, for the exposure guards."""
    rng = np.random.default_rng(seed)
    base = np.linspace(low, high, size, dtype=np.float32)[None, :, None] * np.ones((size, 1, 3), np.float32)
    return np.clip(base + rng.normal(0, noise, (size, size, 3)).astype(np.float32), 0, 1)


def luminance(x: np.ndarray) -> np.ndarray:
    """Rec. 601 luminance of ``(..., 3)``."""
    from darkroom.exposure import REC601

    return x @ np.array(REC601, np.float32)


@pytest.fixture
def photo() -> np.ndarray:
    return smooth_photo()


@pytest.fixture(autouse=True, scope="session")
def _private_onnx_cache(tmp_path_factory):
    """Models exported for ONNX Runtime during the tests go to a temporary folder, not ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DARKROOM_CACHE", str(tmp_path_factory.mktemp("onnx-cache")))
        yield


def load_benchmark(name: str):
    """The module of ``benchmarks/NAME.py``, loaded from its file (the benchmarks are scripts, not a package
    the tests import)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(name, Path(__file__).parent.parent / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
