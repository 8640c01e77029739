"""Models of the fake Kleer (state shared by web and worker processes).

Each Kleer object is one `Resource` row: its canonical JSON document (kleer-api.md §5.5) in `data`, plus the few
columns the API filters on, derived from `data` by `sandbox.kleer.store.index_columns` whenever a document is
written. Companies, tokens, id sequences, scripted faults and the request log have their own tables.
"""

from __future__ import annotations

from django.db import models

KINDS = ("user", "client", "product", "invoice", "agreement", "client-project", "project", "template")


class Company(models.Model):
    """A Kleer company. The primary key is the company id that appears in API paths (e.g. 4875, §1.3)."""

    id = models.IntegerField(primary_key=True)
    name = models.CharField(max_length=200)
    orgno = models.CharField(max_length=20, default="")
    accounting_currency = models.CharField(max_length=3, default="SEK")
    supplier_invoice_email = models.CharField(max_length=200, default="", blank=True)
    bankgiro = models.BigIntegerField(null=True, blank=True)
    default_delivery_type = models.CharField(max_length=20, default="Email")
    # Per-company overrides of conventions.DEFAULT_OPTIONS (strict content type, page sizes, …).
    options = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.id} {self.name}"


class Token(models.Model):
    """An `X-Token` value: one company and the rights of one user (§1.2); possibly read-only."""

    token = models.CharField(max_length=64, unique=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="tokens")
    user_id = models.IntegerField(help_text="Kleer id of the user the token acts as")
    read_only = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"token …{self.token[-4:]} for company {self.company_id}"


class Sequence(models.Model):
    """The next value of one per-company counter: ids per kind, row ids, invoice numbers."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="sequences")
    name = models.CharField(max_length=40)
    next_value = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "name"], name="kleer_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.name} → {self.next_value} (company {self.company_id})"


class Resource(models.Model):
    """One Kleer object of one company: the stored document plus indexed columns taken from it."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="resources")
    kind = models.CharField(max_length=20, choices=[(k, k) for k in KINDS])
    kleer_id = models.IntegerField()
    data = models.JSONField()
    # Indexed copies of document fields (see store.index_columns); never edited on their own.
    client_id = models.IntegerField(null=True)
    agreement_id = models.IntegerField(null=True)
    invoice_date = models.DateField(null=True)
    invoice_nr = models.IntegerField(null=True)
    certified = models.BooleanField(null=True)
    sent = models.BooleanField(null=True)
    disabled = models.BooleanField(null=True)
    active = models.BooleanField(null=True)
    search = models.TextField(default="", blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["company", "kind", "kleer_id"], name="kleer_resource_unique")]
        indexes = [
            models.Index(fields=["company", "kind", "invoice_date", "kleer_id"], name="kleer_res_date"),
            models.Index(fields=["company", "kind", "invoice_nr"], name="kleer_res_invoice_nr"),
            models.Index(fields=["company", "kind", "client_id"], name="kleer_res_client"),
            models.Index(fields=["company", "kind", "agreement_id"], name="kleer_res_agreement"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.kleer_id} (company {self.company_id})"


class Fault(models.Model):
    """A scripted fault: the next `remaining` requests matching method and path get this answer instead.

    `status` None with a delay = answer normally, only late; `drop_connection` closes the socket unanswered."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="faults")
    method = models.CharField(max_length=10, default="*")
    path_regex = models.CharField(max_length=500, default="", blank=True)
    remaining = models.PositiveIntegerField(default=1)
    status = models.IntegerField(null=True, blank=True)
    body = models.TextField(default="", blank=True)
    content_type = models.CharField(max_length=100, default="", blank=True)
    delay_seconds = models.FloatField(default=0)
    drop_connection = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"fault {self.method} {self.path_regex!r} ×{self.remaining} → {self.status}"


class RequestLog(models.Model):
    """One call to the fake Kleer API, so tests can assert what a client asked for (no headers, no bodies)."""

    company_id = models.IntegerField(db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    query = models.TextField(default="", blank=True)
    status = models.IntegerField(help_text="0 = connection dropped by a fault")
    fault = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["company_id", "id"], name="kleer_log_company")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.status}"
