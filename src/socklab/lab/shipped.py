"""The labs shipped with socklab (``socklab/lab/labs/*.toml``), the course's exercises."""

from __future__ import annotations

from importlib import resources

from socklab.errors import NotFound

__all__ = ["names", "text"]


def names() -> list[str]:
    """The shipped labs' names, sorted."""
    folder = resources.files("socklab.lab").joinpath("labs")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def text(name: str) -> str:
    """A shipped lab's topology text; NotFound naming the shipped ones."""
    if name not in names():
        raise NotFound(f"lab {name!r}: no such file or shipped lab (shipped: "
                       f"{', '.join(names())})")
    return resources.files("socklab.lab").joinpath("labs", f"{name}.toml").read_text("utf-8")
