from rest_framework import pagination
from rest_framework.exceptions import ValidationError


def page_size_strict(request, param: str, maximum: int) -> None:
    """A page_size that is there must be a whole number from 1 to the maximum: refused by name, not ignored."""
    value = request.query_params.get(param)
    if value is None:
        return
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ValidationError({param: [f"a whole number from 1 to {maximum}"]})


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        page_size_strict(request, self.page_size_query_param, self.max_page_size)
        return super().get_page_size(request)
