"""The README's Python example runs as written, in a fresh interpreter, as a user would run it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import smooth_photo
from darkroom.io import read_image, write_image

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has no Python example"
    write_image(tmp_path / "dark.jpg", smooth_photo(400, 600) * 0.3)
    script = "\n".join(blocks) + "\nprint(out.shape, type(model).__name__)\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("(400, 600, 3) Lumen")
    assert read_image(tmp_path / "out" / "dark.jpg").shape == (400, 600, 3)
