"""Field types shared by the input models, each rule written once."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    HttpUrl,
    IPvAnyAddress,
    model_validator,
)


def no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL; refuse it as a field error, not a server error."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _check_url(url: str) -> str:
    HttpUrl(url)  # validates; the caller's spelling is kept as given
    return url


def _written_address(value: Any) -> Any:
    """An address is text: IPvAnyAddress alone would also read 3232235777 as 192.168.1.1."""
    if not isinstance(value, str):
        raise ValueError("must be an IPv4 or IPv6 address written as text")
    return value


Text = Annotated[str, AfterValidator(no_nul)]
IpAddress = Annotated[IPvAnyAddress, BeforeValidator(_written_address)]
Score = Annotated[float, Field(ge=0, le=1)]
Url = Annotated[str, Field(max_length=2048), AfterValidator(no_nul), AfterValidator(_check_url)]


class Changes(BaseModel):
    """A PATCH body: only fields present change, and ``null`` is allowed only where a field
    can be cleared (``CLEARABLE``); elsewhere it is an error, not a silent no-op."""

    CLEARABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> Any:
        nulls = sorted(name for name in self.model_fields_set
                       if getattr(self, name) is None and name not in self.CLEARABLE)
        if nulls:
            raise ValueError(f"cannot be null: {', '.join(nulls)}")
        return self
