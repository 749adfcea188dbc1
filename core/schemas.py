"""Field types that every app's API schemas share."""
from typing import Annotated

from pydantic import StringConstraints

# PostgreSQL cannot store the NUL character in text (its driver refuses the whole query), so the API
# refuses it up front with a 422 naming the field, as Django's form fields do; SQLite would store it.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]
