"""The web console: the Django admin with tgfleet's dashboard, charts and pages."""
