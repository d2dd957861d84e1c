from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from driftkeeper._loop import LoopThread
from driftkeeper.alerts import DeliveryError, GraphMailChannel

from ._alerts import make_alert


def test_one_loop_serves_every_call_and_close_joins_the_thread() -> None:
    runner = LoopThread("test-loop")

    async def loop_id() -> int:
        return id(asyncio.get_running_loop())

    first, second = runner.run(loop_id()), runner.run(loop_id())
    assert first == second
    runner.close()
    assert not any(t.name == "test-loop" for t in threading.enumerate())
    runner.close()  # closing twice is harmless


def test_timeout_cancels_the_call_and_close_unwinds_it() -> None:
    runner = LoopThread("test-loop-timeout")
    cancelled = threading.Event()

    async def hang() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError):
        runner.run(hang(), timeout=0.05)
    runner.close()
    assert cancelled.is_set()


def _hanging_graph_client() -> Any:
    async def post(body: Any, request_configuration: Any = None) -> None:
        await asyncio.sleep(60)

    send_mail = SimpleNamespace(post=post)
    users = SimpleNamespace(by_user_id=lambda user_id: SimpleNamespace(send_mail=send_mail))
    return SimpleNamespace(users=users)


def test_graph_mail_that_does_not_answer_is_transient() -> None:
    with (
        GraphMailChannel(
            _hanging_graph_client(), sender="driftkeeper@contoso.example", timeout=0.1
        ) as channel,
        pytest.raises(DeliveryError, match=r"no answer within 0\.1 s") as info,
    ):
        channel.send(make_alert())
    assert info.value.transient
