app_name = "membership"

urlpatterns: list = []
