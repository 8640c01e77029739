"""URLs of the fake Kleer, mounted at /sandbox/kleer/ (see sandbox/urls.py).

- `v1/company/<id>/…` and the old-base alias `api/v1/company/<id>/…` (kleer-api.md §5.1): the Kleer REST API,
  §5.4 rows 1–22. Anything else under a company answers 404 `{"message"}` after authentication.
- `_fake/…`: the control endpoints (sandbox.kleer.control).
- `_pages/…`: pages for a browser (sandbox.kleer.pages).
"""

from django.urls import include, path, re_path

from sandbox.kleer import control, pages, views
from sandbox.kleer import conventions as C
from sandbox.kleer.gateway import endpoint

AGREEMENT = C.AGREEMENT_PATH

api_patterns = [
    path("info", endpoint(GET=views.info)),
    path("user", endpoint(GET=views.users)),
    path("user/me", endpoint(GET=views.user_me)),
    path("user/<int:kleer_id>", endpoint(GET=views.user)),
    path("user/foreign-id/<str:foreign_id>", endpoint(GET=views.user_by_foreign_id)),
    path("client", endpoint(GET=views.clients, PUT=views.client_create)),
    path("client/deliverytype", endpoint(GET=views.delivery_types)),
    path("client/invoice", endpoint(GET=views.invoice_list, PUT=views.invoice_create)),
    path("client/invoice/template", endpoint(GET=views.templates)),
    path(
        "client/invoice/<int:kleer_id>",
        endpoint(GET=views.invoice, POST=views.invoice_update, DELETE=views.invoice_delete),
    ),
    path(f"client/invoice/<int:kleer_id>/{C.PAYMENT_PATH}", endpoint(PUT=views.invoice_payment)),
    path(AGREEMENT, endpoint(GET=views.agreement_list, PUT=views.agreement_create)),
    path(
        f"{AGREEMENT}/<int:kleer_id>",
        endpoint(GET=views.agreement, POST=views.agreement_update, DELETE=views.agreement_delete),
    ),
    path("client/<int:kleer_id>", endpoint(GET=views.client, POST=views.client_update)),
    path("product", endpoint(GET=views.products, PUT=views.product_create)),
    path("product/<int:kleer_id>", endpoint(GET=views.product, POST=views.product_update)),
    path("project", endpoint(GET=views.projects)),
    path("client-project", endpoint(GET=views.client_projects, PUT=views.client_project_create)),
    path(
        "client-project/<int:kleer_id>",
        endpoint(GET=views.client_project, POST=views.client_project_update),
    ),
    re_path(r"^.*$", endpoint()),  # unknown paths: 404 after auth
]

fake = "_fake/company/<int:company_id>"
control_patterns = [
    path("_fake/reset", control.reset_all),
    path("_fake/seed", control.seed_company),
    path(fake, control.company_summary, name="kleer_fake_company"),
    path(f"{fake}/reset", control.company_reset),
    path(f"{fake}/options", control.company_options),
    path(f"{fake}/tokens", control.token_create),
    path(f"{fake}/faults", control.company_faults),
    path(f"{fake}/requests", control.company_requests),
    path(f"{fake}/client/invoice/<int:kleer_id>/certify", control.invoice_certify),
    path(f"{fake}/client/invoice/<int:kleer_id>/send", control.invoice_send),
    path(f"{fake}/client/invoice/<int:kleer_id>/pay", control.invoice_pay),
    path(f"{fake}/{AGREEMENT}/<int:kleer_id>/run", control.agreement_run),
    path(f"{fake}/record/<str:kind>", control.record_create),
    path(f"{fake}/record/<str:kind>/<int:kleer_id>", control.record),
]

page_patterns = [
    path("_pages/", pages.companies, name="kleer_pages_companies"),
    path("_pages/<int:company_id>/", pages.company, name="kleer_pages_company"),
    path("_pages/<int:company_id>/<str:section>/", pages.records, name="kleer_pages_records"),
    path("_pages/<int:company_id>/<str:section>/<int:kleer_id>/", pages.record, name="kleer_pages_record"),
]

urlpatterns = [
    *control_patterns,
    *page_patterns,
    *(path(f"{prefix}company/<int:company_id>/", include(api_patterns)) for prefix in C.API_PREFIXES),
]
