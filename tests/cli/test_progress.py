"""One progress style: a bar on a terminal, periodic plain lines in a log file, nothing when off."""

from __future__ import annotations

import io

from rl_framework.cli.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_plain_lines_at_the_start_periodically_and_at_the_end(monkeypatch):
    monkeypatch.setenv("RL_FRAMEWORK_PROGRESS_INTERVAL", "0")
    log = io.StringIO()
    with Progress("Training", 100, "steps", stream=log) as progress:
        for done in (10, 50, 50, 20, 120):  # repeats and regressions are ignored, overshoot is capped
            progress.update_to(done)
    lines = log.getvalue().splitlines()
    assert [line.split("|")[0].split("[")[0].strip() for line in lines] == [
        "Training:   0% 0/100 steps",
        "Training:  10% 10/100 steps",
        "Training:  50% 50/100 steps",
        "Training: 100% 100/100 steps",
        "Training: 100% 100/100 steps",
    ]
    assert "\r" not in log.getvalue()


def test_lines_wait_for_the_interval(monkeypatch):
    monkeypatch.setenv("RL_FRAMEWORK_PROGRESS_INTERVAL", "3600")
    log = io.StringIO()
    with Progress("Evaluating", 10, "episodes", stream=log) as progress:
        for _ in range(10):
            progress.advance()
    assert len(log.getvalue().splitlines()) == 2  # the start and the end only


def test_a_terminal_gets_a_bar_and_off_writes_nothing():
    terminal = Terminal()
    with Progress("Recording", 5, "steps", stream=terminal) as progress:
        progress.advance(5)
    assert "\r" in terminal.getvalue() and "Recording: 100%|" in terminal.getvalue()
    silent = Terminal()
    with Progress("Recording", 5, "steps", mode="off", stream=silent) as progress:
        progress.advance(5)
    assert silent.getvalue() == ""


def test_an_interrupted_step_does_not_claim_completion(monkeypatch):
    monkeypatch.setenv("RL_FRAMEWORK_PROGRESS_INTERVAL", "3600")
    log = io.StringIO()
    try:
        with Progress("Training", 100, "steps", stream=log) as progress:
            progress.update_to(30)
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert log.getvalue().splitlines()[-1].startswith("Training:  30% 30/100 steps")
