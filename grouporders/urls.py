"""Pages for group leaders (Django templates, session login)."""

app_name = "grouporders"
urlpatterns: list = []
