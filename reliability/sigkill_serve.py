"""SIGKILL at random points of ``lakefeed serve --scheduler``, restarts, then a clean finish.

A series is one fresh LAKEFEED_HOME, one local-files connection (the data folder is the
server's LAKEFEED_LOCAL_ROOTS) and one dataset. Each trial adds files for two kinds of run:

- a new scheduled flow, which the in-process scheduler claims and runs at once: ``once`` from
  now in even trials, every minute from now in odd ones (with
  ``LAKEFEED_SCHEDULE_MINUTE_MINIMUM=1``);
- new files for the series' "run now" flow (scheduled years ahead), whose run is started over
  REST (``POST /flows/{id}/runs``) as soon as the server answers.

Then it starts ``lakefeed serve --scheduler`` (port on 127.0.0.1) and SIGKILLs it after a
random delay (seeded): a quarter of the kills within the time the server takes to answer
(measured first), counted from its launch; the others within one and a half times the time
its runs take, counted from its first answer. The next trial's server is the restart. After
every kill the dataset must hold no row twice.
At the end of a series the server is started once more and left alone: within a deadline no
run may stay in progress (killed runs are recovered at restart) and every scheduled flow must
have succeeded — a window whose run was killed and rolled back has not run, whatever its
frequency; then one more run-now, and every source row must be in the dataset exactly once
with runs, batches, ledger and table in agreement.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any
from unittest import mock

from reliability.support import (
    Context,
    Outcome,
    Serve,
    child_env,
    create_dataset,
    dataset_values,
    kill9,
    record_problems,
    run_phase,
    start_serve,
    stop,
    tally,
    wait_ready,
    write_files,
)

NAME = "sigkill-serve"
DATASET = "reliability"
ORG = "local"  # the Python API's org: the REST calls see the flows made in-process
FILES = 15
ROWS_PER_FILE = 200
SETTLE_SECONDS = 30  # the clean restart's deadline to recover and finish everything
SCHEDULER = ("--scheduler", "--poll", "0.2", "--lease", "2", "--grace", "0")


def run(ctx: Context) -> list[Outcome]:
    rng = ctx.rng(NAME)
    outcome = Outcome(
        "SIGKILL lakefeed serve --scheduler",
        "each row once after restart; no run left inProgress",
        unit="kills",
    )
    per_series = 3 if ctx.quick else 10
    ready, done = calibrate(ctx)
    outcome.notes.append(f"server answers at {ready:.1f}s, runs done by {done:.1f}s")
    phases: Counter[str] = Counter()
    series = 0
    while outcome.trials < ctx.serve_trials:
        kills = min(per_series, ctx.serve_trials - outcome.trials)
        Series(ctx, series, outcome, phases).run(rng, kills, ready, done)
        outcome.trials += kills
        series += 1
    outcome.faults = outcome.trials
    outcome.notes.append("at: " + ", ".join(f"{p} {n}" for p, n in phases.most_common()))
    return [outcome]


def calibrate(ctx: Context) -> tuple[float, float]:
    """Seconds after launch when the server answers, and when both runs of a trial are done."""
    series = Series(ctx, -1, Outcome(NAME, ""), Counter())
    series.add_trial_files(0)
    launched = time.monotonic()
    serve = series.start()
    try:
        if not wait_ready(serve, launched + 60):
            raise RuntimeError(f"lakefeed serve did not start: {serve.log_tail()}")
        ready = time.monotonic() - launched
        series.run_now(serve)
        if not series.settle(time.monotonic() + 120):
            raise RuntimeError(f"the calibration runs did not finish: {serve.log_tail()}")
        return ready, (time.monotonic() - launched) * 1.15
    finally:
        stop(serve)


class Series:
    def __init__(self, ctx: Context, number: int, outcome: Outcome, phases: Counter[str]):
        from lakefeed import Lakefeed

        self.ctx = ctx
        self.number = number
        self.outcome = outcome
        self.phases = phases
        self.root = ctx.folder(f"serve-series-{number}")
        self.home = self.root / "home"
        self.data = self.root / "data"
        self.data.mkdir()
        self.lf = Lakefeed(home=self.home)
        create_dataset(self.lf, DATASET)
        self.connection = self.lf.create_connection(
            "drops", "local-files", None, {"rootPath": str(self.data)}
        )
        years_ahead = int(time.time()) + 10 * 365 * 86_400
        self.now_flow = self.flow("now", {"frequency": "once", "startTime": years_ahead})
        self.window_flows: dict[str, str] = {}  # flow id → frequency
        self.expected: list[str] = []
        self.headers: dict[str, str] | None = None
        self.api_key, self.secret = self.lf.auth.create_client(ORG)

    def flow(self, folder: str, schedule: dict[str, Any] | None = None) -> str:
        flows = self.lf.flows
        (self.data / folder).mkdir(exist_ok=True)
        source = flows.create_source_connection(
            name=f"source-{folder}", base_connection_id=self.connection.id, path=folder
        )
        target = flows.create_target_connection(name=f"target-{folder}", dataset_id=self.dataset)
        # The minute floor is checked when a flow is created; only this scenario lowers it.
        with mock.patch.dict(os.environ, LAKEFEED_SCHEDULE_MINUTE_MINIMUM="1"):
            flow = flows.create_flow(
                name=f"flow-{folder}",
                source_connection_ids=[source.id],
                target_connection_ids=[target.id],
                schedule=schedule,
            )
        return str(flow.id)

    @property
    def dataset(self) -> str:
        return str(self.lf.datasets.get(DATASET).id)

    def add_trial_files(self, trial: int) -> None:
        prefix = f"s{self.number}t{trial}"
        self.expected += write_files(self.data / f"w{trial}", FILES, ROWS_PER_FILE, f"{prefix}w")
        frequency = "minute" if trial % 2 else "once"
        schedule = {"frequency": frequency, "startTime": int(time.time())}
        if frequency == "minute":
            schedule["interval"] = 1
        self.window_flows[self.flow(f"w{trial}", schedule)] = frequency
        self.expected += write_files(self.data / "now", FILES, ROWS_PER_FILE, f"{prefix}n")

    def start(self) -> Serve:
        env = child_env(
            self.home, LAKEFEED_LOCAL_ROOTS=str(self.data), LAKEFEED_SCHEDULE_MINUTE_MINIMUM="1"
        )
        return start_serve(self.home, *SCHEDULER, log=self.root / "serve.log", env=env)

    def run_now(self, serve: Serve, timeout: float = 10) -> str | None:
        """Start a run of the run-now flow over REST; its id, or None when refused."""
        import httpx

        try:
            if self.headers is None:
                token = httpx.post(
                    f"{serve.url}/ims/token/v3",
                    data={
                        "client_id": self.api_key,
                        "client_secret": self.secret,
                        "grant_type": "client_credentials",
                    },
                    timeout=timeout,
                ).json()["access_token"]
                self.headers = {
                    "Authorization": f"Bearer {token}",
                    "x-api-key": self.api_key,
                    "x-gw-ims-org-id": ORG,
                    "x-sandbox-name": "prod",
                }
            answer = httpx.post(
                f"{serve.url}/data/foundation/flowservice/flows/{self.now_flow}/runs",
                headers=self.headers,
                timeout=timeout,
            )
        except httpx.HTTPError:
            return None  # killed meanwhile
        if answer.status_code == 409:
            return None  # the killed run is being recovered (by this server) meanwhile
        if answer.status_code != 201:
            self.outcome.fail(f"series {self.number}: run-now answered {answer.status_code}")
            return None
        return str(answer.json()["items"][0]["id"])

    def run(self, rng: Any, kills: int, ready: float, done: float) -> None:
        for trial in range(kills):
            self.add_trial_files(trial)
            before = {r.id: r.state for r in self.lf.runs.list()}
            launched = time.monotonic()
            serve = self.start()
            if rng.random() < 0.25:  # while it starts: a delay from the launch
                kill_at = launched + rng.uniform(0, ready)
                if wait_ready(serve, kill_at):
                    self.run_now(serve, timeout=max(kill_at - time.monotonic(), 0.1))
            else:  # while it runs: a delay from the moment it answers
                wait_ready(serve, launched + 60)
                kill_at = time.monotonic() + rng.uniform(0, (done - ready) * 1.5)
                self.run_now(serve, timeout=max(kill_at - time.monotonic(), 0.1))
            delay = kill_at - launched
            remaining = kill_at - time.monotonic()
            if serve.process.poll() is None and remaining > 0:
                time.sleep(remaining)  # the kill's random moment, not a wait for a state
            exited = serve.process.poll()
            kill9(serve.process)
            where = f"series {self.number} kill {trial}"
            if exited is not None:
                self.outcome.fail(f"{where}: the server exited {exited}: {serve.log_tail()}")
            try:
                phase = self.classify(before)
                found = tally(dataset_values(self.lf, DATASET), self.expected, partial=True)
            except Exception as exc:
                self.outcome.fail(f"{where}: reading the state after the kill failed: {exc!r}")
                continue
            self.phases[phase] += 1
            self.ctx.log(f"{where} after {delay:.2f}s: {phase}")
            if found.duplicated or found.unexpected:
                self.outcome.fail(f"{where} ({phase}): {found}")
                self.outcome.duplicated = (self.outcome.duplicated or 0) + found.duplicated
        self.finish()

    def classify(self, before: dict[str, str]) -> str:
        runs = self.lf.runs.list()
        new = [r for r in runs if r.id not in before]
        recovered = any(before.get(r.id) == "inProgress" and r.state != "inProgress" for r in runs)
        live = [run_phase(self.lf, r) for r in new if r.state == "inProgress"]
        if live:
            order = ("listing", "converting", "committed")
            return "run " + max(live, key=order.index)
        if new:
            return "runs recorded"
        return "recovering" if recovered else "starting"

    def settle(self, deadline: float) -> bool:
        """Poll until no run is in progress and every scheduled flow has succeeded."""
        while time.monotonic() < deadline:
            runs = self.lf.runs.list()
            succeeded = {r.flow_id for r in runs if r.status == "success"}
            busy = [r for r in runs if r.state != "completed"]
            if not busy and all(f in succeeded for f in self.window_flows):
                return True
            time.sleep(0.2)
        return False

    def pending(self) -> str:
        runs = self.lf.runs.list()
        stuck = [r for r in runs if r.state != "completed"]
        if stuck:
            now_runs = sum(r.flow_id == self.now_flow for r in stuck)
            return f"{len(stuck)} runs still {stuck[0].state} ({now_runs} of the run-now flow)"
        succeeded = {r.flow_id for r in runs if r.status == "success"}
        missing = [f for f in self.window_flows if f not in succeeded]
        kinds = Counter(self.window_flows[f] for f in missing)
        rolled_back = {
            r.flow_id
            for r in runs
            if any(e.get("code") == "LF-1510" for e in r.metrics["statusSummary"].get("errors", []))
        }
        return (
            f"{len(missing)} scheduled flows have no successful run ("
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            + f"; {len(rolled_back & set(missing))} of them had a killed run rolled back)"
        )

    def finish(self) -> None:
        where = f"series {self.number}"
        serve = self.start()
        try:
            if not wait_ready(serve, time.monotonic() + 60):
                self.outcome.fail(f"{where}: the restarted server did not answer")
                return
            if not self.settle(time.monotonic() + SETTLE_SECONDS):
                self.outcome.fail(f"{where}: {SETTLE_SECONDS}s after the restart, {self.pending()}")
            run_id = None
            deadline = time.monotonic() + SETTLE_SECONDS
            while run_id is None and time.monotonic() < deadline:
                run_id = self.run_now(serve, timeout=30)
                if run_id is None:
                    time.sleep(0.2)  # 409 while a run of the flow is in progress
            if run_id is None or not self.wait_run(run_id, time.monotonic() + SETTLE_SECONDS):
                self.outcome.fail(f"{where}: the last run-now did not complete")
        finally:
            stop(serve)
        try:
            found = tally(dataset_values(self.lf, DATASET), self.expected)
            problems = record_problems(self.lf, DATASET)
        except Exception as exc:
            self.outcome.fail(f"{where}: reading the dataset failed: {exc!r}")
            return
        self.outcome.lost = (self.outcome.lost or 0) + found.lost
        self.outcome.duplicated = (self.outcome.duplicated or 0) + found.duplicated
        if found:
            self.outcome.fail(f"{where}: after the clean restart {found}")
        for problem in problems[:3]:
            self.outcome.fail(f"{where}: {problem}")

    def wait_run(self, run_id: str, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if self.lf.runs.get(run_id).state == "completed":
                return True
            time.sleep(0.2)
        return False
