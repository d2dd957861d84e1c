"""The exceptions driftkeeper raises.

Every error derives from :class:`DriftkeeperError`, so a caller that wants to stop on
anything of ours catches that one class::

    DriftkeeperError
     ├── InputError               bad input (a file, a setting, a user); exit code 2 in the CLI
     │    ├── BaselineError       a baseline file is unreadable or invalid (names file + field)
     │    ├── FieldError          a value in a baseline's ``expected`` (``path``, ``problem``)
     │    ├── SnapshotError       a snapshot document is unreadable or invalid
     │    ├── TimeFormatError     a time not in ISO 8601, or out of the event table's range
     │    └── SettingsError       a ``DRIFTKEEPER_*`` / ``AZURE_*`` setting (``variable``)
     │         └── AlertConfigError  an alert setting or channel argument (+ ``value``)
     ├── ReadError                reading live state from ARM or Graph failed
     │    ├── TransientReadError  ... in a way a retry may fix (429, 5xx, timeouts)
     │    ├── BadNextLinkError    ARM or Graph sent a next link we will not follow
     │    └── InvalidBodyError    ARM or Graph answered 2xx with a body it does not send
     ├── WriteError               a change sent to ARM or Graph did not take effect (``status``)
     │    ├── TransientWriteError a retry later may succeed (429, 5xx, no answer, budget spent)
     │    ├── WriteRefusedError   the service refused it (400, 403, 409 ...: ``code``)
     │    └── ForeignUrlError     the URL is not the configured endpoint's: nothing was sent
     ├── DeliveryError            an alert channel failed (``transient``, ``retry_after``)
     └── PluginError              a kind or guard module that cannot load or declares wrongly

:class:`FieldError` and :class:`TimeFormatError` are also subclasses of :class:`ValueError`,
as the errors they replace were, so code that catches ``ValueError`` around a parse keeps
working.
Messages never carry a secret: a setting that holds one (a webhook URL, a key, a password, a
connection string) is named, never shown.

Not in the tree, on purpose:

- Table Storage failures are not wrapped: azure-core's exceptions propagate so the trigger
  fails and the platform retries (every write is idempotent, see :mod:`driftkeeper.store`).
- A caller breaking a function's contract gets the built-in :class:`TypeError` /
  :class:`ValueError` (a naive datetime where an aware one is documented, ``attempts=0``, an
  :class:`~driftkeeper.alerts.Alert` with an unknown severity, a cursor without a name), as
  from the standard library: those are bugs in the calling code, not conditions to handle.
- ``get`` of something that does not exist raises :class:`LookupError` (the incident books),
  as a mapping does; ``list`` returns an empty list instead.

Only trigger boundaries (the CLI's ``main`` and the Function App handlers) catch broadly;
everything else lets these propagate. A failed read is never turned into "no drift": the
engine records it as a finding with status ``error``.
"""

from __future__ import annotations

__all__ = [
    "AlertConfigError",
    "BadNextLinkError",
    "BaselineError",
    "DeliveryError",
    "DriftkeeperError",
    "FieldError",
    "ForeignUrlError",
    "InputError",
    "InvalidBodyError",
    "PluginError",
    "ReadError",
    "SettingsError",
    "SnapshotError",
    "TimeFormatError",
    "TransientReadError",
    "TransientWriteError",
    "WriteError",
    "WriteRefusedError",
]


class DriftkeeperError(Exception):
    """Base class of every error raised by driftkeeper."""


class InputError(DriftkeeperError):
    """Input from a file, a setting or a user is unusable."""


class BaselineError(InputError):
    """A baseline file is unreadable or does not match the baseline schema.

    ``file`` and ``field`` say where; the message says what was expected.
    """

    def __init__(self, file: str, field: str, problem: str) -> None:
        self.file = file
        self.field = field
        self.problem = problem
        where = f"{file}: {field}" if field else file
        super().__init__(f"{where}: {problem}")


class FieldError(InputError, ValueError):
    """A value in a baseline's ``expected`` block is unusable; ``path`` says which one.

    Raised by a kind's ``expected_state`` (``path`` relative to ``expected``); the loader
    turns it into a :class:`BaselineError` naming the file and ``expected.<path>``.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class SnapshotError(InputError):
    """A snapshot document is unreadable or does not match ``driftkeeper.snapshot/1``."""

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class TimeFormatError(InputError, ValueError):
    """A time is not ISO 8601 (or is out of the range asked for); see :mod:`driftkeeper._time`."""


class SettingsError(InputError):
    """A setting is unusable; ``variable`` names it (``DRIFTKEEPER_SMTP_PORT``).

    The message is ``"<variable>: <problem>"``; the problem shows the value only when the
    variable holds no secret.
    """

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class AlertConfigError(SettingsError):
    """An alert setting (an environment variable, a constructor argument) is unusable.

    The message is ``"<variable>=<value!r>: <problem>"``; for a secret, ``value`` is a
    placeholder such as ``"<URL to example.webhook.office.com>"``, never the secret.
    """

    def __init__(self, variable: str, value: str, problem: str) -> None:
        self.variable = variable
        self.value = value
        self.problem = problem
        InputError.__init__(self, f"{variable}={value!r}: {problem}")


class ReadError(DriftkeeperError):
    """Reading current state from ARM or Microsoft Graph failed."""


class TransientReadError(ReadError):
    """A read failed in a way a later retry may fix (throttling, 5xx, network)."""


class BadNextLinkError(ReadError):
    """ARM or Graph answered a next link we will not follow (another scheme, host or path:
    the token would go along, or it is another listing; a page already read: a loop)."""


class InvalidBodyError(ReadError):
    """ARM or Graph answered 2xx with a body that is not what it sends (not JSON, not an
    object, a listing without ``value``): a failed read, never "none exist"."""


class WriteError(DriftkeeperError):
    """A change sent to ARM or Microsoft Graph did not take effect (or may not have).

    ``method`` and ``url`` say which request, ``status`` the last HTTP status (0: no answer,
    or none sent), ``attempts`` how many times it was sent, ``client_request_id`` the id sent
    with it. The message has the status and the service's error code and message, shortened,
    never a header (so never a token).
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        status: int = 0,
        attempts: int = 0,
        client_request_id: str = "",
        code: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.attempts = attempts
        self.client_request_id = client_request_id
        self.code = code
        super().__init__(message)


class TransientWriteError(WriteError):
    """A write failed in a way a later retry may fix: throttling, 5xx or no answer until the
    retry budget was spent, or a long-running operation still running when it was. The
    change may or may not have been made: read before trying again."""


class WriteRefusedError(WriteError):
    """The service refused the write (400, 401, 403, 409 ..., or a long-running operation
    that ended ``Failed`` / ``Canceled``); ``code`` is its error code. Retrying will not help:
    the plan stops here."""


class ForeignUrlError(WriteError):
    """A write's URL (or a long-running operation's status URL) is not on the configured
    endpoint's scheme and host: it is refused before anything, token included, is sent."""


class DeliveryError(DriftkeeperError):
    """One attempt to deliver an alert through one channel failed.

    ``transient`` says whether trying again later may succeed (HTTP 408/429/5xx, SMTP 4xx, no
    answer); ``retry_after`` is the delay in seconds the service asked for, if it did. The
    message never carries a secret (no webhook URL, token, key or password).
    """

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None) -> None:
        self.transient = transient
        self.retry_after = retry_after
        super().__init__(message)


class PluginError(DriftkeeperError):
    """Two plugins (kinds, guards) are registered under one name: a packaging mistake, found
    when the registry is first used."""
