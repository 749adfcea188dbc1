"""Pages of the procurement app (Django templates, session login)."""

app_name = "procurement"
urlpatterns: list = []
