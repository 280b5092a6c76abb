"""bench.wrk reads wrk's text report (the benchmark itself never runs in the test suite)."""

from __future__ import annotations

import pytest

from bench.wrk import parse

CAPTURED = """\
Running 5s test @ http://127.0.0.1:18000/impilo/api/v3/patient/1234
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    21.55ms   17.06ms   1.27s    93.94%
    Req/Sec   820.68    187.69     1.24k    81.00%
  Latency Distribution
     50%  850.00us
     75%   18.41ms
     90%   28.07ms
     99%  110.42ms
  8194 requests in 5.03s, 4.38MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 7
Requests/sec:   1628.27
Transfer/sec:      0.87MB
"""


def test_wrk_parse_reads_rate_percentiles_and_errors_when_report_is_complete() -> None:
    result = parse(CAPTURED)
    assert result.requests_per_second == 1628.27
    assert result.requests == 8194 and result.seconds == pytest.approx(5.03)
    assert result.latency_ms == pytest.approx(
        {"p50": 0.85, "p75": 18.41, "p90": 28.07, "p99": 110.42, "avg": 21.55, "max": 1270.0}
    )
    assert result.non_2xx_3xx == 7
    assert result.socket_errors == {"connect": 0, "read": 2, "write": 0, "timeout": 3}
    assert result.errors == 12


def test_wrk_parse_counts_no_errors_when_report_has_no_error_lines() -> None:
    clean = "\n".join(line for line in CAPTURED.splitlines() if "errors" not in line and "Non-2xx" not in line)
    assert parse(clean).errors == 0


def test_wrk_parse_raises_when_latency_distribution_is_missing() -> None:
    without = "\n".join(line for line in CAPTURED.splitlines() if "%  " not in line or "Latency " in line)
    with pytest.raises(ValueError, match="--latency"):
        parse(without)
