"""Input fields the API's serializers share."""

from typing import Any

from rest_framework import serializers


class StrictFloatField(serializers.FloatField):
    """A number, never a JSON boolean: DRF's FloatField calls float() on its input, so ``true``
    became 1.0 (a stop threshold of 1) where IntegerField refuses it."""

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)
