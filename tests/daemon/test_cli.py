"""The `intro-daemon` entry point: `--help` without torch, options passed on to `train`, unknown options refused."""

import pytest

from daemon.cli import main


def test_help_starts_without_torch_and_train_keeps_its_own_options():
    import subprocess
    import sys

    code = (
        "import sys, contextlib, io\n"
        "from daemon.cli import main\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    with pytest.raises(SystemExit, match=r"no truth\.json"):
        main(["train", "--corpus", "/nonexistent/corpus", "--epochs", "1"])
    with pytest.raises(SystemExit) as refused:
        main(["status", "--no-such-option"])
    assert refused.value.code == 2
