from annotation.models.audit import AccessLog, AuditFinding, FindingKind, FindingStatus
from annotation.models.compression import (
    DEFAULT_PROFILE_NAME,
    CompressedText,
    CompressionProfile,
)
from annotation.models.drift import DriftCheck, DriftKind
from annotation.models.item import (
    Annotation,
    AnnotationSource,
    ImportBatch,
    Item,
    ItemStatus,
    Lease,
    Skip,
)
from annotation.models.job import Job, JobKind, JobStatus
from annotation.models.monitoring import (
    Alert,
    AlertKind,
    AlertRule,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from annotation.models.project import (
    DataType,
    FallbackOrder,
    Label,
    Membership,
    Project,
    Role,
    Strategy,
)
from annotation.models.quality import (
    AgreementRecord,
    AnnotatorQuality,
    IssueStatus,
    LabelIssue,
    ReviewAction,
    ReviewActionKind,
)
from annotation.models.snapshot import Snapshot, SnapshotStatus

__all__ = [
    "AccessLog",
    "Alert",
    "AlertKind",
    "AlertRule",
    "DeliveryStatus",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "AgreementRecord",
    "AuditFinding",
    "DriftCheck",
    "DriftKind",
    "Annotation",
    "AnnotationSource",
    "AnnotatorQuality",
    "Lease",
    "CompressedText",
    "CompressionProfile",
    "DEFAULT_PROFILE_NAME",
    "DataType",
    "FallbackOrder",
    "FindingKind",
    "FindingStatus",
    "ImportBatch",
    "IssueStatus",
    "Item",
    "ItemStatus",
    "Job",
    "JobKind",
    "JobStatus",
    "Label",
    "LabelIssue",
    "Membership",
    "Project",
    "ReviewAction",
    "ReviewActionKind",
    "Role",
    "Skip",
    "Snapshot",
    "SnapshotStatus",
    "Strategy",
]
