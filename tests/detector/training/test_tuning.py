from detector.intervals import IntervalParams
from detector.model import IntroNet, ModelDims
from detector.training.dataset import Example, siblings_of
from detector.training.tuning import predict, tune_intervals


def test_interval_tuning_returns_parameters_from_the_grid(examples: list[Example]):
    model = IntroNet(ModelDims())
    scores = predict(model, examples, siblings_of(examples))
    params, report = tune_intervals([e.truth for e in examples], scores)
    assert isinstance(params, IntervalParams)
    assert report.episodes == len(examples)
