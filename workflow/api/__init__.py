"""The REST API of the workflow (``/api/v1/``): serializers, views and URLs."""
