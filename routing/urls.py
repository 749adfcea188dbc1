"""Pages of the routing app (Django templates, session login)."""

app_name = "routing"
urlpatterns: list = []
