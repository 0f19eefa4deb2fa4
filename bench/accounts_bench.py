"""Accounts and billing under the issue's targets (issue 14): ``make bench-accounts``.

Real processes and services: auth and billing (their console scripts) on a throwaway
PostgreSQL database, NATS with JetStream, the gateway and the job runners in this process
(the harness the tests use, the installed models), the Stripe stand-in and a mail sink.

1. **auth overhead**: the gateway's authenticator on an access token and on an API key,
   answered from its cache (warm) and by the auth service (cold: the cached answer dropped
   before each call): p50 / p99 in ms (targets 5 ms warm, 20 ms cold);
2. **revocation**: a key revoked and a token logged out through one gateway; how long another
   replica (its own cache, default ``auth_cache_seconds``) keeps accepting them (target 30 s);
3. **free trial race**: 50 one-image submissions at once from a new team: how many are taken
   (target exactly 3);
4. **soak**: teams buy credit packs and subscriptions, some are refunded or cancelled; every
   Stripe event is delivered to the gateway's webhook ``--deliveries`` times in all (shuffled,
   duplicated, several at once, retried on 5xx as Stripe does); then jobs run with
   ``--kills`` runners killed mid-image, failing images and result-cache hits. Per team:
   images charged == images completed (not from the cache) in the job store, and credits ==
   bought - used, with "bought" counted from the stand-in's own charges and refunds;
5. **secrets**: every password, access / refresh token and API key the run saw is looked for
   in a dump of every table and in every log: the count found (target 0).

``python -m bench.accounts_bench [--teams 6] [--deliveries 1000] [--kills 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import text
from sqlmodel import Session

from bench.platform.launcher import throwaway_database
from globalpic_clients.auth import AuthClient
from globalpic_common.errors import UnauthenticatedError
from globalpic_dev.natsd import NatsServer, free_port
from globalpic_gateway.core.auth import ApiKeyAuthenticator, AuthServiceAuthenticator
from globalpic_jobs.options import JobOptions
from globalpic_orchestrator.processing import (
    ImageInputs,
    LocalizerProcessor,
    ProcessedImage,
    ProgressFn,
)
from tests.support.accounts_stack import (
    AccountsStack,
    accounts_stack,
    pay,
    settled_usage,
    signed_in,
    with_accounts,
)
from tests.support.gateway_harness import (
    Gated,
    Harness,
    embedded_processor,
    harness_settings,
    job_finished,
    photo_bytes,
    running_gateway,
    storage_at,
)

PASSWORD = "bench password, long enough"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
FORM = {"ops": "extract"}
JOB_DEADLINE_S = 600.0
PACK_IMAGES = {"pack_10": 10, "pack_50": 50, "pack_200": 200}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Team:
    email: str
    api: httpx.AsyncClient
    pair: dict[str, Any]
    id: str = ""
    packs: list[str] = field(default_factory=list)  # checkout session ids paid for packs
    plans: list[str] = field(default_factory=list)  # ... and for subscriptions


# --- 1 + 2: the authenticator ------------------------------------------------------------------


async def auth_overhead(gw: Harness, team: Team, samples: int, seen: list[str]) -> None:
    authenticator = gw.state.authenticator
    assert isinstance(authenticator, AuthServiceAuthenticator)
    key = (await team.api.post("/v1/api-keys", json={"name": "bench"})).json()["key"]
    seen.append(key)
    credentials = {"access token": str(team.pair["access_token"]), "API key": key}
    for name, credential in credentials.items():
        warm: list[float] = []
        cold: list[float] = []
        await authenticator.authenticate(credential)
        for _ in range(samples):
            started = time.perf_counter()
            await authenticator.authenticate(credential)
            warm.append((time.perf_counter() - started) * 1000)
        for _ in range(samples):
            authenticator.forget(credential)
            started = time.perf_counter()
            await authenticator.authenticate(credential)
            cold.append((time.perf_counter() - started) * 1000)
        say(
            f"auth overhead, {name}: warm p50 {statistics.median(warm):.3f} ms, "
            f"p99 {percentile(warm, 99):.3f} ms (target 5); cold p50 "
            f"{statistics.median(cold):.2f} ms, p99 {percentile(cold, 99):.2f} ms (target 20); "
            f"{samples} calls each"
        )


async def refused_after(
    replica: AuthServiceAuthenticator, credential: str, revoke: Callable[[], Awaitable[None]]
) -> float:
    """Seconds another replica keeps accepting ``credential`` after ``revoke``."""
    await replica.authenticate(credential)  # cached there
    await revoke()
    started = time.monotonic()
    while True:
        try:
            await replica.authenticate(credential)
        except UnauthenticatedError:
            return time.monotonic() - started
        await asyncio.sleep(0.05)


async def revocation(gw: Harness, stack: AccountsStack, team: Team, seen: list[str]) -> None:
    client = AuthClient(stack.auth_addr)
    ttl = gw.settings.auth_cache_seconds
    replica = AuthServiceAuthenticator(client, ApiKeyAuthenticator([]), ttl_seconds=ttl)
    try:
        key = (await team.api.post("/v1/api-keys", json={"name": "doomed"})).json()
        seen.append(key["key"])

        async def revoke_key() -> None:
            answer = await team.api.delete(f"/v1/api-keys/{key['id']}")
            assert answer.status_code == 204, answer.text

        key_s = await refused_after(replica, key["key"], revoke_key)
        async with gw.client(None) as anonymous:
            here = await anonymous.get("/v1/me", headers={"Authorization": f"Bearer {key['key']}"})
        assert here.status_code == 401, here.text

        pair = await sign_in_again(gw, team)
        seen += [str(pair["access_token"]), str(pair["refresh_token"])]

        async def logout() -> None:
            async with gw.client(None) as anonymous:
                answer = await anonymous.post(
                    "/v1/auth/logout", headers={"Authorization": f"Bearer {pair['access_token']}"}
                )
            assert answer.status_code == 204, answer.text

        token_s = await refused_after(replica, str(pair["access_token"]), logout)
        say(
            f"revocation: refused by this gateway at once; by another replica after "
            f"{key_s:.1f} s (revoked key), {token_s:.1f} s (logged-out token); its cache "
            f"{ttl:.0f} s; target 30 s"
        )
    finally:
        client.close()


async def sign_in_again(gw: Harness, team: Team) -> dict[str, Any]:
    async with gw.client(None) as anonymous:
        answer = await anonymous.post(
            "/v1/auth/token", data={"username": team.email, "password": PASSWORD}
        )
    assert answer.status_code == 200, answer.text
    pair: dict[str, Any] = answer.json()
    return pair


# --- 3: the free trial race --------------------------------------------------------------------


async def submit(api: httpx.AsyncClient, n: int, seed: int, prefix: str = "p") -> httpx.Response:
    files = [
        ("images", (f"{prefix}{k}.jpg", photo_bytes(512, seed=seed + k), "image/jpeg"))
        for k in range(n)
    ]
    return await api.post("/v1/jobs", files=files, data=FORM)


async def trial_race(team: Team, racers: int) -> None:
    answers = await asyncio.gather(*(submit(team.api, 1, seed=900 + k) for k in range(racers)))
    statuses = [a.status_code for a in answers]
    say(
        f"free trial: {statuses.count(202)} of {racers} concurrent one-image submissions "
        f"taken, {statuses.count(402)} refused with 402 (target exactly 3)"
    )


# --- 4: the soak -------------------------------------------------------------------------------


class FailsNamed:
    """Images whose file name starts with ``fail`` fail (an image the pipeline cannot do)."""

    def __init__(self, inner: LocalizerProcessor) -> None:
        self.inner, self.backend = inner, inner.backend

    def process(self, inputs: ImageInputs, options: JobOptions, cb: ProgressFn) -> ProcessedImage:
        if inputs.filename.startswith("fail"):
            raise ValueError(f"{inputs.filename}: made to fail by the bench")
        return self.inner.process(inputs, options, cb)


async def finished(api: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    return await job_finished(api, job_id, JOB_DEADLINE_S)


async def buy(stack: AccountsStack, teams: list[Team], rng: random.Random) -> None:
    """Packs for every team; a Personal subscription for every other one (half of them then
    cancelled, the others renewed once unpaid, then paid); a refund of every third team's
    first pack. The stand-in's webhooks are only collected here (``stack.stripe.deliver``),
    delivered later."""
    for index, team in enumerate(teams):
        for pack in rng.sample(["pack_10", "pack_50"], k=2):
            answer = await team.api.post("/v1/billing/checkout", json={"pack": pack})
            assert answer.status_code == 200, answer.text
            await pay(answer.json()["url"])
            team.packs.append(answer.json()["url"].rsplit("/", 1)[1])
        if index % 2 == 1:
            answer = await team.api.post("/v1/billing/checkout", json={"plan": "personal"})
            await pay(answer.json()["url"])
            team.plans.append(answer.json()["url"].rsplit("/", 1)[1])
            if index % 4 == 1:
                await cancel_subscriptions(stack, team)
            else:  # a renewal whose payment fails (past_due), then one that is paid
                await renew_subscriptions(stack, team, "failed")
                await renew_subscriptions(stack, team, "paid")
        if index % 3 == 0:
            await refund_first_pack(stack, team)


async def cancel_subscriptions(stack: AccountsStack, team: Team) -> None:
    """Cancelled at once, as from Stripe's dashboard (``DELETE /v1/subscriptions/{id}``): the
    portal needs the customer billing has not heard of yet while the webhooks are held back."""
    headers = {"Authorization": f"Bearer {stack.stripe.api_key}"}
    async with httpx.AsyncClient(base_url=stack.stripe_url, headers=headers, timeout=60) as api:
        for session_id in team.plans:
            subscription = stack.stripe.objects[session_id]["subscription"]
            answer = await api.delete(f"/v1/subscriptions/{subscription}")
            assert answer.status_code == 200, answer.text


async def renew_subscriptions(stack: AccountsStack, team: Team, outcome: str) -> None:
    async with httpx.AsyncClient(base_url=stack.stripe_url, timeout=60) as api:
        for session_id in team.plans:
            subscription = stack.stripe.objects[session_id]["subscription"]
            renewed = f"/_fake/subscriptions/{subscription}/renew"
            answer = await api.post(renewed, data={"outcome": outcome})
            assert answer.status_code == 200, answer.text


def _charge_of(stack: AccountsStack, session_id: str) -> dict[str, Any]:
    intent = stack.stripe.objects[session_id]["payment_intent"]
    for obj in list(stack.stripe.objects.values()):
        if obj["object"] == "charge" and obj["payment_intent"] == intent:
            return obj
    raise RuntimeError(f"no charge for {session_id}")


async def refund_first_pack(stack: AccountsStack, team: Team) -> None:
    charge = _charge_of(stack, team.packs[0])
    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(f"{stack.stripe_url}/_fake/charges/{charge['id']}/refund")
    assert answer.status_code == 200, answer.text


def credits_bought(stack: AccountsStack, team: Team) -> int:
    """From the stand-in's own records: images of the packs paid and not refunded (the bench
    refunds whole charges only)."""
    total = 0
    for session_id in team.packs:
        price = stack.stripe.objects[session_id]["line_items"]["data"][0]["price"]["id"]
        if not _charge_of(stack, session_id)["refunded"]:
            total += PACK_IMAGES[str(price).removeprefix("price_")]
    return total


async def deliver_all(
    gw: Harness, events: list[tuple[bytes, str]], deliveries: int, rng: random.Random
) -> dict[str, int]:
    """Every event at least once, duplicates up to ``deliveries`` in all, shuffled, eight at a
    time; a 5xx is retried as Stripe would (later, again)."""
    schedule = list(events) + [rng.choice(events) for _ in range(deliveries - len(events))]
    rng.shuffle(schedule)
    counts = {"deliveries": 0, "retried": 0}
    gate = asyncio.Semaphore(8)

    async def one(payload: bytes, signature: str) -> None:
        async with gate, gw.client(None) as stripe:
            while True:
                counts["deliveries"] += 1
                answer = await stripe.post(
                    "/v1/billing/webhook",
                    content=payload,
                    headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
                )
                if answer.status_code < 500:
                    assert answer.status_code == 200, answer.text
                    return
                counts["retried"] += 1
                await asyncio.sleep(0.2)

    await asyncio.gather(*(one(payload, signature) for payload, signature in schedule))
    return counts


async def kill_cycles(
    gw: Harness, teams: list[Team], kills: int, processor: LocalizerProcessor
) -> int:
    """``kills`` one-image jobs (the teams in turn), each taken by a runner killed mid-image
    and finished by another after the redelivery; the images completed."""
    completed = 0
    for cycle in range(kills):
        team = teams[cycle % len(teams)]
        answer = await submit(team.api, 1, seed=5000 + cycle, prefix="kill")
        assert answer.status_code == 202, answer.text
        gated = Gated(processor)
        doomed = await gw.start_runner(gated)
        await asyncio.to_thread(gated.started.wait, JOB_DEADLINE_S)
        await gw.crash_runner(doomed)
        gated.release.set()
        await gw.start_runner(processor)
        job = await finished(team.api, answer.json()["id"])
        completed += sum(image["state"] == "completed" for image in job["images"])
        await gw.stop_runners()
    return completed


def completed_in_store(gw: Harness, team_id: str) -> int:
    with Session(gw.state.engine) as session:
        return int(
            session.execute(
                text(
                    "SELECT count(*) FROM job_image WHERE tenant_id = :t "
                    "AND state = 'completed' AND NOT cached"
                ),
                {"t": team_id},
            ).scalar_one()
        )


async def soak(
    gw: Harness, stack: AccountsStack, teams: list[Team], args: argparse.Namespace
) -> bool:
    rng = random.Random(14)
    events: list[tuple[bytes, str]] = []

    async def collect(payload: bytes, signature: str) -> int:
        events.append((payload, signature))
        return 200

    stack.stripe.deliver = collect
    await buy(stack, teams, rng)
    counts = await deliver_all(gw, events, args.deliveries, rng)
    kinds = sorted(Counter(json.loads(payload)["type"] for payload, _ in events).items())
    say(
        f"soak: {len(events)} Stripe events ({', '.join(f'{n} {k}' for k, n in kinds)}), "
        f"{counts['deliveries']} webhook deliveries "
        f"(duplicated and shuffled, 8 at once; {counts['retried']} answered 5xx and retried)"
    )

    processor = embedded_processor()
    kill_completed = await kill_cycles(gw, teams, args.kills, processor)
    say(f"soak: {args.kills} runners killed mid-image, {kill_completed} of those images completed")

    await gw.start_runner(FailsNamed(processor))
    await gw.start_runner(FailsNamed(processor))
    jobs: list[tuple[Team, str]] = []
    states: dict[str, int] = {"completed": 0, "failed": 0, "cached": 0}

    async def settle_round(round_jobs: list[tuple[Team, str]]) -> None:
        for team, job_id in round_jobs:
            job = await finished(team.api, job_id)
            for image in job["images"]:
                states[image["state"]] += 1
                states["cached"] += bool(image["cached"])
        jobs.extend(round_jobs)

    first: list[tuple[Team, str]] = []
    for index, team in enumerate(teams):
        for number in range(args.jobs_per_team):
            answer = await submit(team.api, 2, seed=100 * index + 10 * number)
            if answer.status_code == 202:
                first.append((team, answer.json()["id"]))
        failing = await submit(team.api, 1, seed=77_000 + index, prefix="fail")
        if failing.status_code == 202:
            first.append((team, failing.json()["id"]))
    await settle_round(first)
    # the first job's images again, now that their results are in the cache: not billed
    again: list[tuple[Team, str]] = []
    for index, team in enumerate(teams):
        answer = await submit(team.api, 2, seed=100 * index)
        if answer.status_code == 202:
            again.append((team, answer.json()["id"]))
    await settle_round(again)
    say(
        f"soak: {len(jobs)} jobs, images completed {states['completed']} (of which "
        f"{states['cached']} from the result cache), failed {states['failed']}"
    )

    ok = True
    for team in teams:
        usage = await settled_usage(team.api)
        completed = completed_in_store(gw, team.id)
        bought = credits_bought(stack, team)
        charged_ok = usage["images_charged"] == completed
        credits_ok = usage["credits_bought"] == bought and usage["account"]["credits"] == max(
            0, bought - usage["credits_used"]
        )
        ok = ok and charged_ok and credits_ok and usage["images_reserved"] == 0
        say(
            f"  team {team.email}: plan {usage['account']['plan']['id']}, charged "
            f"{usage['images_charged']} == completed {completed}: {charged_ok}; credits "
            f"{usage['account']['credits']} == bought {bought} (billing says "
            f"{usage['credits_bought']}) - used {usage['credits_used']}: {credits_ok}; "
            f"still held {usage['images_reserved']}"
        )
    say(f"soak: charged == completed and credits == bought - used for every team: {ok}")
    return ok


# --- 5: secrets ----------------------------------------------------------------------------------


def secrets_in_clear(database_url: str, logs: list[Path], secrets: list[str]) -> int:
    with psycopg.connect(database_url) as conn:
        tables = [
            row[0]
            for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        dump = "\n".join(
            str(row) for table in tables for row in conn.execute(f'SELECT * FROM "{table}"')
        )
    text_logs = "".join(path.read_text(errors="replace") for path in logs)
    found = sum((secret in dump) + (secret in text_logs) for secret in secrets)
    say(
        f"secrets in clear: {found} (checked {len(secrets)} passwords, tokens and keys against "
        f"{len(tables)} tables, {len(dump) // 1024} KiB, and {len(text_logs) // 1024} KiB of "
        "logs; target 0)"
    )
    return found


# --- the run -------------------------------------------------------------------------------------


async def run(gw: Harness, stack: AccountsStack, args: argparse.Namespace, seen: list[str]) -> bool:
    seen.append(PASSWORD)
    teams: list[Team] = []
    for index in range(args.teams + 2):
        api, pair = await signed_in(gw.base_url, stack, f"team{index}@bench.example", PASSWORD)
        team = Team(f"team{index}@bench.example", api, pair)
        team.id = (await api.get("/v1/me")).json()["team"]["id"]
        seen += [str(pair["access_token"]), str(pair["refresh_token"])]
        teams.append(team)
    racer, probe, soakers = teams[0], teams[1], teams[2:]

    await auth_overhead(gw, probe, args.samples, seen)
    await revocation(gw, stack, probe, seen)
    await trial_race(racer, args.racers)
    ok = await soak(gw, stack, soakers, args)
    for team in teams:
        await team.api.aclose()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.accounts_bench", description=__doc__)
    parser.add_argument("--teams", type=int, default=6, help="teams in the soak")
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--jobs-per-team", type=int, default=2)
    parser.add_argument("--racers", type=int, default=50)
    parser.add_argument("--samples", type=int, default=500, help="authenticator calls per case")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    say(f"accounts bench: {os.cpu_count()} cores, every figure measured in this run")

    with tempfile.TemporaryDirectory(prefix="globalpic-accounts-bench-") as scratch:
        work = Path(scratch)
        with throwaway_database("postgres", work, args.admin_url) as (database_url, what):
            if not database_url.startswith("postgresql"):
                say("PostgreSQL is needed (row locks under concurrency): not reachable")
                return 2
            say(f"database: {what}")
            nats = NatsServer(work / "nats", free_port()).start()
            try:
                base, keys = harness_settings(database_url, nats.url, ack_wait_seconds=2.0)
                with accounts_stack(work, database_url, nats.url, base) as stack:
                    settings = with_accounts(base, stack)
                    secrets: list[str] = []

                    async def main_loop() -> bool:
                        async with running_gateway(
                            settings, keys, storage_at(work / "storage"), port=stack.gateway_port
                        ) as gw:
                            return await run(gw, stack, args, secrets)

                    ok = asyncio.run(main_loop())
                found = secrets_in_clear(database_url, sorted(stack.logs.glob("*.log")), secrets)
            finally:
                nats.stop()
    return 0 if ok and found == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
