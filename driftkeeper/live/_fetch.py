"""Run the GETs a read is made of and put their answers into snapshot sections.

Every reader (the whole tenant, one setting) plans :class:`~driftkeeper.kinds.Request`
values from the kinds' declarations and runs them here, so what an answer means is decided
in one place:

- a list answer adds its items to the section (de-duplicated by case-insensitive id across
  requests, filtered by the request's ``keep``); one object goes in as a one-item list, or
  as the section itself for an object section. An item unlike what the service sends (not
  an object, no string ``id``, ``properties`` not an object) fails the section: a listing is
  trusted whole or not at all;
- a 404 for the thing itself is "gone" (an empty section) where the request says so;
- an error code the request lists as ``absent`` (no license for the feature) leaves the
  section out: *not captured*;
- any other permanent failure fails the section (``readErrors``), prefixed with the
  request's ``where``; a section that failed once is not captured, whatever else answered;
- a transient failure is raised by the fetcher: a partial read is never returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from ._failures import Refused, SectionReads

if TYPE_CHECKING:
    from ..kinds import Request

__all__ = ["Fetcher", "run_requests"]

_log = logging.getLogger(__name__)


class Fetcher(Protocol):
    """Sends one request: a list, an object (None: empty body), or :class:`Refused`."""

    def fetch(self, request: Request) -> Any: ...


def run_requests(
    requests: Iterable[Request], fetcher: Callable[[Request], Fetcher], *, scope: str = ""
) -> SectionReads:
    """Run ``requests`` in order, each through ``fetcher(request)``; ``scope`` names what is
    read in the log."""
    reads = SectionReads()
    found: dict[str, dict[str, dict[str, Any]]] = {}
    absent: set[str] = set()
    for request in requests:
        section = request.section
        if section in reads.errors or section in absent:
            continue
        answer = fetcher(request).fetch(request)
        extra = {"section": section, "resource_id": scope or request.path}
        if isinstance(answer, Refused):
            if request.gone == "empty" and answer.gone:
                _log.info("%s: %s is gone (%s)", section, request.path, answer.text, extra=extra)
                found.setdefault(section, {})
            elif (answer.code or "").casefold() in request.absent:
                _log.info("%s not captured: %s", section, answer.text, extra=extra)
                absent.add(section)
            else:
                text = f"{request.where}: {answer.text}" if request.where else answer.text
                _log.warning("cannot read %s: %s", section, text, extra=extra)
                reads.fail(section, text)
            continue
        if answer is None or (not request.many and not isinstance(answer, dict)):
            reads.fail(section, "the service answered with an empty body")
            continue
        if request.shape == "object":
            reads.sections[section] = answer
            continue
        listed = answer if request.many else [answer]
        broken = next((why for item in listed if (why := _unlike_the_service(item))), None)
        if broken is not None:  # a listing we cannot trust whole is a failed read
            reads.fail(section, f"the service answered an item {broken}")
            continue
        items = found.setdefault(section, {})
        for item in listed:
            if request.keep is None or request.keep(item):
                items.setdefault(item["id"].casefold(), item)
    for section, items in found.items():
        if section not in reads.errors and section not in absent:
            reads.sections[section] = list(items.values())
    return reads


def _unlike_the_service(item: Any) -> str:
    """Why a listed item is not one ARM or Graph sends (empty when it is): an object with a
    string ``id``, and ``properties`` (ARM's wrapper) an object when present."""
    if not isinstance(item, dict):
        return "that is not an object"
    if not isinstance(item.get("id"), str) or not item["id"]:
        return "without an id"
    if not isinstance(item.get("properties", {}), dict):
        return "whose properties are not an object"
    return ""
