"""Pages of the pickup app (Django templates, session login)."""

app_name = "pickup"
urlpatterns: list = []
