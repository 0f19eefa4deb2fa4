"""``make bench-platform`` at its smallest: the pure pieces on known inputs, then the whole
benchmark as real processes (NATS, the four gRPC services, runners, the gateway; PostgreSQL
when one answers at 127.0.0.1:5432, else SQLite) with the tiny random-weight U²-Net-p."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bench.platform.fault import Action, FaultResult, ImageCount, WindowImage, chaos_plan
from bench.platform.images import PhotoSet
from bench.platform.launcher import LogTail
from bench.platform.load import HttpUser, LoadResult, Sample, percentile_ms, run_load
from bench.platform_bench import format_summary, main, parse_args, targets
from globalpic_dev.supervisor import SERVICES


def test_photos_are_distinct_jpegs_of_the_asked_side() -> None:
    photos = PhotoSet(512)
    batch = photos.batch(7, 3)
    assert [name for name, _ in batch] == ["photo_00007.jpg", "photo_00008.jpg", "photo_00009.jpg"]
    assert len({hashlib.sha256(data).hexdigest() for _, data in batch}) == 3
    for _, data in batch:
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "JPEG" and image.size == (512, 512)
    assert photos.photo(8) == batch[1]  # same seed, same bytes (rendered once)


def test_chaos_plan_mixes_kills_and_one_restart_each() -> None:
    plan = chaos_plan(20, ["nats", "ocr", "gateway"], 0.5, random.Random(1))
    assert len(plan) == 23
    assert plan.count(Action("kill-window")) == 10
    assert plan.count(Action("kill-random")) == 10
    assert sorted(a.target for a in plan if a.kind == "restart") == ["gateway", "nats", "ocr"]
    assert plan != sorted(plan, key=lambda a: a.kind)  # shuffled
    # at least one window kill whenever there are kills
    assert chaos_plan(1, [], 0.1, random.Random(0)) == [Action("kill-window")]
    assert chaos_plan(0, ["nats"], 0.5, random.Random(0)) == [Action("restart", "nats")]


def test_percentiles_and_load_stats() -> None:
    assert percentile_ms([], 99) is None
    assert percentile_ms([0.010, 0.020, 0.030], 50) == pytest.approx(20.0)
    assert percentile_ms([float(v) / 1000 for v in range(1, 101)], 99) == pytest.approx(99.01)
    result = LoadResult(users=2, rate=1.0, duration_s=2.0)
    result.samples = [
        Sample("status", 0.010, 0.001),
        Sample("status", None, 0.002, "ReadTimeout: "),
        Sample("sse", 0.030, 0.0),
    ]
    stats = result.stats()
    assert stats["status"]["requests"] == 2 and stats["status"]["errors"] == 1
    assert stats["status"]["p99_ms"] == pytest.approx(10.0)
    assert stats["sse"]["achieved_rps"] == pytest.approx(0.5)


def test_exactly_once_needs_one_of_each() -> None:
    good = ImageCount("j", 0, "completed", rows=1, results=1, orphans=0, done_events=1, attempts=3)
    assert good.exactly_once
    for change in ({"done_events": 0}, {"done_events": 2}, {"results": 2}, {"state": "failed"}):
        assert not ImageCount(**{**good.__dict__, **change}).exactly_once
    fault = FaultResult(database="sqlite", per_image=[good], job_completed_events={"j": 1})
    assert fault.ok
    fault.job_completed_events["j"] = 2
    assert not fault.ok
    fault.job_completed_events["j"] = 1
    fault.actions = [{"action": "kill-window", "in_window": True, "job_id": "j", "image": 0,
                      "attempt": 3}]  # fmt: skip
    assert fault.window_images == [WindowImage("j", 0, 3)] and fault.kills_in_window == 1
    fault.restarted_after_record = [{"job_id": "j", "image": 0, "attempts_now": 4}]
    assert not fault.ok  # a window image started again after its record


def test_targets_and_summary() -> None:
    rows = [
        {"runners": 1, "size": 1, "wall_s": 2.0},
        {"runners": 1, "size": 10, "wall_s": 21.0, "ratio_to_n_t1": 1.05},
    ]
    io_rows = [{"runners": 1, "wall_s": 30.0}, {"runners": 2, "wall_s": 20.0}]
    load = {
        "status": {"p99_ms": 40.0, "p50_ms": 10.0, "errors": 0},
        "sse": {"p99_ms": 140.0, "p50_ms": 30.0, "errors": 0},
    }
    out = targets(rows, {1: 2.0}, io_rows, load, None)
    assert [r["ok"] for r in out] == [True, True, True, False]
    text = format_summary(out)
    assert "✓ 10-image batch, 1 runner(s)" in text and "✗ sse latency under load" in text


def test_log_tail_reads_only_new_whole_lines(tmp_path: Path) -> None:
    log = tmp_path / "runner.log"
    log.write_text('{"message": "old"}\n')
    tail = LogTail(log)
    tail.skip_to_end()
    with log.open("a") as handle:
        handle.write('{"message": "runner worker 0 pulling from W"}\nnot json\n{"message": "ha')
    assert [e["message"] for e in tail.lines()] == ["runner worker 0 pulling from W", "not json"]
    with log.open("a") as handle:
        handle.write('lf"}\n')
    assert [e["message"] for e in tail.lines()] == ["half"]


def test_sizes_always_include_one() -> None:
    assert parse_args(["--sizes", "10,50"]).sizes == [1, 10, 50]
    with pytest.raises(SystemExit):
        parse_args(["--sizes", "0"])


def test_open_loop_load_keeps_sending_while_the_server_holds_every_answer() -> None:
    """Open loop: each user sends on its schedule whether or not its answers came. The server
    holds every status request until it holds 12 of them from 4 users — a closed-loop user
    would wait at its first, so at most 4 — then the test stops the load and lets them all
    go; every request the server got is one sample. No count depends on how fast this runs."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    users, enough = 4, 12
    held = 0
    holding = asyncio.Event()
    release = asyncio.Event()

    async def hold(request: Request) -> JSONResponse:
        nonlocal held
        held += 1
        if held >= enough:
            holding.set()
        await release.wait()
        return JSONResponse({"id": request.path_params["job"]})

    app = Starlette(routes=[Route("/v1/jobs/{job}", hold)])

    async def scenario() -> LoadResult:
        import uvicorn

        from globalpic_dev.natsd import free_port

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        stop = asyncio.Event()
        load = asyncio.create_task(
            run_load(f"http://127.0.0.1:{port}", {}, "j1", stop, users=users, rate=4.0)
        )
        try:
            await asyncio.wait_for(holding.wait(), 120)
            assert not load.done()
            stop.set()  # no new sends ...
            release.set()  # ... and the held ones are answered and awaited
            return await asyncio.wait_for(load, 60)
        finally:
            release.set()
            server.should_exit = True
            await serving

    result = asyncio.run(scenario())
    status = [s for s in result.samples if s.endpoint == "status"]
    assert held >= enough > users  # more than one unanswered request per user
    assert len(status) == held  # each request the server got is one sample, answered
    assert all(s.latency_s is not None and s.error is None for s in status)
    # the SSE requests hit a plain JSON route: each is an error, counted as such
    sse = [s for s in result.samples if s.endpoint == "sse"]
    assert sse and all(s.latency_s is None and s.error for s in sse)


def test_the_load_client_reads_bodies_reuses_connections_and_stops_at_the_first_event() -> None:
    """``HttpUser``, the load generator's small HTTP/1.1 client, against uvicorn: a sized body,
    a chunked one, keep-alive, an event stream (pings skipped, first event, closed), errors."""
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    async def sized(request: Request) -> JSONResponse:
        return JSONResponse({"auth": request.headers.get("authorization"), "n": 1})

    async def chunked(request: Request) -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b'{"a":', b' "b"', b"}"):
                yield part

        return StreamingResponse(parts(), media_type="application/json")

    async def missing(request: Request) -> Response:
        return Response(b"no", status_code=404)

    async def stream(request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent(comment="ping")
            await asyncio.sleep(0.05)
            yield ServerSentEvent(data='{"stage": "clean"}', event="progress", id="7")
            await asyncio.sleep(30)  # never reached: the client leaves after the first event

        return EventSourceResponse(events())

    app = Starlette(
        routes=[
            Route("/sized", sized),
            Route("/chunked", chunked),
            Route("/missing", missing),
            Route("/stream", stream),
        ]
    )

    async def scenario() -> None:
        import uvicorn

        from globalpic_dev.natsd import free_port

        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        user = HttpUser(f"http://127.0.0.1:{port}", {"Authorization": "Bearer k"})
        try:
            for _ in range(3):
                status, body = await user.get("/sized")
                assert status == 200 and json.loads(body) == {"auth": "Bearer k", "n": 1}
            assert await user.get("/chunked") == (200, b'{"a": "b"}')
            assert len(user._open) == 1  # one keep-alive connection served them all
            assert (await user.get("/missing"))[0] == 404
            event = await asyncio.wait_for(user.first_event("/stream"), 5)
            assert event == {"id": "7", "event": "progress", "data": '{"stage": "clean"}'}
            with pytest.raises(RuntimeError, match="not a stream"):
                await user.first_event("/sized")
            with pytest.raises(RuntimeError, match="SSE 404"):
                await user.first_event("/missing")
        finally:
            await user.close()
            server.should_exit = True
            await serving

    asyncio.run(scenario())


SMALLEST = [
    "--sizes", "1,2",
    "--runners", "1,2",
    "--users", "5",
    "--kills", "2",
    "--ops", "extract,remix",
    "--style", "minimal-white",
    "--image-side", "512",
    "--single-repeats", "1",
    "--io-size", "2",
    "--io-latency", "0.3",
    "--load-size", "2",
    "--baseline-seconds", "1",
    "--fault-batch", "2",
    "--fault-gap", "0.1,0.5",
]  # fmt: skip


# The targets a busy machine may miss: timing, not correctness.
TIMING_TARGETS = {
    "2-image batch, 1 runner(s)",
    "2-image batch, 2 runner(s)",
    "I/O-bound backend: 2 runners vs 1",
    "status latency under load",
    "sse latency under load",
}


def _run(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "platform.json"
    code = main([*SMALLEST, *extra, "--work-dir", str(tmp_path / "work"), "--json-out", str(out)])
    report: dict[str, Any] = json.loads(out.read_text())
    missed = [t["name"] for t in report["targets"] if t["ok"] is False]
    assert code == (1 if missed else 0), (code, missed)  # the exit status says what was missed
    return code, report


def test_throughput_io_and_load_smallest(tmp_path: Path, tiny_models_env: Path) -> None:
    """Phases 1-3 with real processes: every batch completes, every figure is there. Their
    targets are timings (a busy machine misses them): checked for presence, not for pass."""
    _code, report = _run(tmp_path, "--skip-fault")
    throughput = report["throughput"]
    assert sorted((r["runners"], r["size"]) for r in throughput) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    assert all(r["completed"] == r["images"] and r["wall_s"] > 0 for r in throughput)
    assert set(report["t1_s"]) == {"1", "2"}
    assert all("ratio_to_n_t1" in r for r in throughput if r["size"] == 2)
    assert sorted(r["runners"] for r in report["io"]) == [1, 2]
    assert all(r["completed"] == 2 for r in report["io"])

    load = report["load"]
    assert load["status"]["requests"] > 0 and load["sse"]["requests"] > 0
    assert load["status"]["errors"] == 0 and load["sse"]["errors"] == 0
    assert load["idle_baseline"]["status"]["requests"] > 0 and load["runners"] == 2
    names = [t["name"] for t in report["targets"]]
    assert names == [
        "2-image batch, 1 runner(s)",
        "2-image batch, 2 runner(s)",
        "I/O-bound backend: 2 runners vs 1",
        "status latency under load",
        "sse latency under load",
    ]
    assert set(names) == TIMING_TARGETS and all(t["ok"] is not None for t in report["targets"])
    assert report["fault"] is None


def test_fault_run_smallest(tmp_path: Path, tiny_models_env: Path) -> None:
    """Two kills — one a runner killing itself at the failpoint, inside the stored-not-acked
    window by construction, one at a random moment — and a restart of NATS, each service and
    the gateway: every image completed exactly once, and the window kill's image was not run
    again by its redelivery. Every count is exact: none depends on timing."""
    code, report = _run(tmp_path, "--skip-throughput", "--skip-io", "--skip-load")
    assert code == 0
    fault = report["fault"]
    assert fault["kills"] == 2
    assert fault["window_kills_planned"] == 1 and fault["kills_in_window"] == 1
    window = [a for a in fault["actions"] if a["action"] == "kill-window"]
    assert len(window) == 1 and window[0]["in_window"], window
    assert window[0]["exit_code"] == -9 and len(window[0]["failpoint"]) == 1
    random_kill = [a for a in fault["actions"] if a["action"] == "kill-random"]
    assert len(random_kill) == 1 and not random_kill[0]["in_window"]
    services = [s.script.removeprefix("globalpic-").removesuffix("-server") for s in SERVICES]
    assert sorted(fault["restarts"]) == sorted(["nats", *services, "gateway"])
    assert {"ocr", "segmentation", "generation", "storage"} <= set(services)

    assert fault["not_exactly_once"] == [], fault["actions"]
    assert fault["restarted_after_record"] == [] and fault["window_images_restarted"] == 0
    per_image = {(c["job_id"], c["image"]): c for c in fault["per_image"]}
    assert len(per_image) == fault["images"] == 2 * fault["jobs"]  # --fault-batch 2
    hit = per_image[(window[0]["job_id"], window[0]["image"])]
    assert (hit["state"], hit["rows"], hit["results"], hit["done_events"]) == (
        "completed",
        1,
        1,
        1,
    )
    assert hit["attempts"] == window[0]["attempt"]  # its redelivery did not start it again
    assert all(
        (c["state"], c["rows"], c["results"], c["done_events"]) == ("completed", 1, 1, 1)
        for c in per_image.values()
    )
    assert fault["job_completed_events"] == fault["jobs"]
    assert set(fault["job_completed_events_per_job"].values()) == {1}
    assert (fault["lost"], fault["dead_letters"], fault["work_left"]) == (0, 0, 0)
    assert fault["ok"], fault
    assert [(t["name"], t["ok"]) for t in report["targets"]] == [
        ("fault run: every image exactly once", True),
        ("fault run: nothing lost", True),
        ("fault run: kills inside the window", True),
    ]
