"""The shipped checkpoints: what they say they are, and that they load with weights_only=True."""

import pytest

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
