"""Compression profiles of a project: every member reads them, managers write them."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response

from annotation.compression_selectors import compression_profile_get, compression_profiles
from annotation.models import Role
from annotation.selectors import CAN_MANAGE
from annotation.services.compression import (
    compression_profile_create,
    compression_profile_default,
    compression_profile_update,
)
from api.permissions import ProjectScopedMixin, url_id
from api.serializers.compression import (
    CompressionProfileSerializer,
    CompressionProfileWriteSerializer,
)

EVERY_ROLE = frozenset(Role.values)


class CompressionProfileViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """``GET/POST /api/projects/{id}/compression-profiles`` and ``GET/PATCH
    .../compression-profiles/{profile_id}``. The ``default`` profile always exists."""

    serializer_class = CompressionProfileSerializer
    pagination_class = None  # a handful per project: a plain array
    roles = {"list": EVERY_ROLE, "retrieve": EVERY_ROLE, "create": CAN_MANAGE,
             "partial_update": CAN_MANAGE}  # fmt: skip

    def _profile(self, pk):
        profile = compression_profile_get(project=self.project, profile_id=url_id(pk))
        if profile is None:
            raise Http404("No such compression profile.")
        return profile

    @extend_schema(responses={200: CompressionProfileSerializer(many=True)})
    def list(self, request, project_pk=None):
        compression_profile_default(project=self.project)
        profiles = compression_profiles(project=self.project)
        return Response(CompressionProfileSerializer(profiles, many=True).data)

    @extend_schema(request=CompressionProfileWriteSerializer,
                   responses={201: CompressionProfileSerializer})  # fmt: skip
    def create(self, request, project_pk=None):
        data = CompressionProfileWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        profile = compression_profile_create(project=self.project, **data.validated_data)
        return Response(CompressionProfileSerializer(profile).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: CompressionProfileSerializer})
    def retrieve(self, request, project_pk=None, pk=None):
        return Response(CompressionProfileSerializer(self._profile(pk)).data)

    @extend_schema(request=CompressionProfileWriteSerializer(partial=True),
                   responses={200: CompressionProfileSerializer})  # fmt: skip
    def partial_update(self, request, project_pk=None, pk=None):
        profile = self._profile(pk)
        data = CompressionProfileWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        profile = compression_profile_update(profile=profile, **data.validated_data)
        return Response(CompressionProfileSerializer(profile).data)
