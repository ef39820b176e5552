"""How a detection's per-second scores are stored."""

import numpy as np

from db.scores import decode_scores, encode_scores


def test_score_encoding_is_compact_float16() -> None:
    scores = np.linspace(0, 1, 1500)
    blob = encode_scores(scores.tolist())
    assert len(blob) == 3000
    assert np.allclose(decode_scores(blob), scores, atol=1e-3)
    assert decode_scores(encode_scores([])).size == 0
