"""The fake HubSpot's webhooks: the app's webhooks component, events from CRM writes, signed delivery, faults.

- `config`: upload and validate the app's `webhooks-hsmeta.json` (`webhooks_configure`), as `hs project upload`.
- `events`: what a CRM write or a user edit enqueues (`capture`, `note_*`), and the app-uninstall event.
- `delivery`: POST due events to the target URL, signed, batched, retried with backoff (`webhooks_deliver`).
- `faults`: duplicate, reorder, delay and batch-size injection for the app's exactly-once tests.
- `autodeliver`: the background deliverer of `make run` (off under tests).
- `selectors`: the event and request log for the control API.

Sources: hubspot-api.md §7.2, §8.1, §10.8 and
https://developers.hubspot.com/docs/apps/developer-platform/add-features/configure-webhooks.
"""
