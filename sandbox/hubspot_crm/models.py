"""CRM state of the fake HubSpot: objects, properties, associations, pipelines (keyed by hub_id).

Nothing here has a foreign key to `sandbox.hubspot` (another engineer owns it): every row carries the integer
`hub_id` of the fake portal it belongs to. Object type ids are HubSpot's canonical ids ("0-2" for companies);
the alias registry (`ObjectTypeAlias`) maps every spelling the API accepts onto them.
"""

from __future__ import annotations

from django.db import models


class ObjectTypeAlias(models.Model):
    """One spelling of an object type in a URL (`companies`, `company`, `0-2`) and its canonical type id.

    Kept apart from the product's own catalog on purpose: the fake must not share assumptions with the code
    it tests. Filled lazily (see `registry.ensure_aliases`) so test database flushes cannot empty it for good.
    """

    alias = models.CharField(max_length=60, unique=True)
    object_type_id = models.CharField(max_length=20)

    def __str__(self) -> str:
        return f"{self.alias} -> {self.object_type_id}"


class PortalState(models.Model):
    """Per-portal CRM settings and counters; its row is also the portal's write lock (`services.lock_portal`)."""

    hub_id = models.BigIntegerField(unique=True)
    next_object_id = models.BigIntegerField(default=1_000_000_001)
    # Records written less than this many seconds ago are not yet visible to search (0 = instant).
    search_lag_seconds = models.FloatField(default=0.0)

    def __str__(self) -> str:
        return f"CRM state of hub {self.hub_id}"


class SeedMarker(models.Model):
    """Records that the default groups, properties and pipelines of one hub x object type exist."""

    hub_id = models.BigIntegerField()
    object_type_id = models.CharField(max_length=20)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub_id", "object_type_id"], name="hscrm_seed_unique")]

    def __str__(self) -> str:
        return f"seeded {self.object_type_id} in hub {self.hub_id}"


class CrmObject(models.Model):
    """A CRM record. `properties` maps property names to string values (unset properties are absent)."""

    hub_id = models.BigIntegerField()
    object_type_id = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    properties = models.JSONField(default=dict)
    # {name: [{"value", "timestamp", "sourceType"}, ...]} newest first, for `propertiesWithHistory`.
    history = models.JSONField(default=dict)
    # What search sees until `index_due_at` (None: the record is not indexed yet). See `search_index.py`.
    indexed_properties = models.JSONField(null=True, blank=True)
    index_due_at = models.DateTimeField()
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub_id", "object_id"], name="hscrm_object_id_unique")]
        indexes = [models.Index(fields=["hub_id", "object_type_id", "archived", "object_id"], name="hscrm_obj_list")]

    def __str__(self) -> str:
        return f"{self.object_type_id}/{self.object_id} in hub {self.hub_id}"


class UniqueValue(models.Model):
    """One value of a `hasUniqueValue` property held by a live (non-archived) record.

    The database constraint is what makes `hasUniqueValue` hold when two requests race: rows are deleted when
    their record is archived, so the constraint covers non-archived records only. `digest` (sha256 of the
    value) keeps the index small whatever the value's length.
    """

    hub_id = models.BigIntegerField()
    object_type_id = models.CharField(max_length=20)
    property_name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64)
    value = models.TextField()
    crm_object = models.ForeignKey(CrmObject, on_delete=models.CASCADE, related_name="unique_values")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hub_id", "object_type_id", "property_name", "digest"], name="hscrm_unique_value"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type_id}.{self.property_name}={self.value!r}"


class PropertyGroup(models.Model):
    """A property group of one object type in one portal."""

    hub_id = models.BigIntegerField()
    object_type_id = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    label = models.CharField(max_length=255)
    display_order = models.IntegerField(default=-1)
    hubspot_defined = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hub_id", "object_type_id", "name"], name="hscrm_group_unique")]

    def __str__(self) -> str:
        return f"group {self.name} ({self.object_type_id})"


class PropertyDefinition(models.Model):
    """A property of one object type in one portal (HubSpot-defined defaults and custom ones)."""

    hub_id = models.BigIntegerField()
    object_type_id = models.CharField(max_length=20)
    name = models.CharField(max_length=100)
    label = models.CharField(max_length=255)
    type = models.CharField(max_length=30)
    field_type = models.CharField(max_length=30)
    group_name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    options = models.JSONField(default=list)
    display_order = models.IntegerField(default=-1)
    has_unique_value = models.BooleanField(default=False)
    hidden = models.BooleanField(default=False)
    form_field = models.BooleanField(default=False)
    calculated = models.BooleanField(default=False)
    external_options = models.BooleanField(default=False)
    hubspot_defined = models.BooleanField(default=False)
    read_only_value = models.BooleanField(default=False)
    read_only_definition = models.BooleanField(default=False)
    archivable = models.BooleanField(default=True)
    # numberDisplayHint, textDisplayHint, dataSensitivity, referencedObjectType, currencyPropertyName, ...
    extra = models.JSONField(default=dict)
    archived = models.BooleanField(default=False)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hub_id", "object_type_id", "name"], name="hscrm_property_unique")
        ]

    def __str__(self) -> str:
        return f"property {self.name} ({self.object_type_id})"


class Association(models.Model):
    """One directed association edge; its inverse edge is always stored too (see `associations.py`)."""

    hub_id = models.BigIntegerField()
    from_type_id = models.CharField(max_length=20)
    from_id = models.BigIntegerField()
    to_type_id = models.CharField(max_length=20)
    to_id = models.BigIntegerField()
    type_id = models.IntegerField()
    category = models.CharField(max_length=30)
    label = models.CharField(max_length=255, blank=True, default="")  # "" = unlabelled
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hub_id", "from_id", "to_id", "category", "type_id"], name="hscrm_association_unique"
            )
        ]
        indexes = [models.Index(fields=["hub_id", "from_id", "to_type_id"], name="hscrm_assoc_from")]

    def __str__(self) -> str:
        return f"{self.from_type_id}/{self.from_id} -[{self.type_id}]-> {self.to_type_id}/{self.to_id}"


class Pipeline(models.Model):
    """A pipeline of deals or projects in one portal."""

    hub_id = models.BigIntegerField()
    object_type_id = models.CharField(max_length=20)
    pipeline_id = models.CharField(max_length=64)
    label = models.CharField(max_length=255)
    display_order = models.IntegerField(default=0)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hub_id", "object_type_id", "pipeline_id"], name="hscrm_pipeline_unique")
        ]

    def __str__(self) -> str:
        return f"pipeline {self.pipeline_id} ({self.object_type_id})"


class PipelineStage(models.Model):
    """A stage of a pipeline; `metadata` values are strings, as HubSpot returns them."""

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    stage_id = models.CharField(max_length=64)
    label = models.CharField(max_length=255)
    display_order = models.IntegerField(default=0)
    metadata = models.JSONField(default=dict)
    write_permissions = models.CharField(max_length=40, default="CRM_PERMISSIONS_ENFORCEMENT")
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pipeline", "stage_id"], name="hscrm_stage_unique")]

    def __str__(self) -> str:
        return f"stage {self.stage_id}"
