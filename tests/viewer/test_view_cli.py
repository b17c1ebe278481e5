"""``gina3d view``: one-line errors with exit 2, the printed URL, --once, Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import pytest

from gina3d.cli.main import main as gina3d_main
from gina3d.cli.view import main

pytest.importorskip("viser")


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "nothing to show"),
        (["--data", "/nonexistent/ds"], "--data /nonexistent/ds: no such directory"),
        (["--assets", "/nonexistent/a", "--port", "0"], "no such directory"),
        (["--data", "{data}", "--port", "70000"], "--port must be in 0..65535"),
        (["--data", "{data}", "--live-size", "2"], "--live-size"),
        (["--data", "{data}", "--serve-seconds", "0"], "--serve-seconds must be positive"),
        (["--data", "{tmp}"], "not a gina3d dataset (no manifest.json)"),
        (["--port", "eighty"], "invalid int value"),
        (["--data", "{data}", "--export", "stl"], "--export"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, view_data, tmp_path, capsys):
    argv = [a.format(data=view_data, tmp=tmp_path) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1, err


def test_serves_prints_url_and_stops(view_data, capsys):
    assert main(["--data", str(view_data), "--port", "0", "--serve-seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "gina3d view: dataset at http://127.0.0.1:" in out


def test_once_without_a_browser_exits_1(view_runs, capsys):
    argv = ["--run", str(view_runs.stage2), "--port", "0", "--once", "--serve-seconds", "0.3"]
    assert main(argv) == 1
    assert "no browser connected" in capsys.readouterr().err


def test_registered_verb(capsys):
    with pytest.raises(SystemExit) as e:
        gina3d_main(["view", "--help"])
    assert e.value.code == 0
    assert "--host" in capsys.readouterr().out
    gina3d_main(["--help"])
    assert "view" in capsys.readouterr().out


def test_ctrl_c_stops_cleanly(view_data):
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gina3d.cli.view", "--data", str(view_data), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = ""
        deadline = time.monotonic() + 60
        while "http://" not in line and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                break
        assert "http://127.0.0.1:" in line, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = proc.stderr.read()
    assert code == 0, err
    assert "stopped" in err and "Traceback" not in err
