import pytest

from detector.training.dataset import Example
from tests.detector.training.examples import three_shows


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return three_shows()
