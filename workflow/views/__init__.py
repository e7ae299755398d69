"""The workflow's pages, one module per area; each module lists its own ``urlpatterns``,
which ``workflow/urls.py`` joins under the ``workflow`` namespace."""
