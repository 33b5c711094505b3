"""`latentlab dashboard`'s settings: the limits a room needs, and a token off loopback.

The server itself (kernels shut down, culled, capped; the token asked for) is tested in a
browser in tests/browser/test_serving_browser.py.
"""

from __future__ import annotations

import re

import pytest

from latentlab.dashboard import LANDING, dashboard_config
from latentlab.errors import LatentLabError


@pytest.mark.parametrize("host", ["0.0.0.0", "", "::", "192.168.1.20", "lab.example.org"])
def test_off_loopback_a_token_is_required_and_made_up_unless_given(host):
    config, token = dashboard_config(host=host)
    assert len(token) >= 24 and config.Voila.token == token
    assert dashboard_config(host=host)[1] != token, "a new random token each time"
    config, token = dashboard_config(host=host, token="our-class")
    assert token == "our-class" and config.Voila.token == "our-class"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "::1"])
def test_on_loopback_no_token_unless_given(host):
    config, token = dashboard_config(host=host)
    assert token == "" and config.Voila.token is None
    assert dashboard_config(host=host, token="t")[0].Voila.token == "t"


def test_limits_and_culling_reach_the_server():
    config, _ = dashboard_config(pool_size=3, max_sessions=10, cull_idle=120)
    assert config.DashboardApp.max_sessions == 10
    assert config.VoilaKernelManager.kernel_pools_config[LANDING] == {"pool_size": 3}
    kernels = config.MappingKernelManager
    assert kernels.cull_idle_timeout == 120 and kernels.cull_interval == 60
    assert kernels.cull_connected is False, "a page left open keeps its kernel"
    assert dashboard_config(cull_idle=4)[0].MappingKernelManager.cull_interval == 2
    assert dashboard_config(max_sessions=None)[0].DashboardApp.max_sessions >= 2


@pytest.mark.parametrize(
    "options, words",
    [
        ({"max_sessions": 0}, "--max-sessions 0"),
        ({"pool_size": 5, "max_sessions": 4}, "--pool-size 5: give 0 (no preheating) to"),
        ({"pool_size": -1}, "--pool-size -1"),
        ({"cull_idle": -5}, "--cull-idle -5"),
        ({"token": " "}, "--token"),
    ],
)
def test_bad_limits_are_one_clear_error(options, words):
    with pytest.raises(LatentLabError, match=re.escape(words)):
        dashboard_config(**options)
