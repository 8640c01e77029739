"""Create a fake Kleer company full of realistic Swedish data and a fake HubSpot portal.

    python manage.py sandbox_seed --clients 50 --invoices 1000 [--seed 7] [--connect] [--pro]

Prints `kleer_company_id=…`, `kleer_token=…` and `hubspot_portal_id=…` lines for scripts. With `--connect` the
integration is installed for that portal as the OAuth flow would do it, the Kleer credentials are saved and
Clients and Products are switched on; `--pro` also puts the portal on the Pro plan and switches on the rest.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integration.catalog import Plan
from integration.hubspot_project import webhooks_component, workflow_action_components
from integration.services.audit import Actor
from integration.services.credentials import credentials_save
from integration.services.installations import portal_install
from integration.services.object_syncs import object_sync_set_enabled
from sandbox.hubspot import state as hubspot_state
from sandbox.hubspot.webhooks.config import webhooks_configure
from sandbox.hubspot.workflows import workflow_actions_deploy
from sandbox.kleer.seed import company_seed


class Command(BaseCommand):
    help = "Seed the sandbox: a fake Kleer company with data and a fake HubSpot portal."

    def add_arguments(self, parser: CommandParser) -> None:
        for name, default in (
            ("clients", 25),
            ("products", 10),
            ("invoices", 100),
            ("agreements", 10),
            ("projects", 5),
        ):
            parser.add_argument(f"--{name}", type=int, default=default)
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same data.")
        parser.add_argument("--connect", action="store_true", help="Install the integration for the new portal.")
        parser.add_argument("--pro", action="store_true", help="With --connect: Pro plan, every object on.")

    def handle(self, *args, **options) -> None:
        started = time.monotonic()
        company = company_seed(
            clients=options["clients"],
            products=options["products"],
            invoices=options["invoices"],
            agreements=options["agreements"],
            projects=options["projects"],
            seed=options["seed"],
        )
        portal = hubspot_state.portal_create()
        self.stdout.write(f"kleer_company_id={company.company_id}")
        self.stdout.write(f"kleer_token={company.token}")
        self.stdout.write(f"hubspot_portal_id={portal.hub_id}")
        if options["connect"]:
            self._connect(portal, company, pro=options["pro"])
        self.stdout.write(f"seconds={time.monotonic() - started:.1f}")

    def _connect(self, sandbox_portal, company, *, pro: bool) -> None:  # type: ignore[no-untyped-def]
        token = hubspot_state.token_issue(portal=sandbox_portal)
        portal = portal_install(
            hub_id=sandbox_portal.hub_id,
            access_token=token.token,
            refresh_token=token.refresh_token,
            expires_in=hubspot_state.ACCESS_TOKEN_SECONDS,
            scopes=token.scopes,
            installed_by=token.user_email,
            name=f"Sandbox portal {sandbox_portal.hub_id}",
            hub_domain=sandbox_portal.hub_domain,
        )
        actor = Actor(label="sandbox_seed")
        credentials_save(portal=portal, company_id=company.company_id, api_key=company.token, actor=actor, verify=False)
        if pro:
            portal.plan = Plan.PRO
            portal.save(update_fields=["plan"])
        portal.refresh_from_db()
        for object_sync in portal.object_syncs.select_related("portal"):
            if object_sync.object_type in ("clients", "products") or pro:
                object_sync_set_enabled(object_sync=object_sync, enabled=True, actor=actor)
        # What `hs project upload` does for a real app: HubSpot learns the app's webhook subscriptions, so edits in
        # the fake HubSpot flow back to Kleer (two-way) to this server's /hubspot/webhooks.
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        webhooks_configure(webhooks_component(base))
        # The app's workflow actions too, so the sandbox pages can run them against this server.
        workflow_actions_deploy(workflow_action_components(base))
        self.stdout.write(f"connected=portal {portal.hub_id} (plan {portal.plan})")
