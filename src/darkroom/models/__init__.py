"""Architectures, one file each, behind a registry (see :mod:`darkroom.models.registry`)."""

# each import registers its architectures
from . import dense_ae, dncnn, llcnn, lumen, residual_cnn, resnet16, skipnet, zero_dce  # noqa: F401
from .registry import ModelSpec, create_model, find_spec, full_config, get_spec, list_models, register

__all__ = ["ModelSpec", "create_model", "find_spec", "full_config", "get_spec", "list_models", "register"]
