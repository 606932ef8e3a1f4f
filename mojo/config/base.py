"""The one base of mojo's pydantic models: the study config and the files mojo writes.

Frozen, so a validated config or a file read back cannot drift from what was checked; extra keys
forbidden, so a misspelt config key or a file of another shape is refused, not ignored; attribute
docstrings on, so each field's docstring is its description in the JSON schema
(``mojo/workflow/schemas/config.schema.json``). The docstrings are read from the source when a
class is built: a few milliseconds per model at import.
"""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """A frozen, strict-keyed model whose field docstrings reach its JSON schema."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)
