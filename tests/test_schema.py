"""Structured output: ``schema=``, ``complete_json()`` and ``Stream.json()``, over the fake."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import sys
import threading
from typing import Any, Literal, Optional, TypedDict, Union

import attrs
import pytest

import codey
from codey._schema import load_answer, parse_concise, to_schema, type_to_schema
from codey.testing import Done, FakeProvider, Finish, ToolCall, UsageStep, answer, events
from tests.helpers import MODELS, kwargs_for

#: The providers schema= goes to (not yet the Responses API: tests/test_responses.py).
SCHEMA_PROVIDERS = [provider for provider in MODELS if provider != "openai-responses"]


@dataclasses.dataclass
class Address:
    city: str
    zip: Optional[str]


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass
class Person:
    name: str
    age: int
    height: float
    tags: list[str]
    address: Address
    colour: Colour
    kind: Literal["human", "robot"]
    nickname: Optional[str] = None


PERSON = {
    "name": "Ada",
    "age": 36,
    "height": 2,
    "tags": ["maths"],
    "address": {"city": "London", "zip": None},
    "colour": "blue",
    "kind": "human",
    "nickname": None,
}
ADA = Person("Ada", 36, 2.0, ["maths"], Address("London", None), Colour.BLUE, "human")


def _pieces(value: Any, size: int = 7) -> list[str]:
    text = json.dumps(value)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _json_reply(provider: str, value: Any, **kwargs: Any) -> Any:
    """The JSON answer as each wire format sends it with a schema."""
    if provider == "anthropic":
        call = ToolCall(name=kwargs.pop("tool", "Person"), arguments=_pieces(value))
        return events(call, Finish(), UsageStep(), Done(), **kwargs)
    return answer(*_pieces(value), **kwargs)


# -- the request ------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "xai"])
def test_chat_completions_sends_a_strict_json_schema(fake: FakeProvider, provider: str) -> None:
    fake.push(_json_reply(provider, PERSON))
    with codey.stream("Who?", schema=Person, **kwargs_for(fake, provider)) as stream:
        text = "".join(stream)
        assert stream.json() == ADA
    assert json.loads(text) == PERSON  # the text is the JSON, piece by piece
    response_format = fake.requests[-1].json["response_format"]
    assert response_format["type"] == "json_schema"
    spec = response_format["json_schema"]
    assert spec["name"] == "Person"
    assert spec["strict"] is True
    assert spec["schema"] == to_schema(Person).json_schema
    assert spec["schema"]["required"] == [field.name for field in dataclasses.fields(Person)]
    assert spec["schema"]["additionalProperties"] is False


def test_a_schema_strict_mode_cannot_take_is_sent_with_strict_false(fake: FakeProvider) -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": []}
    fake.push(answer('{"a": 1}'))
    assert codey.complete_json("?", schema=schema, **kwargs_for(fake, "openai")) == {"a": 1}
    spec = fake.requests[-1].json["response_format"]["json_schema"]
    assert spec["strict"] is False
    assert spec["schema"] == schema
    assert spec["name"] == "answer"


def test_anthropic_is_made_to_call_a_tool_whose_input_is_the_answer(fake: FakeProvider) -> None:
    fake.push(_json_reply("anthropic", PERSON))
    with codey.stream("Who?", schema=Person, **kwargs_for(fake, "anthropic")) as stream:
        kinds = [type(event).__name__ for event in stream.events()]
        assert stream.json() == ADA
    assert "ToolCallDelta" not in kinds  # the tool's input arrives as text
    assert kinds.count("TextDelta") == len(_pieces(PERSON))
    assert json.loads(stream.text) == PERSON
    body = fake.requests[-1].json
    assert body["tools"] == [
        {
            "name": "Person",
            "description": "Give the answer: this tool's input is the whole answer.",
            "input_schema": to_schema(Person).json_schema,
        }
    ]
    assert body["tool_choice"] == {"type": "tool", "name": "Person"}


def test_anthropic_keeps_other_tool_calls_as_tool_calls(fake: FakeProvider) -> None:
    steps = [ToolCall(index=0, name="search", arguments=['{"q":', '"x"}'])]
    steps += [ToolCall(index=1, name="Person", arguments=_pieces(PERSON)), Finish(), Done()]
    fake.push(events(*steps))
    with codey.stream("Who?", schema=Person, **kwargs_for(fake, "anthropic")) as stream:
        calls = [e for e in stream.events() if isinstance(e, codey.ToolCallDelta)]
    assert {call.name for call in calls if call.name} == {"search"}
    assert json.loads(stream.text) == PERSON


def test_anthropic_whole_json_reply_gives_the_tool_input_as_text(fake: FakeProvider) -> None:
    body = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "answer", "input": {"n": 3}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    fake.push(events(content_type="application/json", body=json.dumps(body).encode()))
    result = codey.complete_json("?", schema="n int", **kwargs_for(fake, "anthropic"))
    assert result == {"n": 3}


@pytest.mark.parametrize("provider", SCHEMA_PROVIDERS)
def test_complete_json_returns_the_class(fake: FakeProvider, provider: str) -> None:
    fake.push(_json_reply(provider, PERSON))
    assert codey.complete_json("Who?", schema=Person, **kwargs_for(fake, provider)) == ADA


# -- what schema= takes ---------------------------------------------------------------


class Pet(TypedDict):
    name: str
    legs: int
    owner: Address


@attrs.define
class Box:
    _label: str
    sizes: tuple[int, ...]
    pets: list[Pet]
    inner: Optional[Address] = None


def test_a_typed_dict_loads_as_a_dict_with_its_classes_inside(fake: FakeProvider) -> None:
    value = {"name": "Rex", "legs": 4, "owner": {"city": "Paris", "zip": "75001"}}
    fake.push(answer(json.dumps(value)))
    pet = codey.complete_json("?", schema=Pet, **kwargs_for(fake, "openai"))
    assert pet == {"name": "Rex", "legs": 4, "owner": Address("Paris", "75001")}
    assert fake.requests[-1].json["response_format"]["json_schema"]["strict"] is True


def test_an_attrs_class_with_private_fields_tuples_and_optional_classes(fake: FakeProvider) -> None:
    value = {"_label": "b", "sizes": [1, 2], "pets": [], "inner": {"city": "Rome", "zip": None}}
    fake.push(_json_reply("anthropic", value, tool="Box"))
    box = codey.complete_json("?", schema=Box, **kwargs_for(fake, "anthropic"))
    assert box == Box("b", (1, 2), [], Address("Rome", None))
    fake.push(_json_reply("anthropic", {**value, "inner": None}, tool="Box"))
    assert codey.complete_json("?", schema=Box, **kwargs_for(fake, "anthropic")).inner is None


@dataclasses.dataclass
class Cat:
    meows: bool


@dataclasses.dataclass
class Dog:
    barks: int


@dataclasses.dataclass
class Home:
    animal: Union[Cat, Dog]
    scores: dict[str, float]


def test_a_union_of_classes_loads_the_one_that_matches(fake: FakeProvider) -> None:
    fake.push(answer('{"animal": {"barks": 3}, "scores": {"a": 1}}'))
    home = codey.complete_json("?", schema=Home, **kwargs_for(fake, "openai"))
    assert home == Home(Dog(3), {"a": 1.0})
    assert isinstance(home.scores["a"], float)
    # dict[str, X] is an open object: strict mode cannot take it.
    assert fake.requests[-1].json["response_format"]["json_schema"]["strict"] is False


def test_type_to_schema_maps_hints() -> None:
    assert type_to_schema(str) == {"type": "string"}
    assert type_to_schema(Optional[int]) == {"type": ["integer", "null"]}
    assert type_to_schema(list[bool]) == {"type": "array", "items": {"type": "boolean"}}
    assert type_to_schema(Literal["a", "b"]) == {"type": "string", "enum": ["a", "b"]}
    assert type_to_schema(Literal["a", 1]) == {"enum": ["a", 1]}
    assert type_to_schema(Colour) == {"type": "string", "enum": ["red", "blue"]}
    assert type_to_schema(tuple[int, str]) == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "minItems": 2,
        "maxItems": 2,
    }
    assert type_to_schema(Optional[Address]) == {
        "anyOf": [type_to_schema(Address), {"type": "null"}]
    }
    assert type_to_schema(dict[str, int]) == {
        "type": "object",
        "additionalProperties": {"type": "integer"},
    }
    if sys.version_info >= (3, 10):
        assert type_to_schema(eval("int | None")) == {"type": ["integer", "null"]}


def test_the_concise_form() -> None:
    schema = parse_concise("name str, age int?, tags list[str], ok bool, score float")
    assert schema == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": ["integer", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "ok": {"type": "boolean"},
            "score": {"type": "number"},
        },
        "required": ["name", "age", "tags", "ok", "score"],
        "additionalProperties": False,
    }
    assert to_schema("name str").strict is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name", "not a field: 'name'"),
        ("name string", "unknown type 'string'"),
        ("tags list[date]", "unknown type 'list[date]'"),
        ("a int, a str", "named twice"),
        ("a int,, b str", "not a field: ''"),
    ],
)
def test_a_bad_concise_schema_is_a_value_error(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        parse_concise(text)


class _Node:
    pass


@dataclasses.dataclass
class Tree:
    children: list[Tree]


@pytest.mark.parametrize(
    ("schema", "error", "message"),
    [
        ({"type": "array"}, ValueError, "must describe a JSON object"),
        ({"type": "object", "properties": {"a": {"type": "strange"}}}, ValueError, "not a valid"),
        (Tree, ValueError, "refers to itself"),
        (42, TypeError, "schema must be"),
        (_Node, TypeError, "schema must be"),
        ("name", ValueError, "not a field"),
    ],
)
def test_a_bad_schema_fails_before_any_request(
    fake: FakeProvider, schema: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        codey.stream("?", schema=schema, **kwargs_for(fake, "openai"))
    assert fake.requests == []


@dataclasses.dataclass
class Meeting:
    when: datetime.datetime


def test_a_type_json_cannot_carry_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="cannot be described as JSON"):
        to_schema(Meeting)

    @dataclasses.dataclass
    class Unresolved:
        when: NoSuchName  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ValueError, match="cannot read the type hints of Unresolved"):
        to_schema(Unresolved)
    with pytest.raises(ValueError, match="cannot be described as JSON"):
        type_to_schema(tuple[int, threading.Event])
    with pytest.raises(ValueError, match="keys are strings"):
        type_to_schema(dict[int, str])


def test_a_provider_that_cannot_do_it_is_a_configuration_error(fake: FakeProvider) -> None:
    with pytest.raises(codey.UnsupportedOptionError, match="deepseek cannot hold"):
        codey.stream("?", model="deepseek-chat", api_key="k", base_url=fake.url, schema="a int")
    with pytest.raises(codey.UnsupportedOptionError, match="thinking"):
        codey.stream("?", schema="a int", thinking_budget=2048, **kwargs_for(fake, "anthropic"))
    assert fake.requests == []


# -- faults ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", SCHEMA_PROVIDERS)
def test_invalid_json_is_raised_at_the_end_after_every_chunk(
    fake: FakeProvider, provider: str
) -> None:
    if provider == "anthropic":
        fake.push(events(ToolCall(name="answer", arguments=['{"a": ', "1,"]), Finish(), Done()))
    else:
        fake.push(answer('{"a": ', "1,"))
    stream = codey.stream("?", schema="a int", **kwargs_for(fake, provider))
    chunks = []
    with pytest.raises(codey.StructuredOutputError) as caught:
        for chunk in stream:
            chunks.append(chunk)
    assert chunks == ['{"a": ', "1,"]
    error = caught.value
    assert isinstance(error, codey.StreamError)
    assert isinstance(error, ValueError)
    assert error.partial_text == '{"a": 1,'
    assert error.validation_message is None
    assert "is not valid JSON" in str(error)
    assert '{"a": 1,' in str(error)
    with pytest.raises(codey.StructuredOutputError):
        stream.json()  # the same error again
    assert list(stream) == []


def test_json_that_does_not_match_says_where(fake: FakeProvider) -> None:
    bad = {**PERSON, "address": {"city": 7, "zip": None}}
    fake.push(answer(json.dumps(bad)))
    with pytest.raises(codey.StructuredOutputError) as caught:
        codey.complete_json("?", schema=Person, **kwargs_for(fake, "openai"))
    error = caught.value
    assert error.validation_message == "at $.address.city: 7 is not of type 'string'"
    assert "does not match the schema 'Person'" in str(error)
    assert json.loads(error.partial_text) == bad


def test_a_missing_field_and_an_extra_one(fake: FakeProvider) -> None:
    fake.push(answer('{"a": 1, "b": 2}'), answer("{}"))
    with pytest.raises(codey.StructuredOutputError, match="Additional properties"):
        codey.complete_json("?", schema="a int", **kwargs_for(fake, "openai"))
    with pytest.raises(codey.StructuredOutputError, match="'a' is a required property"):
        codey.complete_json("?", schema="a int", **kwargs_for(fake, "openai"))


def test_an_answer_cut_at_max_tokens_says_so(fake: FakeProvider) -> None:
    fake.push(answer('{"a": 1', finish_reason="length"))
    with pytest.raises(codey.StructuredOutputError, match=r"cut off at max_tokens"):
        codey.complete("?", schema="a int", **kwargs_for(fake, "openai"))


def test_a_class_that_rejects_the_answer(fake: FakeProvider) -> None:
    @dataclasses.dataclass
    class Positive:
        n: int

        def __post_init__(self) -> None:
            if self.n <= 0:
                raise ValueError("n must be positive")

    fake.push(answer('{"n": -1}'))
    with pytest.raises(codey.StructuredOutputError, match="rejected it: n must be positive") as e:
        codey.complete_json("?", schema=Positive, **kwargs_for(fake, "openai"))
    assert isinstance(e.value.__cause__, ValueError)


def test_stream_many_reports_a_bad_answer_as_that_models_item(fake: FakeProvider) -> None:
    options = kwargs_for(fake, "openai")
    options.pop("model")
    fake.responder = lambda request: answer('{"a": 1}' if request.model == "gpt-4.1" else "no")
    with codey.stream_many("?", ["gpt-4.1", "gpt-4o"], schema="a int", **options) as many:
        items = list(many)
    errors = [(model, item) for model, item in items if isinstance(item, Exception)]
    assert [model for model, _ in errors] == ["gpt-4o"]
    assert isinstance(errors[0][1], codey.StructuredOutputError)
    assert many.streams["gpt-4.1"].json() == {"a": 1}


def test_json_without_a_schema_parses_the_text(fake: FakeProvider) -> None:
    fake.push(answer("[1, ", "2]"), answer("not json"))
    assert codey.stream("?", **kwargs_for(fake, "openai")).json() == [1, 2]
    assert "response_format" not in fake.requests[-1].json
    with pytest.raises(codey.StructuredOutputError, match="not valid JSON"):
        codey.stream("?", **kwargs_for(fake, "openai")).json()


def test_json_of_a_closed_stream_is_cancelled(fake: FakeProvider) -> None:
    fake.push(answer('{"a":', " 1}"))
    stream = codey.stream("?", schema="a int", **kwargs_for(fake, "openai"))
    assert next(stream) == '{"a":'
    stream.close()
    with pytest.raises(codey.CancelledError) as caught:
        stream.json()
    assert caught.value.partial_text == '{"a":'


def test_complete_json_needs_a_schema(fake: FakeProvider) -> None:
    with pytest.raises(TypeError, match="needs a schema"):
        codey.complete_json("?", schema=None, **kwargs_for(fake, "openai"))


def test_the_error_pickles_with_its_attributes(fake: FakeProvider) -> None:
    import pickle

    fake.push(answer('{"a": "x"}'))
    with pytest.raises(codey.StructuredOutputError) as caught:
        codey.complete("?", schema="a int", **kwargs_for(fake, "openai"))
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is codey.StructuredOutputError
    assert vars(copy) == vars(caught.value)
    assert copy.partial_text == '{"a": "x"}'
    assert copy.validation_message == "at $.a: 'x' is not of type 'integer'"


def test_a_key_in_the_answer_never_reaches_the_message(fake: FakeProvider) -> None:
    from tests.conftest import FAKE_KEY

    fake.push(answer(f"my key is {FAKE_KEY}"))
    with pytest.raises(codey.StructuredOutputError) as caught:
        codey.complete("?", schema="a int", **kwargs_for(fake, "openai"))
    assert FAKE_KEY not in str(caught.value)
    assert "[REDACTED]" in str(caught.value)
    assert caught.value.partial_text == f"my key is {FAKE_KEY}"  # the answer itself, as sent


@dataclasses.dataclass
class Pair:
    pair: tuple[int, str]


def test_a_fixed_tuple_loads_as_a_tuple() -> None:
    schema = to_schema(Pair)
    assert load_answer(schema, '{"pair": [1, "a"]}', "openai", "stop") == Pair((1, "a"))
    with pytest.raises(codey.StructuredOutputError, match=r"at \$\.pair"):
        load_answer(schema, '{"pair": [1, "a", 2]}', "openai", "stop")


@pytest.mark.parametrize(
    "ref", ["#/defs/x", "#/$defs/missing", "https://example.com/remote.json", "other.json"]
)
def test_an_unresolvable_ref_is_a_value_error_before_anything_is_sent(
    fake: FakeProvider, ref: str
) -> None:
    schema = {"type": "object", "$defs": {"x": {}}, "properties": {"a": {"$ref": ref}}}
    with pytest.raises(ValueError, match="cannot be resolved"):
        codey.complete_json("?", schema=schema, **kwargs_for(fake, "openai"))
    assert fake.requests == []


def test_refs_that_resolve_are_kept() -> None:
    schema = {
        "type": "object",
        "$defs": {"n": {"type": "integer"}},
        "properties": {
            "a": {"$ref": "#/$defs/n"},
            "b": {"$id": "https://example.com/b", "$defs": {"s": {"type": "string"}},
                  "properties": {"c": {"$ref": "#/$defs/s"}}},
            "d": {"enum": [{"$ref": "not a reference"}]},
        },
    }  # fmt: skip
    assert (
        to_schema(schema).check({"a": 1, "b": {"c": "x"}, "d": {"$ref": "not a reference"}}) is None
    )
    assert to_schema(schema).check({"a": "x"}) is not None
