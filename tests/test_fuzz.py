"""Property/fuzz tests over the parsers that read untrusted bytes: image decoding, ZIP reading and
config parsing.  Whatever the bytes, each either succeeds or raises its own clear error type that
names the input; nothing else escapes.  Run longer with ``HYPOTHESIS_PROFILE=long``."""

import io as pyio
import os
import zipfile

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from darkroom.checkpoint import CheckpointError, read_card
from darkroom.data import DataError, read_zip_members
from darkroom.io import ImageError, read_image
from darkroom.train import TrainConfig

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _seed_files() -> list[bytes]:
    arr = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    out = []
    for fmt in ("PNG", "JPEG", "TIFF", "BMP", "WEBP"):
        buf = pyio.BytesIO()
        Image.fromarray(arr).save(buf, format=fmt)
        out.append(buf.getvalue())
    return out


SEEDS = _seed_files()


@st.composite
def mutated_image(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        i = draw(st.integers(0, len(data) - 1))
        data[i] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut])


@given(mutated_image())
def test_image_decoding_either_works_or_raises_image_error(data):
    try:
        out = read_image(data, name="fuzz.img", max_pixels=10_000)
    except ImageError as e:
        assert str(e).startswith("fuzz.img: ")
    else:
        assert out.ndim == 3 and out.shape[2] == 3 and out.dtype == np.float32
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


@given(st.binary(max_size=2000))
def test_random_bytes_are_refused_cleanly(data):
    try:
        read_image(data, name="noise.bin", max_pixels=10_000)
    except ImageError as e:
        assert "noise.bin" in str(e)


@st.composite
def zip_bytes(draw) -> bytes:
    buf = pyio.BytesIO()
    names = st.text(alphabet=st.sampled_from("ab/.\\:.._-"), min_size=1, max_size=12)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in draw(st.lists(names, max_size=4)):
            zf.writestr(name + ".png", draw(st.sampled_from(SEEDS + [b"", b"junk"])))
    data = bytearray(buf.getvalue())
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(zip_bytes())
def test_zip_reading_either_works_or_raises_data_error(tmp_path, data):
    path = tmp_path / "fuzz.zip"
    path.write_bytes(data)
    try:
        members = read_zip_members(path)
    except DataError as e:
        assert "fuzz.zip" in str(e)
    else:
        for name, _ in members:
            assert not name.startswith("/") and ".." not in name.replace("\\", "/").split("/")


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_config_parsing_either_works_or_raises_value_error(tmp_path, text):
    path = tmp_path / "fuzz.yaml"
    path.write_text(text)
    try:
        TrainConfig.from_file(path)
    except (ValueError, TypeError) as e:
        assert "fuzz.yaml" in str(e) or "unknown setting" in str(e) or isinstance(e, TypeError)


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_model_card_parsing_either_works_or_raises_checkpoint_error(tmp_path, text):
    path = tmp_path / "card.json"
    path.write_text(text)
    try:
        card = read_card(path)
    except CheckpointError as e:
        assert "card.json" in str(e)
    else:
        assert isinstance(card["config"], dict)
