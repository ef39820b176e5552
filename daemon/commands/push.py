"""`intro-daemon push [PATH...] [--target NAME] [--all] [--retry-failed] [--undo]`: push markers now, here.

Without arguments it pushes whatever is due (what the service would push next). PATH (files or folders) and
`--all` queue those episodes again, whatever their state; `--retry-failed` gives failed pushes another go after
the cause was fixed (a key, a plugin, a path map). `--undo --target NAME` takes our markers off that target again
(for PATH, or everything). Safe beside the running service: pushes are idempotent.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from daemon.commands.common import prepare
from daemon.config import Config, ConfigError

if TYPE_CHECKING:
    from daemon.publish.pusher import PushReport, PushService

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    push = sub.add_parser("push", parents=[parent], help="push intro markers to the configured targets now")
    push.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="episodes, or folders of them")
    push.add_argument("--target", action="append", default=[], metavar="NAME", help="only this target (repeatable)")
    push.add_argument("--all", action="store_true", help="push every episode that has a result again")
    push.add_argument("--retry-failed", action="store_true", help="retry pushes that failed (within PATH/--target)")
    push.add_argument("--undo", action="store_true", help="remove our markers from --target (within PATH)")
    push.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    ready = prepare(args, lambda config: _targets(_service(config), args.target))
    if ready is None:
        return 2
    service, targets = ready
    paths = [p.resolve() for p in args.paths] or None
    if args.undo:
        return _undone(service, targets, paths)
    if args.retry_failed:
        queued = service.queue(paths=paths, targets=targets, failed_only=True)
        print(f"{queued} failed push(es) queued again")
    elif paths is not None or args.all:
        queued = service.queue(paths=paths, targets=targets)
        print(f"{queued} push(es) queued")
    service.probe()
    reports = service.run_due(targets=targets)
    return _summary(reports)


def _service(config: Config) -> PushService:
    from daemon.publish.config import build_publishers
    from daemon.publish.pusher import PushService
    from db.migrate import upgrade
    from db.session import make_engine, make_sessions

    publishers = build_publishers(config)
    if not publishers:
        raise ConfigError("targets: none configured; add a [[targets]] table (see README, Publishing)")
    engine = make_engine(config.state.database_url)
    upgrade(engine)
    return PushService(make_sessions(engine), publishers)


def _targets(service: PushService, wanted: list[str]) -> tuple[PushService, list[str] | None]:
    unknown = [name for name in wanted if name not in service.targets]
    if unknown:
        raise ConfigError(f"--target {unknown[0]}: no such target (configured: {', '.join(service.targets)})")
    return service, wanted or None


def _undone(service: PushService, targets: list[str] | None, paths: list[Path] | None) -> int:
    if not targets:
        print("intro-daemon: push --undo needs --target NAME (which target to take our markers off)", file=sys.stderr)
        return 2
    reports = service.undo(targets=targets, paths=paths)
    for report in reports:
        what = report.result.detail or report.result.action.value if report.result else report.error
        print(f"{report.state:8} {report.job.target:12} {report.job.path}  {what}")
    kept = sum(1 for report in reports if report.state != "undone")
    print(f"undone: {len(reports) - kept}, kept: {kept}")
    return 0 if kept == 0 else 1


def _summary(reports: list[PushReport]) -> int:
    for report in reports:
        what = report.result.action.value if report.result else report.error
        print(f"{report.state:8} {report.job.target:12} {report.job.path}  {what}")
    counts = Counter(report.state for report in reports)
    print(f"pushed: {counts['done']} done, {counts['pending']} to retry later, {counts['failed']} failed")
    return 0 if counts["done"] == len(reports) else 1
