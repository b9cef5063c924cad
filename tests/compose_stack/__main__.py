"""`python -m tests.compose_stack` (`make compose-test`): docker-compose.yml for real.

Builds the images, starts the stack with a generated `.env`, waits for every health check,
talks to it through the published web chat as three people would (a gas bill, a
complaint, a leave), kills the Rasa and action containers in the middle of the leave form
and finishes it after the restart, takes a backup from the running stack and restores it,
and checks that `docker compose down` and `up` keep the data. It prints how long each step
took, the images' sizes and each container's memory, and cleans up everything it started
(containers, network, volumes and the Docker daemon, if it started one); the images stay
as the next run's cache. Exit 1 on the first failed check.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot.infra.settings import PROJECT_ROOT
from tests.compose_stack import host
from tests.compose_stack.stack import (
    BUILT,
    PACKAGES_IMAGE,
    Stack,
    WebChatVisitor,
    http_status,
    image_size,
    kill,
    post_rest,
)

MODEL = PROJECT_ROOT / "models" / "service-assistant.tar.gz"
FINGERPRINT = PROJECT_ROOT / "models" / "service-assistant.fingerprint"
LEAVE_STUDENT = "2024010102"  # 李浩然 of 实验小学 (data/demo/school.yml), guardian …1003
GAS_ACCOUNT, GAS_DIGITS = "31001004", "2004"  # data/demo/gas.yml


class CheckFailed(AssertionError):
    """A check of the run did not hold."""


class Run:
    """The steps' timings and the checks' tally, printed as they happen."""

    def __init__(self) -> None:
        self.timings: list[tuple[str, float]] = []
        self.passed = 0
        self.started = time.monotonic()

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        print(f"\n== {name}", flush=True)
        began = time.monotonic()
        try:
            yield
        finally:
            took = time.monotonic() - began
            self.timings.append((name, took))
            print(f"   ({took:.1f} s)", flush=True)

    def check(self, holds: bool, what: str, detail: str = "") -> None:
        if not holds:
            raise CheckFailed(f"{what}\n{detail[-3000:]}")
        self.passed += 1
        print(f"   ok  {what}", flush=True)


def leave_day(today: date) -> date:
    """The first day from the day after tomorrow on which 李浩然's school has care."""
    school = yaml.safe_load((PROJECT_ROOT / "data/demo/school.yml").read_text("utf-8"))
    shiyan = next(s for s in school["schools"] if s["code"] == "shiyan")
    closed = {entry["day"] for entry in shiyan["calendar"] if not entry["has_care"]}
    day = today + timedelta(days=2)
    while str(day.isoweekday()) not in shiyan["care_weekdays"] or day in closed:
        day += timedelta(days=1)
    return day


def spoken(day: date) -> str:
    return f"{day.month}月{day.day}日"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.compose_stack", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="leave the stack running")
    parser.add_argument(
        "--prepare",
        action="store_true",
        help="only make what needs no model (the packages, the base images, the app image "
        "and the Rasa image's package stage) for a later run to find built; CI runs it "
        "beside make test",
    )
    args = parser.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress in CI logs
    # Stopped from outside (CI's time limit, Ctrl-C): clean up all the same.
    signal.signal(signal.SIGTERM, _interrupted)

    state = PROJECT_ROOT / "var" / "compose-test"
    state.mkdir(parents=True, exist_ok=True)
    build_log = state / ("prepare.log" if args.prepare else "build.log")
    build_log.write_text("", encoding="utf-8")
    run = Run()
    daemon = host.Daemon(state)
    stack: Stack | None = None
    images: dict[str, str] = {}
    sizes: dict[str, int] = {}
    memory: dict[str, str] = {}
    failure: BaseException | None = None
    print(f"make compose-test: logs of the builds in {build_log}")
    with tempfile.TemporaryDirectory(prefix="compose-test-") as workdir:
        try:
            with run.step("Debian packages (docker.io, docker-compose, debootstrap)"):
                installed = host.ensure_packages(build_log)
                print(f"   installed: {' '.join(installed) or 'nothing, all there'}")
            with run.step("Docker engine"):
                print(f"   {daemon.start()}")
                compose = host.compose_command()
                print(f"   compose: {' '.join(compose)}")
            with run.step("base image (debootstrap bookworm + CPython 3.10)"):
                base, built = host.base_image(build_log)
                print(f"   {base} ({'built' if built else 'cached'})")
                images["base"] = base
            with run.step("stand-ins for postgres:15 and redis:7"):
                standins = host.standin_images(base, build_log)
                images["postgres stand-in"] = standins["POSTGRES_IMAGE"]
                images["redis stand-in"] = standins["REDIS_IMAGE"]
                print("   " + ", ".join(standins.values()))
            stack = Stack(
                compose=compose,
                workdir=Path(workdir),
                images={**standins, "PYTHON_IMAGE": base},
            )
            stack.write_files(packages_only=args.prepare)
            if args.prepare:
                prepare(run, stack, build_log)
                return _finish(run, failure=None, prefix="compose-test --prepare")
            with run.step("docker compose build"):
                fresh = FINGERPRINT.is_file() and MODEL.is_file()
                print(
                    "   model: "
                    + (
                        "models/service-assistant.tar.gz (kept if its fingerprint matches)"
                        if fresh
                        else "none in models/: the Rasa image trains one"
                    )
                )
                try:
                    stack.run("build", log=build_log)
                except host.HostError:  # a download that failed once: the rest is cached
                    print("   the build failed; once more")
                    stack.run("build", log=build_log)
                for kind in sorted(set(BUILT.values())):
                    images[kind] = f"service-assistant-test/{kind}:latest"
                sizes = {tag: image_size(tag) for tag in images.values()}
            with run.step("docker compose up -d, until every health check passes"):
                # What an interrupted run may have left of this project goes first.
                stack.run("down", "--volumes", "--remove-orphans", log=build_log)
                began = time.monotonic()
                stack.run("up", "-d", log=build_log)  # compose waits for what each one needs
                health = stack.wait_healthy(since=began)
                for service, seconds in sorted(health.items(), key=lambda item: item[1]):
                    print(
                        f"   {service:<10} {'exited 0' if service == 'migrate' else 'healthy'}"
                        f" after {seconds:.0f} s"
                    )
            parent = converse(run, stack)
            with run.step("memory of each container"):
                memory = stack.memory()
                for service, used in memory.items():
                    print(f"   {service:<10} {used}")
            backup_and_restore(run, stack, parent, Path(workdir))
            down_and_up(run, stack, parent)
        except BaseException as error:  # reported below, after the clean-up
            failure = error
        finally:
            with run.step("clean up"):
                if stack is not None and not args.keep:
                    try:
                        stack.run(
                            "down",
                            "--volumes",
                            "--remove-orphans",
                            "--timeout",
                            "20",
                            log=build_log,
                        )
                    except host.HostError as error:
                        print(f"   compose down failed: {error}")
                if not args.keep:
                    stopped = daemon.started_here
                    daemon.stop()
                    print(
                        "   containers, network and volumes removed"
                        + ("; the dockerd started here stopped" if stopped else "")
                    )
    if not args.prepare:
        summary(run, images, sizes, memory)
    return _finish(
        run, failure, prefix="compose-test --prepare" if args.prepare else "compose-test"
    )


def _finish(run: Run, failure: BaseException | None, prefix: str) -> int:
    if failure is not None:
        if isinstance(failure, CheckFailed | host.HostError):
            print(f"\nFAILED: {failure}", file=sys.stderr)
        else:
            traceback.print_exception(failure)
        print(f"{prefix}: {run.passed} passed, 1 failed")
        return 1
    print(f"{prefix}: {run.passed} passed, 0 failed")
    return 0


def prepare(run: Run, stack: Stack, log: Path) -> None:
    """Build what needs no model, so that the run after `make train` finds it cached: the
    app image whole, and the Rasa image's package stage (the same instructions on the same
    files through the same builder, so `docker compose build` reuses its layers)."""
    with run.step("prepare: the app image, and the Rasa image's package stage"):
        stack.run("build", "migrate", "rasa", log=log)
        run.check(
            host.image_exists("service-assistant-test/app:latest")
            and host.image_exists(f"service-assistant-test/{PACKAGES_IMAGE}:latest"),
            "the app image and the Rasa image's package stage are built",
        )


@dataclass
class Parent:
    """The parent whose leave the later steps look for."""

    chat: WebChatVisitor
    day: date


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def converse(run: Run, stack: Stack) -> Parent:
    """A gas bill, a complaint, and a leave interrupted by killed containers."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    day = leave_day(today)
    with run.step("published ports: REST channel, web chat page, dashboard, Rasa API"):
        status, answer = post_rest(stack.rasa_url, "web:compose-test", "你好")
        run.check(
            status == 200 and "您好" in answer,
            "REST channel from this machine answers",
            f"HTTP {status}: {answer}",
        )
        run.check(http_status(f"{stack.dashboard_url}/health") == 200, "dashboard /health 200")
        run.check(http_status(f"{stack.rasa_url}/status") == 401, "Rasa API without a JWT: 401")

    with run.step("web chat: a gas customer asks for the bill"):
        customer = WebChatVisitor(stack.rasa_url)
        run.check("户号" in customer.say("我想查燃气费"), "asks for the 户号")
        run.check("后 4 位" in customer.say(GAS_ACCOUNT), "asks for the phone's last 4 digits")
        bill = customer.say(GAS_DIGITS)
        run.check("验证成功" in bill and "当前欠费" in bill, "verified, shows the bill", bill)

    with run.step("web chat: a complaint, confirmed and logged"):
        complainant = WebChatVisitor(stack.rasa_url)
        first = complainant.say("我要投诉,抄表员态度很差,还对我大声嚷嚷")
        run.check("什么时间" in first, "reads service and category, asks when and where", first)
        complainant.say("昨天下午 在幸福小区3幢")
        complainant.say("不知道")
        summary_text = complainant.say("13900001111")
        run.check("确认" in summary_text, "repeats the complaint for confirmation", summary_text)
        filed = complainant.say("确认")
        tickets = stack.sql("select ticket_no from complaint order by id")
        run.check(
            len(tickets) == 1 and tickets[0][0] in filed,
            f"logged with ticket {tickets[0][0] if tickets else '?'}",
            filed,
        )

    with run.step(f"web chat: a leave for {spoken(day)}, Rasa and actions killed mid-form"):
        parent = WebChatVisitor(stack.rasa_url)
        asked = parent.say(f"孩子{spoken(day)}不参加课后看护,发烧了")
        run.check("学号" in asked, "asks for the 学号", asked)
        run.check("手机号" in parent.say(LEAVE_STUDENT), "asks for the guardian's phone")
        rasa, actions = stack.container("rasa"), stack.container("actions")
        killed = time.monotonic()
        kill([rasa, actions])
        print("   docker kill rasa actions")
        time.sleep(3)
        states = {service: stack.state(service)[0] for service in ("rasa", "actions")}
        if any(status != "running" for status in states.values()):
            print(f"   after the kill: {states}; docker compose up -d")
            stack.run("up", "-d")
        else:
            print("   restarted by their restart policy")
        took = stack.wait_healthy(("actions", "rasa"), since=killed)
        print(f"   healthy again {max(took.values()):.0f} s after the kill")
        confirm = parent.say("1003")
        run.check(
            "验证成功" in confirm
            and f"{day.month}月{day.day}日" in confirm
            and "发烧了" in confirm,
            "the form goes on: date and reason from before the kill, phone verified",
            confirm,
        )
        done = parent.say("确认")
        run.check("已为李浩然登记请假" in done, "leave recorded", done)
        rows = stack.sql(
            "select l.care_date, l.state from leave_request l join student s"
            f" on s.id = l.student_id where s.student_no = '{LEAVE_STUDENT}'"
        )
        run.check(
            rows == [[day.isoformat(), "requested"]], "one leave row in PostgreSQL", str(rows)
        )
        again = customer.say("查燃气费")
        run.check(
            "当前欠费" in again and "后 4 位" not in again,
            "the gas customer is still bound after the restart",
            again,
        )
    return Parent(parent, day)


def backup_and_restore(run: Run, stack: Stack, parent: Parent, workdir: Path) -> None:
    """`python -m bot backup` in the running stack; a later change undone by the restore."""
    with run.step("backup from the running stack (python -m bot backup in dashboard)"):
        printed = stack.run("exec", "-T", "dashboard", "python", "-m", "bot", "backup")
        inside = next((word for word in printed.split() if word.endswith(".dump")), "")
        run.check(inside.startswith("/app/var/backups/service-"), "backup written", printed)
        copy = workdir / Path(inside).name
        copy.write_bytes(stack.read_file("dashboard", inside))
        run.check(copy.stat().st_size > 10_000, f"copied out: {copy.stat().st_size} bytes")
    with run.step("a change after the backup: the leave is cancelled"):
        cancelled = parent.chat.say(f"取消{spoken(parent.day)}的请假")
        run.check("已取消" in cancelled, "cancelled in chat", cancelled)
    with run.step("restore (rasa and actions stopped, python -m bot restore --yes)"):
        stack.run("stop", "rasa", "actions")
        target = f"/app/var/backups/{copy.name}"
        stack.run(
            "exec", "-T", "dashboard", "sh", "-c", f"cat > {target}", input_bytes=copy.read_bytes()
        )
        stack.run("exec", "-T", "dashboard", "python", "-m", "bot", "restore", target, "--yes")
        stack.run("start", "actions", "rasa")
        stack.wait_healthy(("actions", "rasa"))
        rows = stack.sql("select state from leave_request")
        run.check(rows == [["requested"]], "the leave is back as it was at the backup", str(rows))


def down_and_up(run: Run, stack: Stack, parent: Parent) -> None:
    with run.step("docker compose down, then up -d: the data stay"):
        stack.run("down")
        stack.run("up", "-d")
        stack.wait_healthy()
        leaves = stack.sql("select state from leave_request")
        complaints = stack.sql("select count(*) from complaint")
        run.check(
            leaves == [["requested"]] and complaints == [["1"]],
            "leave and complaint still in PostgreSQL",
            f"{leaves} {complaints}",
        )
        listed = parent.chat.say("孩子请了哪几天假")
        run.check(spoken(parent.day) in listed, "the parent still sees the leave in chat", listed)


def summary(
    run: Run, images: dict[str, str], sizes: dict[str, int], memory: dict[str, str]
) -> None:
    print("\n== summary")
    for name, took in run.timings:
        print(f"   {took:7.1f} s  {name}")
    print(f"   {time.monotonic() - run.started:7.1f} s  in all")
    for kind, tag in images.items():
        if tag in sizes:
            print(f"   image {kind:<14} {sizes[tag] / 1e6:6.0f} MB  {tag}")
    for service, used in memory.items():
        print(f"   memory {service:<10} {used}")


if __name__ == "__main__":
    sys.exit(main())
