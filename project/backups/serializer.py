"""Django's JSON fixtures, with times to the microsecond.

Django's JSON encoder cuts datetimes to milliseconds; an audit event's time is part of its keyed hash, so a
trail dumped that way would not verify once restored. Registered as the "tgjson" serialization format.
"""

from __future__ import annotations

import datetime as dt

from django.core.serializers.json import Deserializer as JSONDeserializer
from django.core.serializers.json import DjangoJSONEncoder
from django.core.serializers.json import Serializer as JSONSerializer


class ExactEncoder(DjangoJSONEncoder):
    def default(self, o):
        if isinstance(o, dt.datetime | dt.time):
            text = o.isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text
        return super().default(o)


class Serializer(JSONSerializer):
    def _init_options(self) -> None:
        super()._init_options()
        self.json_kwargs["cls"] = ExactEncoder


Deserializer = JSONDeserializer
