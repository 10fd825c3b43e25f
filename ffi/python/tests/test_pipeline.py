"""channel_name: what a pipeline stage reads to find its channels."""
import pytest

import shmpipe


def test_channel_name_reads_the_variable_the_runner_sets():
    assert shmpipe.channel_name("ticks", {"SHMPIPE_CHANNEL_TICKS": "demo-42-ticks"}) == "demo-42-ticks"
    assert shmpipe.channel_name("raw_ticks", {"SHMPIPE_CHANNEL_RAW_TICKS": "x"}) == "x"


def test_channel_name_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHMPIPE_CHANNEL_RESULTS", "p-1-results")
    assert shmpipe.channel_name("results") == "p-1-results"


def test_a_missing_channel_is_an_error_naming_the_variable():
    with pytest.raises(KeyError) as caught:
        shmpipe.channel_name("ticks", {})
    assert "SHMPIPE_CHANNEL_TICKS is not set" in str(caught.value)
    assert 'channel "ticks"' in str(caught.value)
