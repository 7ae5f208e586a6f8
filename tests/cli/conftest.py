from tests.models.conftest import chart_png  # noqa: F401  (shared fixture)
