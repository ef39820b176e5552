"""The shipped checkpoints: what they say they are, and that they load with weights_only=True."""

import pytest
import torch

from detector.checkpoint import Checkpoint
from detector.weights import MODELS


@pytest.mark.parametrize("model", sorted(MODELS))
def test_shipped_weights_load_safely_and_say_what_they_are(model: str):
    path = MODELS[model]
    if not path.exists():
        pytest.skip(f"{path.name} is not shipped")
    assert path.stat().st_size < 25 * 2**20
    checkpoint = Checkpoint.load(path)  # weights_only=True inside
    assert checkpoint.version.startswith(model)
    assert checkpoint.intervals.eps_s > 0 and checkpoint.intervals.min_samples >= 1
    assert (checkpoint.dims.n_extra > 0) == (model == "season")
    assert checkpoint.season_rule.refine == (model == "season")  # the season rule's parameters, split from DBSCAN's


def test_a_shared_network_holds_the_checkpoints_tensors_and_scores_the_same():
    checkpoint = Checkpoint.load(MODELS["seed"])
    shared, copied = checkpoint.network(shared=True), checkpoint.network()
    weight = checkpoint.state_dict["head.weight"]
    assert shared.head.weight.data_ptr() == weight.data_ptr()  # no second copy of the weights
    assert copied.head.weight.data_ptr() != weight.data_ptr()  # training's network changes its own
    torch.manual_seed(0)
    mel, frames = torch.randn(1, 64, 30 * 50), torch.randint(0, 256, (1, 20, 72, 128, 3), dtype=torch.uint8)
    with torch.inference_mode():
        assert torch.equal(shared(mel, frames), copied(mel, frames))  # the LSTM's flat weights follow the assignment
