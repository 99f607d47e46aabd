"""Token counts with the bundled cl100k / o200k vocabularies, offline."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from learning.compress import count_tokens, token_report

OFFLINE = textwrap.dedent(
    """
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network is blocked in this test")

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse

    from learning.compress.tokens import count_tokens, _encoding
    assert _encoding("cl100k_base").encode_ordinary("Hello world") == [9906, 1917]
    print(count_tokens(["Hello world", ""], encoding="o200k_base").tolist())
    """
)


def test_the_tokenizer_loads_and_counts_with_the_network_blocked(tmp_path):
    # A fresh interpreter, so nothing is cached from this process; an empty HOME and
    # cache dirs, so no vocabulary cached on disk by another tool can stand in.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CACHE_HOME": str(tmp_path),
        "PYTHONPATH": ".",
    }
    done = subprocess.run(
        [sys.executable, "-c", OFFLINE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2, 0]"


def test_counts_are_per_item_and_special_tokens_are_plain_text():
    counts = count_tokens(["", "Hello world", "<|endoftext|>"])
    assert counts.dtype == np.int64 and counts[0] == 0 and counts[1] == 2
    assert counts[2] > 1  # not the single special token


def test_token_report_ratios():
    report = token_report(np.array([10, 30, 0]), np.array([5, 15, 0]))
    assert report["tokens_before"] == 40 and report["tokens_after"] == 20
    assert report["token_ratio"] == 0.5 and report["compression_ratio"] == 2.0
    assert report["attention_ratio"] == pytest.approx((25 + 225) / (100 + 900))
    assert list(report["item_token_ratio"]) == [0.5, 0.5, 1.0]
