"""Take docs/web-app.png: the web app after enhancing the bundled photo darkened with `lowlight`.

    .venv/bin/python docs/make_screenshot.py

Starts the server on a free loopback port with the shipped models, drives Debian's Chromium with
Playwright (no browser download), and saves a screenshot of the before/after view.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from darkroom.app import create_app
from darkroom.degrade import apply_preset
from darkroom.demo import ASSET
from darkroom.io import read_image, write_image

OUT = Path(__file__).parent / "web-app.png"


def main() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with tempfile.TemporaryDirectory() as tmp:
        photo = write_image(Path(tmp) / "dark-coffee.png", apply_preset(read_image(ASSET), "lowlight", rng=0))
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            page = browser.new_page(viewport={"width": 1280, "height": 640})
            page.goto(f"http://127.0.0.1:{port}")
            page.wait_for_selector("#model option", state="attached")
            page.set_input_files("#file", str(photo))
            page.wait_for_selector("#go:not([disabled])")
            page.click("#go")
            page.wait_for_selector("#result:not([hidden])", timeout=120_000)
            page.wait_for_function("document.getElementById('after').naturalWidth > 0")
            page.screenshot(path=str(OUT))
            browser.close()
    server.should_exit = True
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
