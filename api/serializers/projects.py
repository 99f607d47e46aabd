from django.contrib.auth import get_user_model
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.models import Label, Membership, Project, Role
from annotation.services.projects import PROJECT_FIELDS
from api.serializers.fields import StrictFloatField


class LabelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Label
        fields = ["name", "color", "key"]


@extend_schema_field({"oneOf": [
    {"type": "string", "description": "The label's name."},
    {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
        "name": {"type": "string"}, "color": {"type": "string"}, "key": {"type": "string"}}},
]})  # fmt: skip
class LabelSpecField(serializers.Field):
    """A label given as a plain name or as ``{"name", "color", "key"}``."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            return data
        if isinstance(data, dict) and set(data) <= {"name", "color", "key"}:
            return data
        raise serializers.ValidationError('A label is a name or {"name", "color", "key"}.')

    def to_representation(self, value):
        return value


class ProjectSerializer(serializers.ModelSerializer):
    labels = LabelSerializer(many=True, read_only=True)
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = ["id", *PROJECT_FIELDS, "labels", "role", "created_at", "updated_at"]
        read_only_fields = fields

    def get_role(self, project) -> str | None:
        roles = self.context.get("roles") or {}
        return roles.get(project.pk)


class ProjectWriteSerializer(serializers.ModelSerializer):
    """Input for create and update; the service does the work."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.FloatField: StrictFloatField,
    }

    labels = serializers.ListField(child=LabelSpecField(), min_length=1, max_length=200)

    class Meta:
        model = Project
        fields = ["labels", *PROJECT_FIELDS]
        extra_kwargs = {"name": {"required": True}}


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["username", "role", "created_at"]


class MemberWriteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class UserSerializer(serializers.ModelSerializer):
    password = serializers.CharField(write_only=True, min_length=8)

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "password", "is_staff"]
        read_only_fields = ["id"]
