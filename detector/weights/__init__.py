"""The shipped weights, by name. A module without torch, so that the command line can list them cheaply."""

from pathlib import Path

WEIGHTS_DIR = Path(__file__).parent
# The seed design alone, and the seed network fused with cross-episode repetition (season context).
MODELS = {"seed": WEIGHTS_DIR / "seed.pt", "season": WEIGHTS_DIR / "season.pt"}
DEFAULT_MODEL = "season"  # the more accurate of the two on held-out shows; "seed" stays selectable
