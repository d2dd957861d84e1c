"""The errors of the alerts package, in driftkeeper's tree (see :mod:`driftkeeper._errors`)::

    DriftkeeperError
     ├── InputError
     │    └── AlertConfigError   an alert setting is invalid (names the variable and the value)
     └── DeliveryError           a channel could not deliver one alert
                                 (``transient``: a retry may help; ``retry_after``: seconds asked)

A channel raises :class:`DeliveryError` only, with a message that never carries a secret (no
webhook URL, token, key or password). :class:`~driftkeeper.alerts.Notifier` catches it, retries
transient failures and records the outcome as a :class:`~driftkeeper.alerts.Delivery`.
"""

from __future__ import annotations

from .._errors import DriftkeeperError, InputError

__all__ = ["AlertConfigError", "DeliveryError"]


class AlertConfigError(InputError):
    """An alert setting (an environment variable, a constructor argument) is unusable."""

    def __init__(self, variable: str, value: str, problem: str) -> None:
        self.variable = variable
        self.value = value
        self.problem = problem
        super().__init__(f"{variable}={value!r}: {problem}")


class DeliveryError(DriftkeeperError):
    """One attempt to deliver an alert through one channel failed.

    ``transient`` says whether trying again later may succeed (HTTP 408/429/5xx, SMTP 4xx, no
    answer); ``retry_after`` is the delay in seconds the service asked for, if it did.
    """

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(message)
