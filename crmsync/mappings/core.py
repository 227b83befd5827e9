"""What every value transform is: a forward function (source value -> canonical), its reverse when there is one,
and what the loader needs to check that writing a value and reading it back gives that value again."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, ConfigDict

Context = Mapping[str, Any]
TransformFn = Callable[[Any, Context], Any]


class _Omit:
    """A reverse transform's answer for a canonical value the target cannot hold: leave the field out. It never
    leaves `ObjectMapper.to_payload`."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()


def identity(value: Any, _ctx: Context) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class Transform:
    """`probes` are canonical values the round-trip check writes (reverse) and reads back (forward): a value map's
    reverse table, a scale's sample numbers. `write_problems` are what the transform knows is wrong with it when
    used to write (a canonical value its forward produces that its reverse would write out unchanged)."""

    name: str
    forward: TransformFn
    reverse: TransformFn | None
    probes: tuple[Any, ...] = ()
    write_problems: tuple[str, ...] = ()


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    pass
