from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.exceptions import PermissionDenied, Throttled
from rest_framework.response import Response

from annotation.models import Membership, Project, Role
from annotation.selectors import CAN_MANAGE, can_create_project, project_counts, projects_for_user
from annotation.services.projects import (
    membership_remove,
    membership_set,
    project_create,
    project_update,
)
from annotation.services.users import user_create, user_for_membership
from api.permissions import ProjectScopedMixin, project_for, signed_in_user
from api.serializers.projects import (
    MemberRoleSerializer,
    MemberSerializer,
    MemberWriteSerializer,
    ProjectSerializer,
    ProjectWriteSerializer,
    UserSerializer,
)
from quorum.throttle import Locked

EVERY_ROLE = frozenset(Role.values)


class ProjectViewSet(viewsets.ModelViewSet):
    """Projects the user is a member of. Staff and users with ``annotation.add_project`` may
    create one (``can_create_project``, the pages' rule too) and manage it."""

    serializer_class = ProjectSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user to ask
            return Project.objects.none()
        return projects_for_user(user=signed_in_user(self.request)).prefetch_related("labels")

    def get_object(self):
        project, role = project_for(self.request, self.kwargs["pk"])
        if self.action in {"update", "partial_update", "destroy"} and role not in CAN_MANAGE:
            raise PermissionDenied("Only the project's managers can change it.")
        self.role = role
        return project

    def get_serializer_context(self):
        context = dict(super().get_serializer_context())
        if self.request.user.is_authenticated:
            context["roles"] = dict(
                Membership.objects.filter(user=self.request.user).values_list("project", "role")
            )
        return context

    @extend_schema(request=ProjectWriteSerializer, responses={201: ProjectSerializer})
    def create(self, request, *args, **kwargs):
        if not can_create_project(user=request.user):
            raise PermissionDenied(
                "Only staff and users given the annotation.add_project permission create projects."
            )
        data = ProjectWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        project = project_create(creator=request.user, **fields)
        return Response(
            self.get_serializer(project).data | {"role": Role.MANAGER},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=ProjectWriteSerializer, responses=ProjectSerializer)
    def update(self, request, *args, **kwargs):
        project = self.get_object()
        partial = kwargs.get("partial", False)
        data = ProjectWriteSerializer(project, data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        project = project_update(project=project, actor=request.user, **dict(data.validated_data))
        return Response(self.get_serializer(project).data)

    def retrieve(self, request, *args, **kwargs):
        project = self.get_object()
        data = self.get_serializer(project).data
        data["counts"] = project_counts(project=project)
        return Response(data)


class MemberViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """Members of a project, addressed by username. Managers only."""

    serializer_class = MemberSerializer
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"
    pagination_class = None  # a project has few members: the list is one plain array
    roles = {a: CAN_MANAGE for a in ("list", "create", "partial_update", "update", "destroy")}

    @extend_schema(responses={200: MemberSerializer(many=True)})
    def list(self, request, project_pk=None):
        members = self.project.memberships.select_related("user").order_by("user__username")
        return Response(MemberSerializer(members, many=True).data)

    @extend_schema(
        request=MemberWriteSerializer,
        responses={201: MemberSerializer,
                   429: OpenApiResponse(description="Too many unknown usernames; see Retry-After")},
    )  # fmt: skip
    def create(self, request, project_pk=None):
        data = MemberWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:  # unknown and deactivated names answer alike; probing them is throttled
            user = user_for_membership(
                requester=request.user, username=data.validated_data["username"]
            )
        except Locked as locked:
            raise Throttled(wait=locked.retry_after) from locked
        membership = membership_set(
            project=self.project, user=user, role=data.validated_data["role"], actor=request.user
        )
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses=MemberSerializer)
    def partial_update(self, request, project_pk=None, username=None):
        user = get_object_or_404(self.project.memberships, user__username=username).user
        data = MemberRoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership = membership_set(
            project=self.project, user=user, role=data.validated_data["role"], actor=request.user
        )
        return Response(MemberSerializer(membership).data)

    update = partial_update

    @extend_schema(responses={204: None})
    def destroy(self, request, project_pk=None, username=None):
        user = get_object_or_404(self.project.memberships, user__username=username).user
        membership_remove(project=self.project, user=user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Staff manage users."""

    serializer_class = UserSerializer
    permission_classes = [permissions.IsAdminUser]
    queryset = get_user_model().objects.order_by("username")

    def perform_create(self, serializer):
        serializer.instance = user_create(**serializer.validated_data)
