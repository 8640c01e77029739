"""Views of the fake HubSpot CRM: JSON API views (behind `@hubspot_api()`), HTML pages and test controls."""
