"""``darkroom demo``: the main job on the bundled photo.

The bundled photo is darkened and made noisy with the ``lowlight`` preset (seeded), restored by
the flagship, and a reference / input / restored picture is written with PSNR and SSIM.
"""

from __future__ import annotations

from pathlib import Path

ASSET = Path(__file__).parent / "assets" / "coffee.png"


def run_demo(
    out_dir: str | Path = "demo-output", *, model: str = "lumen", preset: str = "lowlight", seed: int = 0
) -> dict:
    """Write ``input.png``, ``restored.png`` and ``comparison.png`` into ``out_dir``; returns scores."""
    from .degrade import apply_preset
    from .engine import enhance
    from .io import read_image, write_image
    from .metrics import psnr, ssim
    from .viz import comparison_grid

    out_dir = Path(out_dir)
    clean = read_image(ASSET)
    degraded = apply_preset(clean, preset, rng=seed)
    restored = enhance(degraded, model)
    scores = {
        "input_psnr": psnr(degraded, clean),
        "input_ssim": ssim(degraded, clean),
        "restored_psnr": psnr(restored, clean),
        "restored_ssim": ssim(restored, clean),
    }
    write_image(out_dir / "input.png", degraded)
    write_image(out_dir / "restored.png", restored)
    comparison_grid(
        [[degraded, restored, clean]],
        out_dir / "comparison.png",
        column_titles=[f"input ({preset})", f"restored by {model}", "reference"],
        captions=[
            [
                f"{scores['input_psnr']:.2f} dB / SSIM {scores['input_ssim']:.3f}",
                f"{scores['restored_psnr']:.2f} dB / SSIM {scores['restored_ssim']:.3f}",
                "",
            ]
        ],
        tile_width=4.0,
    )
    return scores
