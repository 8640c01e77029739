"""The CRM half of the fake HubSpot API: objects, batches, search, properties, associations, pipelines.

Served under `/sandbox/hubspot/` by `urls.py` behind the gateway in `sandbox.hubspot.gateway` (auth, rate limits,
faults, request log). Module map:

- `registry`: object types, scopes, default properties, pipelines, association type ids (pure data).
- `seed`: alias table, per-portal state and write lock, lazy defaults per hub x type.
- `schema`, `values`, `rules`, `uniques`, `objects`, `associations`, `search`, `search_index`: the behaviour.
- `serialize`, `errors`, `http`, `access`: HubSpot's JSON shapes, error bodies, request parsing, scopes.
- `views/`: the API views, HTML pages (`_pages/`) and test controls (`_fake/crm/`).
- `selectors`: in-process reads for tests of the product.
"""
