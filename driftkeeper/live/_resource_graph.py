"""Whole ARM sections across many subscriptions through Azure Resource Graph.

Listing NSGs and role assignments one subscription at a time costs a request per
subscription and section (more with paging); Resource Graph answers one Kusto query for up
to 1,000 subscriptions, 1,000 rows a page. :func:`graph_requests` plans one query per ARM
section (a :class:`~driftkeeper.kinds.Request` to :data:`RESOURCE_GRAPH_PATH`, so the answer
goes through :func:`~._fetch.run_requests` like any listing: de-duplicated by id, a strange
row fails the section) and :class:`ResourceGraphFetcher` runs it:

- ``POST /providers/Microsoft.ResourceGraph/resources?api-version=2022-10-01`` with
  ``{"subscriptions"|"managementGroups": [...], "query": ..., "options": {"$top": 1000,
  "$skipToken": ..., "resultFormat": "objectArray"}}``, through the ARM client
  (:meth:`~._arm.ArmClient.post`: same credential, policies and TLS settings). The answer is
  ``{"totalRecords", "count", "data": [rows], "$skipToken", "resultTruncated"}``; every
  ``$skipToken`` is followed (never the same one twice), a page that says it is truncated
  without a token fails the section: a partial listing is never used.
- The table and the type come from the section's declaration: ``authorizationresources``
  for ``Microsoft.Authorization/*`` types (role assignments, role definitions), ``resources``
  otherwise (NSGs). The query projects the columns ARM's own answer has (``id``, ``name``,
  ``type``, ``properties``, plus ``location``, ``tags`` for tracked resources), so the
  kinds' normalization applies unchanged; :func:`arm_shape` puts each row in ARM's shape
  (the ``type`` column is lower-case in Resource Graph; null columns are left out).
- Throttling: when ``x-ms-user-quota-remaining`` is 0 the next request waits
  ``x-ms-user-quota-resets-after`` (``hh:mm:ss``); a 429 (or 5xx, or no answer) waits
  ``Retry-After`` (else the quota reset, else a growing backoff) and is retried up to
  ``max_retries`` times, then raises :class:`~driftkeeper.TransientReadError`. No single
  wait is longer than :data:`MAX_WAIT` (Resource Graph's quota window is seconds: 15
  queries per 5 s by default), and the waits of one fetcher (one read) together stay within
  ``wait_budget`` (120 s by default; the function may run 10 minutes): a wait that would
  pass it raises :class:`~driftkeeper.TransientReadError` naming the section instead.
  ``sleep`` is injected (tests never wait).
- Paging is bounded: a query reads at most ``max_pages`` pages, and no more pages than it
  has rows (``totalRecords``) plus :data:`_PAGE_SLACK`: every page but the last brings a
  row, so a service that keeps sending fresh tokens with empty pages fails the
  section (``TooManyPages``) instead of looping.

- Above the subscriptions: ARM's listing of a subscription's role assignments has those at
  the root and at the management groups above it. Resource Graph's subscription-scoped
  query does not reach them, so one tenant-wide query per such section
  (``| where isempty(subscriptionId)``) asks for them, and answers every management group's.
  Before it, :func:`ancestry_requests` reads :data:`ANCESTRY_QUERY` (``resourcecontainers``:
  each read subscription's ``managementGroupAncestorsChain``, same batches and paging), and
  :class:`Ancestry` keeps of the tenant-wide rows those at the root (or at no management
  group) and those at an ancestor of a read subscription, compared case-insensitively; a
  name from a chain is used only when it matches ``SEGMENTS["managementGroup"]``, and only
  compared, never put into a query. When a read subscription has no ``resourcecontainers``
  row, its chain is unreadable, or that read failed, a tenant-wide row at a management
  group outside the known ancestors fails its section (``ManagementGroupsUnknown``, a read
  error): keeping it would snapshot an unrelated group's assignments (baselines for them,
  unbaselined findings against an ARM baseline), dropping it would read an assignment that
  may apply as removed. An answer with no such row is kept whole.
- Management groups instead of subscriptions: one query per section with
  ``managementGroups`` (the subscriptions below the groups, and the authorization rows at
  and below them), plus the same tenant-wide query, judged by the ancestors of the
  subscriptions below the groups (:func:`ancestry_requests` with ``managementGroups``), so
  the read equals the read of those subscriptions; before, it missed the assignments at the
  root and above the groups.

Resource Graph lags ARM by seconds to minutes: the whole-tenant reads (snapshot, reconcile)
use it; the event path's per-resource reads stay on ARM.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._errors import TransientReadError
from ..kinds._reads import SEGMENTS
from ._failures import Refused, SectionReads, describe_failure, is_transient
from ._reply import retry_after

if TYPE_CHECKING:
    from ..kinds import ArmSection, Request
    from ._arm import ArmClient

__all__ = [
    "ANCESTRY_QUERY",
    "ANCESTRY_SECTION",
    "API_VERSION",
    "MAX_PAGES",
    "MAX_SUBSCRIPTIONS",
    "MAX_TOP",
    "MAX_WAIT",
    "RESOURCE_GRAPH_PATH",
    "WAIT_BUDGET",
    "Ancestry",
    "PageListener",
    "ResourceGraphFetcher",
    "ancestry_requests",
    "arm_shape",
    "graph_query",
    "graph_requests",
    "is_above",
    "parse_timespan",
]

_log = logging.getLogger(__name__)

RESOURCE_GRAPH_PATH = "/providers/Microsoft.ResourceGraph/resources"
API_VERSION = "2022-10-01"
MAX_TOP = 1000
"""Rows per page: Resource Graph's largest ``$top``."""
MAX_SUBSCRIPTIONS = 1000
"""Subscriptions per request Resource Graph accepts; more are sent in batches."""
QUOTA_REMAINING = "x-ms-user-quota-remaining"
QUOTA_RESETS_AFTER = "x-ms-user-quota-resets-after"
_KEPT = (QUOTA_REMAINING, QUOTA_RESETS_AFTER)
_TYPE = re.compile(r"^[A-Za-z0-9.]+(?:/[A-Za-z0-9]+)+$")
_TIMESPAN = re.compile(
    r"^(?:([0-9]{1,7})\.)?([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,7}))?$"
)
"""A .NET TimeSpan, its parts bounded (days up to 7 digits, as .NET's own range; the fraction
up to 7, ticks): longer text is not a timespan, never an integer too long to convert."""
MAX_WAIT = 30.0
"""The longest single wait a header may ask for (seconds); a longer one is cut to this.
Resource Graph's quota window is seconds (15 queries per 5 s by default)."""
WAIT_BUDGET = 120.0
"""The most one fetcher (one read) waits in all, by default (seconds)."""
MAX_PAGES = 10_000
"""The most pages one query reads, by default (10 million rows at 1,000 a page)."""
_PAGE_SLACK = 2
"""Pages allowed beyond one per row the query says it has (``totalRecords``)."""

ANCESTRY_SECTION = "resourceGraph.subscriptionAncestors"
"""The pseudo-section the ancestry rows are read into (never a snapshot's section)."""
_CHAIN = "managementGroupAncestorsChain"
ANCESTRY_QUERY = (
    "resourcecontainers | where type =~ 'microsoft.resources/subscriptions' "
    "| project id, properties | order by id asc"
)
"""One row per subscription; ``properties.managementGroupAncestorsChain`` lists
``{"name", "displayName"}`` from the immediate parent to the tenant root group."""
_SUBSCRIPTION_ID = re.compile(rf"/subscriptions/({SEGMENTS['subscription']})", re.I | re.A)
_GROUP_NAME = re.compile(SEGMENTS["managementGroup"], re.A)
_GROUP_SCOPE = re.compile(r"/providers/Microsoft\.Management/managementGroups/([^/]*)(?:/|$)", re.I)

Scope = Literal["subscriptions", "managementGroups"]
PageListener = Callable[[str, int, int], None]
"""Called after each page: (section, rows read so far, the query's total rows)."""


def graph_query(section: ArmSection, *, outside_subscriptions: bool = False) -> str:
    """The Kusto query that lists ``section``'s resource type, in ARM's columns
    (``outside_subscriptions``: only those at a management group or the root)."""
    if _TYPE.fullmatch(section.resource_type) is None:  # never put odd text into a query
        raise ValueError(f"not a resource type: {section.resource_type!r}")
    wanted = section.resource_type.casefold()
    if wanted.startswith("microsoft.authorization/"):
        table, columns = "authorizationresources", "id, name, type, properties"
    else:
        table, columns = "resources", "id, name, type, location, tags, properties"
    where = " | where isempty(subscriptionId)" if outside_subscriptions else ""
    return f"{table} | where type =~ '{wanted}'{where} | project {columns} | order by id asc"


def graph_requests(
    sections: Iterable[ArmSection],
    subscriptions: Sequence[str] = (),
    management_groups: Sequence[str] = (),
) -> list[Request]:
    """One Resource Graph query per section and batch of at most
    :data:`MAX_SUBSCRIPTIONS` subscriptions (or per management group list).

    A subscription-scoped query does not reach what lives above the subscriptions, which
    ARM's listing of a subscription includes: role assignments made at a management group
    or the root, built-in role definitions. For the sections that have such items (an
    extension type listed at any scope, any ``Microsoft.Authorization`` type) one more query
    asks the tenant for the items outside any subscription, so a management group's
    assignments are not read as removed. That query answers every management group's items:
    :class:`ResourceGraphFetcher` keeps only those :class:`Ancestry` says apply (read first,
    by :func:`ancestry_requests`; :func:`is_above` names the requests it judges).
    """
    from ..kinds import Request

    scope, batches = _batches(subscriptions, management_groups)
    requests: list[Request] = []
    for section in sections:
        requests += [
            Request(
                section.name,
                "arm",
                RESOURCE_GRAPH_PATH,
                query=(("query", graph_query(section)), (scope, ",".join(batch))),
                api_version=API_VERSION,
                where=f"Resource Graph ({len(batch)} {scope})",
            )
            for batch in batches
        ]
        if _above_subscriptions(section) and batches:
            query = graph_query(section, outside_subscriptions=True)
            requests.append(
                Request(
                    section.name,
                    "arm",
                    RESOURCE_GRAPH_PATH,
                    query=(("query", query),),
                    api_version=API_VERSION,
                    where="Resource Graph (the tenant, above the subscriptions)",
                )
            )
    return requests


def ancestry_requests(
    subscriptions: Sequence[str] = (), management_groups: Sequence[str] = ()
) -> list[Request]:
    """The :data:`ANCESTRY_QUERY` for the read subscriptions, in the batches of
    :func:`graph_requests` (or for the management groups: the subscriptions below them).
    Their rows go into the pseudo-section :data:`ANCESTRY_SECTION`, for
    :meth:`Ancestry.learn`; never into a snapshot."""
    from ..kinds import Request

    scope, batches = _batches(subscriptions, management_groups)
    return [
        Request(
            ANCESTRY_SECTION,
            "arm",
            RESOURCE_GRAPH_PATH,
            query=(("query", ANCESTRY_QUERY), (scope, ",".join(batch))),
            api_version=API_VERSION,
            where=f"Resource Graph ({len(batch)} {scope})",
        )
        for batch in batches
    ]


def is_above(request: Request) -> bool:
    """A query of the whole tenant (no scope): the items above the subscriptions, whose rows
    :class:`Ancestry` judges."""
    return request.path == RESOURCE_GRAPH_PATH and not any(
        key in ("subscriptions", "managementGroups") for key, _ in request.query
    )


def _batches(
    subscriptions: Sequence[str], management_groups: Sequence[str]
) -> tuple[Scope, list[list[str]]]:
    scope: Scope = "managementGroups" if management_groups else "subscriptions"
    ids = list(dict.fromkeys(management_groups or [s.casefold() for s in subscriptions]))
    return scope, [ids[i : i + MAX_SUBSCRIPTIONS] for i in range(0, len(ids), MAX_SUBSCRIPTIONS)]


@dataclass(frozen=True)
class Ancestry:
    """The management groups above the read subscriptions, as Resource Graph's
    ``resourcecontainers`` says (:data:`ANCESTRY_QUERY`), and what the tenant-wide rows
    (:func:`is_above`) keep: those at the root, or at one of :attr:`groups`; those at any
    other management group apply to no read subscription, and ARM's listing of the
    subscriptions does not have them either. A row at no management group (the root, a
    built-in role definition) is always kept.

    When a read subscription has no row in ``resourcecontainers`` (Resource Graph does not
    see it: no access to it, or not indexed yet) or its chain is unreadable (not a list, a
    name that is not a management group name), or the ancestry read itself failed, a
    tenant-wide row at a management group outside :attr:`groups` may apply to it: its
    section fails (:meth:`judge` answers :class:`Refused`, ``ManagementGroupsUnknown``, a
    read error), never kept (a baseline for an unrelated group) nor dropped (an assignment
    read as removed). A tenant-wide answer with no such row needs nothing more and is kept.
    """

    groups: frozenset[str] = frozenset()
    """Casefolded names of the management groups above a read subscription (the tenant
    root group among them), each one valid (:data:`~driftkeeper.kinds.SEGMENTS`)."""
    unknown: tuple[str, ...] = ()
    """The read subscriptions whose ancestors are not known."""
    problem: str = "the management groups above the subscriptions were not read"
    """Why some ancestors are not known (empty when every one is)."""

    @classmethod
    def learn(cls, reads: SectionReads, subscriptions: Sequence[str] = ()) -> Ancestry:
        """From the answers of :func:`ancestry_requests` (``subscriptions``: the ones read,
        each of which needs a row; none when management groups were read)."""
        wanted = list(dict.fromkeys(s.casefold() for s in subscriptions))
        asked = set(wanted)
        error = reads.errors.get(ANCESTRY_SECTION)
        if error is not None or ANCESTRY_SECTION not in reads.sections:
            why = error or "no answer"
            return cls(unknown=tuple(wanted), problem=f"{cls.problem} ({why})")
        groups: set[str] = set()
        known: set[str] = set()
        unreadable: list[str] = []
        for row in reads.sections[ANCESTRY_SECTION]:
            found = _SUBSCRIPTION_ID.fullmatch(str(row.get("id", "")))
            if found is None:
                continue  # not a subscription: says nothing about one
            subscription = found.group(1).casefold()
            if asked and subscription not in asked:
                continue  # not read: its ancestors are above no read subscription
            names = _chain(row.get("properties"))
            if names is None:
                unreadable.append(subscription)
                continue
            known.add(subscription)
            groups.update(names)
        unknown = [s for s in wanted if s not in known] + [
            s for s in dict.fromkeys(unreadable) if s not in known and s not in wanted
        ]
        if not unknown:
            return cls(frozenset(groups), (), "")
        missing = [s for s in unknown if s not in unreadable]
        parts = []
        if missing:
            parts.append(f"Resource Graph has no row for {_few(missing)}")
        if unreadable:
            parts.append(f"the management group chain of {_few(unreadable)} is unreadable")
        return cls(frozenset(groups), tuple(unknown), " and ".join(parts))

    def judge(self, rows: list[Any], where: str = "") -> list[Any] | Refused:
        """The tenant-wide ``rows`` that apply to the read subscriptions (see the class)."""
        kept: list[Any] = []
        left_out = 0
        for row in rows:
            group = _management_group(row) if isinstance(row, dict) else None
            # a name is ASCII (SEGMENTS): one that merely casefolds to an ancestor's (a
            # KELVIN SIGN for K) is another group, whose scope would take the ancestor's key
            if group is None or (group.isascii() and group.casefold() in self.groups):
                kept.append(row)
            elif self.unknown or self.problem:
                return Refused(
                    0,
                    "ManagementGroupsUnknown",
                    f"{row.get('id')!r:.300} is at management group {group!r:.100}, which may "
                    f"be above a read subscription: {self.problem}",
                )
            else:
                left_out += 1
        if left_out:
            _log.info(
                "Resource Graph: %s: %d rows at management groups above no read subscription "
                "left out",
                where,
                left_out,
            )
        return kept


def _chain(properties: Any) -> frozenset[str] | None:
    """The casefolded names of ``properties.managementGroupAncestorsChain`` (immediate
    parent to the tenant root group); None unless it is a list of objects whose ``name`` is
    a management group name."""
    chain = properties.get(_CHAIN) if isinstance(properties, dict) else None
    if not isinstance(chain, list):
        return None
    names = set()
    for element in chain:
        name = element.get("name") if isinstance(element, dict) else None
        if not isinstance(name, str) or _GROUP_NAME.fullmatch(name) is None:
            return None
        names.add(name.casefold())
    return frozenset(names)


def _management_group(row: dict[str, Any]) -> str | None:
    """The management group a tenant-wide row is at (``properties.scope``, else its id), or
    None when it is at none (the root)."""
    properties = row.get("properties")
    scope = properties.get("scope") if isinstance(properties, dict) else None
    if not isinstance(scope, str) or not scope:
        scope = row.get("id")
    if not isinstance(scope, str):
        return None
    # blanks, or a leading slash doubled or missing, never make a group's row the root's
    found = _GROUP_SCOPE.match("/" + scope.strip().lstrip("/"))
    return found.group(1) if found else None


def _few(subscriptions: list[str]) -> str:
    shown = ", ".join(subscriptions[:5])
    more = f" and {len(subscriptions) - 5} more" if len(subscriptions) > 5 else ""
    return f"subscription{'s' if len(subscriptions) > 1 else ''} {shown}{more}"


def _above_subscriptions(section: ArmSection) -> bool:
    return section.scoped or section.resource_type.casefold().startswith("microsoft.authorization/")


def arm_shape(row: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """A Resource Graph row as ARM lists the resource: the type as ARM spells it, and no
    column that is null (Resource Graph has a value for every projected column, null when
    the resource has none; ARM leaves out what a resource does not have)."""
    out = {k: v for k, v in row.items() if v is not None}
    if str(out.get("type", "")).casefold() == resource_type.casefold():
        out["type"] = resource_type
    return out


def parse_timespan(text: str | None) -> float | None:
    """``"00:00:03"`` / ``"1.02:03:04.5"`` (a .NET TimeSpan) or plain seconds -> seconds."""
    if not text:
        return None
    text = text.strip()
    match = _TIMESPAN.fullmatch(text)
    if match:
        days, hours, minutes, seconds, fraction = match.groups()
        total = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds)
        return total + (float("0." + fraction) if fraction else 0.0)
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 and math.isfinite(value) else None


class ResourceGraphFetcher:
    """Runs the requests of :func:`graph_requests` (see the module notes); a
    :class:`~._fetch.Fetcher`."""

    def __init__(
        self,
        arm: ArmClient,
        resource_types: dict[str, str],
        *,
        max_retries: int = 5,
        retry_delay: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        on_page: PageListener | None = None,
        wait_budget: float = WAIT_BUDGET,
        max_pages: int = MAX_PAGES,
    ) -> None:
        self._arm = arm
        self._types = resource_types
        self._max_retries = max_retries
        self._retry_delay = retry_delay
        self._sleep = sleep
        self._on_page = on_page
        self._wait_budget = wait_budget
        self._max_pages = max_pages
        self._wait_before_next = 0.0
        self.waited = 0.0
        """Seconds waited so far, in all (at most ``wait_budget``)."""
        self.requests_sent = 0
        self.pages_read = 0
        self.ancestry = Ancestry()
        """What the rows of a tenant-wide query (:func:`is_above`) are judged by: set from
        the ancestry read (:meth:`Ancestry.learn`) before those queries run; until then
        nothing is known, and a row at a management group fails its section."""

    def fetch(self, request: Request) -> Any:
        """Every row of the query, in ARM's shape, or :class:`Refused`; for a tenant-wide
        query only the rows :attr:`ancestry` keeps."""
        rows = self._rows(request)
        if is_above(request) and isinstance(rows, list):
            return self.ancestry.judge(rows, f"{request.section} {request.where}".strip())
        return rows

    def _rows(self, request: Request) -> list[Any] | Refused:
        options = dict(request.query)
        body: dict[str, Any] = {
            "query": options["query"],
            "options": {"$top": MAX_TOP, "resultFormat": "objectArray"},
        }
        for scope in ("subscriptions", "managementGroups"):
            if scope in options:
                body[scope] = [s for s in options[scope].split(",") if s]
        resource_type = self._types.get(request.section, "")
        rows: list[dict[str, Any]] = []
        seen: set[str] = set()
        pages = 0
        while True:
            page = self._page(request, body)
            if isinstance(page, Refused):
                return page
            data = page.get("data")
            if not isinstance(data, list):
                return Refused(0, "InvalidBody", "Resource Graph answered without a data list")
            rows.extend(arm_shape(r, resource_type) if isinstance(r, dict) else r for r in data)
            self.pages_read += 1
            pages += 1
            total = page.get("totalRecords")
            if self._on_page is not None:
                self._on_page(request.section, len(rows), total if isinstance(total, int) else 0)
            token = page.get("$skipToken")
            if not token:
                if str(page.get("resultTruncated", "false")).casefold() == "true":
                    return Refused(
                        0, "ResultTruncated", "Resource Graph truncated the answer (no $skipToken)"
                    )
                return rows
            if not isinstance(token, str):
                return Refused(
                    0, "BadSkipToken", "Resource Graph answered a $skipToken that is not a string"
                )
            if token in seen:
                return Refused(0, "BadSkipToken", "Resource Graph repeated a $skipToken")
            limit = self._max_pages
            if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
                limit = min(limit, total + _PAGE_SLACK)
            if pages >= limit:
                return Refused(
                    0,
                    "TooManyPages",
                    f"Resource Graph kept paging: {pages} pages read ({len(rows)} rows of "
                    f"{total if isinstance(total, int) else 'an unknown number'}), "
                    "and it sent another $skipToken",
                )
            seen.add(token)
            body = {**body, "options": {**body["options"], "$skipToken": token}}

    def _page(self, request: Request, body: dict[str, Any]) -> Any:
        url = self._arm.endpoint + RESOURCE_GRAPH_PATH
        where = f"{request.section} {request.where}".strip()
        for attempt in range(self._max_retries + 1):
            if self._wait_before_next > 0:
                self._wait(where, self._wait_before_next)
            self._wait_before_next = 0.0
            reply = self._arm.post(url, body, params={"api-version": API_VERSION}, keep=_KEPT)
            self.requests_sent += 1
            resets = parse_timespan(reply.headers.get(QUOTA_RESETS_AFTER))
            if reply.headers.get(QUOTA_REMAINING, "").strip() == "0":
                self._wait_before_next = min(resets if resets is not None else 5.0, MAX_WAIT)
            if reply.status == 200:
                if isinstance(reply.body, dict):
                    return reply.body
                return Refused(0, "InvalidBody", "Resource Graph answered 200 without an object")
            if reply.status and not is_transient(reply.status):
                return _refused(reply.status, reply.body)
            wait = retry_after(reply)
            if wait is None:
                wait = resets if resets is not None else self._retry_delay * 2**attempt
            self._wait_before_next = max(self._wait_before_next, min(wait, MAX_WAIT))
            why = f"{reply.status}" if reply.status else reply.problem
            _log.warning("Resource Graph: %s (%s), attempt %d", where, why, attempt + 1)
        text = (
            describe_failure(reply.status, *_error(reply.body))
            if reply.status
            else f"no response from ARM ({reply.problem})"
        )
        raise TransientReadError(f"{where}: {text} (after {self._max_retries} retries)")

    def _wait(self, where: str, seconds: float) -> None:
        """Sleep ``seconds``, or raise :class:`TransientReadError` when that would pass the
        wait budget (the function's run time is bounded; a later run reads again)."""
        if self.waited + seconds > self._wait_budget:
            raise TransientReadError(
                f"{where}: Resource Graph is throttling the read: waiting {seconds:.1f} s more "
                f"would pass the wait budget ({self.waited:.1f} of {self._wait_budget:.1f} s "
                "waited)"
            )
        _log.info("Resource Graph throttled: waiting %.1f s", seconds)
        self.waited += seconds
        self._sleep(seconds)


def _error(body: Any) -> tuple[str | None, str | None]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    code, message = error.get("code"), error.get("message")
    return (code if isinstance(code, str) else None, message if isinstance(message, str) else None)


def _refused(status: int, body: Any) -> Refused:
    code, message = _error(body)
    return Refused(status, code, describe_failure(status, code, message))
