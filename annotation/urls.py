from django.contrib.auth import views as auth_views
from django.urls import path

from annotation.views import pages

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", pages.home, name="home"),
    path("projects/<int:project_id>/", pages.project_detail, name="project-detail"),
    path("media/items/<int:item_id>", pages.item_media, name="item-media"),
]
