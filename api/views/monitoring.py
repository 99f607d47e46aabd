"""Webhooks (managers), their delivery log (managers), alerts (every member) and alert
rules (every member reads, managers write)."""

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import Throttled
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Role
from annotation.monitoring_selectors import (
    alert_rules_of,
    alerts_of,
    deliveries_of,
    webhook_get,
    webhooks_of,
)
from annotation.selectors import CAN_MANAGE
from annotation.services.alert_rules import alert_rules_put
from annotation.services.webhooks import (
    WebhookTestThrottled,
    webhook_create,
    webhook_delete,
    webhook_test_send,
    webhook_update,
)
from api.permissions import ProjectScopedMixin, url_id
from api.serializers.monitoring import (
    AlertQuerySerializer,
    AlertRulesSerializer,
    AlertSerializer,
    DeliveryQuerySerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
    WebhookWriteSerializer,
)

EVERY_ROLE = frozenset(Role.values)


class WebhookViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """``GET/POST /api/projects/{id}/webhooks``, ``GET/PATCH/DELETE .../webhooks/{id}``."""

    serializer_class = WebhookSerializer
    pagination_class = None  # a handful per project: a plain array
    roles = {"list": CAN_MANAGE, "create": CAN_MANAGE, "retrieve": CAN_MANAGE,
             "partial_update": CAN_MANAGE, "destroy": CAN_MANAGE, "test": CAN_MANAGE}  # fmt: skip

    def _webhook(self, pk):
        webhook = webhook_get(project=self.project, webhook_id=url_id(pk))
        if webhook is None:
            raise Http404("No such webhook.")
        return webhook

    @extend_schema(responses={200: WebhookSerializer(many=True)})
    def list(self, request, project_pk=None):
        return Response(WebhookSerializer(webhooks_of(project=self.project), many=True).data)

    @extend_schema(request=WebhookWriteSerializer, responses={201: WebhookSerializer})
    def create(self, request, project_pk=None):
        body = WebhookWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        webhook = webhook_create(project=self.project, user=request.user, **body.validated_data)
        return Response(WebhookSerializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: WebhookSerializer})
    def retrieve(self, request, project_pk=None, pk=None):
        return Response(WebhookSerializer(self._webhook(pk)).data)

    @extend_schema(request=WebhookWriteSerializer(partial=True),
                   responses={200: WebhookSerializer})  # fmt: skip
    def partial_update(self, request, project_pk=None, pk=None):
        webhook = self._webhook(pk)
        body = WebhookWriteSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        fields = {k: v for k, v in body.validated_data.items() if k in request.data}
        return Response(WebhookSerializer(webhook_update(webhook=webhook, **fields)).data)

    @extend_schema(responses={204: None})
    def destroy(self, request, project_pk=None, pk=None):
        webhook_delete(webhook=self._webhook(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer, 429: OpenApiResponse(description="Wait.")},
    )
    def test(self, request, project_pk=None, pk=None):
        """``POST .../webhooks/{id}/test``: one signed ``webhook.test`` event, queued like
        every event (its delivery is in the log); one per webhook per 30 s, else 429."""
        try:
            delivery = webhook_test_send(webhook=self._webhook(pk))
        except WebhookTestThrottled as exc:
            raise Throttled(wait=exc.wait, detail=str(exc)) from None
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DeliveryPagination(PageNumberPagination):
    page_size = 50


class WebhookDeliveriesView(ProjectScopedMixin, ListAPIView):
    """``GET /api/projects/{id}/webhooks/{webhook_id}/deliveries?status=&page=``: newest
    first."""

    roles = {"get": CAN_MANAGE}
    serializer_class = WebhookDeliverySerializer
    pagination_class = DeliveryPagination

    @extend_schema(parameters=[DeliveryQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = DeliveryQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        webhook = webhook_get(project=self.project, webhook_id=url_id(self.kwargs["pk"]))
        if webhook is None:
            raise Http404("No such webhook.")
        return deliveries_of(webhook=webhook, status=query.validated_data.get("status"))


class AlertListView(ProjectScopedMixin, ListAPIView):
    """``GET /api/projects/{id}/alerts?state=open|resolved&page=``: open alerts first; each
    member sees the kinds their role may (``ALERT_KIND_ROLES``)."""

    roles = {"get": EVERY_ROLE}
    serializer_class = AlertSerializer

    @extend_schema(parameters=[AlertQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = AlertQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return alerts_of(project=self.project, state=query.validated_data.get("state"),
                         role=self.role)  # fmt: skip


class AlertRulesView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/alert-rules``: every rule, on or off, with its parameters;
    ``PUT`` ``{"rules": [{"kind", "enabled", "params"}]}`` sets the rules it names."""

    roles = {"get": EVERY_ROLE, "put": CAN_MANAGE}

    @extend_schema(responses={200: AlertRulesSerializer})
    def get(self, request, project_pk=None):
        return Response({"rules": alert_rules_of(project=self.project)})

    @extend_schema(request=AlertRulesSerializer, responses={200: AlertRulesSerializer})
    def put(self, request, project_pk=None):
        body = AlertRulesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        alert_rules_put(project=self.project, rules=body.validated_data["rules"])
        return Response({"rules": alert_rules_of(project=self.project)})
