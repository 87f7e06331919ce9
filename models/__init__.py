"""SQLModel tables and their request/response schemas; importing this registers every table."""

from models.alert import Alert, AlertReason, AlertState
from models.api_key import ApiKey
from models.base import Page, utcnow
from models.delivery import ACTIVE_STATUSES, Delivery, DeliveryStatus
from models.delivery_event import DeliveryEvent, EventSource
from models.dock import Dock
from models.eta_prediction import EtaPrediction
from models.model_version import ModelVersion
from models.position import Position
from models.site import Site, SiteKind
from models.supplier import Supplier
from models.user import Role, User, UserSite
from models.vehicle import Vehicle
from models.webhook_event import WebhookEvent
from models.webhook_subscription import WebhookSubscription

__all__ = [
    "ACTIVE_STATUSES",
    "Alert",
    "AlertReason",
    "AlertState",
    "ApiKey",
    "Delivery",
    "DeliveryStatus",
    "DeliveryEvent",
    "Dock",
    "EventSource",
    "EtaPrediction",
    "ModelVersion",
    "Page",
    "Position",
    "Role",
    "Site",
    "SiteKind",
    "Supplier",
    "User",
    "UserSite",
    "Vehicle",
    "WebhookEvent",
    "WebhookSubscription",
    "utcnow",
]
