"""The runtime objects of one instance, made while serving and shared by handlers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from activitypub.client import Client

from .delivery import DeliveryWorker, Outbox
from .directory import ActorDirectory
from .settings import Settings
from .storage import Store
from .urls import Urls


@dataclass
class Services:
    settings: Settings
    urls: Urls
    store: Store
    client: Client
    directory: ActorDirectory
    outbox: Outbox
    delivery: DeliveryWorker
    inbox_wake: asyncio.Event = field(default_factory=asyncio.Event)
