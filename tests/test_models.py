import pytest
import torch

from darkroom.models import create_model, get_spec, list_models
from darkroom.models.vgg19 import PerceptualLoss, VGG19Features, load_vgg19_features
from darkroom.models.zero_dce import zero_reference_loss

IMAGE_MODELS = [n for n in list_models() if get_spec(n).kind == "image"]
EXPECTED = {"residual-cnn", "resnet16", "skipnet", "llcnn", "dense-ae", "dncnn", "zero-dce", "lumen"}


def test_every_original_system_and_the_flagship_are_registered():
    assert EXPECTED <= set(list_models())


@pytest.mark.parametrize("name", IMAGE_MODELS)
@pytest.mark.parametrize("size", [(17, 23), (32, 32), (45, 70)])
def test_image_models_keep_shape_for_any_size(name, size):
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        y = model(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["residual-cnn", "skipnet", "llcnn", "resnet16", "zero-dce"])
def test_bounded_models_output_in_0_1(name):
    with torch.no_grad():
        y = create_model(name).eval()(torch.rand(1, 3, 24, 24) * 3 - 1)
    assert float(y.min()) >= 0 and float(y.max()) <= 1


def test_lumen_starts_near_identity_and_stays_under_its_flop_budget():
    from torch.utils.flop_counter import FlopCounterMode

    model = create_model("lumen").eval()
    x = torch.rand(1, 3, 256, 256)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    gflop_per_mp = counter.get_total_flops() / 1e9 / (256 * 256 / 1e6)
    assert gflop_per_mp <= 110
    assert sum(p.numel() for p in model.parameters()) < 5e6  # fits 10 MB shipped as float16


def test_lumen_full_resolution_tail_starts_as_a_no_op_and_then_learns():
    """``refine`` adds a tail whose last layer starts at zero: stage 3's weights loaded into the
    bigger network give stage 3's output exactly, and one optimiser step moves the tail."""
    torch.manual_seed(0)
    small = dict(width=8, enc_blocks=[1], mid_blocks=1, dec_blocks=[1])
    body = create_model("lumen", **small, refine=0).eval()
    grown = create_model("lumen", **small, refine=4).eval()
    missing, unexpected = grown.load_state_dict(body.state_dict(), strict=False)
    assert not unexpected and missing and all(k.startswith("refine.") for k in missing)
    x = torch.rand(1, 3, 40, 56)
    with torch.no_grad():
        assert torch.equal(grown(x), body(x))
    optimiser = torch.optim.SGD(grown.refine.parameters(), lr=0.1)
    grown(x).sub(x.flip(-1)).abs().mean().backward()
    optimiser.step()
    with torch.no_grad():
        assert not torch.equal(grown(x), body(x))


def test_lumen_block_exports_the_same_arithmetic():
    """Under ONNX export a gated block takes its rearranged path (norm scales folded into the
    convolutions, gate halves made apart); with every weight awake, both paths agree."""
    from unittest import mock

    from darkroom.models.lumen import GatedBlock

    torch.manual_seed(0)
    block = GatedBlock(12).eval()
    for p in block.parameters():
        torch.nn.init.normal_(p, std=0.5)
    x = torch.randn(2, 12, 9, 7) * 3 + 1
    with torch.no_grad():
        eager = block(x)
        with mock.patch("torch.onnx.is_in_onnx_export", return_value=True):
            exported = block(x)
    assert (eager - x).abs().max() > 1  # the block does something, so agreeing is not trivial
    assert torch.allclose(eager, exported, atol=1e-4)


def test_lumen_is_local_a_far_change_does_not_move_a_pixel():
    """No global pooling: with the exposure cue held fixed (the engine computes it once per
    photo), a change 300 px away leaves the output there unchanged."""
    torch.manual_seed(0)
    model = create_model("lumen").eval()
    for p in model.parameters():  # wake the zero-initialised residual scales
        torch.nn.init.normal_(p, std=0.05) if p.dim() == 4 and p.shape[-1] == 1 else None
    x = torch.rand(1, 3, 64, 512)
    x2 = x.clone()
    x2[..., 448:] = 1
    with torch.no_grad():
        cue = torch.rand(1, 5)
        a, b = model(x, cue=cue), model(x2, cue=cue)
    assert torch.equal(a[..., :64], b[..., :64])


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_tile_overlap_covers_the_receptive_field(name):
    """The engine blends tiles over the inner FADE px of each tile's context, so the context left
    (``overlap - FADE``) must reach as far as the model sees: measured here by back-propagating
    from one output pixel, with every weight awake (zero-initialised scales set non-zero), in the
    shipped network where there is one (its config may differ from the defaults)."""
    from darkroom.checkpoint import WEIGHTS_DIR, read_card
    from darkroom.engine import FADE

    spec = get_spec(name)
    card = WEIGHTS_DIR / f"{name}.json"  # the shipped network, where there is one, else the default
    config = read_card(card)["config"] if card.exists() else {}
    torch.manual_seed(0)
    model = create_model(name, **config).eval()
    with torch.no_grad():
        for p in model.parameters():
            if not p.any():
                p.fill_(0.1)
    n = 2 * spec.overlap + 64
    x = torch.rand(1, 3, n, n, requires_grad=True)
    kwargs = {"cue": torch.rand(1, model.cue_size)} if getattr(model, "uses_cue", False) else {}
    model(x, **kwargs)[0, :, n // 2, n // 2].sum().backward()
    seen = (x.grad[0].abs().sum(0) != 0).nonzero() - n // 2
    assert 0 < int(seen.abs().max()) <= spec.overlap - FADE
    for size in (spec.tile, spec.onnx_tile, spec.overlap):
        assert size % max(1, spec.multiple) == 0


def test_dense_ae_is_784_500_300_100_mirrored():
    model = create_model("dense-ae")
    sizes = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert sizes == [500, 300, 100, 300, 500, 784]
    for layer in (m for m in model.modules() if isinstance(m, torch.nn.Linear)):  # Keras's start
        limit = (6 / (layer.in_features + layer.out_features)) ** 0.5
        largest = float(layer.weight.detach().abs().max())
        assert not layer.bias.any() and 0.9 * limit < largest <= limit
    with torch.no_grad():
        y = model(torch.rand(4, 784))
    assert y.shape == (4, 784) and 0 <= float(y.min()) and float(y.max()) <= 1


def test_dncnn_is_17_layers():
    convs = [m for m in create_model("dncnn").modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 17


def test_resnet16_has_16_weight_layers():
    convs = [m for m in create_model("resnet16").modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 16


def test_zero_dce_losses_are_finite_and_differentiable():
    model = create_model("zero-dce")
    loss = zero_reference_loss(model, torch.rand(2, 3, 32, 32) * 0.2)
    loss.backward()
    assert torch.isfinite(loss) and model.convs[0].weight.grad is not None


def test_zero_dce_smoothness_is_squared_so_small_curve_changes_are_cheap():
    """Doubling a step between two regions' curves costs four times as much (squared total
    variation, as in the authors' code), so slightly different curves for dark and bright
    regions cost almost nothing."""
    from darkroom.models.zero_dce import illumination_smoothness_loss

    def step(size: float) -> torch.Tensor:
        curves = torch.zeros(1, 24, 8, 8)
        curves[..., 4:] = size
        return illumination_smoothness_loss(curves)

    assert torch.allclose(step(0.04), 4 * step(0.02))
    assert float(step(0.02)) < 0.02


def test_unknown_model_and_option_are_clear_errors():
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        create_model("nope")
    with pytest.raises(ValueError, match="no option"):
        create_model("lumen", depth=3)


def test_vgg19_loads_a_local_state_dict_and_gives_a_perceptual_loss(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    ref = VGG19Features()
    save_file({k: v for k, v in ref.state_dict().items() if k.startswith("features.")}, tmp_path / "vgg.safetensors")
    torch.save(ref.state_dict(), tmp_path / "vgg.pth")
    for path in (tmp_path / "vgg.safetensors", tmp_path / "vgg.pth"):
        loaded = load_vgg19_features(path)
        assert all(torch.equal(loaded.state_dict()[k], v) for k, v in ref.state_dict().items())
    convs = [m for m in VGG19Features(layers=(34,)).modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 16
    loss = PerceptualLoss(loaded)
    x = torch.rand(1, 3, 32, 32)
    assert float(loss(x, x)) == 0 and float(loss(x, 1 - x)) > 0


def test_weights_saved_as_float16_load_back_as_float32_within_rounding(tmp_path):
    from safetensors.torch import load_file

    from darkroom.checkpoint import load_model, save_model

    torch.manual_seed(0)
    config = {"width": 8, "enc_blocks": [1, 1], "mid_blocks": 1, "dec_blocks": [1, 1], "unshuffle": 4}
    model = create_model("lumen", **config)
    path = save_model(tmp_path / "m.safetensors", model, "lumen", config, half=True)
    assert all(v.dtype == torch.float16 for v in load_file(str(path)).values())
    loaded, _ = load_model(path)
    for (name, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert b.dtype == torch.float32, name
        torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4)


def test_fingerprint_covers_every_module_that_fixes_lumens_outputs(monkeypatch):
    """Stored results and the ONNX cache are keyed by the fingerprint: editing the code of lumen, the
    exposure cue, the highlight guard, even gain, impulse filling or grey noise made colour must change
    it; editing an unrelated module, or only a comment or docstring, must not."""
    import inspect
    from pathlib import Path

    from darkroom import checkpoint, even_gain, exposure, grey, highlights, impulse, metrics
    from darkroom.models import lumen

    base = checkpoint.fingerprint("lumen")
    real = Path.read_bytes
    modules = [lumen, exposure, highlights, even_gain, impulse, grey]
    for module, changes in [*((m, True) for m in modules), (metrics, False)]:
        edited = Path(inspect.getfile(module))
        for edit, is_code in [(b"\nEDITED = 1\n", True), (b"\n# a comment\n", False)]:
            monkeypatch.setattr(Path, "read_bytes", lambda p, e=edited, x=edit: real(p) + (x if p == e else b""))
            assert (checkpoint.fingerprint("lumen") != base) is (changes and is_code), (module.__name__, edit)
    cue_file = Path(inspect.getfile(exposure))
    text = real(cue_file)
    redocumented = text.replace(b'"""', b'"""Reworded. ', 1)  # the module docstring, reworded
    assert redocumented != text
    monkeypatch.setattr(Path, "read_bytes", lambda p: redocumented if p == cue_file else real(p))
    assert checkpoint.fingerprint("lumen") == base
    assert get_spec("lumen").helpers == ("darkroom.exposure",)
