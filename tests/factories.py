"""factory_boy factories for the product's models."""

from __future__ import annotations

import factory

from integration import catalog, models


class PortalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Portal

    hub_id = factory.Sequence(lambda n: 90_000_000 + n)
    name = factory.Sequence(lambda n: f"Portal {n} AB")


class ObjectSyncFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.ObjectSync

    portal = factory.SubFactory(PortalFactory)
    object_type = "clients"
    hubspot_object = factory.LazyAttribute(lambda o: catalog.get(o.object_type).default_target.hubspot_object)


class KleerCredentialsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.KleerCredentials

    portal = factory.SubFactory(PortalFactory)
    company_id = factory.Sequence(lambda n: 4800 + n)
    api_key = "kleer-secret-key-0001"
    api_key_last4 = "0001"
