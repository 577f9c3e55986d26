"""Contains all the data models used in inputs/outputs"""

from .accepted_batch import AcceptedBatch
from .accepted_event import AcceptedEvent
from .accepted_event_status import AcceptedEventStatus
from .attempt import Attempt
from .audit_page import AuditPage
from .audit_record import AuditRecord
from .audit_record_after_type_0 import AuditRecordAfterType0
from .audit_record_before_type_0 import AuditRecordBeforeType0
from .bucket import Bucket
from .delivery_out import DeliveryOut
from .delivery_out_state import DeliveryOutState
from .delivery_page import DeliveryPage
from .destination_list import DestinationList
from .destination_out import DestinationOut
from .destination_out_state import DestinationOutState
from .disable_subscription_disable_in import DisableSubscriptionDisableIn
from .event_in import EventIn
from .event_in_payload import EventInPayload
from .event_out import EventOut
from .event_out_payload import EventOutPayload
from .event_out_status import EventOutStatus
from .event_page import EventPage
from .event_type_in import EventTypeIn
from .event_type_in_schema_type_0 import EventTypeInSchemaType0
from .event_type_list import EventTypeList
from .event_type_out import EventTypeOut
from .event_type_out_schema_type_0 import EventTypeOutSchemaType0
from .event_type_patch import EventTypePatch
from .event_type_patch_schema_type_0 import EventTypePatchSchemaType0
from .field_error import FieldError
from .get_openapi_document_response_200 import GetOpenapiDocumentResponse200
from .get_subscription_stats_window import GetSubscriptionStatsWindow
from .get_tenant_stats_window import GetTenantStatsWindow
from .health import Health
from .latency import Latency
from .me import Me
from .outcome_counts import OutcomeCounts
from .problem import Problem
from .recover_in import RecoverIn
from .recover_out import RecoverOut
from .replay_in import ReplayIn
from .replay_out import ReplayOut
from .replayed_event import ReplayedEvent
from .replayed_event_outcome import ReplayedEventOutcome
from .subscription_in import SubscriptionIn
from .subscription_in_filter_type_0 import SubscriptionInFilterType0
from .subscription_in_headers_type_0 import SubscriptionInHeadersType0
from .subscription_in_metadata_type_0 import SubscriptionInMetadataType0
from .subscription_in_ordering import SubscriptionInOrdering
from .subscription_list import SubscriptionList
from .subscription_out import SubscriptionOut
from .subscription_out_filter_type_0 import SubscriptionOutFilterType0
from .subscription_out_headers import SubscriptionOutHeaders
from .subscription_out_metadata import SubscriptionOutMetadata
from .subscription_out_ordering import SubscriptionOutOrdering
from .subscription_out_status import SubscriptionOutStatus
from .subscription_patch import SubscriptionPatch
from .subscription_patch_filter_type_0 import SubscriptionPatchFilterType0
from .subscription_patch_headers_type_0 import SubscriptionPatchHeadersType0
from .subscription_patch_metadata_type_0 import SubscriptionPatchMetadataType0
from .subscription_patch_ordering_type_0 import SubscriptionPatchOrderingType0
from .subscription_stats import SubscriptionStats
from .subscription_stats_deliveries import SubscriptionStatsDeliveries
from .subscription_stats_window import SubscriptionStatsWindow
from .subscription_summary import SubscriptionSummary
from .subscription_with_secret import SubscriptionWithSecret
from .subscription_with_secret_filter_type_0 import SubscriptionWithSecretFilterType0
from .subscription_with_secret_headers import SubscriptionWithSecretHeaders
from .subscription_with_secret_metadata import SubscriptionWithSecretMetadata
from .subscription_with_secret_ordering import SubscriptionWithSecretOrdering
from .subscription_with_secret_status import SubscriptionWithSecretStatus
from .tenant_stats import TenantStats
from .tenant_stats_deliveries import TenantStatsDeliveries
from .tenant_stats_window import TenantStatsWindow

__all__ = (
    "AcceptedBatch",
    "AcceptedEvent",
    "AcceptedEventStatus",
    "Attempt",
    "AuditPage",
    "AuditRecord",
    "AuditRecordAfterType0",
    "AuditRecordBeforeType0",
    "Bucket",
    "DeliveryOut",
    "DeliveryOutState",
    "DeliveryPage",
    "DestinationList",
    "DestinationOut",
    "DestinationOutState",
    "DisableSubscriptionDisableIn",
    "EventIn",
    "EventInPayload",
    "EventOut",
    "EventOutPayload",
    "EventOutStatus",
    "EventPage",
    "EventTypeIn",
    "EventTypeInSchemaType0",
    "EventTypeList",
    "EventTypeOut",
    "EventTypeOutSchemaType0",
    "EventTypePatch",
    "EventTypePatchSchemaType0",
    "FieldError",
    "GetOpenapiDocumentResponse200",
    "GetSubscriptionStatsWindow",
    "GetTenantStatsWindow",
    "Health",
    "Latency",
    "Me",
    "OutcomeCounts",
    "Problem",
    "RecoverIn",
    "RecoverOut",
    "ReplayedEvent",
    "ReplayedEventOutcome",
    "ReplayIn",
    "ReplayOut",
    "SubscriptionIn",
    "SubscriptionInFilterType0",
    "SubscriptionInHeadersType0",
    "SubscriptionInMetadataType0",
    "SubscriptionInOrdering",
    "SubscriptionList",
    "SubscriptionOut",
    "SubscriptionOutFilterType0",
    "SubscriptionOutHeaders",
    "SubscriptionOutMetadata",
    "SubscriptionOutOrdering",
    "SubscriptionOutStatus",
    "SubscriptionPatch",
    "SubscriptionPatchFilterType0",
    "SubscriptionPatchHeadersType0",
    "SubscriptionPatchMetadataType0",
    "SubscriptionPatchOrderingType0",
    "SubscriptionStats",
    "SubscriptionStatsDeliveries",
    "SubscriptionStatsWindow",
    "SubscriptionSummary",
    "SubscriptionWithSecret",
    "SubscriptionWithSecretFilterType0",
    "SubscriptionWithSecretHeaders",
    "SubscriptionWithSecretMetadata",
    "SubscriptionWithSecretOrdering",
    "SubscriptionWithSecretStatus",
    "TenantStats",
    "TenantStatsDeliveries",
    "TenantStatsWindow",
)
