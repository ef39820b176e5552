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


def test_log_lines_and_crash_tracebacks_never_show_a_key():
    import subprocess
    import sys

    code = (
        "import logging, threading\n"
        "from urllib.parse import quote_plus\n"
        "from daemon import cli\n"
        "from daemon.publish.credentials import Secret\n"
        "cli._log_to_stderr(logging.DEBUG)\n"
        "key = Secret('crashKey+9Xw/4Tz').reveal()\n"
        "logging.getLogger('urllib3.connectionpool').debug('\"GET /x?token=%s HTTP/1.1\" 200', quote_plus(key))\n"
        "try:\n"
        "    int(key)\n"
        "except ValueError:\n"
        "    logging.getLogger('daemon.publish.pusher').exception('push failed unexpectedly')\n"
        "thread = threading.Thread(target=lambda: int(key))\n"
        "thread.start(); thread.join()\n"
        "raise RuntimeError(f'crash {key!r}')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 1
    assert "crashKey" not in out.stderr and "crashKey" not in out.stdout, out.stderr
    assert "token=*** HTTP/1.1" in out.stderr
    assert out.stderr.count("CRITICAL daemon.cli: crashed") == 2  # the thread, then the main thread
    assert "RuntimeError: crash '***'" in out.stderr and "ValueError: invalid literal" in out.stderr
