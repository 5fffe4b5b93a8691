"""The two names of `typing` that the pre-push hook's modules need at run time, without
importing `typing`: on a push the hook answers from memory, `import typing` and the work
of `typing.NamedTuple` are a tenth of the time.

`TYPE_CHECKING` guards imports for annotations, as `typing.TYPE_CHECKING` does (mypy knows
the flag by its name). `class Record(NamedTuple): field: type = default` is checked by mypy
as a `typing.NamedTuple`; at run time the class is the `collections.namedtuple` of those
fields, with the methods, properties and docstring of its body.
"""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:
    from collections import namedtuple

    class _Fields(type):
        def __new__(cls, name, bases, namespace):
            if not bases:  # NamedTuple itself
                return super().__new__(cls, name, bases, namespace)
            fields = tuple(namespace.get("__annotations__", ()))
            defaults = [namespace[field] for field in fields if field in namespace]
            if any(field not in namespace for field in fields[len(fields) - len(defaults) :]):
                raise TypeError(f"{name}: a field without default follows one with a default")
            record = namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
            for key, value in namespace.items():
                if key not in fields:
                    setattr(record, key, value)
            return record

    class NamedTuple(metaclass=_Fields):
        """Base of a record class (see the module's docstring)."""
