"""Helpers of the paging tests: read every page of a query; a TableClient that counts its
query requests and can answer empty pages, as Table Storage may."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.data.tables import TableClient

from driftkeeper.query import EventQuery, read_page


class Counting:
    """A TableClient that counts query requests; ``empty_first`` makes the service answer
    that many empty pages (with a continuation token) before each real one, as Table
    Storage may; ``always_empty`` never answers a row."""

    def __init__(self, table: TableClient, *, empty_first: int = 0, always_empty: bool = False):
        self.table = table
        self.empty_first = empty_first
        self.always_empty = always_empty
        self.requests = 0
        self.empties = 0
        self.filters: list[tuple[str, Mapping[str, Any]]] = []

    def get_entity(self, *args: Any) -> Any:
        return self.table.get_entity(*args)

    def query_entities(self, text: str, *, parameters: Mapping[str, Any], **kw: Any) -> Any:
        self.filters.append((text, parameters))
        outer = self

        class Paged:
            def by_page(self, continuation_token: Any = None) -> Any:
                return Pages(
                    outer.table.query_entities(text, parameters=parameters, **kw).by_page(
                        continuation_token=continuation_token
                    ),
                    continuation_token,
                )

        class Pages:
            def __init__(self, inner: Any, token: Any) -> None:
                self.inner, self.token = inner, token
                self.continuation_token: Any = None

            def __iter__(self) -> Pages:
                return self

            def __next__(self) -> Any:
                outer.requests += 1
                if self.token and (outer.always_empty or outer.empties < outer.empty_first):
                    outer.empties += 1
                    self.continuation_token = self.token  # nothing read, the same place
                    return iter([])
                outer.empties = 0
                page = next(self.inner)
                self.continuation_token = self.inner.continuation_token
                return page

        return Paged()


def read_all(
    table: Any, query: EventQuery, page_size: int, **limits: Any
) -> tuple[list[dict[str, Any]], list[int]]:
    """Every page of ``query``, following the service's continuation and the byte limit's
    resume key as the API's ``next`` does."""
    events: list[dict[str, Any]] = []
    sizes: list[int] = []
    token, resume = None, None
    while True:
        page = read_page(
            table, query, page_size=page_size, continuation=token, resume=resume, **limits
        )
        assert len(page.events) <= page_size
        events.extend(page.events)
        sizes.append(len(page.events))
        token, resume = page.continuation, page.resume
        if token is None and resume is None:
            return events, sizes
