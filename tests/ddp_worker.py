"""Run by torchrun in test_train.py: train briefly, then save this rank's weights."""

import sys

from safetensors.torch import save_file

from darkroom.train import TrainConfig, train

cfg = TrainConfig.from_file(None, sys.argv[2:])
result = train(cfg, progress=False)
import os  # noqa: E402

save_file(
    {k: v.contiguous() for k, v in result.model.state_dict().items()},
    f"{sys.argv[1]}/rank{os.environ['RANK']}.safetensors",
)
