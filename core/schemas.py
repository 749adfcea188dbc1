"""Field types and base classes that every app's API schemas share."""
from typing import Annotated, Any

from ninja import Schema
from pydantic import ModelWrapValidatorHandler, StringConstraints, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

# PostgreSQL cannot store the NUL character in text (its driver refuses the whole query), so the API
# refuses it up front with a 422 naming the field, as Django's form fields do; SQLite would store it.
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00]*$")]


def input_error(code: str, message: str) -> PydanticCustomError:
    """A validator's error with its own code (the item's `code` in a 422) and a message already in the
    caller's language (pass it through gettext): the API answers the message as it is."""
    return PydanticCustomError(code, "{message}", {"message": str(message)})


class InputSchema(Schema):
    """A request body schema that pydantic validates directly.

    ninja's Schema wraps every object it validates, nested ones included, in a getter that reads Django
    model attributes; a request body is plain JSON and never needs it. Validating an order of 20 lines
    took 0.32 ms with the wrapping and 0.06 ms without. Output schemas, which do read models, keep it.
    """

    @model_validator(mode="wrap")
    @classmethod
    def _run_root_validator(cls, values: Any, handler: ModelWrapValidatorHandler, info: ValidationInfo) -> Any:
        return handler(values)
