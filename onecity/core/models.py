"""Every table of the core, imported in one place so Alembic and the tests see them all."""

from onecity.core.audit import AuditEntry, AuditHead
from onecity.core.audit_checkpoints import AuditCheckpoint
from onecity.core.divisions import Division
from onecity.core.events import OutboxMessage, ProcessedMessage
from onecity.core.grants import AccessGrant
from onecity.core.idempotency import IdempotencyRecord
from onecity.core.identity.codes import OneTimeCode
from onecity.core.identity.models import Agency, ApiKey, LoginAttempt, User, UserRole, WebSession
from onecity.core.notify.models import Notification, OutgoingMessage
from onecity.core.tasks import TaskLease

__all__ = [
    "AccessGrant",
    "Agency",
    "ApiKey",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "Division",
    "IdempotencyRecord",
    "LoginAttempt",
    "Notification",
    "OneTimeCode",
    "OutboxMessage",
    "OutgoingMessage",
    "ProcessedMessage",
    "TaskLease",
    "User",
    "UserRole",
    "WebSession",
]
