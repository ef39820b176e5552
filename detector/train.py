"""`python -m detector.train`: the same as `intro-daemon train` (detector.training.command)."""

from detector.training.command import main

if __name__ == "__main__":
    raise SystemExit(main())
