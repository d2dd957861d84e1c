"""The ARM sections of a live snapshot, read with the Azure management SDKs.

Per subscription: every NSG (``network_security_groups.list_all``), every role assignment the
subscription sees, including those inherited from management groups and the root
(``role_assignments.list_for_subscription``), and the role definitions at the subscription
scope. The SDK pagers follow every ``nextLink``; the SDK pipelines retry 408/429/5xx and
honour ``Retry-After``. Objects are converted back to the ARM REST JSON shape and
de-duplicated by (case-insensitive) id across subscriptions.

What the conversion keeps:

- azure-mgmt-network (33.x, TypeSpec models): the model holds the REST JSON as received, and
  ``as_dict()`` returns it unchanged, unknown fields included.
- azure-mgmt-authorization (4.x, msrest models, API 2022-04-01): ``serialize(keep_readonly=
  True)`` writes only the fields the model knows, so a field ARM adds later is dropped, a
  ``null`` is dropped, and timestamps are re-written with at most 6 fraction digits
  (``...46.4341990Z`` becomes ``...46.434199Z``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .._errors import ReadError, TransientReadError
from ..snapshot import ARM_SECTIONS
from ._failures import Refused, SectionReads, describe_failure, is_transient

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

__all__ = ["arm_client_options", "call_arm", "read_arm", "rest_json"]

_log = logging.getLogger(__name__)
T = TypeVar("T")


def arm_client_options(
    endpoint: str,
    *,
    connection_verify: str | bool,
    max_retries: int | None,
    retry_delay: float | None,
) -> dict[str, Any]:
    """The mgmt clients' options: ``endpoint`` and its token scope, TLS verification, and the
    retry policy (``retry_total`` / ``retry_status`` / ``retry_backoff_factor``; ``None`` keeps
    the SDK's default)."""
    from . import _default_scope

    options: dict[str, Any] = {
        "base_url": endpoint.rstrip("/"),
        "connection_verify": connection_verify,
        "credential_scopes": [_default_scope(endpoint)],
    }
    if max_retries is not None:
        options.update(retry_total=max_retries, retry_status=max_retries)
    if retry_delay is not None:
        options["retry_backoff_factor"] = retry_delay
    return options


def read_arm(
    credential: TokenCredential,
    subscriptions: Sequence[str],
    *,
    options: Mapping[str, Any],
) -> SectionReads:
    """Read the ARM sections for ``subscriptions``; raise on a transient failure.

    ``options`` go to the mgmt clients as they are (see :func:`arm_client_options`).
    """
    from azure.mgmt.authorization import AuthorizationManagementClient
    from azure.mgmt.network import NetworkManagementClient

    reads = SectionReads()
    found: dict[str, dict[str, dict[str, Any]]] = {f"arm.{name}": {} for name in ARM_SECTIONS}
    for subscription in subscriptions:
        with (
            NetworkManagementClient(credential, subscription, **options) as network,
            AuthorizationManagementClient(credential, subscription, **options) as authorization,
        ):
            listings: dict[str, Callable[[], Iterable[Any]]] = {
                "arm.networkSecurityGroups": network.network_security_groups.list_all,
                "arm.roleAssignments": authorization.role_assignments.list_for_subscription,
                "arm.roleDefinitions": partial(
                    authorization.role_definitions.list, f"/subscriptions/{subscription}"
                ),
            }
            for section, list_all in listings.items():
                failure = _list_into(found[section], list_all, section, subscription)
                if failure is not None:
                    reads.fail(section, f"subscription {subscription}: {failure}")
    for section, items in found.items():
        if section not in reads.errors:
            reads.sections[section] = list(items.values())
    return reads


def _list_into(
    found: dict[str, dict[str, Any]],
    list_all: Callable[[], Iterable[Any]],
    section: str,
    subscription: str,
) -> str | None:
    """Add every listed object to ``found`` (keyed by lower-cased id); return a failure text.

    Permanent failures are returned, transient ones raised.
    """
    where = f"{section} (subscription {subscription})"

    def add_all() -> int:
        count = 0
        for model in list_all():
            item = rest_json(model)
            found.setdefault(str(item.get("id") or f"<no id {len(found)}>").lower(), item)
            count += 1
        return count

    count = call_arm(where, add_all)
    if isinstance(count, Refused):
        _log.warning("cannot read %s: %s", where, count.text, extra={"section": section})
        return count.text
    _log.info("read %s: %d objects", where, count, extra={"section": section})
    return None


def call_arm(where: str, call: Callable[[], T]) -> T | Refused:
    """Run an ARM SDK call; return a permanent failure, raise a transient one."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

    try:
        return call()
    except HttpResponseError as exc:
        status = exc.status_code
        if status is None:  # no response at all: the credential could not give a token
            first_line = (exc.message or "").strip().splitlines()[:1]
            raise ReadError(
                f"{where}: could not get an access token for ARM: "
                f"{type(exc).__name__}: {' '.join(first_line)}"
            ) from exc
        error = exc.error
        code = error.code if error else None
        text = describe_failure(status, code, error.message if error else exc.reason)
        if is_transient(status):
            raise TransientReadError(f"{where}: {text} (after retries)") from exc
        return Refused(status, code, text)
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise TransientReadError(
            f"{where}: no response from ARM ({type(exc).__name__}, after retries)"
        ) from exc


def rest_json(model: Any) -> dict[str, Any]:
    """An ARM SDK model as ARM REST JSON (``properties``-wrapped, camelCase)."""
    if isinstance(model, Mapping):  # TypeSpec models (azure-mgmt-network >= 30) hold the JSON
        as_dict: dict[str, Any] = model.as_dict()  # type: ignore[attr-defined]
        return as_dict
    serialized: dict[str, Any] = model.serialize(keep_readonly=True)  # msrest models
    return serialized
